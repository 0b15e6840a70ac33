//! Draws a window as a heat map:
//!
//! ```console
//! cargo run -p step-5 --bin heatmap -- <INPUT>... [OUT.svg]
//! cargo run -p step-5 --bin heatmap -- --help
//! ```
//!
//! Each INPUT is a JSON file (or `s3://BUCKET/KEY`, read with the usual AWS configuration: on the local cloud,
//! `AWS_ENDPOINT_URL` points at it) holding one shard's window result, as the analytics function writes it, or one
//! window of the stream, as `merge-window` prints it. Several shard results of one window are merged into the
//! stream's window first. The picture goes to `OUT.svg`, `heatmap.svg` by default.

use analytics::heatmap_command::{Command, USAGE, parse};
use analytics::{StreamWindow, WindowResult, merge, read_source, write_svg};
use lambda_runtime::Error;
use std::path::Path;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}\n\nDraws one window of the stream as a heat map (OUT.svg: heatmap.svg by default).");
            ExitCode::SUCCESS
        }
        Ok(Command::Draw { sources, output }) => match draw(&sources, &output).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("heatmap: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            // 2, as for any command-line mistake, so a script can tell it from a failed drawing.
            eprintln!("heatmap: {error}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Reads the sources, merges shard results into the stream's window, and writes the picture.
async fn draw(sources: &[String], output: &Path) -> Result<(), Error> {
    let mut results = vec![];
    let mut window: Option<StreamWindow> = None;
    for source in sources {
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
    write_svg(&window, output).map_err(|error| format!("writing {}: {error}", output.display()))?;
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
