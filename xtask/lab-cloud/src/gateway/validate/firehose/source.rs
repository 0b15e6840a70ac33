//! A Kinesis source, as `CreateDeliveryStream` checks it: Firehose assumes the delivery stream's roles, with the
//! account's ID as `sts:ExternalId` ("Allow Firehose to assume an IAM role",
//! <https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#firehose-assume-role>), and describes the
//! source stream with the source's role. Either failing is an `InvalidArgumentException`, in AWS's words (as
//! reported, and as the AWS provider for Terraform retries them while IAM propagates:
//! `Firehose is unable to assume role <arn>. Please check the role provided.` and
//! `Role <arn> is not authorized to perform: kinesis:DescribeStream on resource <stream>.`). The bucket is not
//! checked at creation: a role that may not write it shows at delivery (`S3.AccessDenied`, retried, then dropped).

use super::{Context, invalid_argument};
use crate::gateway::authenticate::ACCOUNT;
use crate::gateway::call::Call;
use crate::gateway::errors::AwsError;
use crate::gateway::kinesis::StreamKey;
use crate::gateway::roles::Roles;
use policy::{Caller, Context as Conditions, Request, evaluate};
use serde_json::Value;

pub async fn check(call: &Call, body: &Value, context: &Context<'_>) -> Result<(), AwsError> {
    let source = &body["KinesisStreamSourceConfiguration"];
    let (Some(stream_arn), Some(role_arn)) = (source["KinesisStreamARN"].as_str(), source["RoleARN"].as_str()) else {
        return Err(invalid_argument(
            "KinesisStreamSourceConfiguration (KinesisStreamARN and RoleARN) is required for a \
             KinesisStreamAsSource delivery stream",
        ));
    };
    firehose_may_assume(role_arn, context.roles).await?;
    if let Some(role) = body
        .pointer("/ExtendedS3DestinationConfiguration/RoleARN")
        .and_then(Value::as_str)
    {
        firehose_may_assume(role, context.roles).await?;
    }
    may_describe(role_arn, stream_arn, context.roles).await?;
    let name = stream_arn.rsplit_once(":stream/").map_or(stream_arn, |(_, name)| name);
    let key = StreamKey {
        region: stream_arn.split(':').nth(3).unwrap_or(call.region()).to_owned(),
        name: name.to_owned(),
    };
    let now = context.kinesis.now_ms();
    if let Err(not_found) = context.kinesis.with_stream(&key, now, |_| Ok(())) {
        return Err(invalid_argument(not_found.message));
    }
    Ok(())
}

/// Whether `firehose.amazonaws.com` may assume the role, with this account as `sts:ExternalId`.
pub async fn firehose_may_assume(role_arn: &str, roles: &Roles) -> Result<(), AwsError> {
    let unable = || {
        invalid_argument(format!(
            "Firehose is unable to assume role {role_arn}. Please check the role provided."
        ))
    };
    let role = roles.get(role_arn).await.ok().flatten().ok_or_else(unable)?;
    let trust = role.trust.as_ref().map_err(|_| unable())?;
    let conditions = Conditions::new().with("sts:ExternalId", ACCOUNT);
    let decision = trust.may_assume(&Caller::Service("firehose.amazonaws.com".to_owned()), &conditions);
    if decision.is_allowed() { Ok(()) } else { Err(unable()) }
}

/// Whether the role's policies allow `kinesis:DescribeStream` on the stream.
async fn may_describe(role_arn: &str, stream_arn: &str, roles: &Roles) -> Result<(), AwsError> {
    let role = roles.get(role_arn).await.ok().flatten();
    let allowed = role
        .is_some_and(|role| evaluate(&role.policies, &Request::new("kinesis:DescribeStream", stream_arn)).is_allowed());
    if allowed {
        return Ok(());
    }
    Err(invalid_argument(format!(
        "Role {role_arn} is not authorized to perform: kinesis:DescribeStream on resource {stream_arn}."
    )))
}
