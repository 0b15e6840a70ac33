//! A Lambda function whose behaviour each record's data scripts, for the local cloud's tests:
//! - `ok...`: processed;
//! - `fail-once...`: reported in `batchItemFailures` the first time this function sees that sequence number;
//! - `fail...`: always reported in `batchItemFailures`;
//! - `crash...`: the whole invocation returns an error;
//! - `sleep:<ms>`: sleeps that long first.
//!
//! Every invocation appends one JSON line to `$RECORD_FILE`: the sequence numbers and the data it received, and
//! the request id, deadline and function ARN of its context.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::io::Write;

async fn handle(event: LambdaEvent<KinesisEvent>) -> Result<KinesisEventResponse, Error> {
    let record_file = std::env::var("RECORD_FILE")?;
    let records = &event.payload.records;
    let sequences: Vec<String> = records.iter().map(|r| r.kinesis.sequence_number.clone()).collect();
    let data: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.kinesis.data.0).into_owned())
        .collect();
    let line = serde_json::json!({
        "sequences": sequences,
        "data": data,
        "request_id": event.context.request_id,
        "deadline_ms": event.context.deadline,
        "function_arn": event.context.invoked_function_arn,
    });
    writeln!(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&record_file)?,
        "{line}"
    )?;

    let seen_file = format!("{record_file}.seen");
    let seen = std::fs::read_to_string(&seen_file).unwrap_or_default();
    let mut response = KinesisEventResponse::default();
    for (sequence, text) in sequences.iter().zip(&data) {
        if let Some(ms) = text.strip_prefix("sleep:") {
            tokio::time::sleep(std::time::Duration::from_millis(ms.trim().parse().unwrap_or(0))).await;
        }
        if text.starts_with("crash") {
            return Err(format!("scripted crash at {sequence}").into());
        }
        let fail_once = text.starts_with("fail-once") && !seen.lines().any(|line| line == sequence);
        if fail_once {
            writeln!(
                std::fs::OpenOptions::new().create(true).append(true).open(&seen_file)?,
                "{sequence}"
            )?;
        }
        if fail_once || (text.starts_with("fail") && !text.starts_with("fail-once")) {
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = Some(sequence.clone());
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
