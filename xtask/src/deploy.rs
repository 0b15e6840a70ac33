//! `deploy`, `run-producer`, `status`, `destroy` and `check --deployed`: a learner's own deployment, on the local
//! cloud (the default) or in a sandbox AWS account (`--aws`).
//!
//! xtask builds what the deploy needs — the steps' tools as executables, and with `--aws` the functions as
//! Lambda zips by cargo-lambda — and hands over to `lab-cloud`, which makes the AWS calls (one deploy path for
//! both clouds). With `--aws` the AWS configuration is the learner's own (the standard chain); without it, the
//! local cloud's, so a local command can never reach a real account.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::cloud;
use crate::lab::{lab_cloud_binary, stage_binaries};
use crate::steps::{self, Step};

/// Where a deployment is, and whose it is.
#[derive(Debug, Clone)]
pub struct Target {
    pub aws: bool,
    pub learner: Option<String>,
}

/// The local cloud's state folder for deployments: the data plane of `cloud up` runs functions from here.
fn local_state() -> PathBuf {
    cloud::state_dir().join("cloud")
}

/// A `lab-cloud` command aimed at the target: the local cloud (started and kept up if needed) or AWS.
fn lab_cloud(target: &Target, subcommand: &str) -> Result<Command> {
    let binary = lab_cloud_binary()?;
    let mut command = Command::new(&binary);
    command.arg("--state").arg(local_state()).arg(subcommand);
    if target.aws {
        command.arg("--aws");
    } else {
        let cloud = cloud::up(|| Ok(binary.clone()))?;
        command.envs(cloud.env());
    }
    if let Some(learner) = &target.learner {
        command.args(["--learner", learner]);
    }
    Ok(command)
}

fn run(mut command: Command) -> Result<bool> {
    Ok(command.status().context("running lab-cloud")?.success())
}

/// The stage a step deploys up to: its place in the step table.
fn stage_of(step: &Step) -> Result<(u8, Vec<Step>)> {
    let all = steps::load()?;
    let position = all
        .iter()
        .position(|s| s.id == step.id)
        .context("the step is in the table")?;
    Ok(((position + 1) as u8, all[..=position].to_vec()))
}

pub fn deploy(id: &str, solution: bool, target: &Target, yes: bool) -> Result<bool> {
    let step = steps::find(id)?;
    let (stage, steps) = stage_of(&step)?;
    let whose = if solution { "the solutions" } else { "your code" };
    println!(
        "Deploying stages 1 to {stage} ({whose}) to {}.",
        if target.aws { "AWS" } else { "the local cloud" }
    );

    // First what it will make and cost, and (in AWS) a yes before anything is built or made.
    let mut plan = lab_cloud(target, "plan")?;
    plan.args(["--stage", &stage.to_string()]);
    if target.aws && !yes {
        plan.arg("--ask");
    }
    if !run(plan)? {
        return Ok(false);
    }

    // The steps' tools run here; in AWS the functions run from their zips, so only steps without a function
    // (step 1's `ensure-stream` and `policies`, step 4's `ensure-delivery-stream`) are built for this machine.
    let native: Vec<Step> = steps
        .iter()
        .filter(|step| !target.aws || step.lambda.is_none())
        .cloned()
        .collect();
    let staging = cloud::state_dir().join("deploy").join("bin");
    let binaries = stage_binaries(&native, !solution, &staging)?;
    let mut command = lab_cloud(target, "deploy")?;
    command.args(["--stage", &stage.to_string()]);
    for (name, path) in &binaries {
        command.arg("--bin").arg(format!("{name}={}", path.display()));
    }
    if target.aws {
        for (name, zip) in build_zips(&steps, solution)? {
            command.arg("--zip").arg(format!("{name}={}", zip.display()));
        }
        command.args(["--architecture", "arm64"]);
    }
    run(command)
}

/// Lambda's target: Graviton (arm64) costs less per GB-second than x86_64 and is the default.
const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";

/// Builds the steps' functions as zips for `provided.al2023` on arm64 with cargo-lambda (installed by the project),
/// in one cargo call so that the packages share one build of their dependencies.
fn build_zips(steps: &[Step], solution: bool) -> Result<BTreeMap<String, PathBuf>> {
    let cargo_lambda = cloud::install_cargo_lambda()?;
    ensure_rust_target()?;
    let functions: Vec<(&Step, &String)> = steps
        .iter()
        .filter_map(|step| step.lambda.as_ref().map(|function| (step, function)))
        .collect();
    if functions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let out = cloud::state_dir()
        .join("zips")
        .join(if solution { "solutions" } else { "mine" });
    let mut command = Command::new(&cargo_lambda);
    command
        .args(["lambda", "build", "--release", "--arm64", "--output-format", "zip"])
        .arg("--lambda-dir")
        .arg(&out)
        .current_dir(steps::root())
        // cargo-lambda finds zig, which links for Amazon Linux, on PATH.
        .env(
            "PATH",
            format!(
                "{}:{}",
                cloud::venv_bin().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    for (step, function) in &functions {
        command.args(["--package", step.package(solution), "--bin", function]);
    }
    eprintln!(
        "deploy: building {} for Lambda (arm64; the first build takes about 6 minutes on 2 cores)",
        functions
            .iter()
            .map(|(s, f)| format!("{}'s `{f}`", s.package(solution)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let status = command.status().context("running cargo-lambda")?;
    if !status.success() {
        bail!("the functions do not build for Lambda (see above); `cargo xtask check step-N` shows why");
    }
    let mut zips = BTreeMap::new();
    for (_, function) in functions {
        let zip = out.join(function).join("bootstrap.zip");
        if !zip.exists() {
            bail!("cargo-lambda did not write {}", zip.display());
        }
        zips.insert(function.clone(), zip);
    }
    Ok(zips)
}

/// The standard library for Lambda's arm64 target, added with rustup when missing.
fn ensure_rust_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == LAMBDA_TARGET)
        })
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    eprintln!("deploy: adding Rust's standard library for {LAMBDA_TARGET} (once)");
    let status = Command::new("rustup").args(["target", "add", LAMBDA_TARGET]).status();
    if !status.is_ok_and(|s| s.success()) {
        bail!("`rustup target add {LAMBDA_TARGET}` failed; Lambda's arm64 functions need it");
    }
    Ok(())
}

pub fn run_producer(target: &Target, records: u64) -> Result<bool> {
    let mut command = lab_cloud(target, "run-producer")?;
    command.args(["--records", &records.to_string()]);
    run(command)
}

pub fn status(target: &Target, json: bool) -> Result<bool> {
    let mut command = lab_cloud(target, "status")?;
    if json {
        command.arg("--json");
    }
    run(command)
}

pub fn destroy(target: &Target, yes: bool) -> Result<bool> {
    if !target.aws && cloud::running().is_none() {
        println!("The local cloud is not running, so nothing is deployed there.");
        return Ok(true);
    }
    let mut command = lab_cloud(target, "destroy")?;
    if yes || !target.aws {
        // The local cloud is the learner's own, and `cloud down` forgets it anyway: no question there.
        command.arg("--yes");
    }
    run(command)
}

/// `check step-N --deployed`: the deployed stages 1..=N, checked with data through them.
pub fn check_deployed(id: &str, target: &Target) -> Result<bool> {
    let step = steps::find(id)?;
    let (stage, _) = stage_of(&step)?;
    println!(
        "Checking what is deployed of stages 1 to {stage} on {}.",
        if target.aws { "AWS" } else { "the local cloud" }
    );
    let mut command = lab_cloud(target, "check-deployed")?;
    command.args(["--stage", &stage.to_string()]);
    let passed = run(command)?;
    if !passed {
        println!(
            "Deploy (again) with `cargo xtask deploy {}{}` and check again; `cargo xtask status{}` shows what exists.",
            step.id,
            if target.aws { " --aws" } else { "" },
            if target.aws { " --aws" } else { "" }
        );
    }
    Ok(passed)
}
