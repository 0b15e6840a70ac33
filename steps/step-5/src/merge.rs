//! The stream's view of a window. Lambda's windows are per shard, so each shard writes its own result; whoever wants
//! the whole stream adds them up. A pure function, so that the lab (through the `merge-window` binary), a dashboard
//! or a test can do it the same way.

use crate::{Anomaly, BUSIEST, CellCount, Grid, TimeRange, VehicleSummary, WindowResult, busiest_cells};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One window of the whole stream: every shard's result of that window, added up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamWindow {
    pub window: TimeRange,
    /// The shards whose results are in it, sorted.
    pub shards: Vec<String>,
    pub count: u64,
    pub skipped: u64,
    pub out_of_order: u64,
    pub cells: Grid,
    pub busiest: Vec<CellCount>,
    pub vehicles: BTreeMap<String, VehicleSummary>,
    /// Every shard's anomalies, by time (then vehicle).
    pub anomalies: Vec<Anomaly>,
    pub anomalies_dropped: u64,
    pub withdrawn: Vec<Uuid>,
    /// Some shard's window ended early.
    pub terminated_early: bool,
}

/// Why results cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// Nothing to merge.
    NoResults,
    /// The results are of different windows.
    DifferentWindows(TimeRange, TimeRange),
    /// Two results of the same shard.
    SameShardTwice(String),
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::NoResults => write!(f, "no result to merge"),
            MergeError::DifferentWindows(a, b) => {
                write!(f, "results of different windows: {} and {}", a.start, b.start)
            }
            MergeError::SameShardTwice(shard) => write!(f, "two results of {shard} for one window"),
        }
    }
}

impl std::error::Error for MergeError {}

/// The stream's view of one window, from its shards' results. A vehicle is normally on one shard; after a
/// resharding it may be on two, and then its figures add up (top speed: the higher).
pub fn merge(results: &[WindowResult]) -> Result<StreamWindow, MergeError> {
    let first = results.first().ok_or(MergeError::NoResults)?;
    let mut merged = StreamWindow {
        window: first.window,
        shards: vec![],
        count: 0,
        skipped: 0,
        out_of_order: 0,
        cells: Grid::default(),
        busiest: vec![],
        vehicles: BTreeMap::new(),
        anomalies: vec![],
        anomalies_dropped: 0,
        withdrawn: vec![],
        terminated_early: false,
    };
    for result in results {
        if result.window != merged.window {
            return Err(MergeError::DifferentWindows(merged.window, result.window));
        }
        if merged.shards.contains(&result.shard_id) {
            return Err(MergeError::SameShardTwice(result.shard_id.clone()));
        }
        merged.shards.push(result.shard_id.clone());
        merged.count += result.count;
        merged.skipped += result.skipped;
        merged.out_of_order += result.out_of_order;
        merged.cells.absorb(&result.cells);
        for (vehicle, summary) in &result.vehicles {
            let total = merged.vehicles.entry(vehicle.clone()).or_insert(VehicleSummary {
                readings: 0,
                km: 0.0,
                top_kmh: 0.0,
            });
            total.readings += summary.readings;
            total.km += summary.km;
            total.top_kmh = total.top_kmh.max(summary.top_kmh);
        }
        merged.anomalies.extend(result.anomalies.iter().cloned());
        merged.anomalies_dropped += result.anomalies_dropped;
        merged.withdrawn.extend(&result.withdrawn);
        merged.terminated_early |= result.terminated_early;
    }
    merged.shards.sort();
    merged
        .anomalies
        .sort_by(|a, b| (a.timestamp, &a.vehicle).cmp(&(b.timestamp, &b.vehicle)));
    merged.busiest = busiest_cells(&merged.cells, BUSIEST);
    Ok(merged)
}

/// Results of any windows, merged window by window, oldest first.
pub fn merge_by_window(results: Vec<WindowResult>) -> Result<Vec<StreamWindow>, MergeError> {
    let mut windows: BTreeMap<TimeRange, Vec<WindowResult>> = BTreeMap::new();
    for result in results {
        windows.entry(result.window).or_default().push(result);
    }
    windows.values().map(|results| merge(results)).collect()
}

impl From<&WindowResult> for StreamWindow {
    /// One shard's result seen as a stream of one shard.
    fn from(result: &WindowResult) -> StreamWindow {
        merge(std::slice::from_ref(result)).expect("one result always merges")
    }
}
