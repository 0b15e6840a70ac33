//! Draws a window as a heat map:
//!
//! ```console
//! cargo run -p step-5 --bin heatmap -- <INPUT>... [OUT.svg]
//! ```
//!
//! Each INPUT is a JSON file (or `s3://BUCKET/KEY`, read with the usual AWS configuration: on the local cloud,
//! `AWS_ENDPOINT_URL` points at it) holding one shard's window result, as the analytics function writes it, or one
//! window of the stream, as `merge-window` prints it. Several shard results of one window are merged into the
//! stream's window first. The picture goes to `OUT.svg`, `heatmap.svg` by default.

use analytics::{StreamWindow, WindowResult, merge, read_source, write_svg};
use lambda_runtime::Error;
use std::path::PathBuf;

const USAGE: &str = "usage: heatmap <RESULT.json | WINDOW.json | s3://BUCKET/KEY>... [OUT.svg]";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut sources: Vec<String> = std::env::args().skip(1).collect();
    let output = match sources.last() {
        Some(last) if last.ends_with(".svg") => PathBuf::from(sources.pop().expect("checked")),
        _ => PathBuf::from("heatmap.svg"),
    };
    if sources.is_empty() {
        return Err(USAGE.into());
    }
    let mut results = vec![];
    let mut window: Option<StreamWindow> = None;
    for source in &sources {
        let json = read_source(source).await?;
        if let Ok(result) = serde_json::from_slice::<WindowResult>(&json) {
            results.push(result);
        } else {
            let merged = serde_json::from_slice::<StreamWindow>(&json)
                .map_err(|error| format!("{source} is neither a window's result nor a merged window: {error}"))?;
            window = Some(merged);
        }
    }
    let window = match (window, results.is_empty()) {
        (Some(window), true) if sources.len() == 1 => window,
        (None, false) => merge(&results)?,
        _ => return Err("give one merged window, or shard results of one window".into()),
    };
    write_svg(&window, &output).map_err(|error| format!("writing {}: {error}", output.display()))?;
    println!(
        "{}: {} readings of {} vehicles in {} cells, {} anomalies, {} to {}",
        output.display(),
        window.count,
        window.vehicles.len(),
        window.cells.cells().count(),
        window.anomalies.len(),
        window.window.start,
        window.window.end
    );
    Ok(())
}
