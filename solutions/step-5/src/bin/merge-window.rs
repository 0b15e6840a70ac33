//! Merges the shards' results into the stream's windows:
//!
//! ```console
//! cargo run -p step-5 --bin merge-window -- <RESULT.json | s3://BUCKET/KEY>...
//! ```
//!
//! Reads shard results (as the analytics function writes them to S3, of one window or of many) and prints, on
//! standard output, a JSON array of the stream's windows ([`analytics::StreamWindow`]), oldest first: for each, the
//! shards, the counts, the cells, each vehicle's distance and top speed, and every anomaly (vehicle, reading id,
//! time, position, km/h). The readings that a later window cleared are listed in `withdrawn`: the flagged readings
//! of a run are the union of `anomalies[].id` minus the union of `withdrawn`.

use analytics::{WindowResult, merge_by_window, read_source};
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sources: Vec<String> = std::env::args().skip(1).collect();
    if sources.is_empty() {
        return Err("usage: merge-window <RESULT.json | s3://BUCKET/KEY>...".into());
    }
    let mut results = vec![];
    for source in &sources {
        let json = read_source(source).await?;
        let result: WindowResult =
            serde_json::from_slice(&json).map_err(|error| format!("{source} is not a window's result: {error}"))?;
        results.push(result);
    }
    let windows = merge_by_window(results)?;
    println!("{}", serde_json::to_string_pretty(&windows)?);
    Ok(())
}
