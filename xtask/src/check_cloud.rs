//! The cloud `cargo xtask check` keeps warm: started by the first check (an emulator and, in front of it, the front
//! door), reused by the next ones, so that a check after an edit spends its seconds on the learner's tests, not on
//! starting Python and the front door again. Its record is `.lab/check-cloud.json`, its logs `.lab/check-cloud/`.
//!
//! It never outlives the learner's session: the front door stops itself, and its emulator, after
//! [`IDLE_SECONDS`] without a request (`lab-cloud serve --idle-exit-seconds`); `cargo xtask cloud down` stops it at
//! once. Only the PIDs it recorded are ever stopped, each checked to be still ours.
//!
//! Reusing it is safe because every step test names its resources uniquely (`lab_testkit::unique_name`) and already
//! passes on a cloud that holds others (`cargo xtask cloud up`'s). A failing test may leave what it made behind (moto
//! holds at most 50 delivery streams), so a cloud that has seen [`FAILURES_BEFORE_FRESH`] failed tests is replaced
//! by a fresh one; so is one started by another build of lab-cloud or with other settings.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::cloud::{self, Cloud};

/// How long the warm cloud waits for the next check before it stops itself.
pub const IDLE_SECONDS: u64 = 600;

/// How long the check cloud's streams are CREATING, UPDATING and DELETING: AWS's transitions are real and the tests
/// wait for them (step 1's `ensure_stream` asks once a second), but their length is not what any test is about.
/// `cargo xtask cloud up` and `lab` keep the local cloud's 2 s.
pub const STREAM_LIFECYCLE_MS: u64 = 500;

/// Failed tests a warm cloud may have seen before the next check gets a fresh one (what a failed test made may be
/// left there).
pub const FAILURES_BEFORE_FRESH: u32 = 20;

/// The record of the warm cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    cloud: Cloud,
    /// lab-cloud's executable, which runs its front door.
    binary: PathBuf,
    /// The lab-cloud build and settings it was started with: another one means a fresh cloud.
    started_by: String,
    /// Failed tests seen by checks on it.
    #[serde(default)]
    failures: u32,
    /// When cargo last found lab-cloud up to date (a checkout can touch its sources without changing them): sources
    /// older than that need no cargo call either.
    #[serde(default)]
    checked_at: Option<std::time::SystemTime>,
}

fn record_file() -> PathBuf {
    cloud::state_dir().join("check-cloud.json")
}

fn read_record() -> Option<Record> {
    serde_json::from_str(&std::fs::read_to_string(record_file()).ok()?).ok()
}

/// What identifies the front door a warm cloud runs: lab-cloud's executable (rebuilt: another file) and the settings.
fn started_by(lab_cloud: &std::path::Path) -> String {
    let modified = std::fs::metadata(lab_cloud)
        .and_then(|metadata| metadata.modified())
        .map(|time| format!("{time:?}"))
        .unwrap_or_default();
    format!(
        "{} {modified} lifecycle {STREAM_LIFECYCLE_MS} ms idle {IDLE_SECONDS} s",
        lab_cloud.display()
    )
}

/// Whether both processes of `cloud` still run and its front door answers.
fn alive(cloud: &Cloud) -> bool {
    cloud::is_ours(cloud) && cloud.front_door_answers()
}

/// Held while a check looks for the warm cloud or starts one, so that two checks at once share one.
fn lock() -> Result<std::fs::File> {
    let path = cloud::state_dir().join("check-cloud.lock");
    std::fs::create_dir_all(cloud::state_dir())?;
    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.lock().with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// Whether `record`'s cloud can serve this check: alive, not past its failures, and started by `binary` as it is.
fn reusable(record: &Record, binary: &std::path::Path) -> bool {
    record.failures < FAILURES_BEFORE_FRESH && record.started_by == started_by(binary) && alive(&record.cloud)
}

/// The crates lab-cloud is built from (with the lock file and the workspace's manifest).
const LAB_CLOUD_SOURCES: &[&str] = &[
    "xtask/lab-cloud",
    "xtask/contract",
    "xtask/policy",
    "xtask/workspace-hack",
    "Cargo.lock",
    "Cargo.toml",
];

/// Whether a file lab-cloud is built from changed after `binary` was written (or `binary` is gone) and after
/// `checked_at`, when cargo last found it up to date.
fn sources_newer_than(binary: &std::path::Path, checked_at: Option<std::time::SystemTime>) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|metadata| metadata.modified()) else {
        return true;
    };
    let since = checked_at.map_or(built, |checked| checked.max(built));
    let root = crate::steps::root();
    LAB_CLOUD_SOURCES
        .iter()
        .any(|source| changed_since(&root.join(source), since))
}

/// Whether `path`, or a file anywhere under it, was modified after `since`.
fn changed_since(path: &std::path::Path, since: std::time::SystemTime) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if metadata.is_dir() {
        let entries = std::fs::read_dir(path).into_iter().flatten().flatten();
        return entries.into_iter().any(|entry| changed_since(&entry.path(), since));
    }
    metadata.modified().is_ok_and(|modified| modified > since)
}

/// The warm cloud, and whether it was already running: the recorded one if it is alive, started by lab-cloud as it
/// is now, and has not seen too many failures; else a new one (what remains of the old one stopped first). Cargo
/// is asked to build lab-cloud only when a source of it is newer than the executable: otherwise it would only say,
/// a second or so later, that nothing changed.
pub fn open() -> Result<(Cloud, bool)> {
    let _lock = lock()?;
    let recorded = read_record();
    if let Some(record) = &recorded
        && !sources_newer_than(&record.binary, record.checked_at)
        && reusable(record, &record.binary)
    {
        return Ok((record.cloud.clone(), true));
    }
    let checked_at = std::time::SystemTime::now();
    let lab_cloud = crate::lab::lab_cloud_binary()?;
    if let Some(mut record) = recorded {
        if reusable(&record, &lab_cloud) {
            record.checked_at = Some(checked_at);
            std::fs::write(record_file(), serde_json::to_string(&record)?)?;
            return Ok((record.cloud, true));
        }
        cloud::stop(&record.cloud);
    }
    let started_by = started_by(&lab_cloud);
    let mut cloud = cloud::start(true)?;
    let serve = lab_contract::Serve {
        front_door_only: true,
        stream_lifecycle_ms: Some(STREAM_LIFECYCLE_MS),
        idle_exit_seconds: Some(IDLE_SECONDS),
        emulator_pid: Some(cloud.pid),
        dashboard: lab_contract::DashboardArgs {
            dashboard_port: None,
            no_dashboard: true,
        },
        ..lab_contract::Serve::default()
    };
    cloud::start_serve(&mut cloud, &lab_cloud, &cloud::state_dir().join("check-cloud"), serve)?;
    let record = Record {
        cloud: cloud.clone(),
        binary: lab_cloud,
        started_by,
        failures: 0,
        checked_at: Some(checked_at),
    };
    std::fs::write(record_file(), serde_json::to_string(&record)?)?;
    Ok((cloud, false))
}

/// Counts a check's failed tests against the warm cloud `cloud` (if it is still the recorded one).
pub fn count_failures(cloud: &Cloud, failed: u32) -> Result<()> {
    if failed == 0 {
        return Ok(());
    }
    let _lock = lock()?;
    if let Some(mut record) = read_record().filter(|record| record.cloud.pid == cloud.pid) {
        record.failures = record.failures.saturating_add(failed);
        std::fs::write(record_file(), serde_json::to_string(&record)?)?;
    }
    Ok(())
}

/// The warm cloud, if one runs.
pub fn running() -> Option<Cloud> {
    read_record().map(|record| record.cloud).filter(alive)
}

/// Stops the warm cloud, if one was recorded (each PID checked to be ours), and forgets it. Returns it if it ran.
pub fn stop() -> Option<Cloud> {
    let _lock = lock().ok()?;
    let record = read_record()?;
    let was = alive(&record.cloud).then(|| record.cloud.clone());
    cloud::stop(&record.cloud);
    let _ = std::fs::remove_file(record_file());
    was
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_changed_deep_in_a_folder_after_the_build_is_seen_and_none_before_it() {
        let folder = std::env::temp_dir().join(format!("check-cloud-sources-{}", std::process::id()));
        let deep = folder.join("src/gateway");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("mod.rs"), "// before").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let built = std::time::SystemTime::now();
        assert!(!changed_since(&folder, built), "nothing changed since the build");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(deep.join("mod.rs"), "// after").unwrap();
        let changed = changed_since(&folder, built);
        assert!(
            !changed_since(&folder.join("missing"), built),
            "a source that is not there changed nothing"
        );
        std::fs::remove_dir_all(&folder).unwrap();
        assert!(changed, "a file two folders down, written after the build");
    }
}
