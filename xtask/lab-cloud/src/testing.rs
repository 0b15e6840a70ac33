//! For tests that run a function through the local cloud: the function registered in the Lambda API (as a deploy
//! would), its code a local executable, a stream to feed it, and a supervisor polling at test speed.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::control::function::EMPTY_ZIP;
use crate::runtime::event_source::Pacing;
use crate::runtime::supervisor::{Folders, Supervisor};

/// A name no other test uses (all tests of a run share one emulator).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:09}", std::process::id())
}

/// Creates a stream with one shard (so its records keep one order), waits until it is ACTIVE (a new stream is
/// CREATING for a while, in AWS as at the gateway), and returns its ARN.
pub async fn one_shard_stream(config: &SdkConfig, prefix: &str) -> Result<String> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let name = unique(prefix);
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .context("CreateStream")?;
    let started = std::time::Instant::now();
    loop {
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&name)
            .send()
            .await
            .context("DescribeStreamSummary")?
            .stream_description_summary
            .context("no summary")?;
        if summary.stream_status == aws_sdk_kinesis::types::StreamStatus::Active {
            return Ok(summary.stream_arn);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "stream {name} is still {} after a minute",
            summary.stream_status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A function in the Lambda API whose code is `binary`, with a folder of its own (removed when dropped).
pub struct LocalFunction {
    pub name: String,
    pub folders: Folders,
    state: PathBuf,
}

/// The test function's role policy: whatever a step's function or its mapping does (Kinesis, S3, its logs), on any
/// resource. Broad on purpose: these tests are about the functions and the mappings, and the local cloud checks every
/// call a role makes as AWS does (step 1's tests and the lab are where least privilege is decided).
const TEST_FUNCTION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["kinesis:*","s3:*","logs:*"],"Resource":"*"}]}"#;

impl LocalFunction {
    pub async fn register(
        config: &SdkConfig,
        prefix: &str,
        binary: &Path,
        environment: &[(&str, &str)],
    ) -> Result<LocalFunction> {
        let iam = aws_sdk_iam::Client::new(config);
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let role = iam
            .create_role()
            .role_name(unique("role"))
            .assume_role_policy_document(trust)
            .send()
            .await?;
        let role_name = role.role.as_ref().context("no role")?.role_name.clone();
        let role = role.role.context("no role")?.arn;
        iam.put_role_policy()
            .role_name(&role_name)
            .policy_name("test-function")
            .policy_document(TEST_FUNCTION_POLICY)
            .send()
            .await
            .context("PutRolePolicy")?;

        let name = unique(prefix);
        let state = std::env::temp_dir().join(unique("lab-cloud-function"));
        let folders = Folders {
            functions: state.join("functions"),
            logs: state.join("logs"),
            failures: state.join("failures"),
            checkpoints: state.join("checkpoints"),
        };
        std::fs::create_dir_all(folders.functions.join(&name))?;
        std::fs::copy(binary, folders.functions.join(&name).join("bootstrap"))
            .with_context(|| format!("copying {}", binary.display()))?;

        let mut variables = Environment::builder();
        for (key, value) in environment {
            variables = variables.variables(*key, *value);
        }
        aws_sdk_lambda::Client::new(config)
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .timeout(5)
            .environment(variables.build())
            .code(FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP)).build())
            .send()
            .await
            .context("CreateFunction")?;
        Ok(LocalFunction { name, folders, state })
    }

    /// What the function wrote (its "log group").
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folders.logs.join(format!("{}.log", self.name))).unwrap_or_default()
    }

    /// The invocation records of the batches its mappings gave up (what an on-failure destination receives).
    pub fn failure_records(&self) -> Vec<serde_json::Value> {
        let mut records = vec![];
        let mut pending = vec![self.folders.failures.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path)
                    && let Ok(record) = serde_json::from_str(&text)
                {
                    records.push(record);
                }
            }
        }
        records
    }

    /// A supervisor for this function's mappings, polling at test speed, with the test's AWS environment.
    pub async fn supervisor(&self, config: &SdkConfig) -> Result<Supervisor> {
        self.supervisor_pacing(config, test_pacing()).await
    }

    /// The same, paced as `pacing` says (a reshard's test turns parent-before-child off).
    pub async fn supervisor_pacing(&self, config: &SdkConfig, pacing: Pacing) -> Result<Supervisor> {
        let environment: Vec<(String, String)> = std::env::vars().filter(|(key, _)| key.starts_with("AWS_")).collect();
        let mut supervisor = Supervisor::new(config.clone(), environment, self.folders.clone(), pacing);
        supervisor.sync().await?;
        Ok(supervisor)
    }
}

impl Drop for LocalFunction {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// Test speed: reads each shard five times a second, retries after 20 ms, lists a stream's shards again every
/// 200 ms; parents first. Five reads a second is what AWS allows a shard (`GetRecords`, "Quotas and limits",
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>), and the front door holds the
/// readers to it: polled every 50 ms, a reader was throttled after its fifth call of a second and backed off, up to
/// 0.8 s, and a test waited that long more for a batch or a window's end (step 5's window test took 1.2 s or 2.4 s).
pub fn test_pacing() -> Pacing {
    Pacing {
        poll_interval: Duration::from_millis(200),
        retry_delay: Duration::from_millis(20),
        following: crate::runtime::shard_lineage::Following {
            discovery_interval: Duration::from_millis(200),
            parents_first: true,
        },
    }
}

/// Builds a package's binaries with the cargo that runs the tests, and returns them by name. Tests of the deploy
/// need the steps' own tools (`ensure-stream`, `policies`, `ensure-delivery-stream`), which are not dependencies.
pub fn step_binaries(package: &str) -> Result<std::collections::BTreeMap<String, PathBuf>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = std::process::Command::new(cargo);
    // The variables cargo sets for a test (CARGO_MANIFEST_DIR, CARGO_PKG_*, ...) leak into build scripts that read
    // them (ring's reads CARGO_MANIFEST_DIR) and would rebuild half the SDK; the build sees what a shell would.
    for (key, _) in std::env::vars() {
        if set_by_cargo_for_a_run(&key) {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["build", "--package", package, "--bins", "--message-format=json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        anyhow::bail!("{package} does not build:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let mut binaries = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(executable) = message["executable"].as_str()
        {
            let name = message["target"]["name"].as_str().unwrap_or_default().to_owned();
            binaries.insert(name, PathBuf::from(executable));
        }
    }
    Ok(binaries)
}

/// The variables cargo sets for a program it runs (a test, `cargo run`), as opposed to the configuration variables
/// (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_BUILD_*`, ...) a nested cargo must keep. `cargo xtask` keeps the same list.
pub fn set_by_cargo_for_a_run(key: &str) -> bool {
    matches!(
        key,
        "CARGO_MANIFEST_DIR"
            | "CARGO_MANIFEST_PATH"
            | "CARGO_CRATE_NAME"
            | "CARGO_BIN_NAME"
            | "CARGO_PRIMARY_PACKAGE"
            | "CARGO_TARGET_TMPDIR"
            | "CARGO_RUSTC_CURRENT_DIR"
    ) || key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
}
