//! Faults injected on purpose (`--faults ... --seed N`), each deterministic with its seed: the Lambda host's
//! function-error and function-timeout here (the front door's put-internal and put-5xx are in `gateway.rs`, next
//! to its other write tests).

use crate::scripted::scripted_function;
use lab_cloud::lambda_host::{LambdaHost, Outcome};
use lab_cloud::runtime::faults::{FaultPlan, unit};
use lab_contract::FaultKind;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn plan(spec: &str, seed: u64) -> Arc<FaultPlan> {
    Arc::new(FaultPlan::new(spec.parse().unwrap(), seed, Duration::from_secs(1)))
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
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(5));
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
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(5));
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
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(300));
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
    let (spec, folder) = scripted_function("scripted", Duration::from_secs(5));
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

// ---------------------------------------------------------------------------------------------------------------
// s3-error: the Firehose pump's S3 writes. Only this test's pump is looked at (its stats and the keys it wrote): a
// data plane kept up by `cloud up` on the same emulator pumps every delivery stream too, without faults.

mod s3_error {
    use super::*;
    use aws_sdk_firehose::types::{
        BufferingHints, CompressionFormat, DeliveryStreamType, ExtendedS3DestinationConfiguration,
        KinesisStreamSourceConfiguration,
    };
    use lab_cloud::runtime::firehose::DeliveryStats;
    use lab_cloud::supervisor::{Folders, Supervisor};
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    struct Delivery {
        config: aws_config::SdkConfig,
        stream: String,
        bucket: String,
        name: String,
        state: PathBuf,
    }

    impl Drop for Delivery {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }

    /// A one-shard stream, a bucket, and a delivery stream between them that writes every second.
    async fn delivery() -> Delivery {
        let config = lab_testkit::local_aws().await;
        let kinesis = aws_sdk_kinesis::Client::new(&config);
        let stream = lab_testkit::unique_name("s3-error-source");
        kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .unwrap();
        let stream_arn = summary.stream_description_summary.unwrap().stream_arn;
        let bucket = lab_testkit::unique_name("s3-error-bucket").to_lowercase();
        lab_testkit::local_s3(&config)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let role = "arn:aws:iam::123456789012:role/firehose-test";
        let destination = ExtendedS3DestinationConfiguration::builder()
            .role_arn(role)
            .bucket_arn(format!("arn:aws:s3:::{bucket}"))
            .prefix("telemetry/")
            .buffering_hints(BufferingHints::builder().interval_in_seconds(1).build())
            .compression_format(CompressionFormat::Uncompressed)
            .build()
            .unwrap();
        let source = KinesisStreamSourceConfiguration::builder()
            .kinesis_stream_arn(stream_arn)
            .role_arn(role)
            .build()
            .unwrap();
        let name = lab_testkit::unique_name("s3-error-delivery");
        aws_sdk_firehose::Client::new(&config)
            .create_delivery_stream()
            .delivery_stream_name(&name)
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(source)
            .extended_s3_destination_configuration(destination)
            .send()
            .await
            .unwrap();
        let state = std::env::temp_dir().join(lab_testkit::unique_name("s3-error-state"));
        Delivery {
            config,
            stream,
            bucket,
            name,
            state,
        }
    }

    impl Delivery {
        /// A data plane pumping only this delivery stream, with `faults`; its pump's stats.
        async fn pump(&self, faults: Arc<FaultPlan>) -> (Supervisor, Arc<DeliveryStats>) {
            let folders = Folders {
                functions: self.state.join("functions"),
                logs: self.state.join("logs"),
                failures: self.state.join("failures"),
                checkpoints: self.state.join("checkpoints"),
            };
            let pacing = lab_cloud::testing::test_pacing();
            let mut supervisor = Supervisor::new(self.config.clone(), vec![], folders, pacing)
                .with_faults(faults, &[])
                .only_delivery_streams([self.name.clone()]);
            supervisor.sync().await.unwrap();
            let stats = supervisor.delivery_stats().pop().expect("the pump runs").1;
            (supervisor, stats)
        }

        async fn put(&self, count: usize) {
            let kinesis = aws_sdk_kinesis::Client::new(&self.config);
            for index in 0..count {
                kinesis
                    .put_record()
                    .stream_name(&self.stream)
                    .partition_key("k")
                    .data(aws_sdk_kinesis::primitives::Blob::new(format!("record {index}\n")))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Waits until `done` holds for the pump's stats (at most 30 s).
    async fn until(stats: &DeliveryStats, done: impl Fn(&DeliveryStats) -> bool) {
        let started = Instant::now();
        while !done(stats) && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn a_failed_s3_write_is_retried_and_the_object_written_once() {
        let delivery = delivery().await;
        let rate = 0.5;
        let seed = (0..)
            .find(|&seed| unit(seed, FaultKind::S3Error, 0) < rate && unit(seed, FaultKind::S3Error, 1) >= rate)
            .unwrap();
        let faults = Arc::new(FaultPlan::new(
            format!("s3-error={rate}").parse().unwrap(),
            seed,
            Duration::from_secs(60),
        ));
        let (_supervisor, stats) = delivery.pump(faults.clone()).await;

        delivery.put(3).await;
        until(&stats, |stats| stats.records.load(Ordering::Relaxed) >= 3).await;

        assert_eq!(stats.records.load(Ordering::Relaxed), 3);
        assert_eq!(stats.s3_retries.load(Ordering::Relaxed), 1, "the first write failed");
        assert_eq!(faults.injected_of(FaultKind::S3Error), 1);
        let keys = stats.written_keys.lock().unwrap().clone();
        assert_eq!(keys.len(), 1);
        let body = lab_testkit::local_s3(&delivery.config)
            .get_object()
            .bucket(&delivery.bucket)
            .key(&keys[0])
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(body.as_ref(), b"record 0\nrecord 1\nrecord 2\n");
    }

    #[tokio::test]
    async fn records_that_s3_refuses_past_the_retry_window_are_dropped_not_written_under_the_error_prefix() {
        let delivery = delivery().await;
        let faults = Arc::new(FaultPlan::new("s3-error=1".parse().unwrap(), 0, Duration::from_secs(2)));
        let (_supervisor, stats) = delivery.pump(faults.clone()).await;

        delivery.put(3).await;
        until(&stats, |stats| stats.records_dropped.load(Ordering::Relaxed) >= 3).await;

        assert_eq!(stats.records_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(stats.records.load(Ordering::Relaxed), 0);
        assert!(stats.written_keys.lock().unwrap().is_empty());
        assert!(
            stats.s3_retries.load(Ordering::Relaxed) >= 2,
            "retried once a second for the window"
        );
    }
}
