//! The one deploy path: the AWS SDK calls that make the workshop's resources, aimed at the local cloud or at AWS by
//! the endpoint alone. Steps' own code does what it teaches (step 1 makes the stream and writes the policies, step
//! 4 makes the delivery stream), run as processes from their binaries; this module makes the rest — bucket, roles,
//! functions, event source mappings — idempotently: running it twice changes nothing.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DestinationConfig, Environment, EventSourcePosition, FunctionCode, FunctionResponseType, OnFailure, Runtime,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::event_source::error_chain;

pub const STREAM_NAME: &str = "TelemetricStream";
pub const PRODUCER: &str = "produceKinesisEvents";
pub const CONSUMER: &str = "consumeKinesisEvents";
pub const ANALYTICS: &str = "analyzeKinesisEvents";
pub const FIREHOSE_ROLE: &str = "kinesis-lab-firehose";
pub const TAG_KEY: &str = "workshop";
pub const TAG_VALUE: &str = "kinesis-lab";

/// The executables built from the steps (the learner's or the solutions): the deploy runs or installs them.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    pub binaries: BTreeMap<String, PathBuf>,
}

impl Artifacts {
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.binaries.get(name).map(PathBuf::as_path)
    }
}

/// Settings of a deploy that differ between a quick local run and a real account.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seconds of Firehose buffering (AWS allows 0 to 900).
    pub firehose_interval_seconds: u32,
    /// Seconds of the analysis' tumbling windows.
    pub analytics_window_seconds: i32,
    /// Where the local cloud keeps each function's executable (`<functions>/<name>/bootstrap`).
    pub functions_dir: PathBuf,
}

/// The smallest valid zip (an empty archive): the Lambda API wants code; the local host runs the executable.
pub const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// What the deploy made, for the run that follows.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub account_id: String,
    pub region: String,
    pub stream_arn: String,
    pub bucket: String,
    pub firehose_prefix: String,
    pub analytics_prefix: String,
    pub functions: Vec<String>,
}

/// Runs one of the steps' binaries with the same AWS environment, and returns what it printed.
fn run_step_binary(binary: &Path, args: &[&str], env: &[(&str, String)]) -> Result<String> {
    let output = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed:\n{}{}",
            binary.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub async fn deploy(config: &SdkConfig, artifacts: &Artifacts, settings: &Settings) -> Result<Deployed> {
    let region = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned());

    // Step 1: the stream, by the learner's (or the solution's) own `ensure_stream`.
    let ensure_stream = artifacts
        .get("ensure-stream")
        .context("step 1's `ensure-stream` binary is needed")?;
    run_step_binary(ensure_stream, &[], &[])?;
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(STREAM_NAME)
        .send()
        .await
        .context("the stream")?;
    let stream_arn = summary.stream_description_summary.context("no summary")?.stream_arn;
    let account_id = stream_arn.split(':').nth(4).unwrap_or_default().to_owned();
    let bucket = format!("kinesis-lab-telemetry-{account_id}");

    ensure_bucket(config, &bucket).await?;

    // Step 1's policies, as documents, attached to one role per piece.
    let policies: Value = match artifacts.get("policies") {
        Some(binary) => serde_json::from_str(&run_step_binary(
            binary,
            &["--json", &account_id, &region, &bucket],
            &[],
        )?)
        .context("step 1's `policies --json` did not print JSON")?,
        None => bail!("step 1's `policies` binary is needed"),
    };
    let iam = aws_sdk_iam::Client::new(config);
    let lambda_trust = trust_policy("lambda.amazonaws.com");
    let producer_role = ensure_role(&iam, "kinesis-lab-producer", &lambda_trust, &policies["producer"]).await?;
    let consumer_role = ensure_role(&iam, "kinesis-lab-consumer", &lambda_trust, &policies["consumer"]).await?;
    let firehose_role = ensure_role(
        &iam,
        FIREHOSE_ROLE,
        &trust_policy("firehose.amazonaws.com"),
        &policies["firehose"],
    )
    .await?;

    let lambda = aws_sdk_lambda::Client::new(config);
    let mut functions = vec![];
    if let Some(binary) = artifacts.get("producer") {
        let env = BTreeMap::from([("STREAM_NAME".to_owned(), STREAM_NAME.to_owned())]);
        ensure_function(&lambda, settings, PRODUCER, binary, &producer_role, 300, env).await?;
        functions.push(PRODUCER.to_owned());
    }
    if let Some(binary) = artifacts.get("consumer") {
        ensure_function(&lambda, settings, CONSUMER, binary, &consumer_role, 30, BTreeMap::new()).await?;
        let mapping = MappingSpec {
            batch_size: 100,
            batching_window: 1,
            tumbling_window: None,
            on_failure_bucket: Some(&bucket),
        };
        ensure_mapping(&lambda, CONSUMER, &stream_arn, &mapping).await?;
        functions.push(CONSUMER.to_owned());
    }

    // Step 4: the delivery stream, by the learner's (or the solution's) own code.
    let firehose_prefix = "telemetry/".to_owned();
    if let Some(binary) = artifacts.get("ensure-delivery-stream") {
        let env = [
            ("STREAM_ARN", stream_arn.clone()),
            ("BUCKET", bucket.clone()),
            ("ROLE_ARN", firehose_role.clone()),
            ("PREFIX", firehose_prefix.clone()),
            (
                "BUFFER_INTERVAL_SECONDS",
                settings.firehose_interval_seconds.to_string(),
            ),
        ];
        run_step_binary(binary, &[], &env)?;
    }

    let analytics_prefix = "analytics/".to_owned();
    if let Some(binary) = artifacts.get("analytics") {
        let env = BTreeMap::from([
            ("ANALYTICS_BUCKET".to_owned(), bucket.clone()),
            ("ANALYTICS_PREFIX".to_owned(), analytics_prefix.clone()),
        ]);
        // The analysis reads the stream like the consumer, and writes its results under the analytics prefix.
        let mut document = policies["consumer"].clone();
        if let Some(statements) = document["Statement"].as_array_mut() {
            statements.push(serde_json::json!({
                "Sid": "WriteWindowResults", "Effect": "Allow", "Action": ["s3:PutObject"],
                "Resource": [format!("arn:aws:s3:::{bucket}/{analytics_prefix}*")]
            }));
        }
        let role = ensure_role(&iam, "kinesis-lab-analytics", &lambda_trust, &document).await?;
        ensure_function(&lambda, settings, ANALYTICS, binary, &role, 60, env).await?;
        let mapping = MappingSpec {
            batch_size: 500,
            batching_window: 1,
            tumbling_window: Some(settings.analytics_window_seconds),
            on_failure_bucket: None,
        };
        ensure_mapping(&lambda, ANALYTICS, &stream_arn, &mapping).await?;
        functions.push(ANALYTICS.to_owned());
    }

    Ok(Deployed {
        account_id,
        region,
        stream_arn,
        bucket,
        firehose_prefix,
        analytics_prefix,
        functions,
    })
}

pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    // Path-style: on 127.0.0.1 the virtual-host name `<bucket>.127.0.0.1` does not resolve (and AWS accepts both).
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

async fn ensure_bucket(config: &SdkConfig, bucket: &str) -> Result<()> {
    let s3 = s3_client(config);
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(error) => bail!("creating bucket {bucket}: {}", error_chain(&error)),
    }
}

fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

/// A role with its trust policy and one inline policy (replaced on every deploy, so changes to step 1 apply).
async fn ensure_role(iam: &aws_sdk_iam::Client, name: &str, trust: &str, policy: &Value) -> Result<String> {
    let arn = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role.context("no role")?.arn,
        Err(_) => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(TAG_KEY)
                .value(TAG_VALUE)
                .build()?;
            let created = iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .tags(tag)
                .send()
                .await;
            created
                .map_err(|e| anyhow::anyhow!("creating role {name}: {}", error_chain(&e)))?
                .role
                .context("no role")?
                .arn
        }
    };
    iam.put_role_policy()
        .role_name(name)
        .policy_name("kinesis-lab")
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("attaching the policy of {name}: {}", error_chain(&e)))?;
    Ok(arn)
}

async fn ensure_function(
    lambda: &aws_sdk_lambda::Client,
    settings: &Settings,
    name: &str,
    binary: &Path,
    role: &str,
    timeout: i32,
    env: BTreeMap<String, String>,
) -> Result<()> {
    // The local Lambda host runs the function's executable from here.
    let folder = settings.functions_dir.join(name);
    std::fs::create_dir_all(&folder)?;
    std::fs::copy(binary, folder.join("bootstrap")).with_context(|| format!("installing {}", binary.display()))?;

    let environment = Environment::builder()
        .set_variables(Some(env.into_iter().collect()))
        .build();
    if lambda.get_function().function_name(name).send().await.is_ok() {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(role)
            .timeout(timeout)
            .environment(environment)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("updating function {name}: {}", error_chain(&e)))?;
        return Ok(());
    }
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .timeout(timeout)
        .memory_size(128)
        .environment(environment)
        .tags(TAG_KEY, TAG_VALUE)
        .code(FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP)).build())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("creating function {name}: {}", error_chain(&e)))?;
    Ok(())
}

struct MappingSpec<'a> {
    batch_size: i32,
    batching_window: i32,
    tumbling_window: Option<i32>,
    on_failure_bucket: Option<&'a str>,
}

/// One mapping per function and stream: created once; its settings are AWS's recommended ones for a consumer
/// that must not block its shard: report item failures, bisect, a few retries, an age limit, an on-failure
/// destination.
async fn ensure_mapping(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    stream_arn: &str,
    spec: &MappingSpec<'_>,
) -> Result<()> {
    let existing = lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await?;
    let found = existing
        .event_source_mappings
        .unwrap_or_default()
        .into_iter()
        .any(|mapping| mapping.event_source_arn.as_deref() == Some(stream_arn));
    if found {
        return Ok(());
    }
    let mut request = lambda
        .create_event_source_mapping()
        .function_name(function)
        .event_source_arn(stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(spec.batch_size)
        .maximum_batching_window_in_seconds(spec.batching_window)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .bisect_batch_on_function_error(true)
        .maximum_retry_attempts(3)
        .maximum_record_age_in_seconds(3600)
        .set_tumbling_window_in_seconds(spec.tumbling_window);
    if let Some(bucket) = spec.on_failure_bucket {
        let destination = OnFailure::builder()
            .destination(format!("arn:aws:s3:::{bucket}"))
            .build();
        request = request.destination_config(DestinationConfig::builder().on_failure(destination).build());
    }
    request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("mapping {function}: {}", error_chain(&e)))?;
    Ok(())
}
