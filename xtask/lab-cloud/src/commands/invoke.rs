//! `lab-cloud invoke`: one invocation of a deployed function or of an executable, its answer printed.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use lab_contract::Invoke;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::target::{cloud_environment, folders};
use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome, function_spec};

pub async fn run(config: &SdkConfig, state: &Path, args: Invoke) -> Result<ExitCode> {
    let event = &args.event;
    let text = std::fs::read_to_string(event).with_context(|| format!("reading {}", event.display()))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", event.display()))?;
    let spec = spec(config, state, args).await?;
    let host = LambdaHost::new();
    let outcome = host.invoke(&spec, &payload).await;
    host.shutdown();
    match outcome {
        Outcome::Response(body) => {
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let (error_type, message) = other.error().unwrap_or_default();
            println!(
                "{}",
                serde_json::json!({ "errorType": error_type, "errorMessage": message })
            );
            eprintln!("the function failed; its output is in {}", spec.log_file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What runs: the deployed function's configuration and installed executable, or the executable given.
async fn spec(config: &SdkConfig, state: &Path, args: Invoke) -> Result<FunctionSpec> {
    let folders = folders(state);
    match (args.function, args.binary) {
        (Some(function), _) => {
            let lambda = aws_sdk_lambda::Client::new(config);
            function_spec(
                &lambda,
                &function,
                &folders.functions,
                &folders.logs,
                &cloud_environment(),
            )
            .await
        }
        (None, Some(binary)) => {
            let name = binary
                .file_name()
                .map_or("function".into(), |n| n.to_string_lossy().into_owned());
            Ok(FunctionSpec {
                arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                log_file: folders.logs.join(format!("{name}.log")),
                name,
                binary,
                timeout: Duration::from_secs(args.timeout),
                memory_mb: 128,
                environment: cloud_environment(),
            })
        }
        (None, None) => unreachable!("clap requires one of them"),
    }
}
