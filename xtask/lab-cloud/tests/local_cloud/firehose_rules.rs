//! Firehose's rules at the front door (`gateway/validate/firehose.rs`), through the real SDK: what AWS refuses at
//! `CreateDeliveryStream`, `UpdateDestination` and `PutRecord`, refused the same way, in AWS's words; what the local
//! Firehose does not implement, refused by name; and what the pump writes for the settings it takes (compression,
//! prefix expressions, time zone, file extension) and does when its role may not write the bucket. Each test has a
//! gateway of its own in front of the emulator the run's `AWS_ENDPOINT_URL` names (the emulator alone takes all of
//! these requests).

use aws_sdk_firehose::Client;
use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamType, DynamicPartitioningConfiguration,
    ExtendedS3DestinationConfiguration, ExtendedS3DestinationUpdate, KinesisStreamSourceConfiguration,
    ProcessingConfiguration, Processor, ProcessorType, Record,
};
use aws_sdk_kinesis::primitives::Blob;
use lab_cloud::event_source::Pacing;
use lab_cloud::gateway::{Gateway, GatewayOptions};
use lab_cloud::runtime::faults::FaultPlan;
use lab_cloud::supervisor::{Folders, Supervisor};
use serde_json::json;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";

/// A gateway of its own, the SDK's clients through it (as the administrator), and a stream, a bucket and a role
/// Firehose may use.
struct Door {
    _gateway: Gateway,
    config: aws_config::SdkConfig,
    firehose: Client,
    stream_arn: String,
    bucket: String,
    role_arn: String,
}

async fn door() -> Door {
    let emulator = lab_testkit::local_aws().await;
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(emulator.endpoint_url().unwrap(), options)
        .await
        .unwrap();
    let config = emulator
        .to_builder()
        .endpoint_url(gateway.endpoint())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let stream = lab_testkit::unique_name("rules-source");
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let stream_arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}");
    let bucket = lab_testkit::unique_name("rules-bucket").to_lowercase();
    lab_testkit::local_s3(&config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let door = Door {
        firehose: Client::new(&config),
        role_arn: String::new(),
        _gateway: gateway,
        config,
        stream_arn,
        bucket,
    };
    let role_arn = door
        .role(Some(ACCOUNT), &["s3:PutObject", "s3:GetBucketLocation"])
        .await;
    Door { role_arn, ..door }
}

impl Door {
    /// A role Firehose may assume (with `external_id` as its `sts:ExternalId` condition, or none), allowed to read
    /// the stream and `s3` on the bucket.
    async fn role(&self, external_id: Option<&str>, s3: &[&str]) -> String {
        let iam = aws_sdk_iam::Client::new(&self.config);
        let name = lab_testkit::unique_name("rules-role");
        let mut statement =
            json!({"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"});
        if let Some(id) = external_id {
            statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
        }
        let trust = json!({"Version": "2012-10-17", "Statement": [statement]});
        let role = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await;
        let arn = role.unwrap().role.unwrap().arn;
        let bucket = format!("arn:aws:s3:::{}", self.bucket);
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards",
                "kinesis:GetShardIterator", "kinesis:GetRecords"], "Resource": self.stream_arn},
            {"Effect": "Allow", "Action": s3, "Resource": [bucket.clone(), format!("{bucket}/*")]},
        ]});
        let put = iam
            .put_role_policy()
            .role_name(&name)
            .policy_name("p")
            .policy_document(policy.to_string());
        put.send().await.unwrap();
        arn
    }

    /// An S3 destination into the bucket, with `role` and an uncompressed, newline-delimited default.
    fn s3(&self, role: &str) -> aws_sdk_firehose::types::builders::ExtendedS3DestinationConfigurationBuilder {
        ExtendedS3DestinationConfiguration::builder()
            .role_arn(role)
            .bucket_arn(format!("arn:aws:s3:::{}", self.bucket))
            .compression_format(CompressionFormat::Uncompressed)
    }

    /// `CreateDeliveryStream` from the stream with `role` into `s3`: the error's code and message, or the name.
    async fn create(&self, role: &str, s3: ExtendedS3DestinationConfiguration) -> Result<String, String> {
        let name = lab_testkit::unique_name("rules");
        let source = KinesisStreamSourceConfiguration::builder()
            .kinesis_stream_arn(&self.stream_arn)
            .role_arn(role)
            .build()
            .unwrap();
        let created = self
            .firehose
            .create_delivery_stream()
            .delivery_stream_name(&name)
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(source)
            .extended_s3_destination_configuration(s3)
            .send()
            .await;
        match created {
            Ok(_) => Ok(name),
            Err(error) => Err(format!(
                "{}: {}",
                error.code().unwrap_or("?"),
                error.message().unwrap_or("")
            )),
        }
    }

    async fn refused(&self, s3: ExtendedS3DestinationConfiguration) -> String {
        self.create(&self.role_arn.clone(), s3)
            .await
            .expect_err("AWS would refuse it")
    }
}

fn hints(size: i32, interval: i32) -> BufferingHints {
    BufferingHints::builder()
        .size_in_mbs(size)
        .interval_in_seconds(interval)
        .build()
}

#[tokio::test]
async fn create_delivery_stream_meets_aws_validation_in_aws_words() {
    let door = door().await;
    let s3 = || door.s3(&door.role_arn);
    assert_eq!(
        door.refused(s3().buffering_hints(hints(0, 901)).build().unwrap()).await,
        "ValidationException: 2 validation errors detected: Value '0' at \
         'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have \
         value greater than or equal to 1; Value '901' at \
         'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member \
         must have value less than or equal to 900"
    );
    let lz4 = s3().compression_format(CompressionFormat::from("LZ4")).build().unwrap();
    assert!(
        door.refused(lz4)
            .await
            .contains("Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY]")
    );
    let hive = s3().prefix("t/year=!{timestamp:yyyy}/").build().unwrap();
    assert_eq!(
        door.refused(hive).await,
        "InvalidArgumentException: Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix \
         cannot be null or empty when Prefix contains expressions"
    );
    let no_type = s3()
        .prefix("t/")
        .error_output_prefix("e/!{timestamp:yyyy}/")
        .build()
        .unwrap();
    assert!(
        door.refused(no_type)
            .await
            .contains("at least one instance of !{firehose:error-output-type}")
    );
    let typed = s3()
        .prefix("t/!{firehose:error-output-type}/")
        .error_output_prefix("e/")
        .build()
        .unwrap();
    assert!(
        door.refused(typed)
            .await
            .contains("Prefix can't contain !{firehose:error-output-type}")
    );
    let keyed = s3()
        .prefix("t/!{partitionKeyFromQuery:id}/")
        .error_output_prefix("e/")
        .build()
        .unwrap();
    assert!(
        door.refused(keyed)
            .await
            .contains("only be used when dynamic partitioning is enabled")
    );
    let broken = s3()
        .prefix("t/!{timestamp:yyyy/")
        .error_output_prefix("e/")
        .build()
        .unwrap();
    assert!(
        door.refused(broken)
            .await
            .contains("The sequence !{ can only appear in !{namespace:value} expressions")
    );
    let extension = s3().file_extension("gz").build().unwrap();
    assert!(
        door.refused(extension)
            .await
            .contains("failed to satisfy constraint: Member must satisfy regular expression pattern")
    );
    let fine = s3()
        .prefix("t/year=!{timestamp:yyyy}/")
        .error_output_prefix("e/!{firehose:error-output-type}/")
        .build();
    door.create(&door.role_arn, fine.unwrap())
        .await
        .expect("a valid configuration is taken");
}

#[tokio::test]
async fn what_the_local_firehose_does_not_implement_is_refused_by_name() {
    let door = door().await;
    let s3 = || door.s3(&door.role_arn);
    let lambda = Processor::builder().r#type(ProcessorType::Lambda).build().unwrap();
    let processing = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(lambda)
        .build();
    let refused = door
        .refused(s3().processing_configuration(processing).build().unwrap())
        .await;
    assert!(
        refused.starts_with(
            "InvalidArgumentException: the local cloud's Firehose does not implement the Lambda processor"
        ),
        "{refused}"
    );
    let zip = door
        .refused(s3().compression_format(CompressionFormat::Zip).build().unwrap())
        .await;
    assert!(zip.contains("does not implement CompressionFormat ZIP"), "{zip}");
    let partitioning = DynamicPartitioningConfiguration::builder().enabled(true).build();
    let dynamic = s3().dynamic_partitioning_configuration(partitioning).build().unwrap();
    assert!(
        door.refused(dynamic)
            .await
            .contains("does not implement dynamic partitioning")
    );
    let week_year = s3()
        .prefix("t/!{timestamp:YYYY}/")
        .error_output_prefix("e/")
        .build()
        .unwrap();
    assert!(door.refused(week_year).await.contains("does not implement YYYY"));
}

#[tokio::test]
async fn firehose_must_assume_the_role_and_describe_the_stream_with_it() {
    let door = door().await;
    let other_account = door.role(Some("999999999999"), &["s3:PutObject"]).await;
    assert_eq!(
        door.create(&other_account, door.s3(&other_account).build().unwrap())
            .await
            .unwrap_err(),
        format!(
            "InvalidArgumentException: Firehose is unable to assume role {other_account}. Please check the role provided."
        )
    );
    let iam = aws_sdk_iam::Client::new(&door.config);
    let name = other_account.rsplit('/').next().unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.update_assume_role_policy()
        .role_name(name)
        .policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    iam.delete_role_policy()
        .role_name(name)
        .policy_name("p")
        .send()
        .await
        .unwrap();
    assert_eq!(
        door.create(&other_account, door.s3(&other_account).build().unwrap())
            .await
            .unwrap_err(),
        format!(
            "InvalidArgumentException: Role {other_account} is not authorized to perform: kinesis:DescribeStream on \
             resource {}.",
            door.stream_arn
        )
    );
}

#[tokio::test]
async fn put_record_on_a_delivery_stream_that_reads_a_stream_is_refused() {
    let door = door().await;
    let name = door
        .create(&door.role_arn, door.s3(&door.role_arn).build().unwrap())
        .await
        .unwrap();
    let record = Record::builder()
        .data(aws_sdk_firehose::primitives::Blob::new("{}"))
        .build()
        .unwrap();
    let put = door
        .firehose
        .put_record()
        .delivery_stream_name(&name)
        .record(record.clone())
        .send()
        .await;
    let error = put.expect_err("AWS refuses it");
    assert_eq!(error.code(), Some("InvalidArgumentException"));
    assert_eq!(
        error.message(),
        Some("This operation is not permitted on KinesisStreamAsSource delivery stream type.")
    );
    let batch = door
        .firehose
        .put_record_batch()
        .delivery_stream_name(&name)
        .records(record)
        .send()
        .await;
    assert_eq!(
        batch.expect_err("AWS refuses it").code(),
        Some("InvalidArgumentException")
    );

    // UpdateDestination is held to the same rules, on the configuration it leaves.
    let description = door
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&name)
        .send()
        .await
        .unwrap();
    let description = description.delivery_stream_description.unwrap();
    let update = |s3: ExtendedS3DestinationUpdate| {
        door.firehose
            .update_destination()
            .delivery_stream_name(&name)
            .current_delivery_stream_version_id(&description.version_id)
            .destination_id(&description.destinations[0].destination_id)
            .extended_s3_destination_update(s3)
            .send()
    };
    let hive = ExtendedS3DestinationUpdate::builder()
        .prefix("t/!{timestamp:yyyy}/")
        .build();
    let refused = update(hive).await.expect_err("no error prefix, then or now");
    assert!(
        refused
            .message()
            .unwrap_or("")
            .contains("ErrorOutputPrefix cannot be null or empty"),
        "{refused:?}"
    );
    let big = ExtendedS3DestinationUpdate::builder()
        .buffering_hints(hints(129, 60))
        .build();
    let refused = update(big).await.expect_err("129 MiB");
    assert!(
        refused
            .message()
            .unwrap_or("")
            .contains("extendedS3DestinationUpdate.bufferingHints.sizeInMBs"),
        "{refused:?}"
    );
}

/// A data plane for `name` only, through the door, the pump's S3 retries bounded by `retry`.
async fn pump(door: &Door, name: &str, retry: Duration) -> (Supervisor, std::path::PathBuf) {
    let state = std::env::temp_dir().join(lab_testkit::unique_name("rules-state"));
    let folders = Folders {
        functions: state.join("functions"),
        logs: state.join("logs"),
        failures: state.join("failures"),
        checkpoints: state.join("checkpoints"),
    };
    let pacing = Pacing {
        poll_interval: Duration::from_millis(50),
        retry_delay: Duration::from_millis(20),
        ..Pacing::default()
    };
    let faults = std::sync::Arc::new(FaultPlan::new(Default::default(), 1, retry));
    let mut supervisor = Supervisor::new(door.config.clone(), vec![], folders, pacing)
        .with_faults(faults, &[])
        .only_delivery_streams([name.to_owned()]);
    supervisor.sync().await.unwrap();
    (supervisor, state)
}

async fn put(door: &Door, lines: &[String]) {
    let kinesis = aws_sdk_kinesis::Client::new(&door.config);
    for (index, line) in lines.iter().enumerate() {
        let put = kinesis
            .put_record()
            .stream_arn(&door.stream_arn)
            .partition_key(index.to_string());
        put.data(Blob::new(line.as_bytes())).send().await.unwrap();
    }
}

/// Waits until the pumps have written or dropped `records`, for `limit` at most.
async fn settled(supervisor: &Supervisor, records: u64, limit: Duration) {
    let started = Instant::now();
    let done = || {
        let stats = supervisor.delivery_stats();
        stats
            .iter()
            .map(|(_, s)| {
                s.records.load(std::sync::atomic::Ordering::Relaxed)
                    + s.records_dropped.load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum::<u64>()
    };
    while done() < records && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_pump_writes_the_compression_layout_zone_and_extension_it_is_given() {
    let door = door().await;
    let delimiter = Processor::builder()
        .r#type(ProcessorType::AppendDelimiterToRecord)
        .build()
        .unwrap();
    let s3 = door
        .s3(&door.role_arn)
        .compression_format(CompressionFormat::Gzip)
        .prefix("t/!{timestamp:yyyy'-'MM}/h=!{timestamp:HH}/")
        .error_output_prefix("e/!{firehose:error-output-type}/")
        .custom_time_zone("Asia/Tokyo")
        .file_extension(".ndjson.gz")
        .buffering_hints(hints(1, 1))
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(delimiter)
                .build(),
        )
        .build()
        .unwrap();
    let name = door.create(&door.role_arn, s3).await.unwrap();
    let (supervisor, state) = pump(&door, &name, Duration::from_secs(30)).await;
    let lines: Vec<String> = (0..20).map(|n| format!("{{\"n\":{n}}}")).collect();
    put(&door, &lines).await;
    settled(&supervisor, 20, Duration::from_secs(30)).await;
    let keys: Vec<String> = supervisor
        .delivery_stats()
        .iter()
        .flat_map(|(_, s)| s.written_keys.lock().unwrap().clone())
        .collect();
    drop(supervisor);
    let _ = std::fs::remove_dir_all(state);
    assert!(!keys.is_empty(), "an object was written");
    let s3 = lab_testkit::local_s3(&door.config);
    let tokyo = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap());
    let mut received = vec![];
    for key in &keys {
        let folder = format!(
            "t/{}-{:02}/h={:02}/{name}-1-{}-",
            tokyo.year(),
            tokyo.month(),
            tokyo.hour(),
            tokyo.year()
        );
        // The hour may turn between the write and this line: the year and month's quoted dash are what matter.
        assert!(
            key.starts_with(&folder[..9]) && key.contains("/h=") && key.ends_with(".ndjson.gz"),
            "{key} against {folder}"
        );
        let object = s3.get_object().bucket(&door.bucket).key(key).send().await.unwrap();
        assert_eq!(
            object.content_encoding(),
            Some("gzip"),
            "{key}: Content-Encoding as AWS sets it"
        );
        let stored = object.body.collect().await.unwrap().into_bytes();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&stored[..]), &mut text)
            .expect("gzip -d reads it");
        received.extend(text.lines().map(str::to_owned));
    }
    received.sort();
    let mut expected = lines.clone();
    expected.sort();
    assert_eq!(received, expected, "every record once, one a line, gzipped");
}

#[tokio::test]
async fn a_role_that_may_not_write_the_bucket_is_retried_then_its_records_dropped() {
    let door = door().await;
    let read_only = door.role(Some(ACCOUNT), &["s3:GetBucketLocation"]).await;
    let s3 = door.s3(&read_only).buffering_hints(hints(1, 1)).build().unwrap();
    // AWS does not check the bucket at creation: the denial shows at delivery.
    let name = door
        .create(&read_only, s3)
        .await
        .expect("created: the bucket is not checked at creation");
    let (supervisor, state) = pump(&door, &name, Duration::from_secs(3)).await;
    put(&door, &["{\"n\":1}".to_owned(), "{\"n\":2}".to_owned()]).await;
    settled(&supervisor, 2, Duration::from_secs(30)).await;
    let stats = supervisor.delivery_stats();
    let (_, stats) = stats.first().expect("a pump");
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load(&stats.records), 0, "nothing written");
    assert!(
        load(&stats.s3_retries) >= 2,
        "S3's AccessDenied is retried while the window lasts"
    );
    assert_eq!(load(&stats.records_dropped), 2, "then the records are dropped");
    drop(supervisor);
    let _ = std::fs::remove_dir_all(state);
}
