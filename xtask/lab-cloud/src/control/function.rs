//! Lambda functions: their code (an executable for the local host, or a zip for AWS), configuration and tags,
//! created (once the new role is usable) or brought in line.

use anyhow::{Context, Result, bail};
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State};
use aws_sdk_s3::error::ProvideErrorMetadata;
use base64::Engine;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use super::change::{Action, Change};
use crate::aws::{ErrorContext, Propagation, retry_while_propagating};
use crate::naming::missing_tags;
use crate::stages::ResourceKind;

/// The smallest valid zip (an empty archive): the Lambda API wants code; the local host runs the executable.
pub const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// A function's code: an executable the local Lambda host runs, or a zip archive for AWS.
pub(crate) enum Code<'a> {
    Local(&'a Path),
    Zip { bytes: Vec<u8>, architecture: Architecture },
}

impl Code<'_> {
    fn zip(&self) -> &[u8] {
        match self {
            Code::Local(_) => EMPTY_ZIP,
            Code::Zip { bytes, .. } => bytes,
        }
    }

    fn architecture(&self) -> Architecture {
        match self {
            Code::Local(_) => Architecture::X8664,
            Code::Zip { architecture, .. } => architecture.clone(),
        }
    }

    /// The SHA-256 of the archive, base64, as Lambda reports it in `CodeSha256`.
    fn sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(self.zip()))
    }
}

/// What a function is configured with (its code comes apart, as [`Code`]).
pub(crate) struct FunctionSettings<'a> {
    pub(crate) name: &'a str,
    pub(crate) role: &'a str,
    pub(crate) timeout: i32,
    pub(crate) environment: BTreeMap<String, String>,
    pub(crate) tags: &'a BTreeMap<String, String>,
}

const MEMORY_MB: i32 = 128;

pub(crate) async fn ensure_function(
    lambda: &aws_sdk_lambda::Client,
    functions_dir: &Path,
    spec: &FunctionSettings<'_>,
    code: &Code<'_>,
) -> Result<Change> {
    let name = spec.name;
    // Locally the Lambda API holds an empty zip and the code is the executable the host runs: a new executable is
    // a code update, as a new zip is in AWS.
    let new_local_code = match code {
        Code::Local(binary) => install_local_code(&functions_dir.join(name), binary)?,
        Code::Zip { .. } => false,
    };
    let action = match lambda.get_function().function_name(name).send().await {
        Ok(existing) => {
            let configuration = existing.configuration.context("no configuration")?;
            let updated = update_function(lambda, spec, code, &configuration).await?;
            if updated || new_local_code {
                Action::Updated
            } else {
                Action::Unchanged
            }
        }
        Err(_) => {
            create_function(lambda, spec, code).await?;
            Action::Created
        }
    };
    Ok(Change {
        kind: ResourceKind::Function,
        name: name.to_owned(),
        action,
    })
}

/// Installs the executable as `<folder>/bootstrap`; whether it was new. Copied aside and renamed into place: a warm
/// environment may be running the old executable, which keeps its file until it exits (as in Lambda, the next cold
/// start runs the new code).
fn install_local_code(folder: &Path, binary: &Path) -> Result<bool> {
    let installed = folder.join("bootstrap");
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    if std::fs::read(&installed).ok().as_deref() == Some(bytes.as_slice()) {
        return Ok(false);
    }
    std::fs::create_dir_all(folder)?;
    let incoming = folder.join("bootstrap.new");
    std::fs::write(&incoming, &bytes)?;
    std::fs::set_permissions(&incoming, std::fs::metadata(binary)?.permissions())?;
    std::fs::rename(&incoming, &installed)?;
    Ok(true)
}

fn environment(spec: &FunctionSettings<'_>) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

/// Brings an existing function's code, configuration and tags in line with the spec; whether anything changed.
async fn update_function(
    lambda: &aws_sdk_lambda::Client,
    spec: &FunctionSettings<'_>,
    code: &Code<'_>,
    configuration: &aws_sdk_lambda::types::FunctionConfiguration,
) -> Result<bool> {
    let name = spec.name;
    let mut updated = false;
    let architecture_now = configuration.architectures().first().cloned();
    if configuration.code_sha256() != Some(code.sha256().as_str())
        || architecture_now.is_some_and(|a| a != code.architecture())
    {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(code.zip()))
            .architectures(code.architecture())
            .send()
            .await
            .context_chain(format!("updating the code of {name}"))?;
        wait_until_ready(lambda, name).await?;
        updated = true;
    }
    if !same_configuration(spec, configuration) {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(spec.role)
            .timeout(spec.timeout)
            .memory_size(MEMORY_MB)
            .handler("bootstrap")
            .runtime(Runtime::Providedal2023)
            .environment(environment(spec))
            .send()
            .await
            .context_chain(format!("updating function {name}"))?;
        wait_until_ready(lambda, name).await?;
        updated = true;
    }
    if let Some(arn) = configuration.function_arn() {
        updated |= tag_resource(lambda, name, arn, spec.tags).await?;
    }
    Ok(updated)
}

fn same_configuration(
    spec: &FunctionSettings<'_>,
    configuration: &aws_sdk_lambda::types::FunctionConfiguration,
) -> bool {
    let variables = configuration
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    configuration.role() == Some(spec.role)
        && configuration.timeout() == Some(spec.timeout)
        && configuration.memory_size() == Some(MEMORY_MB)
        && configuration.handler() == Some("bootstrap")
        && configuration.runtime() == Some(&Runtime::Providedal2023)
        && variables.into_iter().collect::<BTreeMap<_, _>>() == spec.environment
}

/// Adds the tags a Lambda resource (a function, an event source mapping) lacks; whether it lacked any.
pub(crate) async fn tag_resource(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<bool> {
    let present: HashMap<String, String> = lambda
        .list_tags()
        .resource(arn)
        .send()
        .await
        .context_chain(format!("reading the tags of {name}"))?
        .tags
        .unwrap_or_default();
    let missing = missing_tags(tags, &present);
    if missing.is_empty() {
        return Ok(false);
    }
    lambda
        .tag_resource()
        .resource(arn)
        .set_tags(Some(missing.into_iter().collect()))
        .send()
        .await
        .context_chain(format!("tagging {name}"))?;
    Ok(true)
}

async fn create_function(lambda: &aws_sdk_lambda::Client, spec: &FunctionSettings<'_>, code: &Code<'_>) -> Result<()> {
    let name = spec.name;
    // A role made a moment ago cannot be assumed by Lambda for a few seconds (IAM is eventually consistent).
    retry_while_propagating(
        name,
        Propagation::iam(),
        |error: &SdkError<CreateFunctionError>| {
            error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_value_exception() && role_not_yet_assumable(e.message().unwrap_or_default())
            })
        },
        || {
            lambda
                .create_function()
                .function_name(name)
                .runtime(Runtime::Providedal2023)
                .handler("bootstrap")
                .role(spec.role)
                .timeout(spec.timeout)
                .memory_size(MEMORY_MB)
                .architectures(code.architecture())
                .environment(environment(spec))
                .set_tags(Some(spec.tags.clone().into_iter().collect()))
                .code(FunctionCode::builder().zip_file(Blob::new(code.zip())).build())
                .send()
        },
    )
    .await
    .context_chain(format!("creating function {name}"))?;
    wait_until_ready(lambda, name).await
}

/// Lambda's answer to CreateFunction while a new role is not yet visible to it: "The role defined for the function
/// cannot be assumed by Lambda". A bad zip or setting fails at once, with another message.
fn role_not_yet_assumable(message: &str) -> bool {
    message.contains("cannot be assumed")
}

/// Waits until a function is Active and its last update is done (AWS refuses another update before that).
async fn wait_until_ready(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let configuration = lambda.get_function_configuration().function_name(name).send().await?;
        let pending = matches!(configuration.state(), Some(State::Pending))
            || matches!(configuration.last_update_status(), Some(LastUpdateStatus::InProgress));
        if !pending {
            if matches!(configuration.state(), Some(State::Failed)) {
                bail!(
                    "function {name} failed to become active: {}",
                    configuration.state_reason().unwrap_or("no reason given")
                );
            }
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!("function {name} is still not ready after 3 minutes");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_role_not_yet_visible_to_lambda_is_waited_for() {
        assert!(role_not_yet_assumable(
            "The role defined for the function cannot be assumed by Lambda."
        ));
        assert!(!role_not_yet_assumable("Could not unzip uploaded file."));
    }
}
