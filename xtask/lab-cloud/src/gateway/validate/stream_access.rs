//! A Kinesis mapping's function role may read its stream, checked when the mapping is made, as Lambda does: it
//! reads the stream with that role, and refuses the mapping when it cannot, HTTP 400 `InvalidParameterValueException`
//! "Cannot access stream arn:aws:kinesis:…. Please ensure the role can perform the GetRecords, GetShardIterator,
//! DescribeStream, ListShards, and ListStreams Actions on your stream in IAM." (AWS's message since 2021, e.g.
//! <https://github.com/aws-samples/cross-account-amazon-dynamodb-replication/issues/11>; earlier without ListShards).
//!
//! Which actions are checked. The message names five; the public record shows which ones AWS checks at creation:
//! - `kinesis:DescribeStream` on the stream: checked. The AWS CDK granted it on top of its read grant for this
//!   reason alone ("The Lambda::EventSourceMapping resource validates against the `DescribeStream` permission",
//!   `aws-lambda-event-sources/lib/kinesis.ts`, CDK v1, and <https://github.com/aws/aws-cdk/pull/7354>), and a role
//!   with every read action but it is refused (<https://github.com/aws/aws-cdk/issues/17312>).
//! - `kinesis:ListStreams`: not checked. It has no resource-level permission (only `Resource: "*"` grants it,
//!   Service Authorization Reference, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisdatastreams.html>),
//!   and the CDK's and the Serverless Framework's mappings, made for years with roles that grant it on the stream's
//!   ARN only (so never), are created.
//! - `kinesis:ListShards`: not checked at creation. A role without it gets its mapping, then AccessDenied on
//!   ListShards as it polls (<https://github.com/serverless/serverless/issues/8540>).
//! - `kinesis:GetShardIterator` and `kinesis:GetRecords` on the stream: every read needs them ("Execution role
//!   permissions", <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>; the managed policy
//!   `AWSLambdaKinesisExecutionRole` grants them). No public report shows whether AWS checks them at creation or
//!   only at the first poll (where the mapping's last processing result says the role is not authorized): the
//!   local cloud refuses the mapping at creation, AWS's "no" said first rather than a mapping that never reads.
//!
//! The role's policies are decided as `authorize` decides a session's calls (`policy::evaluate`: an explicit deny
//! wins, then an allow), with the context of the role's session in the stream's region, and each decision goes into
//! the access log as the role's own: on AWS these reads are made with the role (its CloudTrail shows them), so the
//! access report must not call `kinesis:DescribeStream` granted but never used when a mapping needed it.

use super::SourceStream;
use super::invalid_parameter;
use super::service_exception;
use crate::gateway::authenticate::ACCOUNT;
use crate::gateway::authorize::{AccessLog, session_context};
use crate::gateway::errors::AwsError;
use crate::gateway::roles::Roles;
use policy::{Request, evaluate};

/// What a Kinesis mapping's role must be allowed on the stream for the mapping to be made.
pub const READ_AT_CREATION: [&str; 3] = [
    "kinesis:DescribeStream",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
];

/// The session name Lambda's pollers use (`awslambda_<n>_<time>` on AWS); conditions seldom name it.
const SESSION: &str = "awslambda_local";

/// Whether the role `role_arn` may read `stream`; AWS's refusal when it may not (or does not exist).
pub async fn role_may_read(
    role_arn: &str,
    stream: &SourceStream,
    roles: &Roles,
    access: &AccessLog,
) -> Result<(), AwsError> {
    let cannot_access = || {
        invalid_parameter(format!(
            "Cannot access stream {}. Please ensure the role can perform the GetRecords, GetShardIterator, \
             DescribeStream, ListShards, and ListStreams Actions on your stream in IAM.",
            stream.arn
        ))
    };
    let role = match roles.get(role_arn).await {
        Ok(Some(role)) => role,
        Ok(None) => return Err(cannot_access()),
        Err(error) => {
            return Err(service_exception(format!(
                "the local cloud could not read the role {role_arn}: {error:#}"
            )));
        }
    };
    let context = session_context(&role.arn, &role.id, SESSION, &stream.key.region);
    let session = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/{SESSION}", role.name);
    for action in READ_AT_CREATION {
        let mut request = Request::new(action, &stream.arn);
        request.context = context.clone();
        let decision = evaluate(&role.policies, &request);
        access.record(&role.arn, &session, &request, &decision);
        if !decision.is_allowed() {
            return Err(cannot_access());
        }
    }
    Ok(())
}
