//! Tests of the given code (`given/`): the learner's functions are tested by the step's shared tests (`tests/`);
//! these run on the solution and the starter alike.

use super::*;
use aws_sdk_kinesis::types::StreamStatus;
use given::stream_api::wait_until_active_within;
use lab_testkit::fake::{FakeAws, Reply};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn a_stream_error_says_what_failed_and_why() {
    let failed = StreamError::Kinesis("CreateStream: LimitExceededException".to_owned());
    assert_eq!(
        failed.to_string(),
        "Kinesis call failed: CreateStream: LimitExceededException"
    );
    let waiting = StreamError::NotActive {
        stream: "TelemetricStream".to_owned(),
        status: "CREATING".to_owned(),
        waited: Duration::from_millis(120_400),
    };
    assert_eq!(
        waiting.to_string(),
        "TelemetricStream did not become ACTIVE: it is CREATING after 120 s of waiting"
    );
}

/// What Kinesis answers to `DescribeStreamSummary` about a stream in `status`.
fn summary(status: &str) -> Reply {
    Reply::Output(serde_json::json!({"StreamDescriptionSummary": {
        "StreamName": "TelemetricStream",
        "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream",
        "StreamStatus": status,
        "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": 1_795_774_500.0,
        "EnhancedMonitoring": [],
        "OpenShardCount": 2,
    }}))
}

fn client(fake: &FakeAws) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&lab_testkit::fake::config(fake))
}

const PATIENCE: Duration = Duration::from_secs(5);
const PAUSE: Duration = Duration::from_millis(1);

#[tokio::test]
async fn wait_until_active_asks_again_while_the_stream_is_creating_and_returns_it_active() {
    let asked = AtomicUsize::new(0);
    let fake = FakeAws::new(move |_| match asked.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => summary("CREATING"),
        2 => summary("UPDATING"),
        _ => summary("ACTIVE"),
    });
    let active = wait_until_active_within(&client(&fake), "TelemetricStream", PATIENCE, PAUSE)
        .await
        .expect("the stream becomes ACTIVE on the fourth call");
    assert_eq!(active.stream_status, StreamStatus::Active);
    let operations: Vec<String> = fake.calls().into_iter().map(|call| call.operation).collect();
    assert_eq!(
        operations, ["DescribeStreamSummary"; 4],
        "asks DescribeStreamSummary until ACTIVE, then stops"
    );
}

#[test]
fn wait_until_active_asks_every_tenth_of_a_second_for_a_second_then_every_second() {
    use given::stream_api::next_pause;
    let ms = Duration::from_millis;
    assert_eq!(
        next_pause(ms(0), POLL_INTERVAL),
        ms(100),
        "a tenth of a second at first"
    );
    assert_eq!(
        next_pause(ms(950), POLL_INTERVAL),
        ms(100),
        "and throughout the first second"
    );
    assert_eq!(next_pause(ms(1000), POLL_INTERVAL), POLL_INTERVAL, "then once a second");
    assert_eq!(next_pause(ms(30_000), POLL_INTERVAL), POLL_INTERVAL);
    assert_eq!(next_pause(ms(10), ms(1)), ms(1), "never longer than the longest pause");
}

#[tokio::test]
async fn wait_until_active_gives_up_after_its_patience_naming_the_stream_and_its_status() {
    let fake = FakeAws::new(|_| summary("CREATING"));
    let patience = Duration::from_millis(50);
    let error = wait_until_active_within(&client(&fake), "TelemetricStream", patience, Duration::from_millis(10))
        .await
        .expect_err("a stream CREATING for longer than the patience");
    let StreamError::NotActive { waited, .. } = &error else {
        panic!("expected NotActive, got {error}");
    };
    assert!(*waited >= patience, "it waited its whole patience first: {waited:?}");
    assert!(
        error
            .to_string()
            .starts_with("TelemetricStream did not become ACTIVE: it is CREATING after"),
        "{error}"
    );
}

#[tokio::test]
async fn wait_until_active_stops_at_once_on_a_stream_being_deleted_or_gone() {
    let deleting = FakeAws::new(|_| summary("DELETING"));
    let error = wait_until_active_within(&client(&deleting), "TelemetricStream", PATIENCE, PAUSE)
        .await
        .expect_err("a stream being deleted never becomes ACTIVE");
    assert!(error.to_string().contains("it is DELETING"), "{error}");
    assert_eq!(
        deleting.calls().len(),
        1,
        "no second call: DELETING never ends in ACTIVE"
    );

    let gone = FakeAws::new(|_| {
        Reply::client_error(
            "ResourceNotFoundException",
            "Stream TelemetricStream under account 1 not found.",
        )
    });
    let error = wait_until_active_within(&client(&gone), "TelemetricStream", PATIENCE, PAUSE)
        .await
        .expect_err("a stream that is gone");
    assert!(error.to_string().contains("gone"), "{error}");
    assert_eq!(gone.calls().len(), 1);
}
