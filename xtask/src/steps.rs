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
    pub hints: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    step: Vec<Step>,
}

/// The repository's root (the workspace `xtask` belongs to).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
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
