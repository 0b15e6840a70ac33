//! Draws a window's result as a heat map:
//!
//! ```console
//! cargo run -p step-5 --bin heatmap -- <RESULT.json | s3://BUCKET/KEY> [OUT.svg]
//! ```
//!
//! The result is a JSON file written by the analytics function (a local copy, or the object itself in S3, read with
//! the usual AWS configuration: on the local cloud, `AWS_ENDPOINT_URL` points at it). The picture goes to `OUT.svg`,
//! `heatmap.svg` by default.

use analytics::{WindowResult, s3_client, write_svg};
use aws_config::BehaviorVersion;
use lambda_runtime::Error;
use std::path::PathBuf;

const USAGE: &str = "usage: heatmap <RESULT.json | s3://BUCKET/KEY> [OUT.svg]";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let source = args.next().ok_or(USAGE)?;
    let output = PathBuf::from(args.next().unwrap_or_else(|| "heatmap.svg".to_owned()));
    if args.next().is_some() {
        return Err(USAGE.into());
    }

    let json = match source.strip_prefix("s3://") {
        Some(location) => {
            let (bucket, key) = location.split_once('/').ok_or(USAGE)?;
            let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
            let object = s3_client(&config).get_object().bucket(bucket).key(key).send().await?;
            object.body.collect().await?.into_bytes().to_vec()
        }
        None => std::fs::read(&source).map_err(|error| format!("reading {source}: {error}"))?,
    };
    let result: WindowResult =
        serde_json::from_slice(&json).map_err(|error| format!("{source} is not a window's result: {error}"))?;
    write_svg(&result, &output).map_err(|error| format!("writing {}: {error}", output.display()))?;
    println!(
        "{}: {} positions in {} cells, {} to {}",
        output.display(),
        result.count,
        result.cells.iter().flatten().filter(|&&count| count > 0).count(),
        result.window.start,
        result.window.end
    );
    Ok(())
}
