//! The event source mapping against the local emulator, with a real function binary run by the Lambda host.
//! Each test registers a mapping in the Lambda API (moto) the way a deploy does, lets the supervisor find it, puts
//! records into a one-shard stream and reads what the function saw.

use aws_sdk_lambda::types::{DestinationConfig, EventSourcePosition, FunctionResponseType, OnFailure};
use lab_cloud::supervisor::Supervisor;
use lab_cloud::testing::{LocalFunction, one_shard_stream};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Fixture {
    config: aws_config::SdkConfig,
    stream_arn: String,
    function: LocalFunction,
    record_file: PathBuf,
    kinesis: aws_sdk_kinesis::Client,
    lambda: aws_sdk_lambda::Client,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.record_file);
        let _ = std::fs::remove_file(self.record_file.with_extension("jsonl.seen"));
    }
}

/// What to register for a test's mapping.
#[derive(Default)]
struct Mapping {
    batch_size: i32,
    window_seconds: i32,
    report_failures: bool,
    bisect: bool,
    max_retries: Option<i32>,
    on_failure_bucket: Option<String>,
    tumbling_window_seconds: Option<i32>,
}

async fn fixture(name: &str) -> Fixture {
    let config = lab_testkit::local_aws().await;
    let stream_arn = one_shard_stream(&config, name).await.unwrap();
    let record_file = std::env::temp_dir()
        .join(lab_testkit::unique_name("invocations"))
        .with_extension("jsonl");
    let binary = Path::new(env!("CARGO_BIN_EXE_scripted-function"));
    let environment = [("RECORD_FILE", record_file.to_str().unwrap())];
    let function = LocalFunction::register(&config, "scripted", binary, &environment)
        .await
        .unwrap();
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    Fixture {
        config,
        stream_arn,
        function,
        record_file,
        kinesis,
        lambda,
    }
}

impl Fixture {
    async fn map(&self, mapping: Mapping) -> Supervisor {
        let mut request = self
            .lambda
            .create_event_source_mapping()
            .function_name(&self.function.name)
            .event_source_arn(&self.stream_arn)
            .starting_position(EventSourcePosition::TrimHorizon)
            .batch_size(mapping.batch_size)
            .maximum_batching_window_in_seconds(mapping.window_seconds)
            .bisect_batch_on_function_error(mapping.bisect)
            .maximum_retry_attempts(mapping.max_retries.unwrap_or(-1));
        if let Some(seconds) = mapping.tumbling_window_seconds {
            request = request.tumbling_window_in_seconds(seconds);
        }
        if mapping.report_failures {
            request = request.function_response_types(FunctionResponseType::ReportBatchItemFailures);
        }
        if let Some(bucket) = &mapping.on_failure_bucket {
            let destination = OnFailure::builder()
                .destination(format!("arn:aws:s3:::{bucket}"))
                .build();
            request = request.destination_config(DestinationConfig::builder().on_failure(destination).build());
        }
        request.send().await.unwrap();

        self.function.supervisor(&self.config).await.unwrap()
    }

    async fn put(&self, key: &str, data: &[&str]) -> Vec<String> {
        let mut sequences = vec![];
        for text in data {
            let put = self
                .kinesis
                .put_record()
                .stream_arn(&self.stream_arn)
                .partition_key(key)
                .data(aws_sdk_kinesis::primitives::Blob::new(text.as_bytes()))
                .send()
                .await
                .unwrap();
            sequences.push(put.sequence_number);
        }
        sequences
    }

    /// Every invocation's whole line (window, state, final flag included).
    fn raw_invocations(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.record_file).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// The invocations the function has seen: (sequence numbers, data) per invocation.
    fn invocations(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let text = std::fs::read_to_string(&self.record_file).unwrap_or_default();
        text.lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).unwrap();
                let strings = |key: &str| -> Vec<String> {
                    value[key]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect()
                };
                (strings("sequences"), strings("data"))
            })
            .collect()
    }

    /// Waits until `done` holds for the invocations (at most 30 s), then returns them.
    async fn wait_for(&self, done: impl Fn(&[(Vec<String>, Vec<String>)]) -> bool) -> Vec<(Vec<String>, Vec<String>)> {
        let started = Instant::now();
        loop {
            let invocations = self.invocations();
            if done(&invocations) || started.elapsed() > Duration::from_secs(30) {
                return invocations;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn failure_records(&self) -> Vec<Value> {
        self.function.failure_records()
    }
}

fn delivered(invocations: &[(Vec<String>, Vec<String>)]) -> usize {
    invocations.iter().map(|(sequences, _)| sequences.len()).sum()
}

#[tokio::test]
async fn a_reported_item_failure_checkpoints_there_and_the_retry_starts_there() {
    let fixture = fixture("checkpoint").await;
    let sequences = fixture
        .put("key", &["ok-0", "ok-1", "fail-once-2", "ok-3", "ok-4"])
        .await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            window_seconds: 1,
            report_failures: true,
            ..Mapping::default()
        })
        .await;

    let invocations = fixture.wait_for(|invocations| invocations.len() >= 2).await;
    assert_eq!(invocations.len(), 2, "one batch, then one retry: {invocations:?}");
    assert_eq!(invocations[0].0, sequences, "the first batch holds all five records");
    assert_eq!(
        invocations[1].0,
        sequences[2..],
        "the retry starts at the reported record, not at the batch's start"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fixture.invocations().len(),
        2,
        "after a successful retry the shard moves on"
    );
}

#[tokio::test]
async fn bisect_splits_a_failing_batch_and_exhausted_retries_go_to_the_on_failure_destination() {
    let fixture = fixture("bisect").await;
    let s3 = lab_testkit::local_s3(&fixture.config);
    let bucket = lab_testkit::unique_name("failures").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let sequences = fixture.put("key", &["ok-0", "crash-1", "ok-2", "ok-3"]).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            window_seconds: 1,
            bisect: true,
            max_retries: Some(1),
            on_failure_bucket: Some(bucket.clone()),
            ..Mapping::default()
        })
        .await;
    // Then the shard must move on past the poison record.
    let invocations = fixture
        .wait_for(|invocations| invocations.iter().any(|(_, data)| data == &["ok-2", "ok-3"]))
        .await;
    let batches: Vec<Vec<String>> = invocations.iter().map(|(_, data)| data.clone()).collect();
    assert_eq!(batches[0], ["ok-0", "crash-1", "ok-2", "ok-3"], "the whole batch first");
    assert_eq!(batches[1], ["ok-0", "crash-1"], "then its first half");
    assert!(
        batches.contains(&vec!["crash-1".to_owned()]),
        "halved again down to the poison record: {batches:?}"
    );
    assert_eq!(
        batches.last().unwrap(),
        &["ok-2", "ok-3"],
        "the second half comes last, in order"
    );

    let failures = fixture.failure_records();
    assert_eq!(failures.len(), 1, "one batch given up: {failures:?}");
    let info = &failures[0]["KinesisBatchInfo"];
    assert_eq!(failures[0]["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(info["startSequenceNumber"], sequences[1].as_str());
    assert_eq!(info["batchSize"], 1, "only the poison record is given up");

    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("aws/lambda/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        objects.key_count,
        Some(1),
        "the invocation record also went to the S3 on-failure destination"
    );
}

#[tokio::test]
async fn a_batching_window_holds_small_batches() {
    let fixture = fixture("window").await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 100,
            window_seconds: 3,
            ..Mapping::default()
        })
        .await;
    // Three records, a few hundred milliseconds apart while the poller looks every 50 ms: without a window they
    // would go in separate invocations.
    for index in 0..3 {
        fixture.put("key", &[&format!("ok-{index}")]).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let invocations = fixture.wait_for(|invocations| delivered(invocations) >= 3).await;
    assert_eq!(
        invocations.len(),
        1,
        "the window gathered the three records into one invocation: {invocations:?}"
    );
    assert_eq!(invocations[0].1, ["ok-0", "ok-1", "ok-2"]);
}

#[tokio::test]
async fn records_of_a_shard_arrive_in_order_through_retries() {
    let fixture = fixture("order").await;
    let data: Vec<String> = (0..40)
        .map(|n| {
            if n == 17 {
                format!("fail-once-{n}")
            } else {
                format!("ok-{n}")
            }
        })
        .collect();
    let texts: Vec<&str> = data.iter().map(String::as_str).collect();
    fixture.put("same-key", &texts).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 7,
            window_seconds: 0,
            report_failures: true,
            ..Mapping::default()
        })
        .await;

    let invocations = fixture
        .wait_for(|invocations| invocations.iter().any(|(_, batch)| batch.contains(&data[39])))
        .await;
    let mut first_seen: Vec<String> = vec![];
    for (_, batch) in &invocations {
        for text in batch {
            if !first_seen.contains(text) {
                first_seen.push(text.clone());
            }
        }
    }
    assert_eq!(
        first_seen, data,
        "every record reaches the function, in the order it was put"
    );
    let with_failure: Vec<&Vec<String>> = invocations
        .iter()
        .map(|(_, batch)| batch)
        .filter(|batch| batch.contains(&data[17]))
        .collect();
    assert_eq!(with_failure.len(), 2, "the reported record is delivered again once");
    assert_eq!(with_failure[1][0], data[17], "and the retry starts with it");
    assert!(
        invocations.iter().all(|(sequences, _)| sequences.len() <= 7),
        "no batch above BatchSize"
    );
}

#[tokio::test]
async fn a_tumbling_window_carries_state_and_ends_with_a_final_invocation() {
    let fixture = fixture("window").await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 2,
            window_seconds: 0,
            tumbling_window_seconds: Some(2),
            ..Mapping::default()
        })
        .await;
    let finals = |lines: &[Value]| lines.iter().filter(|line| line["is_final"] == true).count();

    fixture.put("key", &["ok-0", "ok-1", "ok-2", "ok-3", "ok-4"]).await;
    let started = Instant::now();
    while finals(&fixture.raw_invocations()) < 1 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fixture.put("key", &["ok-5", "ok-6", "ok-7"]).await;
    while finals(&fixture.raw_invocations()) < 2 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let lines = fixture.raw_invocations();
    let mut windows: Vec<(Value, usize, Value)> = vec![]; // (window, records seen, final state)
    let mut carried = serde_json::json!({});
    for line in &lines {
        assert!(line["window"].is_object(), "every invocation names its window: {line}");
        let records = line["data"].as_array().unwrap().len();
        if windows.last().is_none_or(|(window, _, _)| *window != line["window"]) {
            windows.push((line["window"].clone(), 0, Value::Null));
            carried = serde_json::json!({});
        }
        assert_eq!(
            line["state"], carried,
            "each invocation gets the state the previous one returned in its window"
        );
        let current = windows.last_mut().unwrap();
        current.1 += records;
        if line["is_final"] == true {
            assert_eq!(records, 0, "the final invocation carries no records");
            current.2 = line["state"].clone();
        }
        carried = serde_json::json!({ "count": current.1.to_string() });
    }
    let closed: Vec<&(Value, usize, Value)> = windows.iter().filter(|(_, _, state)| !state.is_null()).collect();
    let total: usize = closed.iter().map(|(_, count, _)| count).sum();
    assert_eq!(total, 8, "every record was in exactly one closed window: {lines:?}");
    for (window, count, state) in closed {
        assert_eq!(
            state["count"],
            count.to_string().as_str(),
            "the final state of {window} counts its records"
        );
    }
}
