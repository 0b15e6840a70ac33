//! `cargo xtask verify`: the maintainers' (and CI's) proof that the workshop holds together. Every solution passes
//! its step's tests, every starter compiles and fails them at its `todo!()`s, the code is formatted and lint-free,
//! the tidy tests pass and the book builds with no broken link. It ends with one line,
//! `verify: N passed, M failed`, and fails if anything did.

use anyhow::Result;
use std::time::Instant;

use crate::book;
use crate::browser;
use crate::cargo::{Verdict, cargo, test_package};
use crate::cloud;
use crate::learner;
use crate::steps;
use crate::trace;

struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    /// Records one check: prints `ok` or `FAIL` with what it found (and, on failure, why).
    fn record(&mut self, name: &str, started: Instant, outcome: Result<String, String>) {
        let seconds = started.elapsed().as_secs_f32();
        match outcome {
            Ok(summary) => {
                self.passed += 1;
                println!("ok    {name}: {summary} ({seconds:.1} s)");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL  {name} ({seconds:.1} s)");
                for line in why.lines().take(60) {
                    println!("      {line}");
                }
            }
        }
    }
}

/// Runs a cargo command quietly; its output only matters when it fails.
fn cargo_quietly(args: &[&str]) -> Result<String, String> {
    let output = cargo()
        .args(args)
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if output.status.success() {
        Ok("clean".to_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A package's verdict when all its tests must pass.
fn all_pass(verdict: Verdict) -> Result<String, String> {
    match verdict {
        Verdict::DoesNotCompile { errors } => Err(format!("does not compile:\n{}", errors.join("\n"))),
        Verdict::Tested { results, output } => {
            let failed: Vec<String> = results
                .iter()
                .filter(|result| !result.passed)
                .map(|result| format!("{}: {}", result.name, result.message))
                .collect();
            if results.is_empty() {
                Err(format!("no test ran:\n{output}"))
            } else if failed.is_empty() {
                Ok(match results.len() {
                    1 => "1 test passes".to_owned(),
                    n => format!("{n} tests pass"),
                })
            } else {
                Err(failed.join("\n"))
            }
        }
    }
}

pub fn verify() -> Result<bool> {
    let steps = steps::load()?;
    let mut tally = Tally { passed: 0, failed: 0 };
    lints(&mut tally);
    {
        // One local cloud of verify's own for every test that needs it (the emulator and its front door), stopped
        // when this block ends. Not a cloud left up by `cloud up`: its data plane would pump the tests' delivery
        // streams and run their mappings alongside them.
        let session = cloud::Session::private()?;
        machinery_tests(&mut tally, &session)?;
        let env = session.cloud.env();
        for step in &steps {
            let started = Instant::now();
            let outcome = all_pass(test_package(&step.solution, &env)?);
            tally.record(&format!("solution {}", step.id), started, outcome);
            let started = Instant::now();
            let outcome = starter_fails_as_designed(test_package(&step.starter, &env)?);
            tally.record(&format!("starter  {}", step.id), started, outcome);
        }
    }
    book_checks(&mut tally);
    dashboard_and_trace(&mut tally);
    println!("verify: {} passed, {} failed", tally.passed, tally.failed);
    Ok(tally.failed == 0)
}

/// The code is formatted and lint-free.
fn lints(tally: &mut Tally) {
    let started = Instant::now();
    tally.record(
        "cargo fmt --check",
        started,
        cargo_quietly(&["fmt", "--all", "--", "--check"]),
    );
    let started = Instant::now();
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ];
    tally.record("cargo clippy -D warnings", started, cargo_quietly(&clippy));
}

/// The machinery's own tests: tidy rules, the testkit, and the local cloud against the emulator (the local cloud's
/// own tests start their own front doors, in front of the emulator itself).
fn machinery_tests(tally: &mut Tally, session: &cloud::Session) -> Result<()> {
    let env = session.cloud.env();
    let emulator_env: Vec<(String, String)> = env
        .iter()
        .map(|(key, value)| match key.as_str() {
            "AWS_ENDPOINT_URL" => (key.clone(), session.cloud.emulator_endpoint()),
            _ => (key.clone(), value.clone()),
        })
        .collect();
    for (name, package, env) in [
        ("xtask tidy and unit tests", "xtask", &env),
        ("testkit unit tests", "lab-testkit", &env),
        ("step-support: the given code the steps share", "step-support", &env),
        ("IAM policy evaluation (lab-policy)", "lab-policy", &env),
        (
            "local cloud: front door, Lambda host, event source mappings",
            "lab-cloud",
            &emulator_env,
        ),
        ("the xtask <-> lab-cloud contract", "lab-contract", &env),
    ] {
        let started = Instant::now();
        tally.record(name, started, all_pass(test_package(package, env)?));
    }
    Ok(())
}

/// The starter must compile and fail, each failing test at a `todo!()` (failing for another reason would mean the
/// starter or the test is broken). Its failing output is the design, so it is summarised here, never echoed.
fn starter_fails_as_designed(verdict: Verdict) -> Result<String, String> {
    let (results, output) = match verdict {
        Verdict::DoesNotCompile { errors } => {
            return Err(format!("the starter must compile:\n{}", errors.join("\n")));
        }
        Verdict::Tested { results, output } => (results, output),
    };
    let failed: Vec<_> = results.iter().filter(|result| !result.passed).collect();
    let wrong: Vec<_> = failed
        .iter()
        .filter(|result| !result.message.contains("not yet implemented"))
        .collect();
    if results.is_empty() {
        Err(format!("no test ran:\n{output}"))
    } else if failed.is_empty() {
        Err("every test passes on the starter: the step teaches nothing (or the starter is solved)".to_owned())
    } else if !wrong.is_empty() {
        Err(wrong
            .iter()
            .map(|result| format!("{} fails without reaching a todo!(): {}", result.name, result.message))
            .collect::<Vec<_>>()
            .join("\n"))
    } else {
        Ok(format!(
            "compiles; {} of {} tests fail at a todo!(), as designed",
            failed.len(),
            results.len()
        ))
    }
}

/// The book builds with no broken link, and renders in a browser with no console error.
fn book_checks(tally: &mut Tally) {
    let started = Instant::now();
    let outcome = book::build().map_err(|error| format!("{error:#}")).and_then(|()| {
        let broken = book::broken_links(&book::html_dir()).map_err(|error| format!("{error:#}"))?;
        if broken.is_empty() {
            Ok("built; every internal link and anchor resolves".to_owned())
        } else {
            Err(format!("broken links:\n{}", broken.join("\n")))
        }
    });
    let built = outcome.is_ok();
    tally.record("book", started, outcome);
    if !built {
        return;
    }
    let started = Instant::now();
    let screenshot = cloud::state_dir().join("screenshots").join("introduction.png");
    let outcome = std::fs::create_dir_all(screenshot.parent().expect("a folder"))
        .map_err(anyhow::Error::from)
        .and_then(|()| browser::check(&book::html_dir(), &screenshot))
        .map(|report| {
            format!(
                "{} pages in headless Chromium, no console error, {} pictures rendered; screenshot {}",
                report.pages,
                report.pictures,
                learner::relative(&report.screenshot).display()
            )
        })
        .map_err(|error| format!("{error:#}"));
    tally.record("book in a browser", started, outcome);
}

/// A short lab watched on its dashboard (about 35 s warm): live figures, no console error, step 5's map drawn where
/// its readings are, the last figures equal to the lab's summary. Then the same run's calls against step 1's
/// reference trace, which step 1's tests grade the policies with.
fn dashboard_and_trace(tally: &mut Tally) {
    let started = Instant::now();
    let check = browser::DashboardCheck {
        records: 2000,
        scenario: None,
        screenshots: cloud::state_dir().join("screenshots"),
        name: "check".to_owned(),
        echo: false,
    };
    let dashboard = browser::dashboard_check(&check);
    let outcome = dashboard
        .as_ref()
        .map(|report| {
            format!(
                "live in headless Chromium, no console error, the map drawn where its readings are ({} rings \
                 checked), the last figures equal to the summary; screenshot {}",
                report.rings_checked,
                learner::relative(&report.live).display()
            )
        })
        .map_err(|error| format!("{error:#}"));
    tally.record("the lab's dashboard in a browser", started, outcome);

    let Ok(report) = &dashboard else { return };
    let started = Instant::now();
    let outcome = match trace::differences_from_summary(&report.summary) {
        Ok(differences) if differences.is_empty() => {
            Ok("a real run made exactly the calls step 1's reference trace lists for it".to_owned())
        }
        Ok(differences) => Err(format!(
            "{} is stale (`{}` rewrites it):\n{}",
            lab_contract::trace::TRACE_FILE,
            trace::REWRITE,
            differences.join("\n")
        )),
        Err(error) => Err(format!("{error:#}")),
    };
    tally.record("step 1's reference trace", started, outcome);
}
