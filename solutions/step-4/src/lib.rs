//! Step 4: Kinesis Data Firehose reads the `TelemetricStream` and writes its records into S3, one JSON object a
//! line (NDJSON), in objects laid out, sized and compressed as you decide.
//!
//! The delivery stream is a typed [`DeliveryDefinition`] holding your decisions ([`telemetric_delivery`]) that
//! [`ensure_delivery_stream`] makes real, next to the bucket ([`ensure_bucket`]) and the role Firehose acts with
//! ([`ensure_firehose_role`]). [`read_delivered`] reads back what Firehose delivered and [`Delivered::add_object`]
//! reports every line that is not a GPS record.
//!
//! Your code is here. The given machinery — the error type, the role, the Firehose calls around
//! `ensure_delivery_stream`, the reader, the tool's settings — is in `given/` (re-exported here where you need it by
//! name); you need not edit it.

mod given;

pub use given::bucket::{arn_field, bucket_arn};
pub use given::definition::Compression;
pub use given::delivered::{BadLine, GpsRecord, listing_prefix, read_delivered};
pub use given::errors::{DeliveryError, firehose_error, iam_error, invalid, kinesis_error, s3_error};
pub use given::firehose::{ACTIVE_TIMEOUT, ROLE_PROPAGATION_TIMEOUT, create, describe, tags, wait_until_active};
pub use given::role::{ROLE_POLICY_NAME, ensure_firehose_role, firehose_policy, firehose_trust_policy};
pub use given::tool;

use aws_sdk_firehose::Client;
use aws_sdk_firehose::types::{
    BufferingHints, DeliveryStreamDescription, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor, ProcessorType,
};
use given::bucket::bucket_location;
use std::collections::BTreeMap;

/// The stream of step 1, which Firehose reads.
pub const STREAM_NAME: &str = "TelemetricStream";
/// The delivery stream this step makes.
pub const DELIVERY_STREAM_NAME: &str = "TelemetricDelivery";
/// The role Firehose acts with.
pub const ROLE_NAME: &str = "TelemetricDeliveryRole";
/// The bucket's name is this, a dash and the account id: bucket names are global, so each account needs its own.
pub const BUCKET_NAME_PREFIX: &str = "kinesis-lab-telemetry";

// ANCHOR: definition
/// When Firehose writes an object: when it holds `size_mib` MiB of records (before compression), or
/// `interval_seconds` after its first record arrived, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// 1 to 128.
    pub size_mib: i32,
    /// 0 to 900.
    pub interval_seconds: i32,
}

/// Everything needed to create the delivery stream: where it reads and writes, and your decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDefinition {
    pub name: String,
    /// The Kinesis stream Firehose reads, from the delivery stream's creation on.
    pub source_stream_arn: String,
    /// The role Firehose reads the stream and writes the bucket with.
    pub role_arn: String,
    pub bucket_name: String,
    /// The start of every object's key: text and `!{...}` expressions Firehose evaluates when it writes.
    pub prefix: String,
    /// Where records Firehose could not process go. AWS requires one when `prefix` has expressions.
    pub error_output_prefix: Option<String>,
    pub buffering: Buffering,
    pub compression: Compression,
    pub tags: BTreeMap<String, String>,
}
// ANCHOR_END: definition

// learner: your decisions: key layout and error prefix, buffering, compression; tags as in step 1
// ANCHOR: telemetric_delivery
/// The workshop's delivery stream: Hive-style hourly folders that query engines prune, an object every 10 seconds
/// (or MiB) so that you see them arrive, and GZIP, which every reader of NDJSON decompresses.
pub fn telemetric_delivery(source_stream_arn: &str, bucket_name: &str, role_arn: &str) -> DeliveryDefinition {
    let hour = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/";
    DeliveryDefinition {
        name: DELIVERY_STREAM_NAME.to_owned(),
        source_stream_arn: source_stream_arn.to_owned(),
        role_arn: role_arn.to_owned(),
        bucket_name: bucket_name.to_owned(),
        prefix: format!("telemetry/{hour}"),
        // Outside telemetry/, so that a reader of the data never reads failed records.
        error_output_prefix: Some(format!("errors/!{{firehose:error-output-type}}/{hour}")),
        buffering: Buffering {
            size_mib: 1,
            interval_seconds: 10,
        },
        compression: Compression::Gzip,
        tags: BTreeMap::from([("workshop".to_owned(), "kinesis-lab".to_owned())]),
    }
}
// ANCHOR_END: telemetric_delivery

// learner: HeadBucket; create the bucket (in the client's region) only when it is NotFound
// ANCHOR: ensure_bucket
/// Creates the bucket if it does not exist. Calling it again changes nothing, and keeps what the bucket holds.
pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket_name: &str) -> Result<(), DeliveryError> {
    match s3.head_bucket().bucket(bucket_name).send().await {
        Ok(_) => return Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        // 403 here means the name is taken by another account: bucket names are global.
        Err(error) => return Err(s3_error(error)),
    }
    let created = s3
        .create_bucket()
        .bucket(bucket_name)
        .set_create_bucket_configuration(bucket_location(s3))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        // Created by a concurrent run between our HeadBucket and CreateBucket: what we wanted.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(error) => Err(s3_error(error)),
    }
}
// ANCHOR_END: ensure_bucket

// learner: bucket, both prefixes, buffering hints, compression, the AppendDelimiterToRecord processor
// ANCHOR: s3_destination
/// Where and how Firehose writes: the bucket and prefixes, when to write an object, how to compress it, and one
/// record a line.
pub fn s3_destination(definition: &DeliveryDefinition) -> Result<ExtendedS3DestinationConfiguration, DeliveryError> {
    let buffering = BufferingHints::builder()
        .size_in_mbs(definition.buffering.size_mib)
        .interval_in_seconds(definition.buffering.interval_seconds)
        .build();
    // A newline after every record: each object is then NDJSON, one JSON document a line. This is the pipeline's one
    // delimiter: the records in the stream are bare JSON documents (step 2's producer adds none), so that every
    // reader of the stream parses them as they are, and whichever producer wrote a record, its line ends here.
    let newline = Processor::builder()
        .r#type(ProcessorType::AppendDelimiterToRecord)
        .build()
        .map_err(invalid)?;
    let processing = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(newline)
        .build();
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(&definition.role_arn)
        .bucket_arn(definition.bucket_arn())
        .prefix(&definition.prefix)
        .set_error_output_prefix(definition.error_output_prefix.clone())
        .buffering_hints(buffering)
        .compression_format(definition.compression.format())
        .processing_configuration(processing)
        .build()
        .map_err(invalid)
}
// ANCHOR_END: s3_destination

// learner: describe; only if missing, create with the stream as source and s3_destination; wait
// ANCHOR: ensure_delivery_stream
/// Creates the delivery stream if it does not exist, then waits until it is ACTIVE. Calling it again changes
/// nothing.
pub async fn ensure_delivery_stream(
    client: &Client,
    definition: &DeliveryDefinition,
) -> Result<DeliveryStreamDescription, DeliveryError> {
    if describe(client, &definition.name).await?.is_none() {
        let source = KinesisStreamSourceConfiguration::builder()
            .kinesis_stream_arn(&definition.source_stream_arn)
            .role_arn(&definition.role_arn)
            .build()
            .map_err(invalid)?;
        let request = client
            .create_delivery_stream()
            .delivery_stream_name(&definition.name)
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(source)
            .extended_s3_destination_configuration(s3_destination(definition)?)
            .set_tags(Some(tags(definition)?));
        create(request).await?;
    }
    wait_until_active(client, &definition.name).await
}
// ANCHOR_END: ensure_delivery_stream

// ANCHOR: delivered
/// What Firehose delivered under a prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivered {
    /// The keys of the objects read, in key order.
    pub objects: Vec<String>,
    /// Every GPS record, in the order of the objects and of their lines.
    pub records: Vec<GpsRecord>,
    pub bad_lines: Vec<BadLine>,
}
// ANCHOR_END: delivered

impl Delivered {
    // learner: one line, one record; skip blank lines; a line that does not parse is a BadLine
    // ANCHOR: add_object
    /// Adds one object's records (and bad lines) to what was delivered.
    pub fn add_object(&mut self, key: &str, body: &[u8]) {
        self.objects.push(key.to_owned());
        for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
            // The newline after the last record leaves an empty last "line"; NDJSON readers skip blank lines.
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<GpsRecord>(line) {
                Ok(record) => self.records.push(record),
                Err(error) => self.bad_lines.push(BadLine {
                    key: key.to_owned(),
                    line: index + 1,
                    error: error.to_string(),
                }),
            }
        }
    }
    // ANCHOR_END: add_object
}
