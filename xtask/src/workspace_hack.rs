//! `cargo xtask workspace-hack`: regenerates `xtask/workspace-hack` with cargo-hakari (pinned, in `.lab/tools`).
//!
//! Run it after adding or changing a dependency: it recomputes the union of the features every member asks for
//! (settings in `.config/hakari.toml`) and adds the `workspace-hack` line to any new member. The tidy test
//! `every_build_resolves_one_feature_set_of_each_heavy_crate` says when it is needed.

use anyhow::{Context, Result, bail};

use std::process::Command;

use crate::tools::CARGO_HAKARI;

pub fn run() -> Result<()> {
    let hakari = CARGO_HAKARI.path()?;
    // cargo-hakari is a cargo subcommand: run directly, its first argument is the subcommand's name.
    for step in [&["hakari", "generate"][..], &["hakari", "manage-deps", "--yes"][..]] {
        let status = Command::new(&hakari)
            .args(step)
            .current_dir(crate::steps::root())
            .status()
            .with_context(|| format!("running cargo-hakari {}", step[1]))?;
        if !status.success() {
            bail!("`cargo hakari {}` failed (see above)", step[1..].join(" "));
        }
    }
    eprintln!("workspace-hack: up to date; commit xtask/workspace-hack/Cargo.toml and any member it added a line to");
    Ok(())
}
