//! Firehose's checks, made before the emulator (which takes every one of these requests) sees the call:
//!
//! - [`destination`]: an S3 destination's settings as `CreateDeliveryStream` and `UpdateDestination` check them —
//!   buffering ranges, compression values, the prefixes' expressions and AWS's rules between them — and what the local
//!   Firehose does not implement, refused by name;
//! - [`source`]: a Kinesis source as AWS checks it at creation — Firehose must be able to assume the role (with the
//!   account as `sts:ExternalId`) and the role must be allowed `kinesis:DescribeStream` on the stream;
//! - [`put`]: `PutRecord` and `PutRecordBatch` refused on a delivery stream that reads a Kinesis stream.
//!
//! API reference: <https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html>.

mod destination;
mod put;
mod source;

use super::super::call::Call;
use super::super::errors::AwsError;
use super::super::kinesis::Kinesis;
use super::super::roles::Roles;
use super::super::upstream::Upstream;
use crate::gateway::authorize::AccessLog;
use serde_json::Value;

/// What the checks read besides the call: the roles (IAM), the streams (the Kinesis engine), and the emulator's
/// Firehose (a delivery stream's current configuration).
pub struct Context<'a> {
    pub roles: &'a Roles,
    pub kinesis: &'a Kinesis,
    pub upstream: &'a Upstream,
    /// Where Firehose's read of the source at creation is written: on AWS it is the role's own call.
    pub access: &'a AccessLog,
    /// Whether IAM is enforced (`--no-iam`: not, and neither are the role checks).
    pub iam: bool,
}

/// `Ok` when AWS would take the call (or it is no Firehose call these rules concern).
pub async fn check(call: &Call, context: &Context<'_>) -> Result<(), AwsError> {
    if call.service != super::super::call::Service::Firehose {
        return Ok(());
    }
    let empty = Value::Null;
    let body = call.json().unwrap_or(&empty);
    match call.operation.as_deref() {
        Some("CreateDeliveryStream") => create(call, body, context).await,
        Some("UpdateDestination") => update(call, body, context).await,
        Some("PutRecord" | "PutRecordBatch") => put::check(call, body, context).await,
        _ => Ok(()),
    }
}

async fn create(call: &Call, body: &Value, context: &Context<'_>) -> Result<(), AwsError> {
    let kinesis_source = body["DeliveryStreamType"].as_str() == Some("KinesisStreamAsSource");
    if let Some(s3) = body.get("ExtendedS3DestinationConfiguration") {
        destination::check(s3, "extendedS3DestinationConfiguration", None, kinesis_source)?;
    }
    if !kinesis_source {
        return Ok(());
    }
    destination::only_extended_s3(body)?;
    source::check(call, body, context).await
}

async fn update(call: &Call, body: &Value, context: &Context<'_>) -> Result<(), AwsError> {
    let Some(update) = body.get("ExtendedS3DestinationUpdate") else {
        return Ok(());
    };
    let name = body["DeliveryStreamName"].as_str().unwrap_or_default();
    // The rules between the two prefixes hold for the configuration the update leaves: the current one's values for
    // what it does not change.
    let current = put::describe(call, name, context).await;
    let kinesis_source = current
        .as_ref()
        .is_some_and(|d| d["DeliveryStreamType"].as_str() == Some("KinesisStreamAsSource"));
    let current_s3 = current
        .as_ref()
        .and_then(|d| d.pointer("/Destinations/0/ExtendedS3DestinationDescription"));
    destination::check(update, "extendedS3DestinationUpdate", current_s3, kinesis_source)?;
    if let Some(role) = update["RoleARN"].as_str().filter(|_| kinesis_source && context.iam) {
        source::firehose_may_assume(role, context.roles).await?;
    }
    Ok(())
}

/// AWS's `InvalidArgumentException` (HTTP 400), the error of Firehose's own rules.
fn invalid_argument(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidArgumentException", message)
}

/// The local cloud refusing what it does not implement: the same error type, saying so.
fn not_implemented(what: &str) -> AwsError {
    invalid_argument(format!(
        "the local cloud's Firehose does not implement {what}, so it refuses it rather than accept it and ignore it"
    ))
}
