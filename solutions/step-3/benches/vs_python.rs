//! The consumer against the original lab's Python handler, side by side in one run: `cargo bench -p
//! step-3-solution --bench vs_python`. Both get the same 10,000-record event as bytes and end with their log line
//! written: Python `json.loads` the event (the Lambda runtime's work), then decodes, parses and `json.dumps` the
//! records (`original_consumer.py`); Rust deserialises the event into `aws_lambda_events`' `KinesisEvent` (the
//! runtime's work), then runs the handler's work (`process_batch`, which also validates and deduplicates) and
//! writes the batch's log line as the function's JSON logs do.
//!
//! The two run in turn, A B A B …, so a machine that slows down slows both: the ratio is taken pair by pair, and
//! the median is reported. Python is the emulator's, `.lab/venv/bin/python` (made by any `cargo xtask` command that
//! starts the local cloud), or `PYTHON`.

use consumer::{json_logs, process_batch};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tracing::level_filters::LevelFilter;

mod event;
use event::{RECORDS, event_json};

const ROUNDS: usize = 15;
const WARM_UP: usize = 2;

/// The Rust consumer's work on one event, from its bytes to its log line: the time of each part (the event read
/// into `KinesisEvent`, the batch processed, the line logged).
fn rust_round(body: &[u8]) -> [Duration; 3] {
    let subscriber = json_logs(std::io::sink, LevelFilter::INFO);
    tracing::subscriber::with_default(subscriber, || {
        let started = Instant::now();
        let event: aws_lambda_events::event::kinesis::KinesisEvent =
            serde_json::from_slice(body).expect("the event deserialises");
        let read = started.elapsed();
        let batch = process_batch(&event.records);
        let processed = started.elapsed();
        assert_eq!(batch.records.len(), RECORDS, "every record is valid and distinct");
        batch.log();
        [read, processed - read, started.elapsed() - processed]
    })
}

/// serde_json's own floor on this event: reading every byte of it and keeping nothing (`IgnoredAny`), the work no
/// type built from it can avoid.
fn scan_round(body: &[u8]) -> Duration {
    let started = Instant::now();
    let _: serde::de::IgnoredAny = serde_json::from_slice(body).expect("the event is JSON");
    started.elapsed()
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.join(".lab/venv/bin/python").display().to_string()
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing of the kind and wants no run.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let body = event_json().into_bytes();
    let file = std::env::temp_dir().join(format!("kinesis-event-{}.json", std::process::id()));
    std::fs::write(&file, &body).expect("writing the event");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/original_consumer.py");
    let mut child = Command::new(python())
        .arg(&script)
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting {} (PYTHON=... to use another): {error}", python()));
    let mut to_python = child.stdin.take().expect("python's stdin");
    let mut from_python = BufReader::new(child.stdout.take().expect("python's stdout"));
    let mut python_round = || {
        writeln!(to_python, "go").expect("asking python for a round");
        let mut line = String::new();
        from_python.read_line(&mut line).expect("python's time");
        Duration::from_secs_f64(line.trim().parse().unwrap_or_else(|_| panic!("python said {line:?}")))
    };
    let (mut pythons, mut rusts, mut ratios) = (vec![], vec![], vec![]);
    let mut parts: [Vec<f64>; 3] = Default::default();
    let mut scans = vec![];
    for round in 0..WARM_UP + ROUNDS {
        let python = python_round().as_secs_f64();
        let part = rust_round(&body).map(|part| part.as_secs_f64());
        let rust: f64 = part.iter().sum();
        let scan = scan_round(&body).as_secs_f64();
        if round >= WARM_UP {
            scans.push(scan);
            pythons.push(python);
            rusts.push(rust);
            ratios.push(python / rust);
            for (all, part) in parts.iter_mut().zip(part) {
                all.push(part);
            }
        }
    }
    drop(to_python);
    let _ = child.wait();
    let _ = std::fs::remove_file(&file);
    let (python, rust) = (median(&mut pythons), median(&mut rusts));
    let (low, high) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!("{RECORDS}-record event, bytes to log line, {ROUNDS} rounds each, in turn (medians):");
    println!("  Python (original lab's handler): {:>8.2} ms", python * 1e3);
    println!("  Rust (step 3's consumer):        {:>8.2} ms", rust * 1e3);
    let [read, processed, logged] = parts.map(|mut part| median(&mut part) * 1e3);
    println!(
        "    the event into KinesisEvent {read:.2} ms, process_batch {processed:.2} ms, the log line {logged:.2} ms"
    );
    println!(
        "    (serde_json only reading the event, keeping nothing: {:.2} ms)",
        median(&mut scans) * 1e3
    );
    println!(
        "  Rust is {:.1}x as fast (median of the pairs' ratios; {low:.1}x to {high:.1}x)",
        median(&mut ratios)
    );
}
