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
use crate::gateway::authorize::session_context;
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
    if context.iam {
        firehose_may_assume(role_arn, context.roles).await?;
        if let Some(role) = body
            .pointer("/ExtendedS3DestinationConfiguration/RoleARN")
            .and_then(Value::as_str)
        {
            firehose_may_assume(role, context.roles).await?;
        }
        may_describe(role_arn, stream_arn, call.region(), context).await?;
    }
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

/// The session name Firehose's reads of a source show in the access report (AWS's are not documented).
const SESSION: &str = "firehose_local";

/// Whether the role's policies allow `kinesis:DescribeStream` on the stream; the decision is the role's own call in
/// the access log, as Firehose's read is on AWS.
async fn may_describe(role_arn: &str, stream_arn: &str, region: &str, context: &Context<'_>) -> Result<(), AwsError> {
    let allowed = match context.roles.get(role_arn).await.ok().flatten() {
        Some(role) => {
            let mut request = Request::new("kinesis:DescribeStream", stream_arn);
            request.context = session_context(&role.arn, &role.id, SESSION, region);
            let decision = evaluate(&role.policies, &request);
            let session = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/{SESSION}", role.name);
            context.access.record(&role.arn, &session, &request, &decision);
            decision.is_allowed()
        }
        None => false,
    };
    if allowed {
        return Ok(());
    }
    Err(invalid_argument(format!(
        "Role {role_arn} is not authorized to perform: kinesis:DescribeStream on resource {stream_arn}."
    )))
}
