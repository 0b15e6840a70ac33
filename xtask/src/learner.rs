//! The learner's loop: `list`, `check`, `hint`, `solve`, `reset`, `policy`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

use crate::cargo::{TestResult, Verdict, build_tests, run_tests};
use crate::cloud;
use crate::starter;
use crate::steps::{self, Step, root};

/// Builds a step's tests, then runs them (with the local cloud up while they run, if they need it).
pub fn test_step(step: &Step, solution: bool) -> Result<Verdict> {
    let package = step.package(solution);
    // The first check on a fresh clone installs the emulator (pip, ~30 s) while cargo builds, not after it.
    let installing = step.needs_cloud.then(|| std::thread::spawn(cloud::install));
    let built = build_tests(package)?;
    if let Some(installing) = installing {
        installing.join().expect("the emulator's installer does not panic")?;
    }
    if let Err(errors) = built {
        return Ok(Verdict::DoesNotCompile { errors });
    }
    if step.needs_cloud {
        let session = cloud::Session::open()?;
        run_tests(package, &session.cloud.env())
    } else {
        run_tests(package, &[])
    }
}

/// Failed tests first in the order the test file defines them.
pub fn in_learning_order(step: &Step, results: &[TestResult]) -> Vec<TestResult> {
    let order = step.tests_in_order();
    let position = |name: &str| order.iter().position(|known| known == name).unwrap_or(usize::MAX);
    let mut sorted = results.to_vec();
    sorted.sort_by_key(|result| position(&result.name));
    sorted
}

/// `cargo xtask check step-N [--solution]`: the verdict, in plain words. Returns whether every test passed.
pub fn check(id: &str, solution: bool) -> Result<bool> {
    let step = steps::find(id)?;
    let dir = if solution {
        step.solution_dir()
    } else {
        step.starter_dir()
    };
    println!("{} · {}  ({})", step.id, step.title, relative(&dir).display());
    println!();

    match test_step(&step, solution)? {
        Verdict::DoesNotCompile { errors } => {
            println!("{} does not compile yet. The compiler's first error:\n", step.id);
            println!(
                "{}",
                errors.first().map(String::as_str).unwrap_or("(no message)").trim_end()
            );
            if errors.len() > 1 {
                println!(
                    "\n({} more errors: fix this one first; the others often go with it.)",
                    errors.len() - 1
                );
            }
            print_hint(&step, step.hints.first().map(String::as_str));
            Ok(false)
        }
        Verdict::Tested { results, output } => {
            if results.is_empty() {
                println!("No test ran. cargo said:\n{output}");
                return Ok(false);
            }
            let results = in_learning_order(&step, &results);
            for result in &results {
                println!("  {} {}", if result.passed { "✓" } else { "✗" }, result.name);
            }
            let failed: Vec<&TestResult> = results.iter().filter(|result| !result.passed).collect();
            println!("\n{} passed, {} failed.", results.len() - failed.len(), failed.len());
            match failed.first() {
                None => {
                    println!("\n{} is done.{}", step.id, next_step(&step)?);
                    Ok(true)
                }
                Some(next) => {
                    println!("\nNext: make `{}` pass. It says:", next.name);
                    for line in next.message.lines() {
                        println!("    {line}");
                    }
                    print_hint(&step, hint_for(&step.hints, &next.name));
                    Ok(false)
                }
            }
        }
    }
}

fn next_step(step: &Step) -> Result<String> {
    let steps = steps::load()?;
    let index = steps.iter().position(|s| s.id == step.id).unwrap_or(0);
    Ok(match steps.get(index + 1) {
        Some(next) => format!(
            " Next: {} ({}), chapter book/src/{}.",
            next.id, next.title, next.chapter
        ),
        None => " That was the last step: run the whole pipeline with `cargo xtask lab --mine`.".to_owned(),
    })
}

/// The hint that speaks of what a test is about: the one naming the longest start of the test's name
/// (`ensure_stream_twice...` finds the hint naming `ensure_stream`), else one naming any word of it, else the first.
fn hint_for<'a>(hints: &'a [String], test: &str) -> Option<&'a str> {
    let words: Vec<&str> = test.split('_').collect();
    let prefixes = (1..=words.len()).rev().map(|n| words[..n].join("_"));
    let mut longest_words: Vec<&str> = words.iter().copied().filter(|word| word.len() > 3).collect();
    longest_words.sort_by_key(|word| std::cmp::Reverse(word.len()));
    prefixes
        .chain(longest_words.into_iter().map(str::to_owned))
        .find_map(|needle| hints.iter().find(|hint| hint.contains(&needle)))
        .or(hints.first())
        .map(String::as_str)
}

fn print_hint(step: &Step, hint: Option<&str>) {
    if let Some(hint) = hint {
        println!("\nHint: {hint}");
    }
    println!(
        "(The chapter: {}. All hints: `cargo xtask hint {}`. Stuck? `cargo xtask solve {}`.)",
        relative(&step.chapter_path()).display(),
        step.id,
        step.id
    );
}

pub fn hint(id: &str) -> Result<()> {
    let step = steps::find(id)?;
    println!("Hints for {} · {}\n", step.id, step.title);
    for (number, hint) in step.hints.iter().enumerate() {
        println!("{}. {hint}\n", number + 1);
    }
    println!("The chapter: {}", relative(&step.chapter_path()).display());
    Ok(())
}

/// `list`: every step, with whether the learner's crate passes (a quick check per step, no cloud needed to list).
pub fn list(with_status: bool) -> Result<()> {
    for step in steps::load()? {
        let status = if with_status {
            match test_step(&step, false)? {
                Verdict::DoesNotCompile { .. } => "does not compile".to_owned(),
                Verdict::Tested { results, .. } => {
                    let passed = results.iter().filter(|result| result.passed).count();
                    if passed == results.len() && !results.is_empty() {
                        "done".to_owned()
                    } else {
                        format!("{passed}/{} tests pass", results.len())
                    }
                }
            }
        } else {
            String::new()
        };
        println!("{:<8} {:<48} {}", step.id, step.title, status);
    }
    if !with_status {
        println!("\n(`cargo xtask list --status` runs every step's tests to show how far you are.)");
    }
    Ok(())
}

/// `solve`: the solution's sources replace the learner's, after a backup.
pub fn solve(id: &str) -> Result<()> {
    let step = steps::find(id)?;
    let backup = back_up(&step)?;
    let files: Vec<(PathBuf, String)> = starter::rust_files(&step.solution_dir().join("src"))?
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            Ok((path.strip_prefix(step.solution_dir().join("src"))?.to_path_buf(), text))
        })
        .collect::<Result<_>>()?;
    replace_sources(&step, &files)?;
    println!(
        "{} now holds the solution. Your work is kept in {}.",
        step.id,
        relative(&backup).display()
    );
    println!(
        "Read it against the chapter (book/src/{}), then: cargo xtask check {}",
        step.chapter, step.id
    );
    Ok(())
}

/// `reset`: the learner's sources go back to the starter, after a backup.
pub fn reset(id: &str) -> Result<()> {
    let step = steps::find(id)?;
    let backup = back_up(&step)?;
    replace_sources(&step, &starter::starter_files(&step.solution_dir())?)?;
    println!(
        "{} is back to its starter. Your work is kept in {}.",
        step.id,
        relative(&backup).display()
    );
    Ok(())
}

fn replace_sources(step: &Step, files: &[(PathBuf, String)]) -> Result<()> {
    let src = step.starter_dir().join("src");
    std::fs::remove_dir_all(&src).with_context(|| format!("removing {}", src.display()))?;
    for (path, text) in files {
        let target = src.join(path);
        std::fs::create_dir_all(target.parent().expect("a file has a folder"))?;
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

/// Copies the learner's `src/` to `.lab/backups/<step>-<seconds since epoch>/src`.
fn back_up(step: &Step) -> Result<PathBuf> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let backup = cloud::state_dir()
        .join("backups")
        .join(format!("{}-{seconds}", step.id));
    let src = step.starter_dir().join("src");
    for path in starter::rust_files(&src)? {
        let target = backup.join("src").join(path.strip_prefix(&src)?);
        std::fs::create_dir_all(target.parent().expect("a file has a folder"))?;
        std::fs::copy(&path, &target).with_context(|| format!("backing up {}", path.display()))?;
    }
    Ok(backup)
}

/// `policy`: prints every IAM policy document, from the learner's step 1 (or the solution's).
pub fn policy(solution: bool, account: Option<String>, region: Option<String>, bucket: Option<String>) -> Result<()> {
    let step = steps::find("step-1")?;
    let mut command = crate::cargo::cargo();
    command.args([
        "run",
        "--quiet",
        "--package",
        step.package(solution),
        "--bin",
        "policies",
        "--",
    ]);
    command.args([account, region, bucket].into_iter().map_while(|arg| arg));
    let status = command.status()?;
    if !status.success() {
        bail!("printing the policies failed; `cargo xtask check step-1` says why");
    }
    Ok(())
}

pub fn relative(path: &Path) -> &Path {
    path.strip_prefix(root()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::hint_for;

    #[test]
    fn the_hint_follows_the_failing_test() {
        let hints = [
            "Start with `telemetric_stream()`.",
            "Each policy (`producer_policy`) is ...",
            "`ensure_stream`: ...",
        ]
        .map(str::to_owned);
        assert_eq!(
            hint_for(&hints, "ensure_stream_twice_changes_nothing"),
            Some("`ensure_stream`: ...")
        );
        assert_eq!(
            hint_for(&hints, "producer_policy_puts_records"),
            Some("Each policy (`producer_policy`) is ...")
        );
        assert_eq!(
            hint_for(&hints, "every_policy_is_least_privilege"),
            Some("Each policy (`producer_policy`) is ...")
        );
        assert_eq!(
            hint_for(&hints, "something_else"),
            Some("Start with `telemetric_stream()`.")
        );
        assert_eq!(hint_for(&[], "anything"), None);
    }
}
