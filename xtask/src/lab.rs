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
use crate::interrupt::Interruptible;
use crate::steps::{self, Step};
use lab_contract::{self as contract, LabCloud};

/// Builds the binaries of `packages` in one cargo call (so that both cores stay busy to the end, instead of each
/// package's last crates compiling alone); returns them by package, then by name.
fn build_binaries(packages: &[&str]) -> Result<BTreeMap<String, BTreeMap<String, PathBuf>>> {
    let mut command = cargo();
    command.args(["build", "--bins", "--message-format=json"]);
    for package in packages {
        command.args(["--package", package]);
    }
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output_interruptible()
        .context("running cargo build")?;
    if !output.status.success() {
        // Name the package that fails (the learner's step, usually), as a build of it alone would.
        if let [_, _, ..] = packages {
            for package in packages {
                build_binaries(&[package])?;
            }
        }
        bail!(
            "{} does not build; `cargo xtask check` on its step shows why",
            packages.join(", ")
        );
    }
    let mut binaries: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(executable) = message["executable"].as_str()
        {
            // A path package's id ends `<folder>#<name>@<version>`, or `<folder>#<version>` when the folder's name is
            // the package's (steps/step-1, xtask/lab-cloud).
            let id = message["package_id"].as_str().unwrap_or_default();
            let named = |package: &&&str| id.contains(&format!("#{package}@")) || id.contains(&format!("/{package}#"));
            let Some(package) = packages.iter().find(named) else {
                continue;
            };
            let name = message["target"]["name"].as_str().unwrap_or_default().to_owned();
            binaries
                .entry((*package).to_owned())
                .or_default()
                .insert(name, PathBuf::from(executable));
        }
    }
    Ok(binaries)
}

/// Builds the binaries of `steps` (with lab-cloud's, in the same call) and copies the steps' where the run reads
/// them, so that building another package (which may write an executable of the same name) cannot swap them under
/// the run. `mine` builds the learner's crates, else the solutions.
pub fn stage_binaries(steps: &[Step], mine: bool, staging: &std::path::Path) -> Result<BTreeMap<String, PathBuf>> {
    stage_binaries_and(steps, mine, &[], staging)
}

/// The steps' binaries and those of the `extra` packages (the clean-up guard's), built in one cargo call.
pub fn stage_binaries_and(
    steps: &[Step],
    mine: bool,
    extra: &[&str],
    staging: &std::path::Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let mut packages: Vec<&str> = steps.iter().map(|step| step.package(!mine)).collect();
    packages.extend(extra);
    stage_packages(&packages, staging)
}

fn stage_packages(packages: &[&str], staging: &std::path::Path) -> Result<BTreeMap<String, PathBuf>> {
    std::fs::create_dir_all(staging)?;
    eprintln!("lab: building {}", packages.join(", "));
    let built = build_binaries(&[packages, &["lab-cloud"]].concat())?;
    let mut staged = BTreeMap::new();
    for package in packages {
        for (name, path) in built.get(*package).into_iter().flatten() {
            let target = staging.join(name);
            std::fs::copy(path, &target).with_context(|| format!("copying {}", path.display()))?;
            staged.insert(name.clone(), target);
        }
    }
    Ok(staged)
}

/// Whose code `lab --mine` runs for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// The learner changed the starter, and it builds.
    Learners,
    /// The step is still its starter: the solution runs (the starter would stop at its first `todo!()`).
    NotStarted,
    /// The learner's crate does not build: the solution runs, and `check` says why.
    DoesNotBuild,
}

/// Whether a step's `src/` is still exactly the starter generated from its solution (the tidy test
/// `starters_are_their_solutions_minus_the_bodies` holds the shipped starters to that text).
fn untouched(step: &Step) -> Result<bool> {
    is_starter(&step.starter_dir().join("src"), &step.solution_dir())
}

/// Whether `src` holds exactly the starter files generated from the solution in `solution_dir`.
fn is_starter(src: &std::path::Path, solution_dir: &std::path::Path) -> Result<bool> {
    let starter = crate::starter::starter_files(solution_dir)?;
    let on_disk = crate::starter::rust_files(src)?;
    if on_disk.len() != starter.len() {
        return Ok(false);
    }
    Ok(starter
        .iter()
        .all(|(path, text)| std::fs::read_to_string(src.join(path)).is_ok_and(|found| &found == text)))
}

/// `--mine`: the learner's crate for each step they have started, the solution for the others; a started step whose
/// crate does not build also runs the solution (said, with the command that shows why), so that a step in progress
/// never keeps the learner from running the ones they finished.
fn whose_code(steps: &[Step]) -> Result<Vec<Whose>> {
    let mut whose = vec![];
    for step in steps {
        whose.push(if untouched(step)? {
            Whose::NotStarted
        } else {
            Whose::Learners
        });
    }
    let learners: Vec<&str> = steps
        .iter()
        .zip(&whose)
        .filter(|(_, whose)| **whose == Whose::Learners)
        .map(|(step, _)| step.starter.as_str())
        .collect();
    if !learners.is_empty() && !builds(&learners) {
        for (step, whose) in steps.iter().zip(whose.iter_mut()) {
            if *whose == Whose::Learners && !builds(&[step.starter.as_str()]) {
                *whose = Whose::DoesNotBuild;
            }
        }
    }
    Ok(whose)
}

/// Whether the packages' binaries build (cargo's own messages are left out: `check` is where a learner reads them).
fn builds(packages: &[&str]) -> bool {
    let mut command = cargo();
    command.args(["build", "--bins", "--quiet"]);
    for package in packages {
        command.args(["--package", package]);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_interruptible()
        .is_ok_and(|status| status.success())
}

/// One line per kind: which steps run the learner's code and which the solution's, and why.
fn say_whose(steps: &[Step], whose: &[Whose]) {
    let list = |kind: Whose| -> Vec<&str> {
        steps
            .iter()
            .zip(whose)
            .filter(|(_, w)| **w == kind)
            .map(|(step, _)| step.id.as_str())
            .collect()
    };
    let (yours, not_started, broken) = (
        list(Whose::Learners),
        list(Whose::NotStarted),
        list(Whose::DoesNotBuild),
    );
    eprintln!(
        "lab --mine: your code for {}",
        if yours.is_empty() {
            "no step yet".to_owned()
        } else {
            yours.join(", ")
        }
    );
    if !not_started.is_empty() {
        eprintln!(
            "lab --mine: the solutions for {} (not started: still the starter)",
            not_started.join(", ")
        );
    }
    for id in broken {
        eprintln!("lab --mine: the solution for {id}: yours does not build (`cargo xtask check {id}` shows why)");
    }
}

/// The binaries of a lab run: the solutions', or with `mine` the learner's where [`whose_code`] says so.
fn stage_lab_binaries(steps: &[Step], mine: bool, staging: &std::path::Path) -> Result<BTreeMap<String, PathBuf>> {
    if !mine {
        return stage_binaries(steps, false, staging);
    }
    let whose = whose_code(steps)?;
    say_whose(steps, &whose);
    let packages: Vec<&str> = steps
        .iter()
        .zip(&whose)
        .map(|(step, whose)| step.package(*whose != Whose::Learners))
        .collect();
    stage_packages(&packages, staging)
}

pub fn lab_cloud_binary() -> Result<PathBuf> {
    build_binaries(&["lab-cloud"])?
        .remove("lab-cloud")
        .and_then(|mut binaries| binaries.remove("lab-cloud"))
        .context("lab-cloud has a binary named lab-cloud")
}

pub struct LabArgs {
    /// `None`: the scenario's default.
    pub records: Option<u64>,
    pub no_parents_first: bool,
    pub mine: bool,
    pub json: bool,
    pub firehose_interval: Option<u32>,
    pub firehose_compression: Option<String>,
    pub window: u32,
    pub records_per_second: Option<u64>,
    pub no_limits: bool,
    pub stream_lifecycle_ms: Option<u64>,
    pub cloudwatch_minute_ms: Option<u64>,
    pub no_iam: bool,
    pub scenario: contract::Scenario,
    pub faults: contract::FaultArgs,
    pub dashboard: contract::DashboardArgs,
    pub hold: bool,
}

pub fn lab(args: LabArgs) -> Result<bool> {
    let state = cloud::state_dir().join("lab");
    // Held until the run ends: a second run would delete this one's functions and binaries under it.
    let _only_run = only_run(&cloud::state_dir().join("lab.lock"))?;
    // A fresh run: the previous one's functions, logs and failures are not this run's.
    let _ = std::fs::remove_dir_all(&state);
    let steps = steps::load()?;
    // On a fresh clone the emulator is installed (pip, ~30 s) while cargo builds, not after it.
    let installing = std::thread::spawn(cloud::install);
    let built = stage_lab_binaries(&steps, args.mine, &state.join("bin"))
        .and_then(|binaries| Ok((binaries, lab_cloud_binary()?)));
    installing.join().expect("the emulator's installer does not panic")?;
    let (binaries, lab_cloud) = built?;

    // A private emulator, so the run starts from nothing and a cloud kept up with `cloud up` is left alone; the
    // run opens its own front door in front of it.
    let session = cloud::Session::emulator()?;
    let lab = contract::Lab {
        binaries: named(binaries),
        records: args.records,
        records_per_second: args.records_per_second,
        no_limits: args.no_limits,
        stream_lifecycle_ms: args.stream_lifecycle_ms,
        cloudwatch_minute_ms: args.cloudwatch_minute_ms,
        no_iam: args.no_iam,
        firehose_interval: args.firehose_interval,
        firehose_compression: args.firehose_compression,
        window: args.window,
        json: args.json,
        scenario: args.scenario,
        no_parents_first: args.no_parents_first,
        faults: args.faults,
        dashboard: args.dashboard,
        hold: args.hold,
    };
    let command = LabCloud {
        state,
        command: contract::Command::Lab(lab),
    };
    let status = Command::new(lab_cloud)
        .envs(session.cloud.env())
        .args(command.to_args())
        .status_interruptible()
        .context("running lab-cloud")?;
    Ok(status.success())
}

/// An exclusive lock on `path` (released when the file is dropped, or the process ends however it ends), or an error
/// saying that another lab runs in this clone.
pub(crate) fn only_run(path: &std::path::Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))?;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!(
                "another `cargo xtask lab` is running in this clone (it holds {}); let it finish first",
                path.display()
            )
        }
        Err(std::fs::TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {}", path.display())),
    }
}

/// `invoke`: runs a step's Lambda once, through the local Lambda host, with the event in `event`. Its environment
/// is the one of the function deployed from the same binary on the running local cloud, if there is one, with
/// `env` (`KEY=VALUE`, each) over it.
pub fn invoke(id: &str, event: &std::path::Path, solution: bool, timeout: u32, env: &[String]) -> Result<bool> {
    let step = steps::find(id)?;
    let Some(function) = step.lambda.clone() else {
        bail!("{} has no Lambda function", step.id)
    };
    let env = env
        .iter()
        .map(|var| {
            var.parse::<contract::EnvVar>()
                .map_err(|error| anyhow::anyhow!("--env: {error}"))
        })
        .collect::<Result<Vec<_>>>()?;
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
            env_of: Some(function.clone()),
            env,
        }),
    };
    let status = Command::new(lab_cloud)
        .envs(session.cloud.env())
        .args(command.to_args())
        .status_interruptible()?;
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::{is_starter, only_run};

    #[test]
    fn a_step_is_the_learners_once_any_file_differs_from_its_starter() {
        let step = crate::steps::find("step-1").unwrap();
        let copy = std::env::temp_dir().join(format!("lab-mine-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&copy);
        let files = crate::starter::starter_files(&step.solution_dir()).unwrap();
        for (path, text) in &files {
            std::fs::create_dir_all(copy.join(path).parent().unwrap()).unwrap();
            std::fs::write(copy.join(path), text).unwrap();
        }
        assert!(
            is_starter(&copy, &step.solution_dir()).unwrap(),
            "the starter as generated"
        );
        let (first, text) = &files[0];
        std::fs::write(copy.join(first), format!("{text}// mine\n")).unwrap();
        assert!(!is_starter(&copy, &step.solution_dir()).unwrap(), "a file changed");
        std::fs::write(copy.join(first), text).unwrap();
        std::fs::write(copy.join("extra.rs"), "").unwrap();
        assert!(!is_starter(&copy, &step.solution_dir()).unwrap(), "a file added");
        let _ = std::fs::remove_dir_all(copy);
    }

    #[test]
    fn a_second_lab_in_the_same_clone_is_refused_until_the_first_ends() {
        let folder = std::env::temp_dir().join(format!("lab-lock-{}", std::process::id()));
        let lock = folder.join("lab.lock");
        let first = only_run(&lock).expect("the first run gets the lock");
        let refused = only_run(&lock).expect_err("a second run while the first holds it");
        assert!(
            refused.to_string().contains("another `cargo xtask lab` is running"),
            "{refused}"
        );
        drop(first);
        only_run(&lock).expect("the lock is free once the first run ends");
        let _ = std::fs::remove_dir_all(folder);
    }
}
