//! `lab-cloud invoke`: one invocation of a deployed function or of an executable, its answer printed.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use lab_contract::Invoke;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::target::{cloud_environment, folders, naming};
use crate::naming::Naming;
use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome, function_spec};
use crate::stages::STAGES;

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

/// What runs: the deployed function's configuration and installed executable, or the executable given; `--env`
/// over the environment either way.
async fn spec(config: &SdkConfig, state: &Path, args: Invoke) -> Result<FunctionSpec> {
    let overrides: Vec<(String, String)> = args
        .env
        .iter()
        .map(|var| (var.key.clone(), var.value.clone()))
        .collect();
    let deployed = match &args.env_of {
        Some(binary) => match naming(&lab_contract::Target::default()) {
            Ok(naming) => deployed_environment(config, &naming, binary).await,
            Err(_) => None,
        },
        None => None,
    };
    let mut spec = spec_of(config, state, args).await?;
    // The deployed function's role too: the executable then runs with that role's credentials, as it would in AWS.
    if let Some(role) = deployed.as_ref().and_then(|deployed| deployed.role.clone()) {
        spec.role = Some(role);
    }
    spec.environment = environment(
        spec.environment,
        deployed.map(|deployed| (deployed.name, deployed.variables)),
        &overrides,
    );
    Ok(spec)
}

/// A deployed function's name, environment variables and role.
pub struct Deployed {
    pub name: String,
    pub variables: Vec<(String, String)>,
    pub role: Option<String>,
}

/// The environment of the function the deploy made from step binary `binary` (the learner's, by the usual
/// naming), with its name, or `None` when none is deployed here: said on stderr either way, since a function that
/// finds no STREAM_NAME fails with a message about its environment.
pub async fn deployed_environment(config: &SdkConfig, naming: &Naming, binary: &str) -> Option<Deployed> {
    let stage = STAGES
        .iter()
        .find_map(|stage| stage.function.as_ref().filter(|f| f.binary == binary))?;
    let name = naming.function(stage.name);
    let lambda = aws_sdk_lambda::Client::new(config);
    match lambda.get_function_configuration().function_name(&name).send().await {
        Ok(configuration) => {
            let variables: Vec<(String, String)> = configuration
                .environment
                .and_then(|environment| environment.variables)
                .map(|variables| variables.into_iter().collect())
                .unwrap_or_default();
            let keys: Vec<&str> = variables.iter().map(|(key, _)| key.as_str()).collect();
            eprintln!(
                "invoke: with the environment of the deployed {name} ({})",
                keys.join(", ")
            );
            Some(Deployed {
                name,
                variables,
                role: configuration.role,
            })
        }
        Err(_) => {
            eprintln!(
                "invoke: no {name} is deployed on this cloud, so its environment is only what --env sets \
                 (`cargo xtask deploy` sets the function's; or --env KEY=VALUE)"
            );
            None
        }
    }
}

/// The function's environment: the cloud's, then the deployed function's variables, then `--env`, a later value
/// replacing an earlier one of the same name.
fn environment(
    cloud: Vec<(String, String)>,
    deployed: Option<(String, Vec<(String, String)>)>,
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = vec![];
    let layers = cloud
        .into_iter()
        .chain(deployed.into_iter().flat_map(|(_, vars)| vars))
        .chain(overrides.iter().cloned());
    for (key, value) in layers {
        merged.retain(|(known, _)| *known != key);
        merged.push((key, value));
    }
    merged
}

async fn spec_of(config: &SdkConfig, state: &Path, args: Invoke) -> Result<FunctionSpec> {
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
                role: None,
            })
        }
        (None, None) => unreachable!("clap requires one of them"),
    }
}

#[cfg(test)]
mod tests {
    use super::environment;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_deployed_functions_environment_then_env_go_over_the_clouds() {
        let cloud = vars(&[("AWS_REGION", "us-east-1"), ("STREAM_NAME", "from-the-shell")]);
        let deployed = Some((
            "kinesis-lab-ada-produceKinesisEvents".to_owned(),
            vars(&[
                ("STREAM_NAME", "kinesis-lab-ada-TelemetricStream"),
                ("RUST_LOG", "info"),
            ]),
        ));
        let merged = environment(cloud.clone(), deployed.clone(), &vars(&[("RUST_LOG", "debug")]));
        assert_eq!(
            merged,
            vars(&[
                ("AWS_REGION", "us-east-1"),
                ("STREAM_NAME", "kinesis-lab-ada-TelemetricStream"),
                ("RUST_LOG", "debug"),
            ])
        );
        // Nothing deployed: the cloud's, with --env over it.
        assert_eq!(
            environment(cloud, None, &vars(&[("ANALYTICS_BUCKET", "b")])),
            vars(&[
                ("AWS_REGION", "us-east-1"),
                ("STREAM_NAME", "from-the-shell"),
                ("ANALYTICS_BUCKET", "b")
            ])
        );
    }
}
