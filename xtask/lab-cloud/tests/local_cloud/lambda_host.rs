//! The Lambda host runs a real function binary through the Runtime API: the context the function sees, its answer,
//! its errors and its timeout.

use crate::scripted::scripted_function;
use lab_cloud::lambda_host::{LambdaHost, Outcome};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn event(data: &[&str]) -> Value {
    let records: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(index, text)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0", "partitionKey": "k", "sequenceNumber": index.to_string(),
                    "data": base64_encode(text.as_bytes()), "approximateArrivalTimestamp": 1.7e9
                },
                "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": format!("shardId-000000000000:{index}"),
                "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/r",
                "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn invocations(folder: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(folder.join("invocations.jsonl")).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test]
async fn the_function_answers_with_a_real_context() {
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(5));
    let host = LambdaHost::new();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let outcome = host.invoke(&spec, &event(&["ok", "fail-now"])).await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [{ "itemIdentifier": "1" }], "state": { "count": "2" } }))
    );

    let seen = invocations(&folder);
    assert_eq!(seen.len(), 1);
    let deadline = seen[0]["deadline_ms"].as_u64().unwrap();
    assert!(
        (before + 4_000..=before + 6_000).contains(&deadline),
        "the deadline is the epoch time of the timeout, not a fixed number: {deadline} vs now {before}"
    );
    assert_eq!(seen[0]["function_arn"], spec.arn.as_str());

    // A second invocation reuses the warm environment and gets its own request id.
    host.invoke(&spec, &event(&["ok"])).await;
    let seen = invocations(&folder);
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0]["request_id"], seen[1]["request_id"]);
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn a_function_error_is_reported_with_its_message() {
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(5));
    let host = LambdaHost::new();
    let outcome = host.invoke(&spec, &event(&["ok", "crash"])).await;
    let Outcome::FunctionError { message, .. } = outcome else {
        panic!("expected a function error, got {outcome:?}")
    };
    assert!(message.contains("scripted crash at 1"), "{message}");
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn an_invocation_past_its_timeout_is_stopped_and_the_next_one_runs() {
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(1));
    let host = LambdaHost::new();
    let outcome = host.invoke(&spec, &event(&["sleep:5000"])).await;
    assert!(
        matches!(outcome, Outcome::TimedOut { .. }),
        "expected a timeout, got {outcome:?}"
    );
    assert!(
        outcome.error().unwrap().1.starts_with("Task timed out after 1."),
        "{outcome:?}"
    );

    let outcome = host.invoke(&spec, &event(&["ok"])).await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [], "state": { "count": "1" } })),
        "a fresh environment answers"
    );
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let (mut spec, folder) = scripted_function("scripted", Duration::from_secs(1));
    spec.binary = folder.join("no-such-bootstrap");
    let outcome = LambdaHost::new().invoke(&spec, &event(&["ok"])).await;
    let Outcome::Crashed { message } = outcome else {
        panic!("expected a crash, got {outcome:?}")
    };
    assert!(message.contains("no-such-bootstrap"), "{message}");
    std::fs::remove_dir_all(folder).unwrap();
}
