//! A Lambda function whose behaviour each record's data scripts, for the local cloud's tests:
//! - `ok...`: processed;
//! - `fail-once...`: reported in `batchItemFailures` the first time this function sees that sequence number;
//! - `fail...`: always reported in `batchItemFailures`;
//! - `crash...`: the whole invocation returns an error;
//! - `sleep:<ms>`: sleeps that long first;
//! - `big-response:<bytes>`: the answer carries that many bytes more (`pad`).
//!
//! In a time-window event, the answer's state counts the window's records (`{"count": "<n>"}`), and:
//! - `no-state`: the answer has no `state`;
//! - `big-state:<bytes>`: the answer's state carries that many bytes more;
//! - `final-fails-once`: the window's final invocation fails the first time (the state remembers it);
//! - `final-fails-always`: the window's final invocation always fails.
//!
//! A producer's request (`max_records`) is answered as step 2's producer reports: when `max_records` is above the
//! request's `stall_above`, as an invocation that stopped on a timed-out call after making `stall_above` records (a
//! tenth of them given up); else as one that made them all.
//!
//! An SNS event (`Records[].EventSource` `aws:sns`) is recorded whole, as `{"sns_event": <event>}`.
//!
//! Every invocation appends one JSON line to `$RECORD_FILE`: the sequence numbers and the data it received, the
//! request id, deadline and function ARN of its context, and the window, state and final flag it was given. It
//! reads the event as plain JSON, so that it sees exactly what the local cloud sent.

use base64::Engine;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use std::io::Write;

fn append(path: &str, line: &str) -> std::io::Result<()> {
    writeln!(
        std::fs::OpenOptions::new().create(true).append(true).open(path)?,
        "{line}"
    )
}

/// A report as step 2's producer gives it, for a request of `max_records`.
fn producer_report(request: &Value) -> Value {
    let wanted = request["max_records"].as_u64().unwrap_or(0);
    let stall_above = request["stall_above"].as_u64().unwrap_or(u64::MAX);
    if wanted > stall_above {
        let failed = stall_above / 10;
        return json!({"sent": stall_above - failed, "retried": 0, "failed": failed, "calls": 1,
            "errors": {"Timeout": failed}, "error": "PutRecords failed: request has timed out",
            "stopped": "error", "elapsed_ms": 1});
    }
    json!({"sent": wanted, "retried": 0, "failed": 0, "calls": 1, "errors": {}, "error": null,
        "stopped": "max_records", "elapsed_ms": 1})
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let record_file = std::env::var("RECORD_FILE")?;
    let payload = &event.payload;
    if payload.get("max_records").is_some() {
        append(&record_file, &payload.to_string())?;
        return Ok(producer_report(payload));
    }
    if payload["Records"][0]["EventSource"] == "aws:sns" {
        append(&record_file, &json!({ "sns_event": payload }).to_string())?;
        return Ok(json!({}));
    }
    let records = payload["Records"].as_array().cloned().unwrap_or_default();
    let mut sequences = vec![];
    let mut data = vec![];
    for record in &records {
        sequences.push(
            record["kinesis"]["sequenceNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let encoded = record["kinesis"]["data"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded)?;
        data.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let line = json!({
        "sequences": sequences,
        "data": data,
        "request_id": event.context.request_id,
        "deadline_ms": event.context.deadline,
        "function_arn": event.context.invoked_function_arn,
        "window": payload.get("window"),
        "state": payload.get("state"),
        "is_final": payload.get("isFinalInvokeForWindow"),
        "terminated_early": payload.get("isWindowTerminatedEarly"),
        "invoke_identity_arn": records.first().map(|record| record["invokeIdentityArn"].clone()),
    });
    append(&record_file, &line.to_string())?;

    let seen_file = format!("{record_file}.seen");
    let seen = std::fs::read_to_string(&seen_file).unwrap_or_default();
    let mut failures = vec![];
    for (sequence, text) in sequences.iter().zip(&data) {
        if let Some(ms) = text.strip_prefix("sleep:") {
            tokio::time::sleep(std::time::Duration::from_millis(ms.trim().parse().unwrap_or(0))).await;
        }
        if text.starts_with("crash") {
            return Err(format!("scripted crash at {sequence}").into());
        }
        let fail_once = text.starts_with("fail-once") && !seen.lines().any(|line| line == sequence);
        if fail_once {
            append(&seen_file, sequence)?;
        }
        if fail_once || (text.starts_with("fail") && !text.starts_with("fail-once")) {
            failures.push(json!({ "itemIdentifier": sequence }));
        }
    }
    let count = payload["state"]["count"]
        .as_str()
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(0);
    let mut state = json!({ "count": (count + records.len()).to_string() });
    if data.iter().any(|text| text == "final-fails-once") || payload["state"]["final_fails"] == "once" {
        state["final_fails"] = json!("once");
        let marker = format!("final:{}", payload["window"]["start"]);
        if payload["isFinalInvokeForWindow"] == true && !seen.lines().any(|line| line == marker) {
            append(&seen_file, &marker)?;
            return Err("scripted failure of a final invocation".into());
        }
    }
    if data.iter().any(|text| text == "final-fails-always") || payload["state"]["final_fails"] == "always" {
        state["final_fails"] = json!("always");
        if payload["isFinalInvokeForWindow"] == true {
            return Err("scripted failure of every final invocation".into());
        }
    }
    if let Some(bytes) = data.iter().find_map(|text| text.strip_prefix("big-state:")) {
        state["pad"] = json!("x".repeat(bytes.parse().unwrap_or(0)));
    }
    if data.iter().any(|text| text == "no-state") {
        return Ok(json!({ "batchItemFailures": failures }));
    }
    let mut answer = json!({ "batchItemFailures": failures, "state": state });
    if let Some(bytes) = data.iter().find_map(|text| text.strip_prefix("big-response:")) {
        answer["pad"] = json!("x".repeat(bytes.parse().unwrap_or(0)));
    }
    Ok(answer)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
