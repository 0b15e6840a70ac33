//! Step 1's reference trace (`lab_contract::trace`), which step 1's tests grade the learner's policies against: made
//! from real runs of the lab, one per scenario (`cargo xtask lab --write-trace`), and held to the pipeline by
//! comparing it with a run's own (`cargo xtask lab --check-trace`, and `cargo xtask verify` with its dashboard run).
//!
//! The runs are the solutions' (a learner's code would trace a learner's calls), with IAM and the shard limits on,
//! each on a private emulator of its own, like `cargo xtask lab`.

use anyhow::{Context, Result, bail};
use lab_contract::trace::{ABOUT, TRACE_FILE, Trace};
use lab_contract::{self as contract, LabCloud, Scenario};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cloud;
use crate::deploy::named;
use crate::interrupt::Interruptible;
use crate::lab;
use crate::steps;

/// The command that rewrites the trace, for the messages that find it stale.
pub const REWRITE: &str = "cargo xtask lab --write-trace";

/// The scenarios whose runs make the trace: every one but `load-doubles`, whose only new role (step 6's scaler)
/// has no step 1 document to grade, and which runs for minutes.
fn traced() -> Vec<Scenario> {
    Scenario::ALL
        .into_iter()
        .filter(|scenario| *scenario != Scenario::LoadDoubles)
        .collect()
}

/// `lab --write-trace`: a run of every traced scenario, merged into the shipped trace file.
pub fn write(records: Option<u64>) -> Result<bool> {
    let runs = run_scenarios(&traced(), records)?;
    let mut trace = Trace {
        about: ABOUT.to_owned(),
        ..Trace::default()
    };
    for run in &runs {
        trace.merge(run);
    }
    if !trace.problems.is_empty() {
        bail!(
            "these runs cannot be the reference, the trace is left as it was:\n  {}",
            trace.problems.join("\n  ")
        );
    }
    let path = file()?;
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    let text = format!("{}\n", serde_json::to_string_pretty(&trace)?);
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let requests: usize = trace.roles.iter().map(|role| role.requests.len()).sum();
    println!(
        "{TRACE_FILE}: {} roles, {requests} distinct requests over {} scenarios ({}); {}",
        trace.roles.len(),
        trace.scenarios.len(),
        records.map_or_else(
            || "each its own number of records".to_owned(),
            |n| format!("{n} records each")
        ),
        if before == text { "unchanged" } else { "rewritten" }
    );
    Ok(true)
}

/// `lab --check-trace`: a steady run compared with the shipped trace.
pub fn check(records: Option<u64>) -> Result<bool> {
    let runs = run_scenarios(&[Scenario::Steady], records)?;
    let differences = shipped()?.differences(&runs[0], Scenario::Steady.name());
    report(&differences);
    Ok(differences.is_empty())
}

/// Where a lab's JSON summary and the shipped trace disagree (for `verify`, with its dashboard run's summary).
pub fn differences_from_summary(summary: &Value) -> Result<Vec<String>> {
    let scenario = summary["scenario"]
        .as_str()
        .context("the lab's summary names its scenario")?;
    let run: Trace = serde_json::from_value(summary["trace"].clone())
        .context("the lab's summary has no trace (an older lab-cloud?)")?;
    Ok(shipped()?.differences(&run, scenario))
}

/// What the differences mean, and the command that fixes them.
pub fn report(differences: &[String]) {
    if differences.is_empty() {
        println!("{TRACE_FILE} is current: a run made exactly the calls it lists");
        return;
    }
    println!(
        "{TRACE_FILE} is not what the pipeline calls: step 1's grading would be wrong. If the change is meant, \
         `{REWRITE}` rewrites it (then `cargo xtask check step-1 --solution`):"
    );
    for difference in differences {
        println!("  {difference}");
    }
}

fn file() -> Result<PathBuf> {
    Ok(steps::root().join(TRACE_FILE))
}

fn shipped() -> Result<Trace> {
    let path = file()?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a trace; `{REWRITE}` rewrites it", path.display()))
}

/// One lab run per scenario, the solutions' binaries built once; each run's trace.
fn run_scenarios(scenarios: &[Scenario], records: Option<u64>) -> Result<Vec<Trace>> {
    let state = cloud::state_dir().join("trace");
    // The lab's lock: a lab running in this clone at the same time would share the machine's two cores.
    let _only_run = lab::only_run(&cloud::state_dir().join("lab.lock"))?;
    let _ = std::fs::remove_dir_all(&state);
    let steps = steps::load()?;
    let installing = std::thread::spawn(cloud::install);
    let built = lab::stage_binaries(&steps, false, &state.join("bin"))
        .and_then(|binaries| Ok((binaries, lab::lab_cloud_binary()?)));
    installing.join().expect("the emulator's installer does not panic")?;
    let (binaries, lab_cloud) = built?;
    let mut traces = vec![];
    for scenario in scenarios {
        let count = records.unwrap_or(scenario.default_records());
        eprintln!("trace: the {scenario} scenario, {count} records");
        let summary = run_one(
            &lab_cloud,
            &state.join(scenario.name()),
            named(binaries.clone()),
            *scenario,
            records,
        )?;
        let trace = serde_json::from_value(summary["trace"].clone()).context("the lab's summary has no trace")?;
        traces.push(trace);
    }
    Ok(traces)
}

/// A lab run of `scenario` on a private emulator; its JSON summary (its printed summary goes to standard error).
fn run_one(
    lab_cloud: &Path,
    state: &Path,
    binaries: Vec<contract::Named>,
    scenario: Scenario,
    records: Option<u64>,
) -> Result<Value> {
    let session = cloud::Session::emulator()?;
    let lab = contract::Lab {
        binaries,
        // Each scenario's own default when none is given.
        records,
        records_per_second: None,
        no_limits: false,
        stream_lifecycle_ms: None,
        cloudwatch_minute_ms: None,
        no_iam: false,
        // The learner's step 4 definition's buffering and compression, as a plain lab run has them.
        firehose_interval: None,
        firehose_compression: None,
        no_parents_first: false,
        window: 5,
        json: true,
        scenario,
        faults: contract::FaultArgs::default(),
        dashboard: contract::DashboardArgs {
            dashboard_port: None,
            no_dashboard: true,
        },
        hold: false,
    };
    let command = LabCloud {
        state: state.to_owned(),
        command: contract::Command::Lab(lab),
    };
    let output = Command::new(lab_cloud)
        .envs(session.cloud.env())
        .args(command.to_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output_interruptible()
        .context("running lab-cloud")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The run's own summary, for whoever watches; the JSON line is for us.
    for line in stdout.lines().filter(|line| !line.starts_with('{')) {
        eprintln!("{line}");
    }
    let summary = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok().filter(Value::is_object));
    match summary {
        Some(summary) if output.status.success() => Ok(summary),
        Some(summary) => bail!(
            "the {scenario} run failed ({}), so it cannot be the reference",
            summary["failure"].as_str().unwrap_or("no reason given")
        ),
        None => bail!("the {scenario} run printed no summary ({}):\n{stdout}", output.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lab's JSON summary of a steady run that made exactly what the shipped trace lists for the steady scenario.
    fn steady_summary() -> Value {
        let mut run = shipped().expect("the shipped trace reads");
        run.about.clear();
        for role in &mut run.roles {
            role.requests
                .retain(|request| request.scenarios.iter().any(|s| s == "steady"));
        }
        serde_json::json!({"scenario": "steady", "trace": run})
    }

    #[test]
    fn the_shipped_trace_agrees_with_a_run_that_made_its_calls_and_not_with_one_that_made_another() {
        assert_eq!(
            differences_from_summary(&steady_summary()).unwrap(),
            Vec::<String>::new()
        );
        let mut summary = steady_summary();
        summary["trace"]["roles"][0]["requests"][0]["action"] = "kinesis:PutRecord".into();
        let differences = differences_from_summary(&summary).unwrap();
        assert_eq!(
            differences.len(),
            2,
            "one call new to the trace, one the run no longer made: {differences:?}"
        );
        assert!(differences[0].contains("kinesis:PutRecord on"), "{differences:?}");
    }

    #[test]
    fn a_summary_without_a_trace_is_an_error_not_an_agreement() {
        let error = differences_from_summary(&serde_json::json!({"scenario": "steady"})).unwrap_err();
        assert!(format!("{error:#}").contains("no trace"), "{error:#}");
    }
}
