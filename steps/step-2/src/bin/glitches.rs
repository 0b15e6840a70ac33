//! Which readings were glitches the producer injected: the check behind "every glitch flagged, no false positive".
//!
//! ```console
//! glitches [--seed N] [--glitch-rate R] [FILE...]
//! ```
//!
//! Reads readings as NDJSON (the files Firehose writes, or the stream's records one a line) from each FILE, or from
//! standard input when there is none, and prints the id of every reading that [`Fleet::is_glitch`] says was
//! injected, one a line, in the order read. Seed and rate default to the producer's defaults; pass the ones the
//! producer was invoked with. A line that is not a reading goes to standard error and makes the exit status 1.

use producer::{Fleet, Reading, Request, fleet::parse_rfc3339_millis};
use std::io::{BufRead, BufReader, Write};

fn main() {
    let mut fleet = Request::default().fleet();
    let mut files = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().unwrap_or_else(|| fail(&format!("{name} needs a value")));
        match arg.as_str() {
            "--seed" => {
                fleet.seed = value("--seed")
                    .parse()
                    .unwrap_or_else(|_| fail("--seed is a whole number"))
            }
            "--glitch-rate" => {
                fleet.glitch_rate = value("--glitch-rate")
                    .parse()
                    .unwrap_or_else(|_| fail("--glitch-rate is a number from 0 to 1"))
            }
            "--help" | "-h" => fail("usage: glitches [--seed N] [--glitch-rate R] [FILE...]"),
            _ => files.push(arg),
        }
    }
    let mut bad_lines = 0;
    let mut out = std::io::stdout().lock();
    let mut check = |name: &str, input: Box<dyn BufRead>| {
        for (number, line) in input.lines().enumerate() {
            let line = line.unwrap_or_else(|error| fail(&format!("{name}: {error}")));
            if line.trim().is_empty() {
                continue;
            }
            match glitch_id(&fleet, &line) {
                Ok(Some(id)) => writeln!(out, "{id}").expect("stdout"),
                Ok(None) => {}
                Err(why) => {
                    eprintln!("{name}:{}: {why}", number + 1);
                    bad_lines += 1;
                }
            }
        }
    };
    if files.is_empty() {
        check("stdin", Box::new(std::io::stdin().lock()));
    }
    for file in &files {
        let opened = std::fs::File::open(file).unwrap_or_else(|error| fail(&format!("{file}: {error}")));
        check(file, Box::new(BufReader::new(opened)));
    }
    std::process::exit(i32::from(bad_lines > 0));
}

/// The reading's id if it was an injected glitch.
fn glitch_id(fleet: &Fleet, line: &str) -> Result<Option<String>, String> {
    let reading: Reading = serde_json::from_str(line).map_err(|error| format!("not a reading: {error}"))?;
    let at_ms = parse_rfc3339_millis(&reading.timestamp)
        .ok_or_else(|| format!("timestamp {:?} is not the fleet's RFC 3339", reading.timestamp))?;
    Ok(fleet.is_glitch(&reading.vehicle, at_ms).then(|| reading.id.to_string()))
}

fn fail(message: &str) -> ! {
    eprintln!("glitches: {message}");
    std::process::exit(2)
}
