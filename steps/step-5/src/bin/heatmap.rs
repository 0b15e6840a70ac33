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

use analytics::{StreamWindow, WindowResult, merge, read_source, write_svg};
use lambda_runtime::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: heatmap <RESULT.json | WINDOW.json | s3://BUCKET/KEY>... [OUT.svg]";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Draw { sources: Vec<String>, output: PathBuf },
}

/// Reads the arguments: `-h`/`--help` anywhere asks for the usage; any other argument starting with `-` is refused
/// (a file whose name starts with `-` can follow `--`); the last argument, when it ends in `.svg`, is the picture.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut sources = vec![];
    let mut options_done = false;
    for arg in args {
        match arg.as_str() {
            "--" if !options_done => options_done = true,
            "-h" | "--help" if !options_done => return Ok(Command::Help),
            option if !options_done && option.starts_with('-') && option != "-" => {
                return Err(format!("unknown option {option} (only -h/--help)"));
            }
            _ => sources.push(arg),
        }
    }
    let output = match sources.last() {
        Some(last) if last.ends_with(".svg") => PathBuf::from(sources.pop().expect("checked")),
        _ => PathBuf::from("heatmap.svg"),
    };
    if sources.is_empty() {
        return Err("no input given".to_owned());
    }
    Ok(Command::Draw { sources, output })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|arg| arg.to_string()))
    }

    fn draw(sources: &[&str], output: &str) -> Result<Command, String> {
        Ok(Command::Draw {
            sources: sources.iter().map(|source| source.to_string()).collect(),
            output: PathBuf::from(output),
        })
    }

    #[test]
    fn options_end_at_a_double_dash_after_which_every_argument_is_an_input() {
        assert_eq!(parsed(&["a.json", "--help"]), Ok(Command::Help));
        assert_eq!(parsed(&["-h"]), Ok(Command::Help));
        assert_eq!(
            parsed(&["a.json", "b.json", "out.svg"]),
            draw(&["a.json", "b.json"], "out.svg")
        );
        assert_eq!(
            parsed(&["--", "--help"]),
            draw(&["--help"], "heatmap.svg"),
            "a file named --help"
        );
        assert_eq!(
            parsed(&["--", "--", "-x.json"]),
            draw(&["--", "-x.json"], "heatmap.svg")
        );
        assert_eq!(
            parsed(&["-"]),
            draw(&["-"], "heatmap.svg"),
            "a lone dash is not an option"
        );
        assert_eq!(
            parsed(&["-x", "a.json"]),
            Err("unknown option -x (only -h/--help)".to_owned())
        );
        assert_eq!(parsed(&["out.svg"]), Err("no input given".to_owned()));
        assert_eq!(parsed(&[]), Err("no input given".to_owned()));
    }
}
