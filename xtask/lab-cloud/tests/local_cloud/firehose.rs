//! Firehose from a Kinesis stream into S3 against the local emulator: the control plane is moto's Firehose API,
//! the data moved by the local cloud's pump.

use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor, ProcessorType,
};
use lab_cloud::supervisor::{Folders, Supervisor};
use std::time::{Duration, Instant};

struct Fixture {
    config: aws_config::SdkConfig,
    kinesis: aws_sdk_kinesis::Client,
    s3: aws_sdk_s3::Client,
    stream: String,
    bucket: String,
    delivery: String,
    state: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state);
        // The emulator holds at most 50 delivery streams (moto's quota, as AWS's default): each test removes its
        // own, on a thread of its own since Drop cannot wait on the test's runtime.
        let (delivery, stream) = (self.delivery.clone(), self.stream.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let config = lab_testkit::local_aws().await;
                let firehose = aws_sdk_firehose::Client::new(&config);
                let _ = firehose
                    .delete_delivery_stream()
                    .delivery_stream_name(delivery)
                    .send()
                    .await;
                let kinesis = aws_sdk_kinesis::Client::new(&config);
                let _ = kinesis.delete_stream().stream_name(stream).send().await;
            });
        });
        let _ = cleanup.join();
    }
}

async fn fixture(size_mb: i32, interval_seconds: i32) -> Fixture {
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let s3 = lab_testkit::local_s3(&config);
    let firehose = aws_sdk_firehose::Client::new(&config);

    let stream = lab_testkit::unique_name("firehose-source");
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let stream_arn = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap()
        .stream_arn;
    let bucket = lab_testkit::unique_name("firehose-bucket").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let role = "arn:aws:iam::123456789012:role/firehose-test";
    let delivery = lab_testkit::unique_name("delivery");
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(role)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .prefix("telemetry/")
        .error_output_prefix("errors/")
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(size_mb)
                .interval_in_seconds(interval_seconds)
                .build(),
        )
        .compression_format(CompressionFormat::Uncompressed)
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(
                    Processor::builder()
                        .r#type(ProcessorType::AppendDelimiterToRecord)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap();
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&delivery)
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(stream_arn)
                .role_arn(role)
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();

    let state = std::env::temp_dir().join(lab_testkit::unique_name("firehose-test"));
    Fixture {
        config,
        kinesis,
        s3,
        stream,
        bucket,
        delivery,
        state,
    }
}

impl Fixture {
    async fn supervisor(&self) -> Supervisor {
        let folders = Folders {
            functions: self.state.join("functions"),
            logs: self.state.join("logs"),
            failures: self.state.join("failures"),
            checkpoints: self.state.join("checkpoints"),
        };
        let environment: Vec<(String, String)> = std::env::vars().filter(|(key, _)| key.starts_with("AWS_")).collect();
        let pacing = lab_cloud::testing::test_pacing();
        let mut supervisor = Supervisor::new(self.config.clone(), environment, folders, pacing)
            .only_delivery_streams([self.delivery.clone()]);
        supervisor.sync().await.unwrap();
        supervisor
    }

    async fn put(&self, records: &[String]) {
        for (index, record) in records.iter().enumerate() {
            self.kinesis
                .put_record()
                .stream_name(&self.stream)
                .partition_key(format!("key-{index}"))
                .data(aws_sdk_kinesis::primitives::Blob::new(record.as_bytes()))
                .send()
                .await
                .unwrap();
        }
    }

    /// Every object in the bucket: (key, body).
    async fn objects(&self) -> Vec<(String, String)> {
        let listed = self.s3.list_objects_v2().bucket(&self.bucket).send().await.unwrap();
        let mut objects = vec![];
        for object in listed.contents.unwrap_or_default() {
            let key = object.key.unwrap();
            let body = self
                .s3
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .unwrap()
                .body;
            let bytes = body.collect().await.unwrap().into_bytes();
            objects.push((key, String::from_utf8(bytes.to_vec()).unwrap()));
        }
        objects
    }

    async fn wait_for_lines(&self, lines: usize, limit: Duration) -> Vec<(String, String)> {
        let started = Instant::now();
        loop {
            let objects = self.objects().await;
            let count: usize = objects.iter().map(|(_, body)| body.lines().count()).sum();
            if count >= lines || started.elapsed() > limit {
                return objects;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn records(count: usize, padding: usize) -> Vec<String> {
    (0..count)
        .map(|n| format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(padding)))
        .collect()
}

#[tokio::test]
async fn objects_appear_after_the_interval_as_ndjson_with_aws_keys() {
    let fixture = fixture(5, 2).await;
    let supervisor = fixture.supervisor().await;
    let sent = records(60, 0);
    let first_put = Instant::now();
    fixture.put(&sent).await;

    // Checked only while the interval (counted from the first record) surely has not ended: on a loaded machine
    // the puts themselves may take that long, and then an object is rightly there already.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let early = fixture.objects().await;
    assert!(
        first_put.elapsed() > Duration::from_millis(1_700) || early.is_empty(),
        "nothing is written before the buffering interval ends"
    );

    let keys = wait_for_delivered(&supervisor, sent.len() as u64, Duration::from_secs(20)).await;
    // Only this data plane's objects: `cargo xtask cloud up`'s, if it runs, pumps this delivery stream too.
    let objects: Vec<(String, String)> = fixture
        .objects()
        .await
        .into_iter()
        .filter(|(key, _)| keys.contains(key))
        .collect();
    assert!(!objects.is_empty(), "the interval ended and the buffer was written");
    let mut received: Vec<String> = vec![];
    for (key, body) in &objects {
        // telemetry/YYYY/MM/dd/HH/<delivery>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>
        let name = key.strip_prefix("telemetry/").expect("under the prefix");
        let parts: Vec<&str> = name.splitn(5, '/').collect();
        assert_eq!(parts.len(), 5, "four date folders, then the object: {key}");
        assert!(
            parts[..4].iter().all(|p| p.chars().all(|c| c.is_ascii_digit())),
            "{key}"
        );
        let object = parts[4]
            .strip_prefix(&format!("{}-1-", fixture.delivery))
            .expect("name and version first");
        assert_eq!(
            object.len(),
            "2026-11-27-09-05-03-".len() + 36,
            "a timestamp and a UUID: {key}"
        );
        assert!(
            body.ends_with('\n'),
            "AppendDelimiterToRecord ends every record with a newline"
        );
        received.extend(body.lines().map(str::to_owned));
    }
    received.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(received, expected, "every record once");

    // Firehose's CloudWatch metrics of the delivery stream: what it read and what it delivered.
    let metric = |name: &str| -> f64 {
        let data = supervisor.metrics().snapshot().into_iter();
        data.filter(|d| d.metric.namespace == "AWS/Firehose" && d.metric.name == name)
            .filter(|d| d.metric.dimensions == [("DeliveryStreamName".to_owned(), fixture.delivery.clone())])
            .map(|d| d.statistics.sum)
            .sum()
    };
    assert_eq!(metric("DeliveryToS3.Records"), sent.len() as f64);
    assert_eq!(metric("DataReadFromKinesisStream.Records"), sent.len() as f64);
    let bytes: usize = objects.iter().map(|(_, body)| body.len()).sum();
    assert_eq!(metric("DeliveryToS3.Bytes"), bytes as f64);
    assert_eq!(
        metric("DeliveryToS3.Success"),
        objects.len() as f64,
        "one success per object"
    );
}

#[tokio::test]
async fn a_full_buffer_is_written_before_the_interval() {
    // A one-minute interval, and more than 1 MiB of records: the size triggers the write, not the time.
    let fixture = fixture(1, 60).await;
    let _supervisor = fixture.supervisor().await;
    let sent = records(1_100, 1_000);
    fixture.put(&sent).await;
    let objects = fixture.wait_for_lines(1_000, Duration::from_secs(30)).await;
    assert!(
        !objects.is_empty(),
        "the buffer reached 1 MiB and was written without waiting for the interval"
    );
    let largest = objects.iter().map(|(_, body)| body.len()).max().unwrap();
    assert!(
        largest >= 1024 * 1024,
        "an object holds at least the 1 MiB that triggered it: {largest}"
    );
}

/// Waits (at most `limit`) until the supervisor's pumps have counted `records` as written (a pump checkpoints an
/// object's shards before it counts the object's records), and returns the keys of the objects they wrote.
async fn wait_for_delivered(supervisor: &Supervisor, records: u64, limit: Duration) -> Vec<String> {
    let started = Instant::now();
    let delivered = || -> u64 {
        supervisor
            .delivery_stats()
            .iter()
            .map(|(_, stats)| stats.records.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    };
    while delivered() < records && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    supervisor
        .delivery_stats()
        .iter()
        .flat_map(|(_, stats)| stats.written_keys.lock().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn a_new_data_plane_resumes_after_the_checkpoints_and_writes_each_record_once() {
    let fixture = fixture(5, 1).await;
    let sent: Vec<String> = records(60, 0);
    let (before, after) = sent.split_at(30);

    let first = fixture.supervisor().await;
    fixture.put(before).await;
    let mut keys = wait_for_delivered(&first, before.len() as u64, Duration::from_secs(20)).await;
    drop(first);
    let checkpoints = fixture
        .state
        .join("checkpoints")
        .join("firehose")
        .join(&fixture.delivery);
    let shards = std::fs::read_dir(&checkpoints).map_or(0, |entries| entries.count());
    assert_eq!(
        shards,
        2,
        "a checkpoint for each shard of the source, in {}",
        checkpoints.display()
    );

    // A new data plane on the same folders, as after restarting `cargo xtask cloud up`.
    let second = fixture.supervisor().await;
    fixture.put(after).await;
    wait_for_delivered(&second, after.len() as u64, Duration::from_secs(20)).await;
    // Long enough for a pump reading from the delivery stream's creation to have written the first half again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    keys.extend(wait_for_delivered(&second, 0, Duration::ZERO).await);

    // Only the objects these two data planes wrote: `cargo xtask cloud up`'s own data plane, if it runs, pumps
    // every delivery stream of the emulator too, as a second Firehose would.
    let objects = fixture.objects().await;
    let mut received: Vec<String> = objects
        .iter()
        .filter(|(key, _)| keys.contains(key))
        .flat_map(|(_, body)| body.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    received.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(received, expected, "every record in S3 exactly once across the restart");
}

#[tokio::test]
async fn an_updated_delivery_stream_resumes_after_the_old_pumps_checkpoints() {
    let fixture = fixture(5, 1).await;
    let sent: Vec<String> = records(40, 0);
    let (before, after) = sent.split_at(20);
    let mut supervisor = fixture.supervisor().await;
    fixture.put(before).await;
    let mut keys = wait_for_delivered(&supervisor, before.len() as u64, Duration::from_secs(20)).await;

    // A new version of the delivery stream: the supervisor replaces its pump.
    let firehose = aws_sdk_firehose::Client::new(&fixture.config);
    let description = firehose
        .describe_delivery_stream()
        .delivery_stream_name(&fixture.delivery)
        .send()
        .await
        .unwrap()
        .delivery_stream_description
        .unwrap();
    let update = aws_sdk_firehose::types::ExtendedS3DestinationUpdate::builder()
        .buffering_hints(BufferingHints::builder().size_in_mbs(5).interval_in_seconds(2).build())
        // moto describes the delivery stream again only with the compression named (see CONTRIBUTING).
        .compression_format(CompressionFormat::Uncompressed)
        .build();
    firehose
        .update_destination()
        .delivery_stream_name(&fixture.delivery)
        .current_delivery_stream_version_id(&description.version_id)
        .destination_id(&description.destinations[0].destination_id)
        .extended_s3_destination_update(update)
        .send()
        .await
        .unwrap();
    supervisor.sync().await.unwrap();
    let versions: Vec<String> = supervisor
        .delivery_stats()
        .iter()
        .map(|(settings, _)| settings.version_id.clone())
        .collect();
    assert_eq!(versions.len(), 1, "one pump: {versions:?}");
    assert_ne!(versions[0], description.version_id, "the pump of the new version");

    fixture.put(after).await;
    keys.extend(wait_for_delivered(&supervisor, after.len() as u64, Duration::from_secs(20)).await);
    // Long enough for a pump reading from the delivery stream's creation to have written the first half again.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    keys.extend(wait_for_delivered(&supervisor, 0, Duration::ZERO).await);

    let mut received: Vec<String> = fixture
        .objects()
        .await
        .iter()
        .filter(|(key, _)| keys.contains(key))
        .flat_map(|(_, body)| body.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    received.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(received, expected, "every record in S3 exactly once across the update");
}
