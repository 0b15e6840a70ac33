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
    parallelization_factor: Option<i32>,
    /// `MaximumRecordAgeInSeconds` (`None`: -1, no limit).
    max_record_age_seconds: Option<i32>,
    /// `StartingPosition` `AT_TIMESTAMP` from this time (`None`: `TRIM_HORIZON`).
    at_timestamp: Option<aws_sdk_lambda::primitives::DateTime>,
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
        if let Some(factor) = mapping.parallelization_factor {
            request = request.parallelization_factor(factor);
        }
        if let Some(seconds) = mapping.max_record_age_seconds {
            request = request.maximum_record_age_in_seconds(seconds);
        }
        if let Some(at) = mapping.at_timestamp {
            request = request
                .starting_position(EventSourcePosition::AtTimestamp)
                .starting_position_timestamp(at);
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

    /// Every invocation's whole line (window, state, final flag included). A line the function is still writing
    /// (a large one, read halfway) is not one yet.
    fn raw_invocations(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.record_file).unwrap_or_default();
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        whole.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// The invocations the function has seen: (sequence numbers, data) per invocation.
    fn invocations(&self) -> Vec<(Vec<String>, Vec<String>)> {
        self.raw_invocations()
            .into_iter()
            .map(|value| {
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

    /// Waits until `done` holds for every invocation's whole line (at most 30 s), then returns the lines.
    async fn wait_for_lines(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let lines = self.raw_invocations();
            if done(&lines) || started.elapsed() > Duration::from_secs(30) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The UUID of the test's one mapping.
    async fn mapping_uuid(&self) -> String {
        let listed = self
            .lambda
            .list_event_source_mappings()
            .function_name(&self.function.name)
            .send()
            .await
            .unwrap();
        listed
            .event_source_mappings()
            .first()
            .unwrap()
            .uuid()
            .unwrap()
            .to_owned()
    }

    /// The objects under `aws/lambda/` of an on-failure bucket, parsed.
    async fn on_failure_objects(&self, bucket: &str) -> Vec<Value> {
        let s3 = lab_testkit::local_s3(&self.config);
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("aws/lambda/")
            .send()
            .await
            .unwrap();
        let mut objects = vec![];
        for object in listed.contents() {
            let body = s3
                .get_object()
                .bucket(bucket)
                .key(object.key().unwrap())
                .send()
                .await
                .unwrap()
                .body;
            let bytes = body.collect().await.unwrap().into_bytes();
            objects.push(serde_json::from_slice(&bytes).unwrap());
        }
        objects
    }
}

/// How many times each sequence number reached the function.
fn deliveries(invocations: &[(Vec<String>, Vec<String>)]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (sequences, _) in invocations {
        for sequence in sequences {
            *counts.entry(sequence.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// How many records the invocations carried in windows that have had their final invocation.
fn closed_records(lines: &[Value]) -> usize {
    let closed: Vec<&Value> = lines
        .iter()
        .filter(|line| line["is_final"] == true)
        .map(|line| &line["window"])
        .collect();
    lines
        .iter()
        .filter(|line| closed.contains(&&line["window"]))
        .map(|line| line["data"].as_array().map_or(0, Vec::len))
        .sum()
}

/// Waits (at most 30 s) until the supervisor's mappings have finished `records` (counted once checkpointed).
async fn wait_for_done(supervisor: &Supervisor, records: u64) {
    let started = Instant::now();
    let done = || -> u64 {
        supervisor
            .all_stats()
            .iter()
            .map(|(_, stats)| stats.records_done.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    };
    while done() < records && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
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

    // The copy under .lab/ adds the diagnosis AWS's record has no room for.
    assert_eq!(failures[0]["lab"]["outcome"], "FunctionError");
    let message = failures[0]["lab"]["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("scripted crash"),
        "the function's error text: {message}"
    );

    let objects = fixture.on_failure_objects(&bucket).await;
    assert_eq!(
        objects.len(),
        1,
        "the invocation record also went to the S3 on-failure destination"
    );
    assert_is_awss_on_failure_record(&objects[0], &fixture.stream_arn, &sequences[1]);
}

/// What an S3 on-failure destination receives, as "Retain discarded batch records for a Kinesis Data Streams event
/// source" (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html) shows it, for a
/// function error given up after one retry on the record `poison`.
fn assert_is_awss_on_failure_record(record: &Value, stream_arn: &str, poison: &str) {
    assert_eq!(
        sorted_keys(record),
        [
            "KinesisBatchInfo",
            "payload",
            "requestContext",
            "responseContext",
            "timestamp",
            "version"
        ],
        "AWS's fields and no others (no diagnosis) in what the destination receives"
    );
    assert_eq!(
        record["responseContext"],
        serde_json::json!({ "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" }),
        "responseContext holds statusCode, executedVersion and functionError only"
    );
    assert_eq!(record["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"], 2,
        "the first call and one retry"
    );
    assert_eq!(
        sorted_keys(&record["KinesisBatchInfo"]),
        [
            "approximateArrivalOfFirstRecord",
            "approximateArrivalOfLastRecord",
            "batchSize",
            "endSequenceNumber",
            "shardId",
            "startSequenceNumber",
            "streamArn"
        ]
    );
    assert_eq!(record["KinesisBatchInfo"]["streamArn"], stream_arn);
    let payload = record["payload"]
        .as_str()
        .expect("the payload is the invocation event as a JSON string");
    let event: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(
        event["Records"][0]["kinesis"]["sequenceNumber"], poison,
        "the event that was given up: the poison record alone"
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
    // The puts may take long enough (a busy machine) for their records to fall into several windows: wait until
    // the windows holding them have all closed.
    fixture.put("key", &["ok-0", "ok-1", "ok-2", "ok-3", "ok-4"]).await;
    fixture.wait_for_lines(|lines| closed_records(lines) >= 5).await;
    fixture.put("key", &["ok-5", "ok-6", "ok-7"]).await;
    fixture.wait_for_lines(|lines| closed_records(lines) >= 8).await;

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

// "Stateful processing" (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html): "If the
// response does not contain a state property, Lambda considers this a failed invocation."
#[tokio::test]
async fn a_tumbling_window_answer_without_state_is_a_failed_invocation() {
    let fixture = fixture("no-state").await;
    let s3 = lab_testkit::local_s3(&fixture.config);
    let bucket = lab_testkit::unique_name("no-state").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let sequences = fixture.put("key", &["ok-0", "no-state"]).await;
    // A long window, so that it does not end (and make a final invocation) while the test runs.
    let supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            max_retries: Some(1),
            on_failure_bucket: Some(bucket.clone()),
            tumbling_window_seconds: Some(900),
            ..Mapping::default()
        })
        .await;
    let invocations = fixture.wait_for(|invocations| invocations.len() >= 2).await;
    let uuid = fixture.mapping_uuid().await;
    let started = Instant::now();
    while fixture.failure_records().is_empty() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(invocations[0].0, sequences, "one batch of both records");
    assert_eq!(invocations[1].0, sequences, "retried whole, as a failed invocation is");
    let stats = supervisor.stats(&uuid).unwrap();
    assert_eq!(
        stats.responses_without_state.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    let failures = fixture.failure_records();
    assert_eq!(
        failures.len(),
        1,
        "given up after MaximumRetryAttempts = 1: {failures:?}"
    );
    assert_eq!(failures[0]["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(
        failures[0]["responseContext"],
        serde_json::json!({ "statusCode": 200, "executedVersion": "$LATEST" }),
        "the function returned normally: no functionError"
    );
    let message = failures[0]["lab"]["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("without `state`"),
        "the local copy says why: {message}"
    );
    let payload: Value = serde_json::from_str(failures[0]["payload"].as_str().unwrap()).unwrap();
    assert!(
        payload["window"].is_object(),
        "the given-up event is the window's invocation: {payload}"
    );

    // The shard moved on.
    let after = fixture.put("key", &["ok-2"]).await;
    let invocations = fixture.wait_for(|invocations| invocations.len() >= 3).await;
    assert_eq!(
        invocations[2].0, after,
        "the next record is delivered after the given-up batch"
    );
}

// "If the invocation is unsuccessful, your Lambda function suspends further processing until a successful
// invocation" (services-kinesis-windows.html): the final invocation is retried, and nothing after it goes first.
#[tokio::test]
async fn a_failed_final_invocation_is_retried_before_the_shard_moves_on() {
    let fixture = fixture("final").await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            tumbling_window_seconds: Some(1),
            ..Mapping::default()
        })
        .await;
    fixture.put("key", &["ok-0", "final-fails-once"]).await;
    let window_of_first = |lines: &[Value]| {
        lines
            .iter()
            .find(|line| {
                line["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|data| data == "final-fails-once")
            })
            .map(|line| line["window"].clone())
    };
    let finals_of = |lines: &[Value], window: &Value| {
        lines
            .iter()
            .filter(|line| line["is_final"] == true && line["window"] == *window)
            .count()
    };
    fixture
        .wait_for_lines(|lines| window_of_first(lines).is_some_and(|window| finals_of(lines, &window) >= 1))
        .await;
    // A record of a later window, there while the final invocation is being retried.
    let later = fixture.put("key", &["ok-later"]).await;
    let delivered_later = |lines: &[Value]| lines.iter().any(|line| line["sequences"][0] == later[0].as_str());
    let lines = fixture
        .wait_for_lines(|lines| {
            delivered_later(lines) && window_of_first(lines).is_some_and(|window| finals_of(lines, &window) >= 2)
        })
        .await;
    let window_of_first = window_of_first(&lines).unwrap();
    let final_lines: Vec<(usize, &Value)> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line["is_final"] == true && line["window"] == window_of_first)
        .collect();
    assert_eq!(
        final_lines.len(),
        2,
        "the failed final invocation was made again: {lines:?}"
    );
    assert_eq!(
        final_lines[0].1["state"], final_lines[1].1["state"],
        "with the same state"
    );
    assert_eq!(
        final_lines[1].1["state"]["final_fails"], "once",
        "the window's own state, carried to its final invocation"
    );
    let later_at = lines
        .iter()
        .position(|line| line["sequences"][0] == later[0].as_str())
        .unwrap();
    assert!(
        later_at > final_lines[1].0,
        "the later window's records wait until the final invocation succeeded: {lines:?}"
    );
}

// "Your state can be a maximum of 1 MB per shard. If it exceeds that size, Lambda terminates the window early."
#[tokio::test]
async fn a_state_over_1_mb_ends_the_window_early_and_the_window_goes_on_with_a_fresh_state() {
    let fixture = fixture("big-state").await;
    let sequences = fixture.put("key", &["ok-0", "big-state:1100000", "ok-2"]).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 1,
            tumbling_window_seconds: Some(900),
            ..Mapping::default()
        })
        .await;
    let lines = fixture
        .wait_for_lines(|lines| lines.iter().any(|line| line["sequences"][0] == sequences[2].as_str()))
        .await;
    let summary: Vec<(Value, Value, Value, Value)> = lines
        .iter()
        .map(|line| {
            (
                line["sequences"][0].clone(),
                line["is_final"].clone(),
                line["terminated_early"].clone(),
                line["state"]["count"].clone(),
            )
        })
        .collect();
    let (null, yes, no) = (Value::Null, Value::Bool(true), Value::Bool(false));
    let at = |n: usize| Value::String(sequences[n].clone());
    assert_eq!(
        summary,
        [
            (at(0), no.clone(), no.clone(), null.clone()),
            (at(1), no.clone(), no.clone(), "1".into()),
            // The state grew past 1 MB: a final invocation with it, flagged as ending early...
            (null.clone(), yes.clone(), yes.clone(), "2".into()),
            // ...and the same window goes on, with a fresh state.
            (at(2), no.clone(), no.clone(), null.clone()),
        ],
        "(record, final, terminated early, state's count) per invocation"
    );
    assert_eq!(lines[2]["window"], lines[3]["window"], "the same window");
}

// The events' invokeIdentityArn is the function's execution role (with-kinesis.html's example event).
#[tokio::test]
async fn the_events_invoke_identity_is_the_functions_execution_role() {
    let fixture = fixture("identity").await;
    fixture.put("key", &["ok-0"]).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            ..Mapping::default()
        })
        .await;
    let lines = fixture.wait_for_lines(|lines| !lines.is_empty()).await;
    let function = fixture
        .lambda
        .get_function()
        .function_name(&fixture.function.name)
        .send()
        .await
        .unwrap();
    let role = function.configuration().unwrap().role().unwrap();
    assert!(role.contains(":role/"), "{role}");
    assert_eq!(lines[0]["invoke_identity_arn"], role);
}

#[tokio::test]
async fn a_mapping_with_parallelization_factor_above_1_is_refused_with_the_reason() {
    let fixture = fixture("parallel").await;
    fixture.put("key", &["ok-0"]).await;
    let supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            parallelization_factor: Some(2),
            ..Mapping::default()
        })
        .await;
    let uuid = fixture.mapping_uuid().await;
    let why = supervisor.refusal(&uuid).expect("the mapping is refused");
    assert!(
        why.contains("ParallelizationFactor 2") && why.contains("ParallelizationFactor 1"),
        "the reason names the setting and what is accepted: {why}"
    );
    assert!(supervisor.stats(&uuid).is_none(), "no poller runs for it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fixture.invocations().is_empty(), "and nothing is delivered");
}

#[tokio::test]
async fn a_new_data_plane_resumes_after_the_checkpoint_and_delivers_each_record_once() {
    let fixture = fixture("restart").await;
    let before = fixture.put("key", &["ok-0", "ok-1", "ok-2"]).await;
    let supervisor = fixture
        .map(Mapping {
            batch_size: 2,
            ..Mapping::default()
        })
        .await;
    wait_for_done(&supervisor, before.len() as u64).await;
    drop(supervisor);

    // A new data plane on the same folders, as after restarting `cargo xtask cloud up`.
    let _supervisor = fixture.function.supervisor(&fixture.config).await.unwrap();
    let after = fixture.put("key", &["ok-3", "ok-4"]).await;
    fixture
        .wait_for(|invocations| deliveries(invocations).contains_key(&after[1]))
        .await;
    // Long enough for a poller starting again at TRIM_HORIZON to have delivered the first records again.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let counts = deliveries(&fixture.invocations());
    let expected: std::collections::BTreeMap<String, usize> = before
        .iter()
        .chain(&after)
        .map(|sequence| (sequence.clone(), 1))
        .collect();
    assert_eq!(counts, expected, "every record reached the function exactly once");
}

#[tokio::test]
async fn an_updated_mapping_resumes_after_its_checkpoint() {
    let fixture = fixture("update").await;
    let before = fixture.put("key", &["ok-0", "ok-1", "ok-2"]).await;
    let mut supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            ..Mapping::default()
        })
        .await;
    wait_for_done(&supervisor, before.len() as u64).await;

    let uuid = fixture.mapping_uuid().await;
    fixture
        .lambda
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(2)
        .send()
        .await
        .unwrap();
    supervisor.sync().await.unwrap();
    let (settings, _) = supervisor.all_stats().into_iter().next().unwrap();
    assert_eq!(
        settings.batch_size, 2,
        "the pollers were started again with the new settings"
    );

    let after = fixture.put("key", &["ok-3", "ok-4", "ok-5"]).await;
    fixture
        .wait_for(|invocations| deliveries(invocations).contains_key(&after[2]))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let invocations = fixture.invocations();
    let counts = deliveries(&invocations);
    let expected: std::collections::BTreeMap<String, usize> = before
        .iter()
        .chain(&after)
        .map(|sequence| (sequence.clone(), 1))
        .collect();
    assert_eq!(counts, expected, "every record reached the function exactly once");
    assert!(
        invocations.iter().skip(1).all(|(sequences, _)| sequences.len() <= 2),
        "after the update, batches of the new BatchSize: {invocations:?}"
    );
}

// StartingPosition AT_TIMESTAMP: "Specify a time from which to start reading records"
// (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
#[tokio::test]
async fn at_timestamp_starts_at_the_starting_position_timestamp() {
    let fixture = fixture("at-timestamp").await;
    fixture.put("key", &["ok-before-1", "ok-before-2"]).await;
    // Arrival times are in ms: the timestamp falls strictly between the two puts.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let at = aws_sdk_lambda::primitives::DateTime::from_millis(chrono::Utc::now().timestamp_millis());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = fixture.put("key", &["ok-after-1", "ok-after-2"]).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            at_timestamp: Some(at),
            ..Mapping::default()
        })
        .await;
    let invocations = fixture.wait_for(|invocations| delivered(invocations) >= 2).await;
    // A little longer: anything read from the start would have come by now too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received: Vec<String> = fixture.invocations().into_iter().flat_map(|(_, data)| data).collect();
    assert_eq!(received, ["ok-after-1", "ok-after-2"], "{invocations:?}");
    let sequences: Vec<String> = fixture.invocations().into_iter().flat_map(|(s, _)| s).collect();
    assert_eq!(sequences, after);
}

// BatchSize: "Lambda passes all of the records in the batch to the function in a single call, up to the payload
// limit for synchronous invocation (6 MB)" (API_CreateEventSourceMapping.html): a batch is cut to fit.
#[tokio::test]
async fn a_batch_whose_event_would_pass_6_mb_is_cut_to_fit_in_order() {
    let fixture = fixture("payload-cap").await;
    // 8 records of 900,000 bytes, 1.2 MB each in base64: 5 fit in 6 MB, not 6.
    let big: Vec<String> = (0..8).map(|n| format!("ok-{n}-{}", "x".repeat(900_000))).collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    let sequences = fixture.put("key", &big).await;
    let _supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            ..Mapping::default()
        })
        .await;
    let invocations = fixture.wait_for(|invocations| delivered(invocations) >= 8).await;
    let sizes: Vec<usize> = invocations.iter().map(|(s, _)| s.len()).collect();
    assert_eq!(sizes, [5, 3], "the first batch cut at 6 MB, the rest next");
    let received: Vec<String> = invocations.into_iter().flat_map(|(s, _)| s).collect();
    assert_eq!(received, sequences, "each record once, in the shard's order");
}

// "6 MB each for request and response" (gettingstarted-limits.html): a larger answer fails the invocation.
#[tokio::test]
async fn an_answer_over_6_mb_is_a_function_error() {
    let fixture = fixture("response-cap").await;
    let supervisor = fixture
        .map(Mapping {
            batch_size: 1,
            max_retries: Some(0),
            ..Mapping::default()
        })
        .await;
    fixture
        .put("key", &["big-response:6000000", "big-response:6300000"])
        .await;
    let started = Instant::now();
    while fixture.failure_records().is_empty() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let records = fixture.failure_records();
    assert_eq!(records.len(), 1, "only the answer over the limit failed: {records:?}");
    let record = &records[0];
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["lab"]["errorType"], "Function.ResponseSizeTooLarge");
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 1);
    let stats = supervisor.all_stats().pop().unwrap().1;
    assert_eq!(
        stats.records_done.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "6,000,000 bytes is within it"
    );
}

// With the default MaximumRetryAttempts (-1) a failing final invocation is retried until its records are older than
// MaximumRecordAgeInSeconds, then given up (RecordAgeExceeded) and the shard moves on
// (services-kinesis-windows.html; kinesis-on-failure-destination.html). A second here, not AWS's minimum of 60:
// the emulator's control plane takes it, and no test waits a minute.
#[tokio::test]
async fn a_final_invocation_failing_for_ever_is_given_up_once_its_records_are_too_old() {
    let fixture = fixture("final-age").await;
    let supervisor = fixture
        .map(Mapping {
            batch_size: 10,
            tumbling_window_seconds: Some(1),
            max_record_age_seconds: Some(1),
            ..Mapping::default()
        })
        .await;
    // One record: its window is the one whose final invocation fails.
    fixture.put("key", &["final-fails-always"]).await;
    let started = Instant::now();
    while fixture.failure_records().is_empty() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let later = fixture.put("key", &["ok-later"]).await;
    let lines = fixture
        .wait_for_lines(|lines| lines.iter().any(|line| line["sequences"][0] == later[0].as_str()))
        .await;
    let records = fixture.failure_records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(records[0]["KinesisBatchInfo"]["batchSize"], 1, "the window's record");
    assert!(
        lines.iter().any(|line| line["sequences"][0] == later[0].as_str()),
        "the shard moved on: {lines:?}"
    );
    let stats = supervisor.all_stats().pop().unwrap().1;
    assert_eq!(stats.records_given_up.load(std::sync::atomic::Ordering::Relaxed), 1);
}
