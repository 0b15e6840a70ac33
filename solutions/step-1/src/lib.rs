//! Step 1: the `TelemetricStream` data stream and the IAM policies of everything that touches it.
//!
//! Nothing here needs a console: the stream is a typed definition that [`ensure_stream`] makes real, and each
//! policy is a typed [`PolicyDocument`] that serialises to the JSON IAM expects.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::client::Waiters;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::types::{StreamDescriptionSummary, StreamMode, StreamModeDetails, StreamStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

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

// ANCHOR: policy_types
/// An IAM policy document, as IAM reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

/// One statement: who may do what on which resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub action: Vec<String>,
    pub resource: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl PolicyDocument {
    /// The document as IAM takes it (for `CreatePolicy`, `PutRolePolicy` or the console).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document always serialises")
    }
}

/// The current (and only sensible) policy language version.
pub const POLICY_VERSION: &str = "2012-10-17";
// ANCHOR_END: policy_types

// ANCHOR: resources
/// Where the workshop's resources live; every policy is scoped to these ARNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    pub stream_name: String,
    pub bucket_name: String,
}

impl Resources {
    pub fn stream_arn(&self) -> String {
        let Resources {
            partition,
            region,
            account_id,
            stream_name,
            ..
        } = self;
        format!("arn:{partition}:kinesis:{region}:{account_id}:stream/{stream_name}")
    }

    pub fn bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition, self.bucket_name)
    }

    /// The log group a Lambda function writes to.
    pub fn log_group_arn(&self, function_name: &str) -> String {
        let Resources {
            partition,
            region,
            account_id,
            ..
        } = self;
        format!("arn:{partition}:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}")
    }
}
// ANCHOR_END: resources

fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        sid: sid.to_owned(),
        effect: Effect::Allow,
        action: actions.iter().map(|action| (*action).to_owned()).collect(),
        resource: resources,
    }
}

/// A Lambda function may create its own log group and write to its own log streams; nothing else.
fn function_logs(resources: &Resources, function_name: &str) -> Statement {
    let group = resources.log_group_arn(function_name);
    allow(
        "WriteOwnLogs",
        &["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        vec![group.clone(), format!("{group}:*")],
    )
}

// learner: allow PutRecord and PutRecords on the stream, and writing the function's own logs
// ANCHOR: producer_policy
/// The producer Lambda writes records to the stream and its own logs.
pub fn producer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            allow(
                "PutRecordsOnTheStream",
                &["kinesis:PutRecord", "kinesis:PutRecords"],
                vec![resources.stream_arn()],
            ),
            function_logs(resources, function_name),
        ],
    }
}
// ANCHOR_END: producer_policy

// learner: allow what an event source mapping reads on the stream, and the function's own logs
// ANCHOR: consumer_policy
/// The consumer Lambda is invoked by an event source mapping, which reads the stream with the function's role.
pub fn consumer_policy(resources: &Resources, function_name: &str) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            allow(
                "ReadTheStream",
                &[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                ],
                vec![resources.stream_arn()],
            ),
            function_logs(resources, function_name),
        ],
    }
}
// ANCHOR_END: consumer_policy

// learner: allow reading the stream and writing objects into the bucket, nothing more
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
                    "kinesis:DescribeStreamSummary",
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

/// What can go wrong while making sure the stream exists.
#[derive(Debug)]
pub enum StreamError {
    /// A Kinesis call failed (the message says which, and why).
    Kinesis(String),
    /// The stream did not become ACTIVE in time.
    NotActive { status: String },
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Kinesis(message) => write!(f, "Kinesis call failed: {message}"),
            StreamError::NotActive { status } => write!(f, "the stream did not become ACTIVE in time (it is {status})"),
        }
    }
}

impl std::error::Error for StreamError {}

fn kinesis_error(error: impl std::error::Error) -> StreamError {
    // The SDK's Display is terse; the source chain says what actually went wrong.
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    StreamError::Kinesis(message)
}

/// How long `ensure_stream` waits for a new stream to become ACTIVE: AWS usually needs well under a minute.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Reads the stream's summary; `None` when it does not exist.
async fn describe(client: &Client, name: &str) -> Result<Option<StreamDescriptionSummary>, StreamError> {
    match client.describe_stream_summary().stream_name(name).send().await {
        Ok(output) => Ok(output.stream_description_summary),
        Err(error) => match error.into_service_error() {
            DescribeStreamSummaryError::ResourceNotFoundException(_) => Ok(None),
            other => Err(kinesis_error(other)),
        },
    }
}

fn stream_mode(capacity: &Capacity) -> StreamModeDetails {
    let mode = match capacity {
        Capacity::Provisioned { .. } => StreamMode::Provisioned,
        Capacity::OnDemand => StreamMode::OnDemand,
    };
    StreamModeDetails::builder()
        .stream_mode(mode)
        .build()
        .expect("stream_mode is set")
}

/// Brings an ACTIVE stream's tags and retention in line with its definition. (`CreateStream` takes neither
/// retention nor, on every implementation, tags: setting them afterwards also repairs a stream made by hand.)
async fn align_settings(
    client: &Client,
    definition: &StreamDefinition,
    summary: &StreamDescriptionSummary,
) -> Result<(), StreamError> {
    if !definition.tags.is_empty() {
        client
            .add_tags_to_stream()
            .stream_name(&definition.name)
            .set_tags(Some(definition.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(kinesis_error)?;
    }
    let hours = definition.retention_hours;
    if summary.retention_period_hours > hours {
        let request = client.decrease_stream_retention_period().stream_name(&definition.name);
        request
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(kinesis_error)?;
    } else if summary.retention_period_hours < hours {
        let request = client.increase_stream_retention_period().stream_name(&definition.name);
        request
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(kinesis_error)?;
    }
    Ok(())
}

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

    // A new stream is CREATING for a few seconds. The SDK's waiter polls DescribeStream until it is ACTIVE.
    client
        .wait_until_stream_exists()
        .stream_name(&definition.name)
        .wait(ACTIVE_TIMEOUT)
        .await
        .map_err(kinesis_error)?;

    let summary = describe(client, &definition.name).await?;
    let Some(summary) = summary.filter(|summary| summary.stream_status == StreamStatus::Active) else {
        return Err(StreamError::NotActive {
            status: "not ACTIVE after waiting".to_owned(),
        });
    };
    align_settings(client, definition, &summary).await?;
    Ok(describe(client, &definition.name).await?.unwrap_or(summary))
}
// ANCHOR_END: ensure_stream

#[cfg(test)]
mod tests;
