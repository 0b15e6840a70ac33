//! `cargo xtask lab` and `cargo xtask invoke`: build the steps' binaries (the solutions', or the learner's with
//! `--mine`), start a private local cloud, and hand over to `lab-cloud`, the local cloud's data plane.
//!
//! xtask never links a step: it asks cargo to build them and passes the executables' paths on.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::cargo::cargo;
use crate::cloud;
use crate::deploy::named;
use crate::steps::{self, Step};
use lab_contract::{self as contract, LabCloud};

/// Builds a package's binaries; returns them by name.
fn build_binaries(package: &str) -> Result<BTreeMap<String, PathBuf>> {
    let output = cargo()
        .args(["build", "--package", package, "--bins", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!("{package} does not build; `cargo xtask check` on its step shows why");
    }
    let mut binaries = BTreeMap::new();
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

/// Builds the binaries of `steps` and copies them where the run reads them, so that building another package
/// (which may write an executable of the same name) cannot swap them under the run.
pub fn stage_binaries(steps: &[Step], mine: bool, staging: &std::path::Path) -> Result<BTreeMap<String, PathBuf>> {
    std::fs::create_dir_all(staging)?;
    let mut staged = BTreeMap::new();
    for step in steps {
        let package = step.package(!mine);
        eprintln!("lab: building {package}");
        for (name, path) in build_binaries(package)? {
            let target = staging.join(&name);
            std::fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
            staged.insert(name, target);
        }
    }
    Ok(staged)
}

pub fn lab_cloud_binary() -> Result<PathBuf> {
    build_binaries("lab-cloud")?
        .remove("lab-cloud")
        .context("lab-cloud has a binary named lab-cloud")
}

pub struct LabArgs {
    pub records: u64,
    pub mine: bool,
    pub json: bool,
    pub firehose_interval: u32,
    pub window: u32,
    pub records_per_second: Option<u64>,
    pub no_limits: bool,
}

pub fn lab(args: LabArgs) -> Result<bool> {
    let state = cloud::state_dir().join("lab");
    // A fresh run: the previous one's functions, logs and failures are not this run's.
    let _ = std::fs::remove_dir_all(&state);
    let steps = steps::load()?;
    let binaries = stage_binaries(&steps, args.mine, &state.join("bin"))?;
    let lab_cloud = lab_cloud_binary()?;

    // A private emulator, so the run starts from nothing and a cloud kept up with `cloud up` is left alone.
    let session = cloud::Session::private()?;
    let lab = contract::Lab {
        binaries: named(binaries),
        records: args.records,
        records_per_second: args.records_per_second,
        no_limits: args.no_limits,
        firehose_interval: args.firehose_interval,
        window: args.window,
        json: args.json,
    };
    let command = LabCloud {
        state,
        command: contract::Command::Lab(lab),
    };
    let status = Command::new(lab_cloud)
        .envs(session.cloud.env())
        .args(command.to_args())
        .status()
        .context("running lab-cloud")?;
    Ok(status.success())
}

/// `invoke`: runs a step's Lambda once, through the local Lambda host, with the event in `event`.
pub fn invoke(id: &str, event: &std::path::Path, solution: bool, timeout: u32) -> Result<bool> {
    let step = steps::find(id)?;
    let Some(function) = step.lambda.clone() else {
        bail!("{} has no Lambda function", step.id)
    };
    let binaries = stage_binaries(
        std::slice::from_ref(&step),
        !solution,
        &cloud::state_dir().join("invoke"),
    )?;
    let binary = binaries
        .get(&function)
        .with_context(|| format!("{} has no binary named {function}", step.id))?;
    let lab_cloud = lab_cloud_binary()?;
    // The function may call AWS: it gets the local cloud (a running one, or one for this call).
    let session = cloud::Session::open()?;
    let command = LabCloud {
        state: cloud::state_dir().join("invoke"),
        command: contract::Command::Invoke(contract::Invoke {
            function: None,
            binary: Some(binary.clone()),
            timeout: u64::from(timeout),
            event: event.to_owned(),
        }),
    };
    let status = Command::new(lab_cloud)
        .envs(session.cloud.env())
        .args(command.to_args())
        .status()?;
    Ok(status.success())
}
