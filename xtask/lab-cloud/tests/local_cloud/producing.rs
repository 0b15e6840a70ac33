//! The lab runs the producer until it has made its records: again after a stop on a transient failure, never after
//! any other. Through the real Lambda host, with the scripted function answering as step 2's producer reports.

use crate::scripted::scripted_function;
use lab_cloud::control::producing::until_done;
use lab_cloud::lambda_host::{LambdaHost, Outcome};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

fn requests(record_file: &PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(record_file).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test]
async fn a_producer_stopped_by_a_timed_out_call_is_invoked_again_for_the_records_it_has_not_made() {
    let (spec, folder) = scripted_function("producer", Duration::from_secs(10));
    let record_file = folder.join("invocations.jsonl");
    let host = LambdaHost::new();
    // The first invocation makes 1,000 of 1,500 (100 of them given up on a timeout), the second the 500 left.
    let request = json!({"max_records": 1_500, "records_per_second": 400, "max_seconds": 45, "stall_above": 1_000});
    let outcome = until_done(&host, &spec, &request, |records, rate| records / rate + 30).await;
    host.shutdown();
    let Outcome::Response(report) = outcome else {
        panic!("the producer did not answer: {outcome:?}")
    };
    assert_eq!(report["invocations"], 2, "{report}");
    assert_eq!(report["sent"], 900 + 500);
    assert_eq!(report["failed"], 100, "records given up stay counted: {report}");
    assert_eq!(report["stopped"], "max_records");
    assert_eq!(report["restarts"].as_array().map(Vec::len), Some(1));

    let seen = requests(&record_file);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1]["max_records"], 500,
        "the second invocation makes only what the first did not"
    );
    assert_eq!(seen[1]["records_per_second"], 200, "at half the rate");
    assert_eq!(seen[1]["max_seconds"], 500 / 200 + 30);
    assert_eq!(seen[1]["stall_above"], 1_000, "the rest of the request is kept");
}

#[tokio::test]
async fn a_producer_that_finished_is_invoked_once() {
    let (spec, folder) = scripted_function("producer", Duration::from_secs(10));
    let record_file = folder.join("invocations.jsonl");
    let host = LambdaHost::new();
    let request = json!({"max_records": 500, "records_per_second": 100, "max_seconds": 35});
    let outcome = until_done(&host, &spec, &request, |records, rate| records / rate + 30).await;
    host.shutdown();
    let Outcome::Response(report) = outcome else {
        panic!("the producer did not answer: {outcome:?}")
    };
    assert_eq!(report["invocations"], 1);
    assert_eq!(report["sent"], 500);
    assert_eq!(requests(&record_file).len(), 1);
}
