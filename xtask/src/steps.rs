//! The step table (`steps/steps.toml`): the one place that says which steps exist and how to check them.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub starter: String,
    pub solution: String,
    pub chapter: String,
    pub needs_cloud: bool,
    /// The step's Lambda binary, if it has one (what `cargo xtask invoke` runs).
    #[serde(default)]
    pub lambda: Option<String>,
    /// The step's tools, which the deploy runs on this machine (built natively even for `deploy --aws`).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Tests of the code the step gives (they pass from the start): no learner function to hint at.
    #[serde(default)]
    pub given_tests: Vec<String>,
    /// The graded hints, one entry per learner function (`[[step.hint]]`).
    #[serde(rename = "hint", default)]
    pub hints: Vec<Hint>,
}

/// The hints of one learner function, by level, and the tests that exercise it (how `check` and `hint` know which
/// function a failing test is about).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    /// As the solution names it: `ensure_stream`, or `Producer::send` for a method.
    pub function: String,
    pub tests: Vec<String>,
    /// Level 1: the idea, in words, no code.
    pub idea: String,
    /// Level 2: the approach, naming the APIs and types.
    pub approach: String,
    /// Level 3 is the code: the function's body in the solution, read from it (so it cannot drift); this says
    /// what to notice in it, if anything.
    #[serde(default)]
    pub code_note: Option<String>,
}

/// The levels' names, as `check`, `hint` and the chapters show them.
pub const LEVELS: [&str; 3] = ["the idea", "the approach", "the code"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    step: Vec<Step>,
}

/// The repository's root, found at run time from the current directory (`cargo xtask` keeps the directory it was
/// typed in): a clone that is moved or renamed after it was built still finds itself, which a path baked in at
/// compile time (`env!("CARGO_MANIFEST_DIR")`) would not.
pub fn root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let here = std::env::current_dir().unwrap_or_default();
        find_root(&here).unwrap_or_else(|| {
            eprintln!(
                "error: {} is not inside the kinesis-lab repository (no steps/steps.toml above it); run `cargo \
                 xtask` from the repository",
                here.display()
            );
            std::process::exit(2)
        })
    })
    .clone()
}

/// The nearest folder at or above `start` holding the workspace's `Cargo.toml` and `steps/steps.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("steps/steps.toml").is_file())
        .map(Path::to_path_buf)
}

pub fn load() -> Result<Vec<Step>> {
    let path = root().join("steps/steps.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(table.step)
}

/// Finds a step by id; `2` and `step-2` both work.
pub fn find(id: &str) -> Result<Step> {
    let steps = load()?;
    let wanted = if id.starts_with("step-") {
        id.to_owned()
    } else {
        format!("step-{id}")
    };
    match steps.iter().find(|step| step.id == wanted) {
        Some(step) => Ok(step.clone()),
        None => {
            let known: Vec<&str> = steps.iter().map(|step| step.id.as_str()).collect();
            bail!("there is no step {id:?}; the steps are {}", known.join(", "))
        }
    }
}

impl Step {
    /// The learner's crate.
    pub fn starter_dir(&self) -> PathBuf {
        root().join("steps").join(&self.id)
    }

    pub fn solution_dir(&self) -> PathBuf {
        root().join("solutions").join(&self.id)
    }

    pub fn chapter_path(&self) -> PathBuf {
        root().join("book/src").join(&self.chapter)
    }

    /// The package to test: the learner's, or the solution.
    pub fn package(&self, solution: bool) -> &str {
        if solution { &self.solution } else { &self.starter }
    }

    /// The test files, shared by starter and solution.
    pub fn test_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.starter_dir().join("tests"))
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|path| path.extension().is_some_and(|ext| ext == "rs"));
        files.sort();
        files
    }

    /// The hint entry of the function a test exercises.
    pub fn hint_for_test(&self, test: &str) -> Option<&Hint> {
        self.hints
            .iter()
            .find(|hint| hint.tests.iter().any(|name| name == test))
    }

    pub fn hint_for_function(&self, function: &str) -> Option<&Hint> {
        self.hints.iter().find(|hint| hint.function == function)
    }

    /// Test names in the order the test files define them: the order a learner meets them.
    pub fn tests_in_order(&self) -> Vec<String> {
        let mut names = vec![];
        for file in self.test_files() {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let mut after_attribute = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    after_attribute = true;
                } else if after_attribute && let Some(name) = fn_name(line) {
                    names.push(name.to_owned());
                    after_attribute = false;
                }
            }
        }
        names
    }
}

fn fn_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("async fn ").or_else(|| line.strip_prefix("fn "))?;
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_from_any_folder_below_it_wherever_the_clone_is() {
        let scratch = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let repository = scratch.join("renamed-clone");
        std::fs::create_dir_all(repository.join("steps/step-1/src")).unwrap();
        std::fs::write(repository.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(repository.join("steps/steps.toml"), "").unwrap();
        // A crate's own Cargo.toml below the root is not the root.
        std::fs::write(repository.join("steps/step-1/Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(find_root(&repository), Some(repository.clone()));
        assert_eq!(
            find_root(&repository.join("steps/step-1/src")),
            Some(repository.clone())
        );
        assert_eq!(find_root(&scratch), None);
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn this_repository_is_found_from_the_folder_tests_run_in() {
        let root = root();
        assert!(root.join("steps/steps.toml").is_file(), "{}", root.display());
        assert!(root.join("xtask/Cargo.toml").is_file(), "{}", root.display());
    }
}
