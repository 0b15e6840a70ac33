//! The maintainers' and learners' tools that come from crates.io (mdBook, cargo-hakari, cargo-mutants): pinned, and installed
//! into `.lab/tools` on first use, so a fresh machine needs nothing but Rust.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cloud::state_dir;

/// A crates.io tool at one version.
pub struct Tool {
    /// The crate to `cargo install`.
    pub krate: &'static str,
    /// The executable it installs.
    pub binary: &'static str,
    pub version: &'static str,
    /// The arguments that make it print its version: `--version`, or for a cargo subcommand that insists on its
    /// subcommand's name first (cargo-mutants), `mutants --version`.
    pub version_args: &'static [&'static str],
    /// What it prints before the version number (`mdbook v`, `cargo-hakari `).
    pub version_prefix: &'static str,
    /// Said while installing: how long it takes.
    pub install_note: &'static str,
}

pub const MDBOOK: Tool = Tool {
    krate: "mdbook",
    binary: "mdbook",
    version: "0.5.4",
    version_args: &["--version"],
    version_prefix: "mdbook v",
    install_note: "a few minutes, once",
};

pub const CARGO_HAKARI: Tool = Tool {
    krate: "cargo-hakari",
    binary: "cargo-hakari",
    version: "0.9.39",
    version_args: &["--version"],
    version_prefix: "cargo-hakari ",
    install_note: "about two minutes, once",
};

/// Mutation testing (`cargo xtask mutants`): the release the steps' figures in CONTRIBUTING were measured with.
pub const CARGO_MUTANTS: Tool = Tool {
    krate: "cargo-mutants",
    binary: "cargo-mutants",
    version: "27.1.0",
    version_args: &["mutants", "--version"],
    version_prefix: "cargo-mutants ",
    install_note: "about three minutes, once",
};

fn version_of(program: &Path, args: &[&str], prefix: &str) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    Some(text.trim().trim_start_matches(prefix).to_owned())
}

impl Tool {
    /// The pinned tool: from PATH if it is that version, else from `.lab/tools`, installing it there first.
    pub fn path(&self) -> Result<PathBuf> {
        let on_path = PathBuf::from(self.binary);
        if version_of(&on_path, self.version_args, self.version_prefix).as_deref() == Some(self.version) {
            return Ok(on_path);
        }
        let tools = state_dir().join("tools");
        let local = tools.join("bin").join(self.binary);
        if version_of(&local, self.version_args, self.version_prefix).as_deref() != Some(self.version) {
            eprintln!(
                "installing {} {} into {} ({})",
                self.krate,
                self.version,
                tools.display(),
                self.install_note
            );
            let status = crate::cargo::cargo()
                .args([
                    "install",
                    self.krate,
                    "--locked",
                    "--quiet",
                    "--version",
                    self.version,
                    "--root",
                ])
                .arg(&tools)
                .status()?;
            if !status.success() {
                bail!(
                    "`cargo install {} --version {}` failed (see above)",
                    self.krate,
                    self.version
                );
            }
        }
        Ok(local)
    }
}
