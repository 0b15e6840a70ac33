//! Step 1: the `TelemetricStream` data stream and the IAM policies of everything that touches it.
//!
//! Nothing here needs a console: the stream is a typed definition that [`ensure_stream`] makes real, and each
//! policy is a typed [`PolicyDocument`] that serialises to the JSON IAM expects.
//!
//! Your code is here. The given machinery — the policy types, the ARNs, the Kinesis calls around `ensure_stream` —
//! is in `given/` (re-exported here where you need it by name); you need not edit it.

mod given;

pub use given::policy::{Effect, POLICY_VERSION, PolicyDocument, Resources, Statement};
pub use given::stream_api::{ACTIVE_TIMEOUT, POLL_INTERVAL, StreamError, wait_until_active};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::StreamDescriptionSummary;
use given::policy::{allow, function_logs};
use given::stream_api::{align_settings, describe, kinesis_error, stream_mode};
use std::collections::BTreeMap;

/// The stream every later step reads or writes.
pub const STREAM_NAME: &str = "TelemetricStream";

/// How the stream is billed and scaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capacity {
    /// A fixed number of shards, each taking 1 MiB/s or 1,000 records/s of writes. Cheapest for a steady workshop load.
    Provisioned { shards: i32 },
    /// AWS adds and removes shards with the traffic; billed per GiB and per stream-hour.
    OnDemand,
}

/// Everything needed to create the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDefinition {
    pub name: String,
    pub capacity: Capacity,
    /// How long records stay readable: 24 hours is the minimum and costs nothing extra.
    pub retention_hours: i32,
    /// Tags let `cargo xtask destroy` find what the workshop made.
    pub tags: BTreeMap<String, String>,
}

/// The workshop's stream: two provisioned shards, the minimum retention, tagged as the workshop's.
pub fn telemetric_stream() -> StreamDefinition {
    todo!("define TelemetricStream: 2 provisioned shards, 24 hours of retention, tag workshop = kinesis-lab")
}

/// The producer Lambda writes records to the stream and its own logs.
pub fn producer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    todo!("allow exactly what the producer calls on the stream, and writing the function's own logs")
}

/// The consumer Lambda is invoked by an event source mapping, which reads the stream with the function's role.
pub fn consumer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    todo!("allow what the consumer's event source mapping needs on the stream, and the function's own logs")
}

/// Firehose reads the stream and writes objects into the bucket.
pub fn firehose_policy(resources: &Resources) -> PolicyDocument {
    todo!("allow what Firehose needs to read the stream and write objects into the bucket, nothing more")
}

/// Creates the stream if it does not exist, then waits until it is ACTIVE. Calling it again changes nothing.
pub async fn ensure_stream(
    client: &Client,
    definition: &StreamDefinition,
) -> Result<StreamDescriptionSummary, StreamError> {
    todo!("create the stream only if it is missing, wait until it is ACTIVE, then align_settings")
}

#[cfg(test)]
mod tests;
