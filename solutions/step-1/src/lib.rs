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

// ANCHOR: definition
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
// ANCHOR_END: definition

// learner: define TelemetricStream: 2 provisioned shards, 24 hours of retention, tag workshop = kinesis-lab
// ANCHOR: telemetric_stream
/// The workshop's stream: two provisioned shards, the minimum retention, tagged as the workshop's.
pub fn telemetric_stream() -> StreamDefinition {
    StreamDefinition {
        name: STREAM_NAME.to_owned(),
        capacity: Capacity::Provisioned { shards: 2 },
        retention_hours: 24,
        tags: BTreeMap::from([("workshop".to_owned(), "kinesis-lab".to_owned())]),
    }
}
// ANCHOR_END: telemetric_stream

// learner: allow exactly what the producer calls on the stream, and writing the function's own logs
// ANCHOR: producer_policy
/// The producer Lambda writes records to the stream and its own logs.
pub fn producer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            // The producer writes in batches: PutRecords only (PutRecord is a separate action it never calls).
            allow(
                "PutRecordsOnTheStream",
                &["kinesis:PutRecords"],
                vec![resources.stream_arn()],
            ),
            function_logs(resources, function_name),
        ],
    }
}
// ANCHOR_END: producer_policy

// learner: allow what the consumer's event source mapping needs on the stream, and the function's own logs
// ANCHOR: consumer_policy
/// The consumer Lambda is invoked by an event source mapping, which reads the stream with the function's role.
pub fn consumer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            allow(
                "ReadTheStream",
                &[
                    // What the mapping calls...
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    // ...and what Lambda documents as required of its role besides.
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                ],
                vec![resources.stream_arn()],
            ),
            function_logs(resources, function_name),
        ],
    }
}
// ANCHOR_END: consumer_policy

// learner: allow what Firehose needs to read the stream and write objects into the bucket, nothing more
// ANCHOR: firehose_policy
/// Firehose reads the stream and writes objects into the bucket.
pub fn firehose_policy(resources: &Resources) -> PolicyDocument {
    let bucket = resources.bucket_arn();
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            allow(
                "ReadTheStream",
                &[
                    "kinesis:DescribeStream",
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                ],
                vec![resources.stream_arn()],
            ),
            allow(
                "WriteTheBucket",
                &[
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                vec![bucket.clone(), format!("{bucket}/*")],
            ),
        ],
    }
}
// ANCHOR_END: firehose_policy

// learner: create the stream only if it is missing, wait until it is ACTIVE, then align_settings
// ANCHOR: ensure_stream
/// Creates the stream if it does not exist, then waits until it is ACTIVE. Calling it again changes nothing.
pub async fn ensure_stream(
    client: &Client,
    definition: &StreamDefinition,
) -> Result<StreamDescriptionSummary, StreamError> {
    if describe(client, &definition.name).await?.is_none() {
        let shards = match definition.capacity {
            Capacity::Provisioned { shards } => Some(shards),
            Capacity::OnDemand => None,
        };
        let created = client
            .create_stream()
            .stream_name(&definition.name)
            .set_shard_count(shards)
            .stream_mode_details(stream_mode(&definition.capacity))
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Created by someone else between our describe and create: exactly what we wanted.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(error) => return Err(kinesis_error(error)),
        }
    }

    // A new stream is CREATING for a moment (ours, or one a concurrent deploy just made): tags and retention can be
    // set only once it is ACTIVE.
    let summary = wait_until_active(client, &definition.name).await?;
    align_settings(client, definition, &summary).await?;
    // A retention change leaves the stream UPDATING for a moment: hand it back once it is ACTIVE again.
    wait_until_active(client, &definition.name).await
}
// ANCHOR_END: ensure_stream

#[cfg(test)]
mod tests;
