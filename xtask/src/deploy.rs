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
use crate::lab::{lab_cloud_binary, stage_binaries_and};
use crate::steps::{self, Step};
use lab_contract::{self as contract, LabCloud, Named};

/// Where a deployment is, and whose it is (the `--aws` and `--learner` of every `lab-cloud` command here).
pub use lab_contract::Target;

/// The local cloud's state folder for deployments: the data plane of `cloud up` runs functions from here.
fn local_state() -> PathBuf {
    cloud::state_dir().join("cloud")
}

/// A `lab-cloud` command aimed at the target: the local cloud (started and kept up if needed) or AWS (`--aws`,
/// part of the command's own arguments).
fn lab_cloud(target: &Target, command: contract::Command) -> Result<Command> {
    let binary = lab_cloud_binary()?;
    let mut process = Command::new(&binary);
    process.args(
        LabCloud {
            state: local_state(),
            command,
        }
        .to_args(),
    );
    if !target.aws {
        let was_running = cloud::running().is_some();
        let cloud = cloud::up(|| Ok(binary.clone()), false)?;
        if !was_running {
            // Said once: the next command finds it running. The plan's endpoint line names it again.
            println!(
                "Started the local cloud at {}; it stays up for the commands after this one (`cargo xtask cloud \
                 down` stops it).",
                cloud.endpoint()
            );
        }
        process.envs(cloud.env());
    }
    Ok(process)
}

/// Files by name, as `lab-cloud` takes them (`--bin NAME=PATH`, `--zip NAME=PATH`).
pub fn named(files: BTreeMap<String, PathBuf>) -> Vec<Named> {
    files.into_iter().map(|(name, path)| Named { name, path }).collect()
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

pub fn deploy(id: &str, solution: bool, target: &Target, yes: bool, lifetime: Option<String>) -> Result<bool> {
    let step = steps::find(id)?;
    let (stage, steps) = stage_of(&step)?;
    let whose = if solution { "the solutions" } else { "your code" };
    println!(
        "Deploying stages 1 to {stage} ({whose}) to {}.",
        if target.aws { "AWS" } else { "the local cloud" }
    );

    // First what it will make and cost, and (in AWS) a yes before anything is built or made.
    let plan = contract::Plan {
        target: target.clone(),
        stage,
        ask: target.aws && !yes,
        lifetime: lifetime.clone(),
    };
    if !run(lab_cloud(target, contract::Command::Plan(plan))?)? {
        return Ok(false);
    }

    // The steps' tools run here; in AWS the functions run from their zips, so only steps with a tool (step 1's
    // `ensure-stream` and `policies`, step 4's `ensure-delivery-stream`, step 6's `ensure-alarms`) are built for
    // this machine.
    let native: Vec<Step> = steps
        .iter()
        .filter(|step| !target.aws || !step.tools.is_empty())
        .cloned()
        .collect();
    let staging = cloud::state_dir().join("deploy").join("bin");
    // The clean-up guard (xtask/guard) runs here as an executable for the local Lambda host, in AWS from its zip.
    let guard: &[&str] = if target.aws { &[] } else { &[GUARD_PACKAGE] };
    let binaries = stage_binaries_and(&native, !solution, guard, &staging)?;
    let zips = if target.aws {
        build_zips(&steps, solution)?
    } else {
        BTreeMap::new()
    };
    let deploy = contract::Deploy {
        target: target.clone(),
        stage,
        binaries: named(binaries),
        zips: named(zips),
        // What `build_zips` builds for (LAMBDA_TARGET).
        architecture: "arm64".to_owned(),
        firehose_interval: None,
        window: None,
        lifetime,
    };
    run(lab_cloud(target, contract::Command::Deploy(deploy))?)
}

/// The clean-up guard's package and binary (`xtask/guard`), deployed with the first stage.
const GUARD_PACKAGE: &str = "lab-guard";
const GUARD_BINARY: &str = "expiry-guard";

/// Lambda's target: Graviton (arm64) costs less per GB-second than x86_64 and is the default.
const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";

/// Builds the steps' functions as zips for `provided.al2023` on arm64 with cargo-lambda (installed by the project),
/// in one cargo call so that the packages share one build of their dependencies.
fn build_zips(steps: &[Step], solution: bool) -> Result<BTreeMap<String, PathBuf>> {
    let cargo_lambda = cloud::install_cargo_lambda()?;
    ensure_rust_target()?;
    let functions: Vec<(&str, String)> = steps
        .iter()
        .filter_map(|step| {
            step.lambda
                .as_ref()
                .map(|function| (step.package(solution), function.clone()))
        })
        .chain([(GUARD_PACKAGE, GUARD_BINARY.to_owned())])
        .collect();
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
    for (package, function) in &functions {
        command.args(["--package", package, "--bin", function]);
    }
    eprintln!(
        "deploy: building {} for Lambda (arm64; the first build takes about 6 minutes on 2 cores)",
        functions
            .iter()
            .map(|(package, f)| format!("{package}'s `{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let status = command.status().context("running cargo-lambda")?;
    if !status.success() {
        bail!("the functions do not build for Lambda (see above); `cargo xtask check step-N` shows why");
    }
    let mut zips = BTreeMap::new();
    for (_, function) in functions {
        let zip = out.join(&function).join("bootstrap.zip");
        if !zip.exists() {
            bail!("cargo-lambda did not write {}", zip.display());
        }
        zips.insert(function, zip);
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
    let run_producer = contract::RunProducer {
        target: target.clone(),
        records,
    };
    run(lab_cloud(target, contract::Command::RunProducer(run_producer))?)
}

pub fn status(target: &Target, json: bool) -> Result<bool> {
    let status = contract::Status {
        target: target.clone(),
        json,
    };
    run(lab_cloud(target, contract::Command::Status(status))?)
}

pub fn destroy(target: &Target, yes: bool) -> Result<bool> {
    if !target.aws && cloud::running().is_none() {
        println!("The local cloud is not running, so nothing is deployed there.");
        return Ok(true);
    }
    let destroy = contract::Destroy {
        target: target.clone(),
        // The local cloud is the learner's own, and `cloud down` forgets it anyway: no question there.
        yes: yes || !target.aws,
    };
    run(lab_cloud(target, contract::Command::Destroy(destroy))?)
}

/// `check step-N --deployed`: the deployed stages 1..=N, checked with data through them.
pub fn check_deployed(id: &str, target: &Target) -> Result<bool> {
    let step = steps::find(id)?;
    let (stage, _) = stage_of(&step)?;
    println!(
        "Checking what is deployed of stages 1 to {stage} on {}.",
        if target.aws { "AWS" } else { "the local cloud" }
    );
    let check = contract::CheckDeployed {
        target: target.clone(),
        stage,
    };
    let passed = run(lab_cloud(target, contract::Command::CheckDeployed(check))?)?;
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
