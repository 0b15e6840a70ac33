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

/// The workshop's delivery stream: Hive-style hourly folders that query engines prune, an object every 10 seconds
/// (or MiB) so that you see them arrive, and GZIP, which every reader of NDJSON decompresses.
pub fn telemetric_delivery(source_stream_arn: &str, bucket_name: &str, role_arn: &str) -> DeliveryDefinition {
    todo!("your decisions: key layout and error prefix, buffering, compression; tags as in step 1")
}

/// Creates the bucket if it does not exist. Calling it again changes nothing, and keeps what the bucket holds.
pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket_name: &str) -> Result<(), DeliveryError> {
    todo!("HeadBucket; create the bucket (in the client's region) only when it is NotFound")
}

/// Where and how Firehose writes: the bucket and prefixes, when to write an object, how to compress it, and one
/// record a line.
pub fn s3_destination(definition: &DeliveryDefinition) -> Result<ExtendedS3DestinationConfiguration, DeliveryError> {
    todo!("bucket, both prefixes, buffering hints, compression, the AppendDelimiterToRecord processor")
}

/// Creates the delivery stream if it does not exist, then waits until it is ACTIVE. Calling it again changes
/// nothing.
pub async fn ensure_delivery_stream(
    client: &Client,
    definition: &DeliveryDefinition,
) -> Result<DeliveryStreamDescription, DeliveryError> {
    todo!("describe; only if missing, create with the stream as source and s3_destination; wait")
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
