//! Step 5: real-time analysis in tumbling windows. The event source mapping cuts each shard's records into windows
//! of `TumblingWindowInSeconds` and calls [`handler`] several times per window, handing back each time the state the
//! previous call returned. The function folds every batch into an [`Aggregate`]: a heat map of where the readings
//! were, and for each vehicle the distance it covered and its top speed, from one reading to the next; a reading that
//! implies an impossible speed is flagged as an anomaly. On the window's final call it writes the window's
//! [`WindowResult`] to S3 as JSON, with each vehicle's last reading, which the next window picks up. [`merge`] joins
//! the shards' results of a window into the stream's, and [`heatmap`] draws it over the world's coastlines.
//!
//! Everything that decides anything is a small pure function ([`Cell::of`], [`Track::observe`], [`Aggregate::add`],
//! [`Aggregate::fold`] in `aggregate.rs`; [`Aggregate::finish`] and [`heat`] here); the handler and [`emit`] only wire
//! them to Lambda and S3. What they call is given, in `src/given/` and re-exported here: [`busiest_cells`] in
//! `grid.rs`, `Aggregate::from_state`, `to_state` and `resume` in `state.rs`, [`carried`] and [`WindowResult::key`]
//! in `s3.rs`, [`Rgb::mix`] and the colours in `heatmap.rs`.

use aws_lambda_events::event::kinesis::{KinesisTimeWindowEvent, KinesisTimeWindowEventResponse};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

mod aggregate;
pub mod coastline;
mod given;
pub mod merge;
pub use aggregate::{Aggregate, CELL_DEGREES, COLUMNS, Cell, MAX_ANOMALIES, MAX_KMH, ROWS, Step, Track};
pub use given::grid::{CellCount, Grid, busiest_cells};
pub use given::heatmap::{self, COOL, EMPTY, HOT, Rgb, render_svg, write_svg};
pub use given::heatmap_command;
pub use given::reading::{BadRecord, Reading, parse_record};
pub use given::s3::s3_client;
pub use given::s3::{BUCKET_VARIABLE, DEFAULT_PREFIX, Destination, PREFIX_VARIABLE, carried, read_source, result_key};
pub use given::state::{STATE_KEY, TimeRange};
pub use given::track::{Anomaly, EARTH_RADIUS_KM, Fix};
pub use merge::{StreamWindow, merge, merge_by_window};

/// What one vehicle did in a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VehicleSummary {
    pub readings: u64,
    pub km: f64,
    pub top_kmh: f64,
}

/// What the next window needs of a vehicle: its last good reading, and the reading flagged after it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Carry {
    pub last: Fix,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect: Option<Fix>,
}

/// How many cells [`WindowResult::busiest`] lists, at most.
pub const BUSIEST: usize = 5;

/// What one shard's window came to: the JSON document written to S3 when the window ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowResult {
    pub window: TimeRange,
    pub shard_id: String,
    /// Readings counted.
    pub count: u64,
    /// Records skipped: not a reading, or not on Earth.
    pub skipped: u64,
    /// Readings not later than their vehicle's last good one.
    pub out_of_order: u64,
    /// Readings per cell (see [`Cell`]), the empty cells left out.
    pub cells: Grid,
    /// The busiest cells, busiest first, at most [`BUSIEST`].
    pub busiest: Vec<CellCount>,
    /// The vehicles that sent readings in this window.
    pub vehicles: BTreeMap<String, VehicleSummary>,
    pub anomalies: Vec<Anomaly>,
    pub anomalies_dropped: u64,
    /// Readings flagged by an earlier window, cleared by this one.
    pub withdrawn: Vec<Uuid>,
    /// Lambda ended the window early, which it does when a state passes 1 MB: the result then covers only part of
    /// the window.
    pub terminated_early: bool,
    /// Every vehicle's last readings, for the next window's first call.
    pub carry: BTreeMap<String, Carry>,
}

impl Aggregate {
    /// The result of a window that ends with this aggregate.
    pub fn finish(&self, window: TimeRange, shard_id: &str, terminated_early: bool) -> WindowResult {
        todo!("the result: copy the counts, summarise each vehicle, the busiest cells, carry the tracks")
    }
}

/// Writes a window's result to S3, and returns its key.
pub async fn emit(s3: &Client, destination: &Destination, result: &WindowResult) -> Result<String, Error> {
    todo!("put the result, as JSON, in the destination's bucket under result.key(prefix); return the key")
}

/// The shard id a result carries when the event names none (Lambda always does).
pub const UNKNOWN_SHARD: &str = "unknown-shard";

/// The function. Each invocation brings one shard's next batch of a window, and the state the previous invocation
/// of that window returned; the answer carries the state on. A window's first call (no aggregate in the state)
/// starts from the vehicles' last readings in the previous window's result. The final invocation of a window (which
/// may have no records at all) writes the window's result to S3. Bad records are skipped and counted, never
/// reported in `batchItemFailures`; a failed call to S3 is an error, so that Lambda invokes again.
pub async fn handler(
    s3: &Client,
    destination: &Destination,
    event: LambdaEvent<KinesisTimeWindowEvent>,
) -> Result<KinesisTimeWindowEventResponse, Error> {
    todo!("state or resume from the previous window; fold; on the final call finish and emit")
}

/// The colour of a cell with `count` readings when the busiest cell has `max`. The square root spreads the
/// colours: with a linear scale, one very busy cell would leave every other one looking pale.
pub fn heat(count: u64, max: u64) -> Rgb {
    todo!("EMPTY for a count of 0; otherwise COOL.mix(HOT, t) with t the square root of count / max")
}

#[cfg(test)]
mod tests;
