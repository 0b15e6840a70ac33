//! `cargo xtask mutants [step-N]` (maintainers): mutation testing of the steps' solutions with cargo-mutants
//! (pinned in `tools.rs`), to check that the shared tests can fail: each mutant is a small change to the solution's
//! code, and a test should fail on it.
//!
//! cargo-mutants copies the repository to a scratch folder and mutates the copy, never the working tree (no
//! `--in-place`: the tree may be shared, and a mutated file must never be built or committed from it). Its builds go
//! to `.lab/mutants-target`, kept between runs, so that only the step's own crate is rebuilt per mutant. Exclusions
//! (equivalent mutants, each with its reason) are in `.cargo/mutants.toml`. Not part of `verify`: a step takes
//! 4 to 85 minutes on 2 cores (`-- --iterate` re-tests only what was missed, timed out or is new).

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cloud;
use crate::learner::relative;
use crate::steps::{self, Step, root};
use crate::tools::CARGO_MUTANTS;

/// What cargo-mutants made of one step: counts of the mutants it tested, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub mutants: usize,
    pub caught: usize,
    pub missed: usize,
    pub unviable: usize,
    pub timeout: usize,
}

/// One entry of cargo-mutants' `outcomes.json`: the baseline or a mutant, and how it ended.
#[derive(Deserialize)]
struct Outcome {
    scenario: serde_json::Value,
    summary: String,
}

#[derive(Deserialize)]
struct Outcomes {
    outcomes: Vec<Outcome>,
}

/// Counts the mutants in an `outcomes.json` by outcome (the baseline, the unmutated tree, is not a mutant).
pub fn tally(outcomes_json: &str) -> Result<Tally> {
    let outcomes: Outcomes = serde_json::from_str(outcomes_json).context("reading cargo-mutants' outcomes.json")?;
    let mut tally = Tally::default();
    for outcome in outcomes.outcomes.iter().filter(|o| o.scenario != "Baseline") {
        tally.mutants += 1;
        match outcome.summary.as_str() {
            "CaughtMutant" => tally.caught += 1,
            "MissedMutant" => tally.missed += 1,
            "Unviable" => tally.unviable += 1,
            "Timeout" => tally.timeout += 1,
            other => bail!("cargo-mutants reported an outcome this command does not know: {other:?}"),
        }
    }
    Ok(tally)
}

/// Where a step's results go: `.lab/mutants/<step>/mutants.out/` (outcomes.json, missed.txt, caught.txt, logs).
fn output_dir(step: &Step) -> PathBuf {
    cloud::state_dir().join("mutants").join(&step.id)
}

/// The command for one step: `nice -n 19 cargo-mutants mutants --package <solution>` in copy mode, with the
/// emulator's environment (the tests talk to it) and the nested-cargo hygiene of `cargo::cargo()`.
fn command(mutants: &Path, step: &Step, env: &[(String, String)], extra: &[String]) -> Command {
    let template = crate::cargo::cargo();
    let mut command = Command::new("nice");
    // cargo-mutants is a cargo subcommand: run directly, its first argument is the subcommand's name.
    command.args(["-n", "19"]).arg(mutants).arg("mutants");
    command
        .args(["--package", &step.solution, "--output"])
        .arg(output_dir(step));
    // Spelled out, not left to a default: nothing .gitignore names goes into the scratch copy (target/, and `.lab/`
    // with the emulator's virtualenv and this command's own builds).
    command.arg("--gitignore=true");
    command.args(extra);
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
        .current_dir(root())
        .envs(env.iter().map(|(key, value)| (key, value)))
        .env("CARGO_TARGET_DIR", cloud::state_dir().join("mutants-target"))
        // The solutions' profiles turn incremental builds off (they fill target/); here each mutant changes one
        // function of one crate, which is what incremental builds are for.
        .env("CARGO_INCREMENTAL", "1");
    command
}

/// Runs cargo-mutants over one step's solution and reads back its tally.
fn run_step(mutants: &Path, step: &Step, env: &[(String, String)], extra: &[String]) -> Result<Tally> {
    println!("{}: cargo-mutants over {} ...", step.id, step.solution);
    std::fs::create_dir_all(output_dir(step))?;
    let status = command(mutants, step, env, extra)
        .status()
        .context("running cargo-mutants")?;
    // Exit codes (mutants.rs, "Exit codes"): 0 all caught, 2 some missed, 3 some timed out, 4 the baseline fails.
    match status.code() {
        Some(0 | 2 | 3) => {}
        Some(4) => bail!(
            "{}: the unmutated tests fail, so no mutant was tested; `cargo xtask check {} --solution` shows why",
            step.id,
            step.id
        ),
        _ => bail!("{}: cargo-mutants failed ({status}; see above)", step.id),
    }
    let outcomes = output_dir(step).join("mutants.out").join("outcomes.json");
    let text = std::fs::read_to_string(&outcomes).with_context(|| format!("reading {}", outcomes.display()))?;
    tally(&text)
}

/// `cargo xtask mutants [step] [-- <cargo-mutants arguments>]`: every step, or one; true when no mutant was missed.
pub fn mutants(step: Option<&str>, extra: &[String]) -> Result<bool> {
    let steps = match step {
        Some(id) => vec![steps::find(id)?],
        None => steps::load()?,
    };
    let mutants = CARGO_MUTANTS.path()?;
    cloud::install()?;
    // An emulator of this run's own, stopped at the end: the tests of hundreds of mutants create streams and
    // delivery streams (moto's Firehose holds 50 at most), and a shared cloud also holds other people's resources.
    let session = cloud::Session::private()?;
    let env = session.cloud.env();
    let mut tallies = vec![];
    for step in &steps {
        tallies.push((step, run_step(&mutants, step, &env, extra)?));
    }
    println!();
    println!("step     mutants  caught  missed  unviable  timeout");
    for (step, tally) in &tallies {
        println!(
            "{:<8} {:>7}  {:>6}  {:>6}  {:>8}  {:>7}   {}",
            step.id,
            tally.mutants,
            tally.caught,
            tally.missed,
            tally.unviable,
            tally.timeout,
            relative(&output_dir(step).join("mutants.out/missed.txt")).display()
        );
    }
    Ok(tallies.iter().all(|(_, tally)| tally.missed == 0 && tally.timeout == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_mutants_by_outcome_and_leaves_out_the_baseline() {
        let json = r#"{"outcomes": [
            {"scenario": "Baseline", "summary": "Success"},
            {"scenario": {"Mutant": {"name": "a"}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"name": "b"}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"name": "c"}}, "summary": "MissedMutant"},
            {"scenario": {"Mutant": {"name": "d"}}, "summary": "Unviable"},
            {"scenario": {"Mutant": {"name": "e"}}, "summary": "Timeout"}
        ]}"#;
        let expected = Tally {
            mutants: 5,
            caught: 2,
            missed: 1,
            unviable: 1,
            timeout: 1,
        };
        assert_eq!(tally(json).unwrap(), expected);
    }

    #[test]
    fn an_unknown_outcome_is_an_error_not_a_silent_zero() {
        let json = r#"{"outcomes": [{"scenario": {"Mutant": {}}, "summary": "Exploded"}]}"#;
        assert!(tally(json).unwrap_err().to_string().contains("Exploded"));
    }
}
