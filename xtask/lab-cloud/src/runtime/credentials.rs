//! Acting with a role, as AWS's services do: Lambda runs a function with its execution role's temporary credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` in its environment, "Defined runtime
//! environment variables": <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>),
//! an event source mapping reads the stream with the function's role ("Lambda needs the following permissions to
//! manage resources that are related to your Kinesis data stream … add them to your function's execution role":
//! <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#events-kinesis-permissions>), and Firehose reads
//! its source and writes its destination with the delivery stream's role, which it assumes with the account's ID as
//! `sts:ExternalId` (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html>).
//!
//! The local cloud's parts do the same: they sign as the service (`gateway::authenticate::SERVICE_KEYS`) and assume
//! the role through the gateway's STS, whose trust-policy check decides. Against a bare emulator (a test without a
//! gateway) the same calls reach moto's STS, which issues credentials nobody checks.

use anyhow::{Context, Result, anyhow};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::time::Duration;

use crate::gateway::authenticate::{ACCOUNT, service_credentials};

/// How long a function's credentials last: its execution environment is recycled before they expire.
pub const FUNCTION_SESSION: Duration = Duration::from_secs(12 * 3600);

/// `base` (the local cloud's endpoint and region), signing as the AWS service `principal`.
pub fn as_service(base: &SdkConfig, principal: &str) -> Result<SdkConfig> {
    let (key, secret) =
        service_credentials(principal).ok_or_else(|| anyhow!("the local cloud has no credentials for {principal}"))?;
    let credentials = Credentials::new(key, secret, None, None, "lab-cloud service");
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// `base`, acting as `role_arn` assumed by the service `principal` (with `external_id` for Firehose's): the
/// credentials are assumed on first use and again before they expire.
pub async fn acting_as(
    base: &SdkConfig,
    principal: &str,
    role_arn: &str,
    session_name: &str,
    external_id: Option<&str>,
) -> Result<SdkConfig> {
    let service = as_service(base, principal)?;
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn).session_name(session_name);
    if let Some(external_id) = external_id {
        builder = builder.external_id(external_id);
    }
    let provider = builder.configure(&service).build().await;
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// The credentials a function's process gets: its role assumed by Lambda, for [`FUNCTION_SESSION`].
pub async fn for_function(base: &SdkConfig, role_arn: &str, function: &str) -> Result<Credentials> {
    let service = as_service(base, "lambda.amazonaws.com")?;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(session_name(function))
        .session_length(FUNCTION_SESSION)
        .configure(&service)
        .build()
        .await;
    provider
        .provide_credentials()
        .await
        .with_context(|| format!("Lambda could not assume the role {role_arn} of function {function}"))
}

/// Firehose's `sts:ExternalId`: the account's ID.
pub fn firehose_external_id() -> &'static str {
    ACCOUNT
}

/// A role session's name: STS allows 2 to 64 characters of `[\w+=,.@-]`.
pub fn session_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.len() < 2 {
        format!("{cleaned}-session")
    } else {
        cleaned
    }
}
