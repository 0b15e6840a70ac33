//! The learner's loop: `list`, `check`, `hint`, `solve`, `reset`, `policy`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

use crate::cargo::{TestResult, Verdict, build_tests, run_tests};
use crate::cloud;
use crate::fast_link;
use crate::hints::{self, Progress};
use crate::starter;
use crate::steps::{self, Hint, LEVELS, Step, root};

/// How many of a step's tests run at once when they talk to the local cloud. They spend most of their time waiting
/// for it (a stream's transitions, a batch's way through a mapping), not computing, so more than the cores overlap
/// those waits: every test names its resources uniquely, and a test that logs reads only its own thread's lines.
const CLOUD_TEST_THREADS: usize = 8;

/// Builds a step's tests, then runs them (with the local cloud up while they run, if they need it).
/// `announce`: say which local cloud the tests use (`check` does; `list --status` stays one line a step).
pub fn test_step(step: &Step, solution: bool, announce: bool) -> Result<Verdict> {
    let package = step.package(solution);
    // The first check on a fresh clone installs the emulator (pip, ~30 s) while cargo builds, not after it.
    let installing = step.needs_cloud.then(|| std::thread::spawn(cloud::install));
    let fast_link = fast_link::available();
    let finding_std = fast_link.then(|| std::thread::spawn(fast_link::standard_library_dir));
    let built = build_tests(package, fast_link)?;
    if let Some(installing) = installing {
        installing.join().expect("the emulator's installer does not panic")?;
    }
    let standard_library = finding_std
        .map(|finding| finding.join().expect("asking rustc does not panic"))
        .transpose()?;
    let binaries = match built {
        Ok(binaries) => binaries,
        Err(errors) => return Ok(Verdict::DoesNotCompile { errors }),
    };
    // Where the executables find the shared libraries they were linked against.
    let mut link_env = vec![];
    if let (Some(deps), Some(standard_library)) = (
        binaries.first().and_then(|binary| binary.executable.parent()),
        standard_library,
    ) {
        link_env = fast_link::runtime_env(deps, standard_library)?;
    }
    if step.needs_cloud {
        let session = cloud::Session::open()?;
        if announce {
            println!("{}\n", session.describe());
        }
        let mut env = session.cloud.env();
        env.push(("RUST_TEST_THREADS".to_owned(), CLOUD_TEST_THREADS.to_string()));
        env.extend(link_env);
        let verdict = run_tests(&binaries, &env)?;
        if let Verdict::Tested { results, .. } = &verdict {
            let failed = results.iter().filter(|result| !result.passed).count();
            let mut count = u32::try_from(failed).unwrap_or(u32::MAX);
            if results
                .iter()
                .any(|result| !result.passed && at_shard_quota(&result.message))
            {
                // Nothing the learner can fix in their code: the next check gets a fresh cloud.
                count = u32::MAX;
            }
            session.count_failures(count)?;
        }
        Ok(verdict)
    } else {
        run_tests(&binaries, &link_env)
    }
}

/// Whether a test failed because the local cloud's account had no shards left: AWS's quota (500 in us-east-1),
/// which the front door enforces, counts the streams earlier checks left behind too.
fn at_shard_quota(message: &str) -> bool {
    message.contains("LimitExceededException") && message.contains("exceed the shard limit for the account")
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
    let dir = checked_dir(&step, solution);
    println!("{} · {}  ({})", step.id, step.title, relative(&dir).display());
    println!();

    let (passed, failing) = match test_step(&step, solution, true)? {
        Verdict::DoesNotCompile { errors } => {
            println!("{} does not compile yet. The compiler's first error:\n", step.id);
            let first = errors.first().map(String::as_str).unwrap_or("(no message)");
            println!("{}", first.trim_end());
            // The library and its tests are built apart, and each reports an error in the library: count it once.
            let mut distinct: Vec<&String> = errors.iter().collect();
            distinct.sort();
            distinct.dedup();
            if distinct.len() > 1 {
                println!(
                    "\n({} more {}: fix this one first; the others often go with it.)",
                    distinct.len() - 1,
                    if distinct.len() == 2 { "error" } else { "errors" }
                );
            }
            // The hint of the function the error is in; an error elsewhere (a test, given code) gets none.
            let hint = hints::function_of_error(&step, &dir, first);
            print_hint(&step, hint);
            (false, hint)
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
                    (true, None)
                }
                Some(next) => {
                    println!("\nNext: make `{}` pass. It says:", next.name);
                    for line in next.message.lines() {
                        println!("    {line}");
                    }
                    if at_shard_quota(&next.message) {
                        // Not the learner's code: no hint about it, and the hint levels stay where they were.
                        println!(
                            "(The local cloud's account is out of shards: AWS's quota counts every open stream there, \
                             those earlier checks left behind too. The next check starts a fresh check cloud; a cloud \
                             `cargo xtask cloud up` keeps is emptied by `cargo xtask cloud down`.)"
                        );
                        return Ok(false);
                    }
                    if step.given_tests.contains(&next.name) {
                        println!(
                            "(This test checks code the step gives you: it fails when something it uses is not done \
                             yet, or was changed.)"
                        );
                    }
                    let hint = step.hint_for_test(&next.name);
                    print_hint(&step, hint);
                    (false, hint)
                }
            }
        }
    };
    if !solution {
        let progress = hints::after_check(hints::read_progress(&step), failing.map(|hint| hint.function.as_str()));
        hints::write_progress(&step, progress.as_ref())?;
    }
    Ok(passed)
}

/// The crate `check` tests: the learner's, or the solution.
fn checked_dir(step: &Step, solution: bool) -> PathBuf {
    if solution {
        step.solution_dir()
    } else {
        step.starter_dir()
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

fn print_hint(step: &Step, hint: Option<&Hint>) {
    if let Some(hint) = hint {
        println!("\nHint 1 for `{}`, {}:", hint.function, LEVELS[0]);
        println!("{}", hints::wrap(&hint.idea, 100, "    "));
        println!("(The next level: `cargo xtask hint {}`.)", step.id);
    }
    println!(
        "(The chapter: {}. Stuck? `cargo xtask solve {}`.)",
        relative(&step.chapter_path()).display(),
        step.id
    );
}

/// `hint step-N`: the next level of the hints of the function whose test failed at the last `check` (run now when
/// there was none); `--all`: every hint, every level.
pub fn hint(id: &str, all: bool) -> Result<bool> {
    let step = steps::find(id)?;
    if all {
        println!("Hints for {} · {}", step.id, step.title);
        for hint in &step.hints {
            println!("\n`{}`", hint.function);
            for (index, name) in LEVELS.iter().enumerate() {
                println!(
                    "  {}. {name}:\n{}",
                    index + 1,
                    hints::terminal(&hints::level(&step, hint, index + 1), "     ")
                );
            }
        }
        println!("\nThe chapter: {}", relative(&step.chapter_path()).display());
        return Ok(true);
    }
    let progress = match hints::read_progress(&step) {
        Some(progress) => Some(progress),
        None => {
            println!(
                "(No failing function recorded: running {}'s tests to find it.)\n",
                step.id
            );
            current_failure(&step)?.map(|function| Progress { function, level: 0 })
        }
    };
    let Some(progress) = progress else {
        println!(
            "{}'s tests all pass: no hint needed. `--all` shows every hint anyway.",
            step.id
        );
        return Ok(true);
    };
    let Some(hint) = step.hint_for_function(&progress.function) else {
        bail!("steps/steps.toml has no hints for `{}`", progress.function);
    };
    let level = next_level(progress.level);
    println!("Hint {level} for `{}`, {}:", hint.function, LEVELS[level - 1]);
    println!("{}", hints::terminal(&hints::level(&step, hint, level), "    "));
    if level < LEVELS.len() {
        println!("\n(The next level: `cargo xtask hint {}` again.)", step.id);
    } else {
        println!(
            "\n(That was the last level for `{}`. The solution: `cargo xtask solve {}`; every hint: `--all`.)",
            hint.function, step.id
        );
    }
    let progress = Progress {
        function: hint.function.clone(),
        level,
    };
    hints::write_progress(&step, Some(&progress))?;
    Ok(true)
}

/// The level after `shown`, at most the last.
fn next_level(shown: usize) -> usize {
    (shown + 1).min(LEVELS.len())
}

/// The learner function of the first failing test (or of the first compile error), if any.
fn current_failure(step: &Step) -> Result<Option<String>> {
    let hint = match test_step(step, false, false)? {
        Verdict::DoesNotCompile { errors } => errors
            .first()
            .and_then(|first| hints::function_of_error(step, &step.starter_dir(), first)),
        Verdict::Tested { results, .. } => in_learning_order(step, &results)
            .iter()
            .find(|result| !result.passed)
            .and_then(|failed| step.hint_for_test(&failed.name)),
    };
    Ok(hint.map(|hint| hint.function.clone()))
}

/// The files whose change `check --watch` answers: the crate's `src/`, its `Cargo.toml` and the step's tests.
fn watched(step: &Step, solution: bool) -> Vec<PathBuf> {
    let dir = checked_dir(step, solution);
    vec![
        dir.join("src"),
        dir.join("Cargo.toml"),
        step.starter_dir().join("tests"),
    ]
}

/// Every file under `paths` with its modification time and size: comparing two of them says whether anything
/// changed, was added or was removed.
pub fn snapshot(paths: &[PathBuf]) -> std::collections::BTreeMap<PathBuf, (std::time::SystemTime, u64)> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.filter_map(|entry| entry.ok().map(|entry| entry.path())));
            }
        } else if let Ok(modified) = metadata.modified() {
            files.insert(path, (modified, metadata.len()));
        }
    }
    files
}

/// `check step-N --watch`: a check now, then one after each change (files polled every 500 ms), the screen
/// cleared before each verdict; Ctrl-C, or SIGINT or SIGTERM sent to xtask alone (an editor's stop), ends it and the
/// check it is running (see `interrupt`).
pub fn watch(id: &str, solution: bool) -> Result<bool> {
    let step = steps::find(id)?;
    let paths = watched(&step, solution);
    while !crate::interrupt::interrupted() {
        // ANSI: clear the screen, cursor to the top left.
        print!("\x1b[2J\x1b[H");
        let before = snapshot(&paths);
        check(id, solution)?;
        println!(
            "\nWatching {} for changes (Ctrl-C to stop).",
            relative(&checked_dir(&step, solution)).display()
        );
        let mut last = before;
        while !crate::interrupt::interrupted() {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let now = snapshot(&paths);
            if now != last {
                // Wait for the editor to finish writing: check once the files stop changing for one poll.
                std::thread::sleep(std::time::Duration::from_millis(200));
                last = now;
                if snapshot(&paths) == last {
                    break;
                }
            }
        }
    }
    // Interrupted: `main` says so and exits with 130.
    Ok(true)
}

/// `list`: every step, with whether the learner's crate passes (a quick check per step, no cloud needed to list).
pub fn list(with_status: bool) -> Result<()> {
    for step in steps::load()? {
        let status = if with_status {
            match test_step(&step, false, false)? {
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
    use super::{at_shard_quota, next_level, snapshot};

    #[test]
    fn a_test_refused_for_the_accounts_shard_quota_is_told_apart() {
        // The front door's refusal, as a step test's `expect` shows it (AWS's words, from kinesalite's record).
        let refused = "the local cloud creates a stream: ServiceError(ServiceError { source: \
            LimitExceededException(LimitExceededException { message: Some(\"This request would exceed the shard limit \
            for the account 123456789012 in us-east-1. Current shard count for the account: 500. Limit: 500.";
        assert!(at_shard_quota(refused));
        assert!(!at_shard_quota(
            "assertion `left == right` failed: every record sent is on the stream, once"
        ));
        assert!(!at_shard_quota(
            "LimitExceededException: Rate exceeded for stream TelemetricStream under account 123456789012."
        ));
    }

    #[test]
    fn hints_go_one_level_at_a_time_up_to_the_code() {
        assert_eq!(next_level(0), 1);
        assert_eq!(next_level(1), 2);
        assert_eq!(next_level(2), 3);
        assert_eq!(next_level(3), 3);
    }

    #[test]
    fn watch_sees_a_file_changed_added_or_removed() {
        let folder = std::env::temp_dir().join(format!("xtask-watch-{}", std::process::id()));
        let src = folder.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "fn a() {}\n").unwrap();
        std::fs::write(folder.join("Cargo.toml"), "[package]\n").unwrap();
        let paths = [src.clone(), folder.join("Cargo.toml"), folder.join("tests")];
        let first = snapshot(&paths);
        assert_eq!(first.len(), 2, "{first:?}");
        assert_eq!(snapshot(&paths), first, "nothing changed");

        std::fs::write(src.join("lib.rs"), "fn a() { 1; }\n").unwrap();
        let edited = snapshot(&paths);
        assert_ne!(edited, first, "an edit is a change");

        std::fs::create_dir_all(src.join("more")).unwrap();
        std::fs::write(src.join("more/new.rs"), "").unwrap();
        let added = snapshot(&paths);
        assert_ne!(added, edited, "a new file is a change");

        std::fs::remove_file(src.join("more/new.rs")).unwrap();
        assert_eq!(snapshot(&paths), edited, "a removed file is a change (back to before)");
        // A file outside the watched paths is not.
        std::fs::write(folder.join("notes.txt"), "x").unwrap();
        assert_eq!(snapshot(&paths), edited);
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
