//! What every part that talks to AWS shares: the clients that need more than `Client::new`, errors on one line,
//! the account a configuration points at, and waiting for a condition.

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use std::time::{Duration, Instant};

/// An error and its sources on one line (the SDK's `Display` alone says little).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

pub fn region_of(config: &SdkConfig) -> String {
    config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    // Path-style: on 127.0.0.1 the virtual-host name `<bucket>.127.0.0.1` does not resolve (and AWS accepts both).
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// The account and region the configuration points at (STS `GetCallerIdentity` needs no permission).
pub async fn account(config: &SdkConfig) -> Result<(String, String)> {
    let identity = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "no usable AWS credentials ({}). Configure them the standard way (`aws configure`, `aws sso login`, \
                 or AWS_PROFILE) and try again",
                error_chain(&e)
            )
        })?;
    Ok((identity.account.unwrap_or_default(), region_of(config)))
}

pub async fn wait_for<F, Fut>(limit: Duration, mut done: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        if started.elapsed() > limit {
            bail!("gave up waiting after {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}
