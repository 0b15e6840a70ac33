//! Step 4: Kinesis Data Firehose reads the `TelemetricStream` and writes its records into S3, one JSON object a
//! line (NDJSON), in objects grouped by the hour they arrived in.
//!
//! The delivery stream is a typed [`DeliveryDefinition`] that [`ensure_delivery_stream`] makes real, next to the
//! bucket ([`ensure_bucket`]) and the role Firehose acts with ([`ensure_firehose_role`]). [`read_delivered`] reads
//! back what Firehose delivered and reports every line that is not a GPS record.

use aws_sdk_firehose::Client;
use aws_sdk_firehose::operation::create_delivery_stream::builders::CreateDeliveryStreamFluentBuilder;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamDescription, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration, KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor,
    ProcessorType, Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The stream of step 1, which Firehose reads.
pub const STREAM_NAME: &str = "TelemetricStream";
/// The delivery stream this step makes.
pub const DELIVERY_STREAM_NAME: &str = "TelemetricDelivery";
/// The role Firehose acts with.
pub const ROLE_NAME: &str = "TelemetricDeliveryRole";
/// The bucket's name is this, a dash and the account id: bucket names are global, so each account needs its own.
pub const BUCKET_NAME_PREFIX: &str = "kinesis-lab-telemetry";

/// Where delivered records go: under `telemetry/`, one folder per hour (UTC) in which their oldest record arrived.
pub const PREFIX: &str = "telemetry/!{timestamp:yyyy/MM/dd/HH}/";
/// Where records Firehose could not deliver go, by kind of failure and hour. A prefix with expressions needs one.
pub const ERROR_OUTPUT_PREFIX: &str = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/";

/// When Firehose writes an object: when it holds `size_mib` MiB of records, or `interval_seconds` after its first
/// record arrived, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// 1 to 128.
    pub size_mib: i32,
    /// 0 to 900.
    pub interval_seconds: i32,
}

/// Everything needed to create the delivery stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDefinition {
    pub name: String,
    /// The Kinesis stream Firehose reads. It starts at the stream's LATEST position, when the delivery stream is
    /// created: what the stream held before is not delivered
    /// (https://docs.aws.amazon.com/firehose/latest/dev/writing-with-kinesis-streams.html).
    pub source_stream_arn: String,
    /// The role Firehose reads the stream and writes the bucket with.
    pub role_arn: String,
    pub bucket_name: String,
    pub prefix: String,
    pub error_output_prefix: String,
    pub buffering: Buffering,
    pub tags: BTreeMap<String, String>,
}

/// The workshop's delivery stream: small objects every minute, so that you see them arrive while you work.
pub fn telemetric_delivery(source_stream_arn: &str, bucket_name: &str, role_arn: &str) -> DeliveryDefinition {
    DeliveryDefinition {
        name: DELIVERY_STREAM_NAME.to_owned(),
        source_stream_arn: source_stream_arn.to_owned(),
        role_arn: role_arn.to_owned(),
        bucket_name: bucket_name.to_owned(),
        prefix: PREFIX.to_owned(),
        error_output_prefix: ERROR_OUTPUT_PREFIX.to_owned(),
        buffering: Buffering {
            size_mib: 1,
            interval_seconds: 60,
        },
        tags: BTreeMap::from([("workshop".to_owned(), "kinesis-lab".to_owned())]),
    }
}

impl DeliveryDefinition {
    /// The bucket's ARN, in the source stream's partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn bucket_arn(&self) -> String {
        bucket_arn(arn_field(&self.source_stream_arn, 1), &self.bucket_name)
    }

    /// The fixed start of every delivered object's key: what to list to find them.
    pub fn listing_prefix(&self) -> &str {
        listing_prefix(&self.prefix)
    }
}

pub fn bucket_arn(partition: &str, bucket_name: &str) -> String {
    format!("arn:{partition}:s3:::{bucket_name}")
}

/// The part of a Firehose prefix before its first `!{...}` expression: `telemetry/` for [`PREFIX`].
pub fn listing_prefix(prefix: &str) -> &str {
    prefix.find("!{").map_or(prefix, |start| &prefix[..start])
}

/// One field of an ARN, `arn:<partition>:<service>:<region>:<account>:<resource>`: 1 is the partition, 4 the
/// account. Empty when the ARN has no such field.
pub fn arn_field(arn: &str, index: usize) -> &str {
    arn.split(':').nth(index).unwrap_or("")
}

/// What can go wrong while setting up the delivery, or reading what it delivered.
#[derive(Debug)]
pub enum DeliveryError {
    /// An AWS call failed: which service, and the whole chain of reasons.
    Aws { service: &'static str, message: String },
    /// The SDK would not build a request: a required field is missing.
    Invalid(String),
    /// The delivery stream did not become ACTIVE.
    NotActive { name: String, status: String },
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::Aws { service, message } => write!(f, "{service} call failed: {message}"),
            DeliveryError::Invalid(message) => write!(f, "invalid request: {message}"),
            DeliveryError::NotActive { name, status } => write!(f, "{name} did not become ACTIVE: {status}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

fn aws_error(service: &'static str, error: impl std::error::Error) -> DeliveryError {
    // The SDK's Display is terse; the source chain says what actually went wrong.
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    DeliveryError::Aws { service, message }
}

pub fn firehose_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("Firehose", error)
}

pub fn s3_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("S3", error)
}

pub fn iam_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("IAM", error)
}

pub fn kinesis_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("Kinesis", error)
}

/// For the SDK's `BuildError`: a request or structure missing a required field.
pub fn invalid(error: impl std::error::Error) -> DeliveryError {
    DeliveryError::Invalid(error.to_string())
}

/// us-east-1 takes no location constraint; every other region must be named when creating a bucket there.
fn bucket_location(s3: &aws_sdk_s3::Client) -> Option<aws_sdk_s3::types::CreateBucketConfiguration> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let region = s3.config().region().map(|region| region.as_ref().to_owned())?;
    (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build()
    })
}

/// Creates the bucket if it does not exist. Calling it again changes nothing, and keeps what the bucket holds.
pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket_name: &str) -> Result<(), DeliveryError> {
    todo!("HeadBucket; create the bucket (in the client's region) only when it is NotFound")
}

/// Step 1's `firehose_policy`: read the stream, write objects into the bucket, nothing more.
pub fn firehose_policy(stream_arn: &str, bucket_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheStream",
                "Effect": "Allow",
                "Action": [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords"
                ],
                "Resource": [stream_arn]
            },
            {
                "Sid": "WriteTheBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject"
                ],
                "Resource": [bucket_arn, format!("{bucket_arn}/*")]
            }
        ]
    })
}

/// Who may act with the role: Firehose, and only on behalf of this account (AWS's guard against a "confused
/// deputy": another account's delivery stream naming our role).
pub fn firehose_trust_policy(account_id: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "firehose.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": account_id } }
        }]
    })
}

/// The name of the role's inline policy.
pub const ROLE_POLICY_NAME: &str = "firehose-delivery";

/// Creates the role Firehose acts with if it does not exist, and (again) gives it [`firehose_policy`] for this stream
/// and bucket. Returns the role's ARN.
pub async fn ensure_firehose_role(
    iam: &aws_sdk_iam::Client,
    role_name: &str,
    stream_arn: &str,
    bucket_name: &str,
) -> Result<String, DeliveryError> {
    let existing = match iam.get_role().role_name(role_name).send().await {
        Ok(output) => output.role.map(|role| role.arn),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(error) => return Err(iam_error(error)),
    };
    let role_arn = match existing {
        Some(arn) => arn,
        None => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key("workshop")
                .value("kinesis-lab")
                .build()
                .map_err(invalid)?;
            let created = iam
                .create_role()
                .role_name(role_name)
                .description("Kinesis Data Firehose: reads the TelemetricStream, writes the telemetry bucket")
                .assume_role_policy_document(firehose_trust_policy(arn_field(stream_arn, 4)).to_string())
                .tags(tag)
                .send()
                .await
                .map_err(iam_error)?;
            created.role.map(|role| role.arn).unwrap_or_default()
        }
    };
    // PutRolePolicy replaces a policy of the same name: running this again repairs a role changed by hand.
    let bucket_arn = bucket_arn(arn_field(stream_arn, 1), bucket_name);
    iam.put_role_policy()
        .role_name(role_name)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(firehose_policy(stream_arn, &bucket_arn).to_string())
        .send()
        .await
        .map_err(iam_error)?;
    Ok(role_arn)
}

/// Reads the delivery stream's description; `None` when it does not exist.
pub async fn describe(client: &Client, name: &str) -> Result<Option<DeliveryStreamDescription>, DeliveryError> {
    match client
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(output) => Ok(output.delivery_stream_description),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(firehose_error(error)),
    }
}

/// The definition's tags, as Firehose takes them.
pub fn tags(definition: &DeliveryDefinition) -> Result<Vec<Tag>, DeliveryError> {
    definition
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build().map_err(invalid))
        .collect()
}

/// How long [`create`] keeps trying while IAM has not yet told Firehose about a role made a moment ago.
pub const ROLE_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`wait_until_active`] waits: on AWS a new delivery stream is CREATING for a minute or two.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends a `CreateDeliveryStream` request. IAM is eventually consistent: for a few seconds after a role is created,
/// Firehose may answer that it cannot assume it, so that answer is retried for a while. "It already exists" (a
/// concurrent run created it) is success.
pub async fn create(request: CreateDeliveryStreamFluentBuilder) -> Result<(), DeliveryError> {
    let started = Instant::now();
    loop {
        let error = match request.clone().send().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let Some(service_error) = error.as_service_error() else {
            return Err(firehose_error(error));
        };
        if service_error.is_resource_in_use_exception() {
            return Ok(());
        }
        let role_not_ready = service_error.is_invalid_argument_exception()
            && service_error.meta().message().is_some_and(|m| m.contains("role"));
        if !role_not_ready || started.elapsed() > ROLE_PROPAGATION_TIMEOUT {
            return Err(firehose_error(error));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Waits until the delivery stream is ACTIVE and returns its description.
pub async fn wait_until_active(client: &Client, name: &str) -> Result<DeliveryStreamDescription, DeliveryError> {
    let started = Instant::now();
    loop {
        let not_active = |status: String| DeliveryError::NotActive {
            name: name.to_owned(),
            status,
        };
        let Some(description) = describe(client, name).await? else {
            return Err(not_active("it does not exist".to_owned()));
        };
        match &description.delivery_stream_status {
            DeliveryStreamStatus::Active => return Ok(description),
            DeliveryStreamStatus::Creating if started.elapsed() < ACTIVE_TIMEOUT => {}
            status => {
                let why = description.failure_description.as_ref().map(|failure| &failure.details);
                return Err(not_active(format!(
                    "it is {status} ({})",
                    why.map_or("", String::as_str)
                )));
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Where and how Firehose writes: the bucket and prefixes, when to write an object, and one record a line.
pub fn s3_destination(definition: &DeliveryDefinition) -> Result<ExtendedS3DestinationConfiguration, DeliveryError> {
    todo!("bucket, prefixes, buffering hints, UNCOMPRESSED and the AppendDelimiterToRecord processor")
}

/// Creates the delivery stream if it does not exist, then waits until it is ACTIVE. Calling it again changes
/// nothing.
pub async fn ensure_delivery_stream(
    client: &Client,
    definition: &DeliveryDefinition,
) -> Result<DeliveryStreamDescription, DeliveryError> {
    todo!("describe; only if missing, create with the stream as source and s3_destination; wait")
}

/// One position, as the producer of step 2 writes it. Fields this type does not know are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsRecord {
    pub id: Uuid,
    pub latitude: f64,
    pub longitude: f64,
}

/// A line of a delivered object that is not a GPS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The object's key.
    pub key: String,
    /// Counted from 1, as an editor shows it.
    pub line: usize,
    /// Why it is not a GPS record (serde_json's message).
    pub error: String,
}

/// What Firehose delivered under a prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivered {
    /// The keys of the objects read, in key order.
    pub objects: Vec<String>,
    /// Every GPS record, in the order of the objects and of their lines.
    pub records: Vec<GpsRecord>,
    pub bad_lines: Vec<BadLine>,
}

impl Delivered {
    /// Adds one object's records (and bad lines) to what was delivered.
    pub fn add_object(&mut self, key: &str, body: &[u8]) {
        todo!("one line, one record; skip blank lines; a line that does not parse is a BadLine")
    }
}

/// Reads every object under `prefix` (a plain key prefix, such as [`DeliveryDefinition::listing_prefix`]).
pub async fn read_delivered(
    s3: &aws_sdk_s3::Client,
    bucket_name: &str,
    prefix: &str,
) -> Result<Delivered, DeliveryError> {
    let mut delivered = Delivered::default();
    // ListObjectsV2 returns at most 1,000 keys a call; the paginator makes the calls that follow.
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket_name)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.map_err(s3_error)?.contents.unwrap_or_default() {
            let Some(key) = object.key else { continue };
            let output = s3
                .get_object()
                .bucket(bucket_name)
                .key(&key)
                .send()
                .await
                .map_err(s3_error)?;
            let body = output.body.collect().await.map_err(s3_error)?.into_bytes();
            delivered.add_object(&key, &body);
        }
    }
    Ok(delivered)
}
