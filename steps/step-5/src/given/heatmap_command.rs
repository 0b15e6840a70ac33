//! The `heatmap` tool's command line (src/bin/heatmap.rs): what it asks for, read from its arguments. Here rather
//! than in the binary so that its tests run with the library's: a binary with tests of its own is one more test
//! executable to build and link after every edit.

use std::path::PathBuf;

/// The usage line: printed for `--help`, and after a mistake on the command line.
pub const USAGE: &str = "usage: heatmap <RESULT.json | WINDOW.json | s3://BUCKET/KEY>... [OUT.svg]";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Help,
    Draw { sources: Vec<String>, output: PathBuf },
}

/// Reads the arguments: `-h`/`--help` anywhere asks for the usage; any other argument starting with `-` is refused
/// (a file whose name starts with `-` can follow `--`); the last argument, when it ends in `.svg`, is the picture.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
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
