//! Runs cargo on a step's package and turns its output into a verdict a learner can read.
//!
//! xtask never links a step crate: it asks cargo to build and test it, so a step that does not compile yet still
//! gets a verdict (the compiler's first error) and cannot break xtask or the other steps.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::{Command, Stdio};

use crate::interrupt::Interruptible;
use crate::steps::root;

/// The outcome of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    /// For a failed test: what it printed when it panicked (the assertion or `todo!` message).
    pub message: String,
}

#[derive(Debug)]
pub enum Verdict {
    /// The package (or its tests) did not compile; the compiler's errors, rendered as the compiler shows them.
    DoesNotCompile { errors: Vec<String> },
    /// The tests ran.
    Tested { results: Vec<TestResult>, output: String },
}

pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root());
    // `cargo xtask` runs under `cargo run`, which sets CARGO_MANIFEST_DIR, CARGO_PKG_* and more. Build scripts that
    // read them (ring's reads CARGO_MANIFEST_DIR) would see xtask's values and rebuild half the SDK whenever the
    // same crates are built from a shell; the nested cargo sees what a shell would. (lab-cloud's test helper keeps
    // the same list.)
    for (key, _) in std::env::vars() {
        let set_for_a_run = matches!(
            key.as_str(),
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        ) || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_");
        if set_for_a_run {
            command.env_remove(key);
        }
    }
    command
}

/// A test executable cargo built, and the folder of the package it tests (cargo runs tests there).
#[derive(Debug, Clone)]
pub struct TestBinary {
    pub executable: std::path::PathBuf,
    pub package_dir: std::path::PathBuf,
}

/// Builds the tests of `package` (a step's with `fast_link`: see fast_link.rs); `Ok` holds the test executables,
/// `Err` the compiler's errors, rendered as the compiler shows them.
pub fn build_tests(package: &str, fast_link: bool) -> Result<Result<Vec<TestBinary>, Vec<String>>> {
    // Machine-readable diagnostics, so the errors can be shown plainly (in colour on a terminal).
    let format = if std::io::stdout().is_terminal() {
        "--message-format=json-diagnostic-rendered-ansi"
    } else {
        "--message-format=json"
    };
    let mut command = cargo();
    command.args(["test", "--package", package, "--no-run", format]);
    if fast_link {
        command.args(["--features", crate::fast_link::FEATURE]);
        crate::fast_link::wrap(&mut command)?;
    }
    let build = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output_interruptible()
        .context("running cargo")?;
    let stdout = String::from_utf8_lossy(&build.stdout);
    if build.status.success() {
        return Ok(Ok(test_binaries(&stdout)));
    }
    let mut errors = compiler_errors(&stdout);
    if errors.is_empty() {
        // Not a compile error (a broken Cargo.toml, say): cargo's own words are the clearest.
        errors.push(String::from_utf8_lossy(&build.stderr).trim().to_owned());
    }
    Ok(Err(errors))
}

/// The test executables in cargo's JSON messages, in the order cargo built them.
fn test_binaries(json_lines: &str) -> Vec<TestBinary> {
    json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["profile"]["test"] == true)
        .filter_map(|message| {
            let executable = message["executable"].as_str()?;
            let manifest = std::path::Path::new(message["manifest_path"].as_str()?);
            Some(TestBinary {
                executable: executable.into(),
                package_dir: manifest.parent()?.to_owned(),
            })
        })
        .collect()
}

/// Runs the built test executables, all at once, in the package's folder as `cargo test` would, with `env` added to
/// their environment, and reads their outputs in cargo's order: `check`'s run. Without a second cargo, which would
/// only check again, for a second or so, that nothing needs building; and at once, since each binary's tests mostly
/// wait on the local cloud (step 4's unit tests and its step tests took 3 s and 5 s one after the other). The step
/// crates have no doc tests.
pub fn run_tests(binaries: &[TestBinary], env: &[(String, String)]) -> Result<Verdict> {
    let outputs: Vec<Result<std::process::Output>> = std::thread::scope(|scope| {
        let running: Vec<_> = binaries
            .iter()
            .map(|binary| scope.spawn(move || run_test_binary(binary, env)))
            .collect();
        running
            .into_iter()
            .map(|thread| thread.join().expect("a test runner's thread does not panic"))
            .collect()
    });
    let mut output = String::new();
    for run in outputs {
        let run = run?;
        output.push_str(&String::from_utf8_lossy(&run.stdout));
        output.push_str(&String::from_utf8_lossy(&run.stderr));
    }
    Ok(Verdict::Tested {
        results: parse_test_output(&output),
        output,
    })
}

fn run_test_binary(binary: &TestBinary, env: &[(String, String)]) -> Result<std::process::Output> {
    let mut command = Command::new(&binary.executable);
    // The verdict shows each failure's message; a backtrace would only bury it.
    command
        .current_dir(&binary.package_dir)
        .env("CARGO_MANIFEST_DIR", &binary.package_dir)
        .env("RUST_BACKTRACE", "0");
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output_interruptible()
        .with_context(|| format!("running {}", binary.executable.display()))
}

/// Builds, then runs, every test of `package` through cargo (doc tests included: `verify` runs the machinery's).
pub fn test_package(package: &str, env: &[(String, String)]) -> Result<Verdict> {
    if let Err(errors) = build_tests(package, false)? {
        return Ok(Verdict::DoesNotCompile { errors });
    }
    let mut command = cargo();
    // The verdict shows each failure's message; a backtrace would only bury it.
    command
        .args(["test", "--package", package, "--no-fail-fast"])
        .env("RUST_BACKTRACE", "0");
    for (key, value) in env {
        command.env(key, value);
    }
    let run = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output_interruptible()
        .context("running cargo test")?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    Ok(Verdict::Tested {
        results: parse_test_output(&output),
        output,
    })
}

/// The rendered `error` diagnostics from cargo's JSON messages.
fn compiler_errors(json_lines: &str) -> Vec<String> {
    json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-message" && message["message"]["level"] == "error")
        .filter_map(|message| message["message"]["rendered"].as_str().map(str::to_owned))
        .collect()
}

/// Reads libtest's plain output: `test NAME ... ok|FAILED` lines and the `---- NAME stdout ----` sections.
pub fn parse_test_output(output: &str) -> Vec<TestResult> {
    let mut outcomes: Vec<(String, bool)> = vec![];
    let mut messages: BTreeMap<String, String> = BTreeMap::new();
    let mut section: Option<(String, Vec<&str>)> = None;

    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, outcome)) = rest.rsplit_once(" ... ")
        {
            match outcome.trim() {
                "ok" => outcomes.push((name.to_owned(), true)),
                "FAILED" => outcomes.push((name.to_owned(), false)),
                _ => {}
            }
            continue;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            if let Some((previous, lines)) = section.take() {
                messages.insert(previous, panic_message(&lines));
            }
            section = Some((name.to_owned(), vec![]));
            continue;
        }
        if let Some((_, lines)) = section.as_mut() {
            // The failure sections end at the list of failed tests.
            if line == "failures:" || line.starts_with("test result:") {
                let (previous, lines) = section.take().expect("section is set");
                messages.insert(previous, panic_message(&lines));
            } else {
                lines.push(line);
            }
        }
    }
    if let Some((previous, lines)) = section.take() {
        messages.insert(previous, panic_message(&lines));
    }

    outcomes
        .into_iter()
        .map(|(name, passed)| {
            let message = if passed {
                String::new()
            } else {
                messages.get(&name).cloned().unwrap_or_default()
            };
            TestResult { name, passed, message }
        })
        .collect()
}

/// The interesting part of a failed test's output: from `panicked at` on, without the backtrace note.
fn panic_message(lines: &[&str]) -> String {
    let start = lines
        .iter()
        .position(|line| line.contains("panicked at"))
        .map_or(0, |index| index + 1);
    lines[start..]
        .iter()
        .take_while(|line| !line.starts_with("note: run with `RUST_BACKTRACE") && !line.starts_with("stack backtrace:"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "
running 3 tests
test alpha ... ok
test beta ... FAILED
test gamma ... FAILED

failures:

---- beta stdout ----

thread 'beta' panicked at steps/step-1/src/lib.rs:10:5:
not yet implemented: write beta
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- gamma stdout ----
some print
thread 'gamma' panicked at tests/step.rs:3:5:
assertion `left == right` failed: two shards
  left: 1
 right: 2

failures:
    beta
    gamma

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    #[test]
    fn reads_outcomes_and_panic_messages() {
        let results = parse_test_output(OUTPUT);
        assert_eq!(results.len(), 3);
        assert!(results[0].passed);
        assert_eq!(results[1].message, "not yet implemented: write beta");
        assert_eq!(
            results[2].message,
            "assertion `left == right` failed: two shards\n  left: 1\n right: 2"
        );
    }

    #[test]
    fn finds_the_test_executables_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","manifest_path":"/r/solutions/step-1/Cargo.toml","profile":{"test":true},"executable":"/r/target/debug/deps/step-1a"}
{"reason":"compiler-artifact","manifest_path":"/r/solutions/step-1/Cargo.toml","profile":{"test":false},"executable":"/r/target/debug/ensure-stream"}
{"reason":"compiler-artifact","manifest_path":"/r/xtask/testkit/Cargo.toml","profile":{"test":false},"executable":null}
{"reason":"build-finished","success":true}"#;
        let binaries = test_binaries(json);
        assert_eq!(binaries.len(), 1, "{binaries:?}");
        assert_eq!(
            binaries[0].executable,
            std::path::Path::new("/r/target/debug/deps/step-1a")
        );
        assert_eq!(binaries[0].package_dir, std::path::Path::new("/r/solutions/step-1"));
    }

    #[test]
    fn picks_rendered_errors_from_cargo_json() {
        let json = r#"{"reason":"compiler-message","message":{"level":"warning","rendered":"warning: x"}}
{"reason":"compiler-message","message":{"level":"error","rendered":"error[E0425]: cannot find value `y`"}}
{"reason":"build-finished","success":false}"#;
        assert_eq!(
            compiler_errors(json),
            vec!["error[E0425]: cannot find value `y`".to_owned()]
        );
    }
}
