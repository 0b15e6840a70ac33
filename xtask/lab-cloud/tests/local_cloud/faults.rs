//! Faults injected on purpose (`--faults ... --seed N`), each deterministic with its seed: the Lambda host's
//! function-error and function-timeout here (the front door's put-internal and put-5xx are in `gateway.rs`, next
//! to its other write tests).

use lab_cloud::lambda_host::{FunctionSpec, LambdaHost, Outcome};
use lab_cloud::runtime::faults::{FaultPlan, unit};
use lab_contract::FaultKind;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn plan(spec: &str, seed: u64) -> Arc<FaultPlan> {
    Arc::new(FaultPlan::new(spec.parse().unwrap(), seed, Duration::from_secs(1)))
}

/// The scripted function, recording each invocation it sees in `<folder>/invocations.jsonl`.
fn function(timeout: Duration) -> (FunctionSpec, PathBuf) {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let folder = std::env::temp_dir().join(format!("lab-faults-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let spec = FunctionSpec {
        name: "scripted".to_owned(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:scripted".to_owned(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_scripted-function")),
        timeout,
        memory_mb: 128,
        environment: vec![(
            "RECORD_FILE".to_owned(),
            folder.join("invocations.jsonl").to_string_lossy().into_owned(),
        )],
        log_file: folder.join("scripted.log"),
    };
    (spec, folder)
}

/// A one-record Kinesis event whose data is "ok".
fn event() -> Value {
    json!({ "Records": [{
        "kinesis": { "kinesisSchemaVersion": "1.0", "partitionKey": "k", "sequenceNumber": "1", "data": "b2s=",
                     "approximateArrivalTimestamp": 1.7e9 },
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:1",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/r",
        "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s"
    }]})
}

fn invocations_seen(folder: &std::path::Path) -> usize {
    std::fs::read_to_string(folder.join("invocations.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test]
async fn an_injected_function_error_is_unhandled_and_the_function_never_sees_the_event() {
    let (spec, folder) = function(Duration::from_secs(5));
    let host = LambdaHost::with_faults(plan("function-error=1", 0), vec![]);

    let outcome = host.invoke(&spec, &event()).await;

    let Outcome::FunctionError { error_type, message } = &outcome else {
        panic!("expected a function error, got {outcome:?}")
    };
    assert_eq!(error_type, "Unhandled");
    assert!(message.contains("function-error"), "{message}");
    assert_eq!(invocations_seen(&folder), 0);
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn a_spared_function_is_never_struck() {
    let (spec, folder) = function(Duration::from_secs(5));
    let faults = plan("function-error=1,function-timeout=1", 0);
    let host = LambdaHost::with_faults(faults.clone(), vec!["scripted".to_owned()]);

    let outcome = host.invoke(&spec, &event()).await;

    assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    assert_eq!(invocations_seen(&folder), 1);
    assert_eq!(faults.injected_of(FaultKind::FunctionError), 0);
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn an_injected_timeout_runs_the_function_then_reports_task_timed_out() {
    // A timeout of 300 s: the host reports it without waiting it out.
    let (spec, folder) = function(Duration::from_secs(300));
    let host = LambdaHost::with_faults(plan("function-timeout=1", 0), vec![]);

    let outcome = host.invoke(&spec, &event()).await;

    assert_eq!(
        outcome,
        Outcome::TimedOut {
            after: Duration::from_secs(300)
        }
    );
    assert_eq!(outcome.error().unwrap().1, "Task timed out after 300.00 seconds");
    assert_eq!(
        invocations_seen(&folder),
        1,
        "the function ran (its side effects happened) before it timed out"
    );
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}

#[tokio::test]
async fn the_seed_decides_which_invocations_fail() {
    let (spec, folder) = function(Duration::from_secs(5));
    let (seed, rate) = (42, 0.5);
    let host = LambdaHost::with_faults(plan(&format!("function-error={rate}"), seed), vec![]);

    let mut failed = vec![];
    for _ in 0..12 {
        failed.push(host.invoke(&spec, &event()).await.is_error());
    }

    let expected: Vec<bool> = (0..12)
        .map(|n| unit(seed, FaultKind::FunctionError, n) < rate)
        .collect();
    assert_eq!(failed, expected);
    assert!(
        expected.contains(&true) && expected.contains(&false),
        "the seed mixes both"
    );
    assert_eq!(invocations_seen(&folder), expected.iter().filter(|&&f| !f).count());
    host.shutdown();
    std::fs::remove_dir_all(folder).unwrap();
}
