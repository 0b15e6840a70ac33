//! What every command aimed at a learner's deployment shares: whose names, which cloud, how functions are invoked.

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use lab_contract::Target;
use std::path::Path;

use crate::control::invoker::Invoker;
use crate::naming::Naming;
use crate::runtime::lambda_host::LambdaHost;
use crate::runtime::supervisor::Folders;

/// The learner's names. In AWS the learner must name themselves: in a shared sandbox account `$USER` is often
/// the same for everyone (`ec2-user`, `codespace`, `root`), and learners would deploy over, and destroy, each
/// other's resources.
pub fn naming(target: &Target) -> Result<Naming> {
    let chosen = target
        .learner
        .clone()
        .or_else(|| std::env::var("KINESIS_LAB_LEARNER").ok());
    let learner = match chosen {
        Some(learner) => learner,
        None if target.aws => bail!(
            "name yourself for AWS: --learner NAME, or KINESIS_LAB_LEARNER=NAME (1 to 20 of a-z, 0-9, '-'). \
             The name prefixes and tags everything you deploy, so learners sharing an account never collide"
        ),
        None => Naming::learner_from(&std::env::var("USER").unwrap_or_default()),
    };
    Naming::for_learner(&learner)
}

/// Without `--aws`, every client must go to the local cloud: a local command never reaches a real account.
pub fn check(target: &Target, config: &SdkConfig) -> Result<()> {
    if target.aws {
        return Ok(());
    }
    // Service-specific endpoints, or an instruction to ignore endpoints, would send some clients elsewhere.
    if let Some((key, _)) = std::env::vars()
        .find(|(key, _)| key.starts_with("AWS_ENDPOINT_URL_") || key == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    {
        bail!("{key} is set; a local command only talks to the local cloud (unset it, or pass --aws)");
    }
    let endpoint = config.endpoint_url().unwrap_or_default();
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    if host != "127.0.0.1" {
        bail!("no local cloud endpoint ({endpoint:?}); run this through `cargo xtask`, or pass --aws");
    }
    crate::aws::deploying_locally();
    Ok(())
}

/// Firehose's buffering interval and the analysis' window, in seconds: AWS-sized in AWS, short locally.
pub fn default_seconds(target: &Target) -> u32 {
    if target.aws { 60 } else { 5 }
}

pub fn invoker(target: &Target, config: &SdkConfig, state: &Path) -> Invoker {
    let lambda = aws_sdk_lambda::Client::new(config);
    if target.aws {
        return Invoker::Aws(lambda);
    }
    let folders = folders(state);
    Invoker::Local {
        lambda,
        host: LambdaHost::new(),
        functions: folders.functions,
        logs: folders.logs,
        environment: cloud_environment(),
    }
}

/// The variables a function process needs to reach the local cloud: the standard AWS ones, as xtask set them.
pub fn cloud_environment() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(key, _)| key.starts_with("AWS_") && key != "AWS_LAMBDA_RUNTIME_API")
        .collect()
}

/// The local cloud's folders under `--state`.
pub fn folders(state: &Path) -> Folders {
    Folders {
        functions: state.join("functions"),
        logs: state.join("logs"),
        failures: state.join("failures"),
        checkpoints: state.join("checkpoints"),
    }
}
