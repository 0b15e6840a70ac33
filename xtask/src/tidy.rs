//! Tidy checks, run as tests (`cargo test -p xtask`, part of `cargo xtask verify`): the rules that keep the
//! workshop's pieces in agreement, so that adding a step cannot silently break one of them.

use crate::hints;
use crate::starter;
use crate::steps::{self, root};
use std::path::{Path, PathBuf};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn manifest(dir: &Path) -> toml::Table {
    read(&dir.join("Cargo.toml"))
        .parse()
        .unwrap_or_else(|error| panic!("{}/Cargo.toml: {error}", dir.display()))
}

#[test]
fn the_step_table_matches_the_crates() {
    let steps = steps::load().unwrap();
    let workspace = manifest(&root());
    let members: Vec<&str> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    for (index, step) in steps.iter().enumerate() {
        assert_eq!(
            step.id,
            format!("step-{}", index + 1),
            "steps are numbered from 1, in order"
        );

        let starter = manifest(&step.starter_dir());
        let solution = manifest(&step.solution_dir());
        assert_eq!(
            starter["package"]["name"].as_str(),
            Some(step.starter.as_str()),
            "{}: starter package",
            step.id
        );
        assert_eq!(
            solution["package"]["name"].as_str(),
            Some(step.solution.as_str()),
            "{}: solution package",
            step.id
        );
        assert_eq!(
            starter["lib"]["name"], solution["lib"]["name"],
            "{}: starter and solution must share a [lib] name so one test file serves both",
            step.id
        );
        for dir in [format!("steps/{}", step.id), format!("solutions/{}", step.id)] {
            assert!(members.contains(&dir.as_str()), "{dir} is not a workspace member");
        }

        // The solution runs the starter's test files, not copies of them.
        let tests: Vec<String> = solution
            .get("test")
            .and_then(|t| t.as_array())
            .map(|tests| {
                tests
                    .iter()
                    .filter_map(|t| t["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !step.test_files().is_empty(),
            "{}: steps/{}/tests has no test file",
            step.id,
            step.id
        );
        for file in step.test_files() {
            let name = file.file_name().unwrap().to_string_lossy();
            let expected = format!("../../steps/{}/tests/{name}", step.id);
            assert!(
                tests.contains(&expected),
                "{}: the solution's Cargo.toml needs a [[test]] with path {expected}",
                step.id
            );
        }
        assert!(
            !step.solution_dir().join("tests").exists(),
            "{}: tests live in steps/{}/tests only, shared by both crates",
            step.id,
            step.id
        );
    }
}

#[test]
fn starters_are_their_solutions_minus_the_bodies() {
    for step in steps::load().unwrap() {
        let src = step.starter_dir().join("src");
        let generated = starter::starter_files(&step.solution_dir()).unwrap();
        let on_disk = starter::rust_files(&src).unwrap();
        assert_eq!(
            on_disk.len(),
            generated.len(),
            "{}: the starter and the solution have different files",
            step.id
        );
        for (path, text) in generated {
            assert!(
                read(&src.join(&path)) == text,
                "steps/{}/src/{} is not its solution minus the bodies. Maintainers: `cargo xtask starters`. \
                 Learners: this is your work in progress; `cargo xtask reset {}` would restore the starter.",
                step.id,
                path.display(),
                step.id
            );
        }
    }
}

#[test]
fn every_step_has_a_chapter_in_the_book() {
    let summary = read(&root().join("book/src/SUMMARY.md"));
    for step in steps::load().unwrap() {
        assert!(
            step.chapter_path().exists(),
            "{}: chapter book/src/{} is missing",
            step.id,
            step.chapter
        );
        assert!(
            summary.contains(&format!("]({})", step.chapter)),
            "{}: SUMMARY.md does not list {}",
            step.id,
            step.chapter
        );
        let chapter = read(&step.chapter_path());
        assert!(
            chapter.contains(&format!("cargo xtask check {}", step.id)),
            "{}: the chapter says how to check",
            step.id
        );
    }
}

/// Each step chapter shows its mechanism in a picture of its own, `images/mechanism-<step>.svg`, with alt text.
#[test]
fn every_step_chapter_shows_its_mechanism() {
    for step in steps::load().unwrap() {
        let picture = format!("images/mechanism-{}.svg", step.id);
        assert!(
            root().join("book/src").join(&picture).exists(),
            "{}: book/src/{picture} is missing",
            step.id
        );
        let chapter = read(&step.chapter_path());
        let shown = chapter
            .lines()
            .any(|line| line.starts_with("![") && !line.starts_with("![]") && line.ends_with(&format!("]({picture})")));
        assert!(
            shown,
            "{}: book/src/{} shows {picture} with alt text",
            step.id, step.chapter
        );
    }
}

/// A starter quiets only the lints its generated code trips until the learner fills in the `todo!()`s, never the
/// whole `unused` group, which would also hide the learner's own mistakes.
#[test]
fn starters_allow_only_the_lints_their_todos_trip() {
    let expected = ["dead_code", "unused_imports", "unused_variables"];
    for step in steps::load().unwrap() {
        let manifest = manifest(&step.starter_dir());
        let lints = manifest
            .get("lints")
            .and_then(|lints| lints.get("rust"))
            .and_then(|rust| rust.as_table())
            .cloned()
            .unwrap_or_default();
        for (lint, level) in &lints {
            assert!(
                expected.contains(&lint.as_str()),
                "{}: steps/{}/Cargo.toml sets {lint} = {level}; a starter may allow only {expected:?}",
                step.id,
                step.id
            );
        }
    }
}

/// `check` after an edit builds and runs only what tests something: a step crate's library has no doc tests, and a
/// binary without unit tests (`#[cfg(test)]`) has no test harness (`test = false`) — else rustdoc and one harness per
/// binary run for nothing at every edit.
#[test]
fn step_crates_build_no_test_harness_that_tests_nothing() {
    for step in steps::load().unwrap() {
        for dir in [step.starter_dir(), step.solution_dir()] {
            let manifest = manifest(&dir);
            let lib = manifest.get("lib").and_then(|lib| lib.as_table());
            assert!(
                lib.and_then(|lib| lib.get("doctest")).and_then(|d| d.as_bool()) == Some(false),
                "{}/Cargo.toml: [lib] needs `doctest = false`",
                dir.display()
            );
            let bins = manifest
                .get("bin")
                .and_then(|bins| bins.as_array())
                .cloned()
                .unwrap_or_default();
            for bin in bins {
                let path = bin.get("path").and_then(|p| p.as_str()).unwrap_or("src/main.rs");
                let has_unit_tests = read(&dir.join(path)).contains("#[cfg(test)]");
                let harness = bin.get("test").and_then(|t| t.as_bool()).unwrap_or(true);
                assert!(
                    has_unit_tests || !harness,
                    "{}/Cargo.toml: the binary {path} has no unit tests: give it `test = false`",
                    dir.display()
                );
            }
        }
    }
}

/// Every step crate links `check`'s shared library when built with its `fast-link` feature (xtask/src/fast_link.rs):
/// the feature names the library, and the crate uses it — an unused dependency is not linked at all, and `check`
/// would then link that step statically, slowly, without saying so.
#[test]
fn step_crates_link_checks_shared_library_with_their_fast_link_feature() {
    for step in steps::load().unwrap() {
        for dir in [step.starter_dir(), step.solution_dir()] {
            let manifest = manifest(&dir);
            let feature = manifest
                .get("features")
                .and_then(|features| features.get(crate::fast_link::FEATURE))
                .and_then(|feature| feature.as_array())
                .map(|items| items.iter().filter_map(|item| item.as_str()).collect::<Vec<_>>());
            assert_eq!(
                feature,
                Some(vec!["dep:lab-fastlink"]),
                "{}/Cargo.toml: needs `[features] fast-link = [\"dep:lab-fastlink\"]`",
                dir.display()
            );
            let dependency = manifest.get("dependencies").and_then(|deps| deps.get("lab-fastlink"));
            assert!(
                dependency.and_then(|d| d.get("optional")).and_then(|o| o.as_bool()) == Some(true),
                "{}/Cargo.toml: needs `lab-fastlink = {{ workspace = true, optional = true }}` in [dependencies]",
                dir.display()
            );
            let given = read(&dir.join("src/given/mod.rs"));
            assert!(
                given.contains("#[cfg(feature = \"fast-link\")]\nuse lab_fastlink as _;"),
                "{}/src/given/mod.rs: needs `#[cfg(feature = \"fast-link\")] use lab_fastlink as _;`",
                dir.display()
            );
        }
    }
}

/// The book shows tested code only: it includes from `solutions/` (by anchor), never from a learner's crate.
#[test]
fn the_book_includes_only_solution_code() {
    for path in crate::files::with_extension(&root().join("book/src"), "md").unwrap() {
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            // Included code must sit in a fenced block, or mdBook renders it as a paragraph of prose.
            if line.starts_with("{{#include") && line.contains(".rs") {
                let fenced = index > 0 && lines[index - 1].starts_with("```") && lines.get(index + 1) == Some(&"```");
                assert!(
                    fenced,
                    "{}:{}: put the include in a ```rust,noplayground block",
                    path.display(),
                    index + 1
                );
            }
            for include in line.split("{{#include ").skip(1) {
                let target = include.split("}}").next().unwrap_or("");
                assert!(
                    target.contains("solutions/") || !target.ends_with(".rs") && !target.contains(".rs:"),
                    "{}: includes {target}; include Rust code from solutions/ only",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn readme_and_ci_share_the_test_command() {
    let readme = read(&root().join("README.md"));
    let ci = read(&root().join(".ci/run"));
    assert!(readme.contains("cargo xtask lab"), "the README shows the main job");
    assert!(
        readme.contains("cargo xtask verify"),
        "the README shows the test command"
    );
    assert!(
        ci.contains("cargo xtask verify"),
        ".ci/run runs the README's test command"
    );
}

/// xtask must keep working while a learner's step does not compile, so it never depends on a step crate.
#[test]
fn xtask_depends_on_no_step_crate() {
    let xtask = read(&root().join("xtask/Cargo.toml"));
    for step in steps::load().unwrap() {
        for package in [&step.starter, &step.solution] {
            assert!(!xtask.contains(&format!("\n{package}")), "xtask depends on {package}");
        }
    }
    // lab-cloud links the AWS SDK; xtask talks to it through `lab-contract`'s types and runs it as a process.
    assert!(!xtask.contains("\nlab-cloud"), "xtask depends on lab-cloud");
}

/// `lab-contract` is linked by xtask, so it must stay as light as xtask: clap and serde, nothing that brings a step
/// or the SDK in.
#[test]
fn the_contract_depends_on_clap_and_serde_only() {
    let manifest: toml::Table = toml::from_str(&read(&root().join("xtask/contract/Cargo.toml"))).unwrap();
    let dependencies: Vec<&String> = manifest["dependencies"].as_table().unwrap().keys().collect();
    assert_eq!(dependencies, ["clap", "serde"], "lab-contract's dependencies");
    assert!(!manifest.contains_key("build-dependencies"));
}

/// Every `cargo xtask ...` command the README and the book show is one `cargo xtask` accepts, with a step that
/// exists: a renamed flag or subcommand fails here, not in front of a learner.
#[test]
fn every_command_the_book_shows_is_accepted() {
    use clap::Parser;
    let mut sources = crate::files::with_extension(&root().join("book/src"), "md").unwrap();
    sources.push(root().join("README.md"));
    let step_ids: Vec<String> = steps::load().unwrap().into_iter().map(|s| s.id).collect();
    let mut checked = 0;
    for path in sources {
        let text = read(&path);
        let mut in_block = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_block = !in_block && (trimmed.starts_with("```console") || trimmed.starts_with("```sh"));
                continue;
            }
            let Some(rest) = trimmed.strip_prefix("cargo xtask ").filter(|_| in_block) else {
                continue;
            };
            // A shell comment is not an argument; `step-N` stands for any step.
            let rest = rest.split(" #").next().unwrap_or_default().trim();
            let args: Vec<String> = rest.split_whitespace().map(|a| a.replace("step-N", "step-1")).collect();
            let parsed = crate::Cli::try_parse_from(std::iter::once("cargo xtask".to_owned()).chain(args.clone()));
            assert!(
                parsed.is_ok(),
                "{}: `cargo xtask {rest}` is not a command xtask accepts:\n{}",
                path.display(),
                parsed.err().map(|e| e.to_string()).unwrap_or_default()
            );
            for arg in args.iter().filter(|a| a.starts_with("step-")) {
                assert!(step_ids.contains(arg), "{}: `{rest}` names no step", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} commands found: is the book's console fencing still ```console?"
    );
}

/// Every learner function (a `// learner:` one of the solution) has one hint entry, every entry names one, and each
/// entry has its three levels: the table is the one source of the hints.
#[test]
fn every_learner_function_has_its_graded_hints_and_no_other_function_does() {
    for step in steps::load().unwrap() {
        let functions: Vec<String> = hints::learner_functions(&step)
            .unwrap()
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        let hinted: Vec<String> = step.hints.iter().map(|hint| hint.function.clone()).collect();
        for function in &functions {
            let entries = hinted.iter().filter(|name| *name == function).count();
            assert_eq!(
                entries, 1,
                "{}: `{function}` (a learner function) needs exactly one [[step.hint]] in steps/steps.toml",
                step.id
            );
        }
        for hint in &step.hints {
            assert!(
                functions.contains(&hint.function),
                "{}: steps/steps.toml hints at `{}`, which is no `// learner:` function of solutions/{}/src (they \
                 are: {})",
                step.id,
                hint.function,
                step.id,
                functions.join(", ")
            );
            let code = hints::solution_body(&step, &hint.function).unwrap();
            for (level, text) in [&hint.idea, &hint.approach, &code].into_iter().enumerate() {
                assert!(
                    !text.trim().is_empty(),
                    "{}: `{}` has no level {} hint",
                    step.id,
                    hint.function,
                    level + 1
                );
            }
            // Level 1 is the idea in words: no code in it.
            assert!(
                !hint.idea.contains('`'),
                "{}: `{}`'s level 1 hint (idea) shows code; words only, the APIs belong to level 2",
                step.id,
                hint.function
            );
        }
    }
}

/// Each test of a step names the function it exercises (a hint entry's `tests`) or is a test of given code
/// (`given_tests`), once; each name listed is a test of the step. So a failing test always leads `check` to the right
/// hint, and every `todo!()` of a starter is reached by at least one test (the entry of its function lists one).
#[test]
fn every_test_leads_to_a_learner_function_and_every_todo_is_reached_by_a_test() {
    for step in steps::load().unwrap() {
        let tests = step.tests_in_order();
        assert!(!tests.is_empty(), "{}: no test found", step.id);
        for test in &tests {
            let claims = step.hints.iter().filter(|hint| hint.tests.contains(test)).count()
                + usize::from(step.given_tests.contains(test));
            assert_eq!(
                claims, 1,
                "{}: test `{test}` must be listed once in steps/steps.toml: in the `tests` of the [[step.hint]] of \
                 the function it exercises, or in `given_tests` if it tests given code",
                step.id
            );
        }
        let listed = step.hints.iter().flat_map(|hint| &hint.tests).chain(&step.given_tests);
        for name in listed {
            assert!(
                tests.contains(name),
                "{}: steps/steps.toml lists `{name}`, which is no test of steps/{}/tests",
                step.id,
                step.id
            );
        }
        for hint in &step.hints {
            assert!(
                !hint.tests.is_empty(),
                "{}: no test reaches `{}`'s todo!(): list its tests in its [[step.hint]]",
                step.id,
                hint.function
            );
        }
    }
}

/// The chapters' hint blocks are the table's, rendered: nothing is written twice.
#[test]
fn each_chapters_hints_are_generated_from_the_table() {
    for step in steps::load().unwrap() {
        let chapter = read(&step.chapter_path());
        let regenerated = hints::with_block(&chapter, &hints::chapter_block(&step))
            .unwrap_or_else(|error| panic!("book/src/{}: {error}", step.chapter));
        assert!(
            regenerated == chapter,
            "book/src/{}: its hints differ from steps/steps.toml. Edit the table, then `cargo xtask starters`",
            step.chapter
        );
        assert_eq!(
            chapter.matches(hints::BEGIN).count(),
            1,
            "book/src/{}: one hint block",
            step.chapter
        );
    }
}

/// A chapter read as a file (the README points at `book/`) shows its includes as bare lines and every hint open:
/// before its first include, an HTML comment (invisible in the served book) says so and how to read it served.
#[test]
fn each_chapter_tells_a_reader_of_the_raw_file_how_to_read_it() {
    for step in steps::load().unwrap() {
        let chapter = read(&step.chapter_path());
        let note = chapter.find("<!-- Reading this file as it is?");
        let include = chapter.find("{{#include");
        assert!(
            note.is_some() && (include.is_none() || note < include),
            "book/src/{}: before its first include, a comment for whoever reads the file itself (see step 1's)",
            step.chapter
        );
        let note = &chapter[note.unwrap()..];
        assert!(
            note[..note.find("-->").unwrap()].contains("cargo xtask book --serve"),
            "book/src/{}: the comment says how to read the book served",
            step.chapter
        );
    }
}

/// The chapters' order: the task, checking it, the hints, then the solution, collapsed, so that the solution is
/// never the next thing after the task.
#[test]
fn each_chapter_puts_check_your_work_before_the_hints_and_the_solution_collapsed_after_them() {
    for step in steps::load().unwrap() {
        let chapter = read(&step.chapter_path());
        let at = |needle: &str| {
            chapter
                .find(needle)
                .unwrap_or_else(|| panic!("book/src/{}: no `{needle}`", step.chapter))
        };
        let (task, check, hints, solution) = (
            at("\n## The task"),
            at("\n## Check your work"),
            at(hints::BEGIN),
            at("\n## The solution"),
        );
        assert!(
            task < check && check < hints && hints < solution,
            "book/src/{}: the order is the task, check your work, the hints, the solution",
            step.chapter
        );
        let after = &chapter[solution..];
        let section = after[1..].find("\n## ").map_or(after, |end| &after[..end + 1]);
        assert!(
            section.contains("<details>") && section.contains("</details>"),
            "book/src/{}: the solution is collapsed in a <details>",
            step.chapter
        );
    }
}

/// This machine's platform as rustc names it (`x86_64-unknown-linux-gnu`): the one whose crates a build downloads.
fn host_platform() -> String {
    let output = std::process::Command::new("rustc")
        .args(["--print", "host-tuple"])
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        _ => panic!("`rustc --print host-tuple` failed: is rustc on PATH?"),
    }
}

/// The workspace resolves from Cargo.lock as it is: a dependency change that needs the lock file updated fails here,
/// not in a learner's first build (`--locked`). For this machine's platform only (`--filter-platform`), and allowed
/// to fetch what it lacks: a fresh machine has only what a build downloaded, which is the host's crates, and a test
/// must not depend on what an earlier build happened to fetch (issue #26: `--offline` failed on a fresh machine,
/// wanting `android_system_properties`).
#[test]
fn the_workspace_builds_with_the_lock_file_as_it_is() {
    let host = host_platform();
    let output = crate::cargo::cargo()
        .args([
            "metadata",
            "--locked",
            "--filter-platform",
            &host,
            "--format-version",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`cargo metadata --locked --filter-platform {host}` fails: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The files a learner edits hold what they write and little else (issue #17): at most [`MAX_LEARNER_FILE_LINES`]
/// lines, a third or more of them inside the bodies of their `// learner:` functions. Machinery goes to the step's
/// `src/given/` or to `steps/support` (CONTRIBUTING.md, "Anatomy of a step").
#[test]
fn each_learner_file_is_short_and_mostly_the_learners() {
    const MAX_LEARNER_FILE_LINES: usize = 220;
    for step in steps::load().unwrap() {
        let src = step.solution_dir().join("src");
        let mut files: Vec<PathBuf> = hints::learner_functions(&step)
            .unwrap()
            .into_iter()
            .map(|(file, _)| file)
            .collect();
        files.dedup();
        assert!(!files.is_empty(), "{}: no file has a `// learner:` function", step.id);
        for file in files {
            let text = read(&src.join(&file));
            let marked = hints::marked_functions(&text).unwrap();
            let written: usize = hints::functions(&text)
                .unwrap()
                .iter()
                .filter(|function| marked.contains(&function.name))
                .map(|function| function.last_line - function.body_line - 1)
                .sum();
            let lines = text.lines().count();
            let place = format!("solutions/{}/src/{}", step.id, file.display());
            assert!(
                lines <= MAX_LEARNER_FILE_LINES,
                "{place}: {lines} lines; a learner's file holds at most {MAX_LEARNER_FILE_LINES}: move given code to \
                 src/given/"
            );
            assert!(
                3 * written >= lines,
                "{place}: the learner writes {written} of its {lines} lines, under a third: move given code to \
                 src/given/"
            );
        }
    }
}
