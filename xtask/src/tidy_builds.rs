//! Tidy checks on build cost: each shared crate is built once. Cargo builds a crate again for every version and every
//! set of features it is asked for, and the AWS SDK is most of the build, so a second copy costs minutes and
//! gigabytes. Two ways to get one back, each caught here with the fix in its message:
//! - a second *version* in `Cargo.lock` (a default feature bringing the SDK's legacy HTTP stack, say);
//! - a second *feature set*: `cargo test -p A` and `cargo build -p B --bins` resolving different features of the same
//!   crate. The workspace-hack crate (`xtask/workspace-hack`, made by cargo-hakari) asks every member for the union,
//!   so that every selection of packages resolves the same features.

use crate::steps::root;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Crates whose second copy would cost real build time (names, or name prefixes ending in `-`).
#[rustfmt::skip]
const HEAVY: &[&str] = &[
    "aws-sdk-", "aws-smithy-", "aws-config", "aws-runtime", "aws-types", "aws-sigv4", "aws-lc-", "tokio", "hyper",
    "h2", "http", "rustls", "tower", "serde", "lambda_runtime", "aws_lambda_events", "ring",
];

fn is_heavy(name: &str) -> bool {
    HEAVY.iter().any(|heavy| match heavy.strip_suffix('-') {
        Some(prefix) => name.starts_with(prefix) && name[prefix.len()..].starts_with('-'),
        None => name == *heavy || name.starts_with(&format!("{heavy}-")),
    })
}

/// The second versions that are allowed, each with the only crates that may ask for it: `http` 0.2 and `http-body`
/// 0.4, the types alone (no hyper 0.14, rustls 0.21 nor h2 0.3), which aws-smithy-types builds for its
/// `http-body-0-4-x` feature. aws-sdk-cloudwatch asks for that feature in every release since 1.100 (its request
/// compression), and the local cloud's CloudWatch is tested with it; the two small crates add a few seconds to a
/// cold build, not a second HTTP stack.
const ALLOWED_SECOND_VERSIONS: &[(&str, &str, &[&str])] = &[
    ("http", "0.2.", &["aws-smithy-types", "http-body"]),
    ("http-body", "0.4.", &["aws-smithy-types"]),
];

/// Whether `name`'s older version `version` is one [`ALLOWED_SECOND_VERSIONS`] allows, and only the crates it names
/// ask for it in the lock file.
fn allowed_second(lock: &toml::Table, name: &str, version: &str) -> bool {
    let Some((_, _, askers)) = ALLOWED_SECOND_VERSIONS
        .iter()
        .find(|(allowed, prefix, _)| *allowed == name && version.starts_with(prefix))
    else {
        return false;
    };
    let wanted = format!("{name} {version}");
    lock["package"].as_array().into_iter().flatten().all(|package| {
        let asks = package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .is_some_and(|deps| deps.iter().any(|dep| dep.as_str() == Some(wanted.as_str())));
        !asks || askers.contains(&package["name"].as_str().unwrap_or_default())
    })
}

#[test]
fn the_lock_file_holds_one_version_of_each_heavy_crate() {
    let lock: toml::Table = std::fs::read_to_string(root().join("Cargo.lock"))
        .expect("Cargo.lock")
        .parse()
        .expect("Cargo.lock parses");
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in lock["package"].as_array().expect("[[package]] entries") {
        let name = package["name"].as_str().unwrap_or_default();
        if is_heavy(name) {
            let version = package["version"].as_str().unwrap_or_default().to_owned();
            versions.entry(name.to_owned()).or_default().insert(version);
        }
    }
    let doubled: Vec<String> = versions
        .iter()
        .filter(|(name, found)| {
            found.len() > 1 && !(found.len() == 2 && allowed_second(&lock, name, found.first().expect("two")))
        })
        .map(|(name, found)| {
            let oldest = found.iter().next().expect("two versions");
            format!("{name} {found:?} (who wants {oldest}: `cargo tree -i {name}@{oldest} --workspace`)")
        })
        .collect();
    assert!(
        doubled.is_empty(),
        "Cargo.lock holds two versions of: {doubled:#?}\nEach is compiled separately. If it is the legacy HTTP stack \
         (hyper 0.14, rustls 0.21, h2 0.3, http 0.2), a crate was added with its default features: give it \
         `default-features = false` and the SDK's `default-https-client` + `rt-tokio` as in the root Cargo.toml; \
         if an SDK crate, pick the version on the same smithy crates as the others (`cargo update -p X --precise V`)."
    );
}

/// What one cargo selection resolves: for each crate (`name vX.Y.Z`), the features it is built with.
fn resolved_features(package: &str, with_dev: bool) -> BTreeMap<String, BTreeSet<String>> {
    let edges = if with_dev { "normal,build,dev" } else { "normal,build" };
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root())
        .args(["tree", "--locked", "-p", package, "-e", edges])
        .args(["--prefix", "none", "--format", "{p}|{f}"])
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((crate_id, features)) = line.split_once('|') else {
            continue;
        };
        // Workspace members are built per package anyway; what matters is the registry crates they share.
        if crate_id.contains(" (/") || !is_heavy(crate_id.split(' ').next().unwrap_or_default()) {
            continue;
        }
        found
            .entry(crate_id.to_owned())
            .or_default()
            .insert(features.to_owned());
    }
    found
}

/// The workspace members whose builds share the SDK: every member but xtask and its contract crate, which build
/// alone (and must stay small: xtask never links the SDK or a step).
fn sdk_members() -> Vec<String> {
    let workspace: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("Cargo.toml parses");
    let members = workspace["workspace"]["members"].as_array().expect("members");
    members
        .iter()
        .filter_map(|member| member.as_str())
        .filter(|member| !matches!(*member, "xtask" | "xtask/contract"))
        .map(|member| {
            let manifest: toml::Table = std::fs::read_to_string(root().join(member).join("Cargo.toml"))
                .expect("a member's Cargo.toml")
                .parse()
                .expect("a member's Cargo.toml parses");
            manifest["package"]["name"].as_str().expect("package name").to_owned()
        })
        .collect()
}

#[test]
fn every_build_resolves_one_feature_set_of_each_heavy_crate() {
    // (crate) -> (feature set) -> the builds that ask for it
    let mut seen: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for package in sdk_members() {
        for with_dev in [false, true] {
            let build = format!(
                "{} {package}",
                if with_dev { "cargo test -p" } else { "cargo build -p" }
            );
            for (crate_id, feature_sets) in resolved_features(&package, with_dev) {
                for features in feature_sets {
                    seen.entry(crate_id.clone())
                        .or_default()
                        .entry(features)
                        .or_default()
                        .push(build.clone());
                }
            }
        }
    }
    let split: Vec<String> = seen
        .iter()
        .filter(|(_, sets)| sets.len() > 1)
        .map(|(crate_id, sets)| {
            let sets: Vec<String> = sets
                .iter()
                .map(|(features, builds)| format!("  [{features}] in {} build(s), e.g. `{}`", builds.len(), builds[0]))
                .collect();
            format!("{crate_id}:\n{}", sets.join("\n"))
        })
        .collect();
    assert!(
        split.is_empty(),
        "these crates are built more than once, with different features, depending on which package is built:\n{}\n\
         Regenerate the workspace-hack crate so that every member asks for the same features: \
         `cargo xtask workspace-hack` (see CONTRIBUTING, \"Build times\").",
        split.join("\n")
    );
}

#[test]
fn heavy_names_are_matched_whole() {
    assert!(is_heavy("aws-sdk-kinesis") && is_heavy("tokio") && is_heavy("tokio-macros") && is_heavy("hyper-util"));
    assert!(is_heavy("http") && is_heavy("http-body") && is_heavy("aws-lc-sys"));
    assert!(!is_heavy("httparse"), "a name is matched whole or up to a dash");
    assert!(!is_heavy("tokiox") && !is_heavy("serdex") && !is_heavy("aws-sdkfoo"));
}
