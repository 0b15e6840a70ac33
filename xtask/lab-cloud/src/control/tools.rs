//! The steps' own tools, run as processes (the deploy never links a step): step 1's `ensure-stream` and
//! `policies --json`, step 4's `ensure-delivery-stream`, step 6's `ensure-alarms`. Their environment contract —
//! which variable carries which name — is here and nowhere else.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

use crate::naming::Naming;
use crate::stages::{PRODUCER, STAGES};

/// Runs one of the steps' tools with the same AWS environment, and returns what it printed.
fn run(tool: &Path, args: &[&str], env: &[(&str, String)]) -> Result<String> {
    let output = Command::new(tool)
        .args(args)
        // Only what the deploy says: a setting of step 4's tool left in the caller's environment would silently
        // replace the learner's own choice.
        .env_remove("PREFIX")
        .env_remove("BUFFER_INTERVAL_SECONDS")
        .env_remove("BUFFER_SIZE_MIB")
        .env_remove("COMPRESSION")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // A learner's unfinished step panics at a todo!(): its message is the point, not a backtrace.
        .env("RUST_BACKTRACE", "0")
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !output.status.success() {
        let name = tool.file_name().map_or_else(Default::default, |n| n.to_string_lossy());
        let step = step_of(&name);
        if let Some(panic) = crate::unfinished::panic_in(&String::from_utf8_lossy(&output.stderr)) {
            bail!(crate::unfinished::stopped_by(step, &format!("`{name}`"), &panic));
        }
        bail!(
            "`{name}` (from {step}) failed:\n{}{}\n`cargo xtask check {step}` shows what is left to do in it.",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The step a tool comes from (`policies` is step 1's, with `ensure-stream`).
fn step_of(tool: &str) -> &'static str {
    STAGES
        .iter()
        .find(|stage| stage.tool == Some(tool))
        .map_or("step-1", |stage| stage.step)
}

/// Step 1's `ensure-stream`: the learner's stream, created if missing, at `endpoint` (the deploy's own, so that the
/// tool makes the stream where the deploy then looks for it; `None`: the tool's own environment says, as in AWS).
pub fn ensure_stream(tool: &Path, naming: &Naming, endpoint: Option<&str>) -> Result<()> {
    let mut env = vec![("STREAM_NAME", naming.stream())];
    env.extend(endpoint.map(|endpoint| ("AWS_ENDPOINT_URL", endpoint.to_owned())));
    run(tool, &[], &env).map(drop)
}

/// Step 1's policies for one function (`consumer_function` logs as itself), as `{ "producer": .., "consumer": ..,
/// "firehose": .. }`.
pub fn policies(
    tool: &Path,
    naming: &Naming,
    account: &str,
    region: &str,
    bucket: &str,
    consumer_function: &str,
) -> Result<Value> {
    let printed = run(
        tool,
        &["--json", account, region, bucket],
        &[
            ("STREAM_NAME", naming.stream()),
            ("PRODUCER_FUNCTION", naming.function(PRODUCER)),
            ("CONSUMER_FUNCTION", consumer_function.to_owned()),
        ],
    )?;
    serde_json::from_str(&printed).context("step 1's `policies --json` did not print JSON")
}

/// What step 4's `ensure-delivery-stream` is given.
pub struct Delivery<'a> {
    pub stream_arn: &'a str,
    pub bucket: &'a str,
    pub role_arn: &'a str,
    /// What replaces the learner's choices (the lab's `--firehose-interval`, `--firehose-compression`): the rest of
    /// the delivery stream is step 4's definition, prefix, buffering and compression as the learner chose them.
    pub buffer_interval_seconds: Option<u32>,
    pub compression: Option<&'a str>,
}

/// Step 4's `ensure-delivery-stream`: the delivery stream from the stream into the bucket, with the role given, at
/// `endpoint` (as [`ensure_stream`]).
pub fn ensure_delivery_stream(
    tool: &Path,
    naming: &Naming,
    delivery: &Delivery<'_>,
    endpoint: Option<&str>,
) -> Result<()> {
    let mut env = vec![
        ("STREAM_ARN", delivery.stream_arn.to_owned()),
        ("BUCKET", delivery.bucket.to_owned()),
        ("ROLE_ARN", delivery.role_arn.to_owned()),
        ("DELIVERY_STREAM_NAME", naming.delivery_stream()),
    ];
    env.extend(
        delivery
            .buffer_interval_seconds
            .map(|s| ("BUFFER_INTERVAL_SECONDS", s.to_string())),
    );
    env.extend(delivery.compression.map(|c| ("COMPRESSION", c.to_owned())));
    env.extend(endpoint.map(|endpoint| ("AWS_ENDPOINT_URL", endpoint.to_owned())));
    run(tool, &[], &env).map(drop)
}

/// Step 6's `ensure-alarms`: the learner's two alarms on the stream, notifying `topic_arn`, named with the
/// learner's prefix (`ALARM_NAME_PREFIX`), at `endpoint` (as [`ensure_stream`]). What it printed: one line an alarm.
pub fn ensure_alarms(tool: &Path, naming: &Naming, topic_arn: &str, endpoint: Option<&str>) -> Result<String> {
    let mut env = vec![
        ("STREAM_NAME", naming.stream()),
        ("TOPIC_ARN", topic_arn.to_owned()),
        ("ALARM_NAME_PREFIX", naming.prefix()),
    ];
    env.extend(endpoint.map(|endpoint| ("AWS_ENDPOINT_URL", endpoint.to_owned())));
    run(tool, &[], &env)
}
