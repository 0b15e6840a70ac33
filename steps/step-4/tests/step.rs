//! The tests of step 4. They run against your code in `steps/step-4` (`cargo xtask check step-4`) and, unchanged,
//! against the solution. They talk to the local cloud that `cargo xtask check` starts; the last one also runs the
//! local cloud's Firehose, which reads the stream and writes objects into S3 as AWS does.

use aws_sdk_firehose::types::{DeliveryStreamStatus, DeliveryStreamType, ProcessorType};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_s3::primitives::ByteStream;
use delivery::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The clients of the local cloud.
struct Cloud {
    config: aws_config::SdkConfig,
    kinesis: aws_sdk_kinesis::Client,
    firehose: aws_sdk_firehose::Client,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
}

impl Cloud {
    async fn new() -> Cloud {
        let config = lab_testkit::local_aws().await;
        Cloud {
            kinesis: aws_sdk_kinesis::Client::new(&config),
            firehose: aws_sdk_firehose::Client::new(&config),
            s3: lab_testkit::local_s3(&config),
            iam: aws_sdk_iam::Client::new(&config),
            config,
        }
    }

    /// A new one-shard stream (step 1 makes the real one); returns its ARN.
    async fn stream(&self) -> String {
        let name = lab_testkit::unique_name("TelemetricStream");
        self.kinesis
            .create_stream()
            .stream_name(&name)
            .shard_count(1)
            .send()
            .await
            .expect("creating a test stream");
        lab_testkit::wait_until_active(&self.kinesis, &name).await.stream_arn
    }

    /// Deletes a test's delivery stream and the stream it reads: every test of a run shares one emulator, and the
    /// local cloud's Firehose (moto's) holds at most 50 delivery streams.
    async fn remove(&self, delivery_stream: &str, stream_arn: &str) {
        self.remove_delivery_stream(delivery_stream).await;
        self.kinesis
            .delete_stream()
            .stream_arn(stream_arn)
            .send()
            .await
            .expect("DeleteStream");
    }

    /// A bucket made directly with the SDK, holding `objects` (key, body): for the reader's tests.
    async fn bucket_with(&self, objects: &[(&str, &str)]) -> String {
        let bucket = lab_testkit::unique_name("delivered");
        self.s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("creating a test bucket");
        for (key, body) in objects {
            self.put_object(&bucket, key, body).await;
        }
        bucket
    }

    async fn remove_delivery_stream(&self, delivery_stream: &str) {
        self.firehose
            .delete_delivery_stream()
            .delivery_stream_name(delivery_stream)
            .send()
            .await
            .expect("DeleteDeliveryStream");
    }

    /// Every delivery stream's name, read page by page, `page_size` names a page, and the number of pages. Names
    /// come in alphabetical order; a page ends with `HasMoreDeliveryStreams`, and the next one starts after the last
    /// name of the one before, its `ExclusiveStartDeliveryStreamName` (AWS's default page is 10 names:
    /// https://docs.aws.amazon.com/firehose/latest/APIReference/API_ListDeliveryStreams.html).
    async fn delivery_streams(&self, page_size: i32) -> (Vec<String>, usize) {
        'listing: for _ in 0..5 {
            let (mut names, mut pages) = (Vec::<String>::new(), 0);
            loop {
                let page = self
                    .firehose
                    .list_delivery_streams()
                    .limit(page_size)
                    .set_exclusive_start_delivery_stream_name(names.last().cloned())
                    .send()
                    .await
                    .expect("ListDeliveryStreams");
                pages += 1;
                // AWS goes on after a start name deleted meanwhile (another test's); the local cloud begins again
                // from the first name. Then list again.
                if let (Some(start), Some(first)) = (names.last(), page.delivery_stream_names.first())
                    && first <= start
                {
                    continue 'listing;
                }
                let empty = page.delivery_stream_names.is_empty();
                names.extend(page.delivery_stream_names);
                if !page.has_more_delivery_streams || empty {
                    return (names, pages);
                }
            }
        }
        panic!("ListDeliveryStreams began again five times: other tests kept deleting the names it started after");
    }

    async fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .expect("putting a test object");
    }

    /// The keys under `prefix`, listed with the SDK (not with `read_delivered`), page by page.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = vec![];
        while let Some(page) = pages.next().await {
            let page = page.expect("ListObjectsV2");
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|object| object.key),
            );
        }
        keys
    }

    async fn object(&self, bucket: &str, key: &str) -> String {
        String::from_utf8(self.object_bytes(bucket, key).await).expect("a delivered object is UTF-8")
    }

    async fn object_bytes(&self, bucket: &str, key: &str) -> Vec<u8> {
        let output = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("reading {key}: {error:?}"));
        let bytes = output
            .body
            .collect()
            .await
            .expect("reading an object's body")
            .into_bytes();
        bytes.to_vec()
    }

    /// The local cloud's Firehose for the delivery stream `name` only (other tests share the emulator, and each may
    /// have its own), started, and the folder it keeps its state in.
    async fn firehose_of(&self, name: &str) -> (lab_cloud::supervisor::Supervisor, std::path::PathBuf) {
        use lab_cloud::supervisor::{Folders, Supervisor};
        let env: Vec<(String, String)> = std::env::vars().filter(|(key, _)| key.starts_with("AWS_")).collect();
        let dir = std::env::temp_dir().join(lab_testkit::unique_name("step-4"));
        let folders = Folders {
            functions: dir.join("functions"),
            logs: dir.join("logs"),
            failures: dir.join("failures"),
            checkpoints: dir.join("checkpoints"),
        };
        // The pump reads its shards four times a second rather than once (within a shard's five reads a second).
        let pacing = lab_cloud::event_source::Pacing {
            poll_interval: Duration::from_millis(250),
            ..lab_cloud::testing::test_pacing()
        };
        let mut supervisor =
            Supervisor::new(self.config.clone(), env, folders, pacing).only_delivery_streams([name.to_owned()]);
        supervisor.sync().await.expect("the local cloud starts its Firehose");
        (supervisor, dir)
    }

    /// What `read_delivered` finds of the delivery, read again until `expected` records are there, for a minute at
    /// most; or sooner, at what waiting will not mend: a bad line, or an object the reader finds nothing in.
    async fn delivered_within_a_minute(&self, definition: &DeliveryDefinition, expected: usize) -> Delivered {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Listed first: an object written between the two is then in the reader's listing, not only in this one.
            let listed = self.keys(&definition.bucket_name, definition.listing_prefix()).await;
            let delivered = read_back(&self.s3, definition).await;
            let unread = !listed.is_empty() && delivered.records.is_empty() && delivered.bad_lines.is_empty();
            assert!(
                !unread,
                "Firehose wrote {listed:?}, yet read_delivered finds no record in it (Delivered::add_object)"
            );
            if delivered.records.len() >= expected || !delivered.bad_lines.is_empty() || Instant::now() > deadline {
                return delivered;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Everything a delivery stream needs: a stream, a bucket (with your `ensure_bucket`), the role; and your
    /// definition with a unique name, and the given buffering in place of yours.
    async fn delivery(&self, buffering: Option<Buffering>) -> (DeliveryDefinition, String) {
        let stream_arn = self.stream().await;
        let bucket = lab_testkit::unique_name("telemetry");
        ensure_bucket(&self.s3, &bucket)
            .await
            .expect("ensure_bucket should create the bucket");
        let role_name = lab_testkit::unique_name("TelemetricDeliveryRole");
        let role_arn = ensure_firehose_role(&self.iam, &role_name, &stream_arn, &bucket)
            .await
            .expect("ensure_firehose_role should create the role");
        let yours = telemetric_delivery(&stream_arn, &bucket, &role_arn);
        let definition = DeliveryDefinition {
            name: lab_testkit::unique_name("TelemetricDelivery"),
            buffering: buffering.unwrap_or(yours.buffering),
            ..yours
        };
        (definition, role_name)
    }
}

/// What `read_delivered` finds under the definition's prefix, decompressed as it says.
async fn read_back(s3: &aws_sdk_s3::Client, definition: &DeliveryDefinition) -> Delivered {
    read_delivered(
        s3,
        &definition.bucket_name,
        definition.listing_prefix(),
        definition.compression,
    )
    .await
    .expect("read_delivered should read the bucket")
}

/// A reading a record for each id, as the producer writes them: bare JSON, no delimiter.
fn readings(ids: &[Uuid]) -> Vec<PutRecordsRequestEntry> {
    ids.iter()
        .enumerate()
        .map(|(index, id)| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(record_line(*id, index as f64, -(index as f64))))
                .partition_key(id.to_string())
                .build()
                .expect("an entry")
        })
        .collect()
}

fn record_line(id: Uuid, latitude: f64, longitude: f64) -> String {
    serde_json::json!({"id": id, "latitude": latitude, "longitude": longitude}).to_string()
}

fn ids(delivered: &Delivered) -> Vec<Uuid> {
    delivered.records.iter().map(|record| record.id).collect()
}

fn bad_lines(delivered: &Delivered) -> Vec<(&str, usize)> {
    delivered
        .bad_lines
        .iter()
        .map(|bad| (bad.key.as_str(), bad.line))
        .collect()
}

/// The `!{namespace:value}` expressions of a prefix, or why it is not made of them: "The sequence !{ can only appear
/// in !{namespace:value} expressions" (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html).
fn expressions(prefix: &str) -> Vec<(String, String)> {
    let mut found = vec![];
    for piece in prefix.split("!{").skip(1) {
        let inside = piece.split_once('}').map(|(inside, _)| inside);
        let parsed = inside.and_then(|inside| inside.split_once(':'));
        let (namespace, value) =
            parsed.unwrap_or_else(|| panic!("{prefix}: !{{ starts an expression, !{{namespace:value}}"));
        found.push((namespace.to_owned(), value.to_owned()));
    }
    found
}

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/TelemetricDeliveryRole";

#[test]
fn your_definition_meets_the_rules_aws_checks_at_creation() {
    let yours = telemetric_delivery(STREAM_ARN, "kinesis-lab-telemetry-123456789012", ROLE_ARN);
    assert_eq!(
        (yours.name.as_str(), yours.role_arn.as_str()),
        (DELIVERY_STREAM_NAME, ROLE_ARN)
    );
    assert_eq!(
        yours.tags.get("workshop").map(String::as_str),
        Some("kinesis-lab"),
        "tagged as step 1's stream"
    );
    // https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
    let Buffering {
        size_mib,
        interval_seconds,
    } = yours.buffering;
    assert!(
        (1..=128).contains(&size_mib),
        "SizeInMBs: Valid Range: Minimum value of 1. Maximum value of 128: {size_mib}"
    );
    assert!(
        (0..=900).contains(&interval_seconds),
        "IntervalInSeconds: Valid Range: Minimum value of 0. Maximum value of 900: {interval_seconds}"
    );
    let data = expressions(&yours.prefix);
    for (namespace, value) in &data {
        let allowed =
            matches!(namespace.as_str(), "timestamp") || (namespace == "firehose" && value == "random-string");
        assert!(
            allowed,
            "!{{{namespace}:{value}}} in Prefix: a data prefix uses !{{timestamp:...}} and !{{firehose:random-string}}; \
             \"Prefix can't contain !{{firehose:error-output-type}}\", and partitionKeyFrom... needs dynamic \
             partitioning, which this step does not enable"
        );
        if namespace == "timestamp" {
            let letters = value
                .split('\'')
                .step_by(2)
                .flat_map(str::chars)
                .filter(char::is_ascii_alphabetic);
            let unknown: String = letters.filter(|c| !"yMdHms".contains(*c)).collect();
            assert!(
                unknown.is_empty(),
                "!{{timestamp:{value}}}: the local cloud evaluates y, M, d, H, m, s ({unknown:?})"
            );
        }
    }
    let errors = yours.error_output_prefix.as_deref().unwrap_or("");
    assert!(
        data.is_empty() || !errors.is_empty(),
        "AWS refuses it: \"Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot \
         be null or empty when Prefix contains expressions\""
    );
    let failed = expressions(errors);
    assert!(
        failed.is_empty()
            || failed
                .iter()
                .any(|e| e == &("firehose".to_owned(), "error-output-type".to_owned())),
        "\"If you specify an expression for ErrorOutputPrefix, you must include at least one instance of \
         !{{firehose:error-output-type}}\": {errors}"
    );
    // The workshop's own rule: every reader lists the data prefix's fixed part; failed records must not be in it.
    let (listing, failures) = (yours.listing_prefix(), listing_prefix(errors));
    assert!(
        !listing.is_empty() && !failures.starts_with(listing),
        "the error prefix ({errors}) lies outside the data's fixed part ({listing:?}), or a reader of the data would \
         read failed records"
    );
}

#[tokio::test]
async fn the_local_cloud_refuses_a_definition_aws_would_refuse_in_aws_words() {
    let cloud = Cloud::new().await;
    let (yours, _) = cloud.delivery(None).await;
    let hourly = "telemetry/!{timestamp:yyyy/MM/dd/HH}/".to_owned();
    let without_errors = DeliveryDefinition {
        prefix: if expressions(&yours.prefix).is_empty() {
            hourly
        } else {
            yours.prefix.clone()
        },
        error_output_prefix: None,
        ..yours.clone()
    };
    let error = ensure_delivery_stream(&cloud.firehose, &without_errors)
        .await
        .expect_err("a prefix with expressions and no error output prefix is refused");
    assert!(
        error.to_string().contains(
            "Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or \
             empty when Prefix contains expressions"
        ),
        "AWS's InvalidArgumentException, in its words (s3_destination passes the error prefix as the definition \
         has it): {error}"
    );
    let too_big = DeliveryDefinition {
        buffering: Buffering {
            size_mib: 129,
            ..yours.buffering
        },
        ..yours.clone()
    };
    let error = ensure_delivery_stream(&cloud.firehose, &too_big)
        .await
        .expect_err("129 MiB is refused");
    assert!(
        error.to_string().contains(
            "bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128"
        ),
        "AWS's ValidationException (s3_destination passes the definition's buffering): {error}"
    );
    assert!(
        describe(&cloud.firehose, &yours.name).await.unwrap().is_none(),
        "nothing was made"
    );
    cloud
        .kinesis
        .delete_stream()
        .stream_arn(&yours.source_stream_arn)
        .send()
        .await
        .expect("DeleteStream");
}

#[tokio::test]
async fn ensure_bucket_twice_changes_nothing() {
    let cloud = Cloud::new().await;
    let bucket = lab_testkit::unique_name("telemetry");

    ensure_bucket(&cloud.s3, &bucket)
        .await
        .expect("ensure_bucket should create the bucket");
    cloud
        .s3
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket exists after ensure_bucket");

    cloud.put_object(&bucket, "kept.txt", "still here").await;
    ensure_bucket(&cloud.s3, &bucket)
        .await
        .expect("a second ensure_bucket must succeed too");
    assert_eq!(
        cloud.object(&bucket, "kept.txt").await,
        "still here",
        "the bucket was left as it was, objects included"
    );

    let buckets = cloud.s3.list_buckets().send().await.expect("ListBuckets");
    let named = buckets
        .buckets
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.name.as_deref() == Some(bucket.as_str()))
        .count();
    assert_eq!(named, 1, "exactly one bucket of that name");
}

/// The methods of the requests received so far (the endpoint sends each before it answers it).
fn methods(requests: &std::sync::mpsc::Receiver<String>) -> Vec<String> {
    let method = |request: String| request.split(' ').next().unwrap_or("").to_owned();
    requests.try_iter().map(method).collect()
}

#[tokio::test]
async fn ensure_bucket_reports_a_bucket_it_may_not_use() {
    // HeadBucket's 403: the name is taken, by another account (bucket names are global), or this one may not look.
    // Either way creating it cannot help, and the error says so; only S3's "not found" leads to a create.
    let (s3, requests) = lab_testkit::fake::s3(vec![(403, None), (200, None)]);
    let error = ensure_bucket(&s3, "taken")
        .await
        .expect_err("a bucket S3 forbids is an error, not a bucket to create");
    assert!(error.to_string().starts_with("S3 call failed"), "{error}");
    assert_eq!(methods(&requests), ["HEAD"], "HeadBucket only: no CreateBucket");
}

#[tokio::test]
async fn ensure_bucket_accepts_its_own_bucket_made_between_its_head_and_its_create() {
    // Two runs at once: both find no bucket, one creates it, the other's CreateBucket is BucketAlreadyOwnedByYou
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html): the bucket wanted.
    let (s3, requests) = lab_testkit::fake::s3(vec![(404, None), (409, Some("BucketAlreadyOwnedByYou"))]);
    ensure_bucket(&s3, "raced")
        .await
        .expect("a bucket this account made meanwhile is the bucket wanted");
    assert_eq!(methods(&requests), ["HEAD", "PUT"]);

    // BucketAlreadyExists is another account's bucket of that name: not ours to write into.
    let (s3, _) = lab_testkit::fake::s3(vec![(404, None), (409, Some("BucketAlreadyExists"))]);
    let error = ensure_bucket(&s3, "theirs")
        .await
        .expect_err("another account's bucket is an error");
    assert!(error.to_string().contains("BucketAlreadyExists"), "{error}");
}

#[tokio::test]
async fn ensure_firehose_role_reports_a_role_it_may_not_read() {
    // Only NoSuchEntity means the role is missing. A refused GetRole (this caller may not read roles) says nothing
    // about it: creating one would fail the same way, or make a second role where one exists.
    let denied = r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
        <Message>not authorized to perform iam:GetRole</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let (endpoint, requests) = lab_testkit::fake::xml_endpoint(vec![(403, denied.to_owned()), (500, String::new())]);
    let iam = aws_sdk_iam::Client::new(&lab_testkit::fake::config_at(&endpoint));
    let stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
    let error = ensure_firehose_role(&iam, "R", stream_arn, "b")
        .await
        .expect_err("a refused GetRole is an error");
    assert!(error.to_string().starts_with("IAM call failed"), "{error}");
    let actions: Vec<String> = requests.try_iter().collect();
    assert!(
        actions.len() == 1 && actions[0].contains("Action=GetRole"),
        "GetRole only, no CreateRole: {actions:?}"
    );
}

#[tokio::test]
async fn ensure_delivery_stream_twice_changes_nothing() {
    let cloud = Cloud::new().await;
    let (definition, _) = cloud.delivery(None).await;

    let first = ensure_delivery_stream(&cloud.firehose, &definition)
        .await
        .expect("the first ensure_delivery_stream creates the delivery stream");
    assert_eq!(first.delivery_stream_name, definition.name);
    assert_eq!(
        first.delivery_stream_status,
        DeliveryStreamStatus::Active,
        "ensure_delivery_stream returns once the delivery stream is ACTIVE"
    );

    // A neighbour reading the same stream: each delivery stream is found by its own name, not by "there is one".
    let neighbour = DeliveryDefinition {
        name: lab_testkit::unique_name("TelemetricDelivery-neighbour"),
        ..definition.clone()
    };
    ensure_delivery_stream(&cloud.firehose, &neighbour)
        .await
        .expect("ensure_delivery_stream creates a second delivery stream of another name");

    let second = ensure_delivery_stream(&cloud.firehose, &definition)
        .await
        .expect("a second ensure_delivery_stream must succeed too");
    assert_eq!(first.delivery_stream_arn, second.delivery_stream_arn);
    assert_eq!(
        first.version_id, second.version_id,
        "the configuration was not changed (its version is the same)"
    );
    assert_eq!(
        first.create_timestamp, second.create_timestamp,
        "the delivery stream was not recreated"
    );

    // One name a page, so that the two are on two pages at least, whatever else the shared emulator holds.
    let (listed, pages) = cloud.delivery_streams(1).await;
    let count = |name: &str| listed.iter().filter(|listed| *listed == name).count();
    assert!(
        pages >= 2,
        "ListDeliveryStreams read page by page: {pages} page(s) of {listed:?}"
    );
    assert_eq!(count(&definition.name), 1, "exactly one delivery stream of that name");
    assert_eq!(count(&neighbour.name), 1, "and the neighbour's, once: {listed:?}");
    cloud.remove_delivery_stream(&neighbour.name).await;
    cloud.remove(&definition.name, &definition.source_stream_arn).await;
}

#[tokio::test]
async fn s3_destination_and_source_read_back_as_defined() {
    let cloud = Cloud::new().await;
    let (definition, role_name) = cloud.delivery(None).await;
    ensure_delivery_stream(&cloud.firehose, &definition)
        .await
        .expect("ensure_delivery_stream should create the delivery stream");

    // Read back what Firehose holds, not what ensure_delivery_stream returned.
    let description = cloud
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&definition.name)
        .send()
        .await
        .expect("DescribeDeliveryStream (it fails to parse when CompressionFormat was not set)")
        .delivery_stream_description
        .expect("a description");
    assert_eq!(
        description.delivery_stream_type,
        DeliveryStreamType::KinesisStreamAsSource,
        "the delivery stream reads a Kinesis stream (not DirectPut)"
    );

    let source = description
        .source
        .as_ref()
        .and_then(|source| source.kinesis_stream_source_description.as_ref())
        .expect("a KinesisStreamSourceConfiguration");
    assert_eq!(
        source.kinesis_stream_arn.as_deref(),
        Some(definition.source_stream_arn.as_str()),
        "the source is the stream's ARN"
    );
    assert_eq!(
        source.role_arn.as_deref(),
        Some(definition.role_arn.as_str()),
        "Firehose reads the stream with the role"
    );

    let s3 = description
        .destinations
        .first()
        .and_then(|destination| destination.extended_s3_destination_description.as_ref())
        .expect("an extended S3 destination");
    assert_eq!(s3.bucket_arn, format!("arn:aws:s3:::{}", definition.bucket_name));
    assert_eq!(
        s3.role_arn, definition.role_arn,
        "Firehose writes the bucket with the role"
    );
    assert_eq!(s3.prefix.as_deref(), Some(definition.prefix.as_str()), "your prefix");
    assert_eq!(
        s3.error_output_prefix, definition.error_output_prefix,
        "your error output prefix (set_error_output_prefix takes the Option as it is)"
    );
    let hints = s3.buffering_hints.as_ref().expect("buffering hints");
    assert_eq!(
        hints.size_in_mbs,
        Some(definition.buffering.size_mib),
        "an object at your size..."
    );
    assert_eq!(
        hints.interval_in_seconds,
        Some(definition.buffering.interval_seconds),
        "...or after your interval"
    );
    assert_eq!(
        s3.compression_format,
        definition.compression.format(),
        "your compression, set explicitly (Compression::format gives the API's value)"
    );

    let processing = s3.processing_configuration.as_ref().expect("a ProcessingConfiguration");
    assert_eq!(processing.enabled, Some(true), "processing is enabled");
    let processors: Vec<&ProcessorType> = processing
        .processors
        .iter()
        .flatten()
        .map(|processor| &processor.r#type)
        .collect();
    assert_eq!(
        processors,
        vec![&ProcessorType::AppendDelimiterToRecord],
        "one processor, AppendDelimiterToRecord: a newline after every record"
    );

    let tags = cloud
        .firehose
        .list_tags_for_delivery_stream()
        .delivery_stream_name(&definition.name)
        .send()
        .await
        .expect("ListTagsForDeliveryStream");
    assert!(
        tags.tags
            .iter()
            .any(|tag| tag.key == "workshop" && tag.value.as_deref() == Some("kinesis-lab")),
        "the delivery stream carries the definition's tags"
    );

    let role = cloud
        .iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .expect("the role exists")
        .role
        .expect("a role");
    assert!(
        role.assume_role_policy_document
            .unwrap_or_default()
            .contains("firehose.amazonaws.com"),
        "the role trusts Firehose"
    );
    cloud.remove(&definition.name, &definition.source_stream_arn).await;
}

/// Runs step 4's `ensure-delivery-stream` tool with the cloud's AWS_* variables (this test's own): its standard
/// output, or its error output (on the starter: the `todo!()` it reached).
fn ensure_delivery_stream_tool(args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ensure-delivery-stream"))
        .args(args)
        .output()
        .expect("the tool starts");
    let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_owned();
    assert!(
        !stderr.contains("not yet implemented"),
        "the ensure-delivery-stream tool reached a todo!():\n{stderr}"
    );
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(stderr)
    }
}

#[tokio::test]
async fn ensure_delivery_stream_tool_sets_up_the_delivery_its_options_name() {
    let cloud = Cloud::new().await;
    let stream_arn = cloud.stream().await;
    let stream_name = stream_arn
        .rsplit('/')
        .next()
        .expect("a stream ARN ends in its name")
        .to_owned();
    let bucket = lab_testkit::unique_name("telemetry");
    let role = lab_testkit::unique_name("TelemetricDeliveryRole");
    let name = lab_testkit::unique_name("TelemetricDelivery");
    let args = [
        "--stream",
        &stream_name,
        "--bucket",
        &bucket,
        "--role",
        &role,
        "--delivery-stream",
        &name,
        "--prefix=lab/",
        "--buffer-seconds",
        "5",
        "--buffer-mib",
        "2",
        "--compression",
        "Snappy",
    ];
    let printed = ensure_delivery_stream_tool(&args).expect("the tool sets up the delivery");
    assert!(printed.contains(&format!("  reads   {stream_arn}")), "{printed}");
    assert!(
        printed.contains(&format!(
            "  writes  arn:aws:s3:::{bucket}/lab/ every 5 s or 2 MiB, Snappy"
        )),
        "{printed}"
    );

    let description = cloud
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&name)
        .send()
        .await
        .expect("the tool made the delivery stream")
        .delivery_stream_description
        .expect("a description");
    let s3 = description.destinations[0]
        .extended_s3_destination_description
        .clone()
        .expect("an S3 destination");
    assert_eq!(s3.bucket_arn, format!("arn:aws:s3:::{bucket}"));
    assert!(s3.role_arn.ends_with(&format!("role/{role}")), "{}", s3.role_arn);
    let hints = s3.buffering_hints.expect("buffering hints");
    assert_eq!((hints.interval_in_seconds, hints.size_in_mbs), (Some(5), Some(2)));

    // Run again: what exists is left as it is.
    let again = ensure_delivery_stream_tool(&args).expect("a second run succeeds");
    assert!(again.contains(&format!("{name} is ACTIVE")), "{again}");

    let help = ensure_delivery_stream_tool(&["--help"]).expect("--help");
    assert!(
        help.contains("--buffer-seconds") && help.contains("$BUFFER_INTERVAL_SECONDS"),
        "{help}"
    );
    let refused = ensure_delivery_stream_tool(&["--buffer-seconds", "soon"]).expect_err("not a number");
    assert!(refused.contains("\"soon\" is not a whole number"), "{refused}");
    let missing = lab_testkit::unique_name("NoSuchStream");
    let refused = ensure_delivery_stream_tool(&["--stream", &missing]).expect_err("no such stream");
    assert!(refused.contains("does not exist: make it first"), "{refused}");
    cloud.remove(&name, &stream_arn).await;
}

#[tokio::test]
async fn read_delivered_counts_objects_and_records() {
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let first = format!(
        "{}\n{}\n",
        record_line(a, 48.8566, 2.3522),
        record_line(b, -33.8688, 151.2093)
    );
    let second = format!("{}\n", record_line(c, 40.7128, -74.006));
    let cloud = Cloud::new().await;
    let bucket = cloud
        .bucket_with(&[
            (
                "telemetry/2026/11/27/10/TelemetricDelivery-1-2026-11-27-10-59-58-a",
                &first,
            ),
            (
                "telemetry/2026/11/27/11/TelemetricDelivery-1-2026-11-27-11-00-58-b",
                &second,
            ),
        ])
        .await;

    let delivered = read_delivered(&cloud.s3, &bucket, "telemetry/", Compression::Uncompressed)
        .await
        .expect("read_delivered should read the bucket");
    assert_eq!(
        delivered.objects,
        vec![
            "telemetry/2026/11/27/10/TelemetricDelivery-1-2026-11-27-10-59-58-a",
            "telemetry/2026/11/27/11/TelemetricDelivery-1-2026-11-27-11-00-58-b",
        ],
        "both objects, in key order"
    );
    assert_eq!(ids(&delivered), vec![a, b, c], "every record, in order");
    assert_eq!(
        delivered.records[0],
        GpsRecord {
            id: a,
            latitude: 48.8566,
            longitude: 2.3522
        }
    );
    assert!(delivered.bad_lines.is_empty(), "no bad line: {:?}", delivered.bad_lines);
}

#[tokio::test]
async fn read_delivered_reports_bad_lines_with_their_key_and_line_number() {
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let messy = [
        record_line(a, 10.0, 20.0),                                         // 1
        r#"{"id":"not-a-uuid","latitude":1.0,"longitude":2.0}"#.to_owned(), // 2
        "this is not JSON".to_owned(),                                      // 3
        String::new(),                                                      // 4: blank, skipped but counted
        r#"{"id":"7d3b8a9e-8f7c-4b1e-9f0a-2c1d3e4f5a6b","latitude":"north","longitude":2.0}"#.to_owned(), // 5
        record_line(b, 30.0, 40.0),                                         // 6
        r#"{"id":"7d3b8a9e-8f7c-4b1e-9f0a-2c1d3e4f5a6b","latitude":1.0}"#.to_owned(), // 7: no longitude
    ]
    .join("\n")
        + "\n";
    let cut_short = format!("{{\"id\":\"{c}\",\"lati\n{}\n", record_line(c, 50.0, 60.0));
    let cloud = Cloud::new().await;
    let bucket = cloud
        .bucket_with(&[("telemetry/a/messy", &messy), ("telemetry/b/cut-short", &cut_short)])
        .await;

    let delivered = read_delivered(&cloud.s3, &bucket, "telemetry/", Compression::Uncompressed)
        .await
        .expect("a bad line is reported, not an error");
    assert_eq!(
        bad_lines(&delivered),
        vec![
            ("telemetry/a/messy", 2),
            ("telemetry/a/messy", 3),
            ("telemetry/a/messy", 5),
            ("telemetry/a/messy", 7),
            ("telemetry/b/cut-short", 1),
        ],
        "each bad line, by object key and line number (counted from 1, blank lines included)"
    );
    assert!(
        delivered.bad_lines.iter().all(|bad| !bad.error.is_empty()),
        "each bad line says what is wrong with it"
    );
    assert_eq!(ids(&delivered), vec![a, b, c], "the good lines around them are records");
    assert_eq!(delivered.objects.len(), 2);
}

#[tokio::test]
async fn read_delivered_skips_blank_lines_and_the_last_newline() {
    let (a, b, c, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    // A producer that ends each record with a newline, with AppendDelimiterToRecord adding one more, leaves blank
    // lines (this workshop's producer sends bare JSON; a reader must still skip them).
    let doubled = format!("{}\n\n{}\n\n", record_line(a, 1.0, 2.0), record_line(b, 3.0, 4.0));
    let no_last_newline = record_line(c, 5.0, 6.0);
    let windows_newlines = format!("{}\r\n", record_line(d, 7.0, 8.0));
    let cloud = Cloud::new().await;
    let bucket = cloud
        .bucket_with(&[
            ("telemetry/1-doubled", &doubled),
            ("telemetry/2-no-last-newline", &no_last_newline),
            ("telemetry/3-empty", ""),
            ("telemetry/4-crlf", &windows_newlines),
        ])
        .await;

    let delivered = read_delivered(&cloud.s3, &bucket, "telemetry/", Compression::Uncompressed)
        .await
        .expect("read_delivered should read the bucket");
    assert!(
        delivered.bad_lines.is_empty(),
        "a blank line (or the empty end after the last newline) is no record, and no error either: {:?}",
        delivered.bad_lines
    );
    assert_eq!(ids(&delivered), vec![a, b, c, d]);
    assert_eq!(delivered.objects.len(), 4, "an empty object is still an object read");
}

#[tokio::test]
async fn read_delivered_reads_only_under_the_prefix() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let inside = format!("{}\n", record_line(a, 1.0, 2.0));
    let outside = format!("{}\n", record_line(b, 3.0, 4.0));
    let cloud = Cloud::new().await;
    let bucket = cloud
        .bucket_with(&[
            ("errors/processing-failed/2026/11/27/10/failed", "not a record"),
            ("telemetry-archive/old", &outside),
            ("notes.json", &outside),
            (
                "telemetry/2026/11/27/10/TelemetricDelivery-1-2026-11-27-10-00-00-x",
                &inside,
            ),
        ])
        .await;

    let prefix = listing_prefix("telemetry/!{timestamp:yyyy/MM/dd/HH}/");
    assert_eq!(
        prefix, "telemetry/",
        "the fixed part of the prefix, before its first expression"
    );
    let delivered = read_delivered(&cloud.s3, &bucket, prefix, Compression::Uncompressed)
        .await
        .expect("read_delivered should read the bucket");
    assert_eq!(
        delivered.objects,
        vec!["telemetry/2026/11/27/10/TelemetricDelivery-1-2026-11-27-10-00-00-x"],
        "only the objects under telemetry/"
    );
    assert_eq!(ids(&delivered), vec![a]);
    assert!(delivered.bad_lines.is_empty(), "{:?}", delivered.bad_lines);
}

/// The prefix as Firehose evaluates it at `time` (yyyy, MM, dd, HH, mm, ss): `!{timestamp:...}` with its quoted text
/// taken literally, `!{firehose:random-string}` as `?` eleven times; with no timestamp, `yyyy/MM/dd/HH/` appended
/// (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html).
fn evaluated(prefix: &str, time: &[&str; 6]) -> String {
    let (mut out, mut rest, mut timestamp) = (String::new(), prefix, false);
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("an expression ends") + start;
        match rest[start + 2..end].split_once(':') {
            Some(("timestamp", pattern)) => {
                timestamp = true;
                for (index, piece) in pattern.split('\'').enumerate() {
                    if index % 2 == 1 {
                        out.push_str(piece);
                        continue;
                    }
                    let fields = ["yyyy", "MM", "dd", "HH", "mm", "ss"];
                    out.push_str(
                        &fields
                            .iter()
                            .zip(time)
                            .fold(piece.to_owned(), |p, (f, v)| p.replace(f, v)),
                    );
                }
            }
            _ => out.push_str(&"?".repeat(11)),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if !timestamp {
        out.push_str(&format!("{}/{}/{}/{}/", time[0], time[1], time[2], time[3]));
    }
    out
}

/// `<your prefix, evaluated><name>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid><extension>`, as AWS names objects
/// (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html), the prefix evaluated at the same time.
fn assert_firehose_key(key: &str, definition: &DeliveryDefinition, version: &str) {
    let (folders, object) = key.rsplit_once('/').map_or(("", key), |(f, o)| (f, o));
    let extension = match definition.compression {
        Compression::Uncompressed => "",
        Compression::Gzip => ".gz",
        Compression::Snappy | Compression::HadoopSnappy => ".snappy",
    };
    let suffix = object
        .strip_prefix(&format!("{}-{version}-", definition.name))
        .and_then(|rest| rest.strip_suffix(extension))
        .unwrap_or_else(|| {
            panic!(
                "{key}: the name and version, ..., then {extension:?} for {:?}",
                definition.compression
            )
        });
    let fields: Vec<&str> = suffix.splitn(7, '-').collect();
    let digits = |text: &str, length: usize| text.len() == length && text.bytes().all(|b| b.is_ascii_digit());
    assert!(
        fields.len() == 7
            && [4, 2, 2, 2, 2, 2]
                .iter()
                .zip(&fields)
                .all(|(n, field)| digits(field, *n))
            && Uuid::parse_str(fields[6]).is_ok(),
        "{key}: then the time it was written, yyyy-MM-dd-HH-mm-ss, and a UUID"
    );
    let time = [fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]];
    let expected = evaluated(&definition.prefix, &time);
    let same = |a: char, b: char| a == b || b == '?';
    assert!(
        format!("{folders}/").len() == expected.len()
            && format!("{folders}/")
                .chars()
                .zip(expected.chars())
                .all(|(a, b)| same(a, b)),
        "{key}: the prefix {:?} evaluated at the object's time is {expected:?}",
        definition.prefix
    );
}

#[tokio::test]
async fn firehose_delivers_every_record_once_as_ndjson_after_the_buffering_interval() {
    let cloud = Cloud::new().await;
    // One second (AWS takes 0 to 900): the look below, shortly before it ends, still sees whether it is kept.
    let interval = Duration::from_secs(1);
    let buffering = Buffering {
        size_mib: 1,
        interval_seconds: interval.as_secs() as i32,
    };
    let (definition, _) = cloud.delivery(Some(buffering)).await;
    let description = ensure_delivery_stream(&cloud.firehose, &definition)
        .await
        .expect("ensure_delivery_stream should create the delivery stream");
    // Else the records go elsewhere, and the wait below would last its whole minute for nothing.
    let destination = description
        .destinations
        .first()
        .and_then(|destination| destination.extended_s3_destination_description.as_ref())
        .map(|s3| s3.bucket_arn.as_str());
    assert_eq!(
        destination,
        Some(format!("arn:aws:s3:::{}", definition.bucket_name).as_str()),
        "the delivery stream writes into the definition's bucket"
    );

    // The local cloud's Firehose: it reads the stream and writes objects as AWS does. Dropping it stops it.
    let (supervisor, dir) = cloud.firehose_of(&definition.name).await;

    // 25 readings, as the producer writes them (bare JSON): Firehose's delimiter is the only one.
    let sent: Vec<Uuid> = (0..25).map(|_| Uuid::new_v4()).collect();
    let put_at = Instant::now();
    let put = cloud
        .kinesis
        .put_records()
        .stream_arn(&definition.source_stream_arn)
        .set_records(Some(readings(&sent)))
        .send()
        .await
        .expect("PutRecords");
    assert_eq!(put.failed_record_count, Some(0), "every record is in the stream");

    // Firehose holds records until the interval has passed since the first one arrived (1 MiB is far away). They
    // arrived after `put_at`, so nothing can be written before `put_at + interval`: a look shortly before then
    // finds nothing, while a Firehose that ignored the interval (its pump reads every 250 ms) has written them.
    tokio::time::sleep_until((put_at + interval - Duration::from_millis(300)).into()).await;
    let early = read_back(&cloud.s3, &definition).await;
    // Checked only if this listing surely ended within the interval.
    if put_at.elapsed() < interval {
        assert!(
            early.objects.is_empty(),
            "nothing is written before the buffering interval ends, yet there is {:?}",
            early.objects
        );
    }

    let delivered = cloud.delivered_within_a_minute(&definition, sent.len()).await;
    drop(supervisor);
    let _ = std::fs::remove_dir_all(&dir);

    assert!(
        delivered.bad_lines.is_empty(),
        "every line is a record: without AppendDelimiterToRecord the records run together on one line: {:?}",
        delivered.bad_lines
    );
    let received = ids(&delivered);
    assert_eq!(
        received.iter().collect::<HashSet<_>>(),
        sent.iter().collect::<HashSet<_>>(),
        "every record sent arrives within a minute"
    );
    assert_eq!(received.len(), sent.len(), "and each arrives once");
    assert_eq!(
        delivered.objects.len(),
        1,
        "records sent together are buffered into one object, not one object a record"
    );

    for key in &delivered.objects {
        assert_firehose_key(key, &definition, &description.version_id);
        let stored = cloud.object_bytes(&definition.bucket_name, key).await;
        let body = definition
            .compression
            .decompress(&stored)
            .expect("an object decompresses as it was compressed");
        assert!(
            body.ends_with(b"\n") && !body.windows(2).any(|pair| pair == b"\n\n"),
            "{key} is NDJSON: each record followed by one newline"
        );
        if definition.compression != Compression::Uncompressed {
            assert_ne!(
                stored, body,
                "{key} is stored compressed, as {:?}",
                definition.compression
            );
        }
    }
    cloud.remove(&definition.name, &definition.source_stream_arn).await;
}
