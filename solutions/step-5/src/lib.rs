//! Step 5: real-time analysis in tumbling windows. The event source mapping cuts each shard's records into windows
//! of `TumblingWindowInSeconds` and calls [`handler`] several times per window, handing back each time the state the
//! previous call returned. The function folds every batch into an [`Aggregate`] (how many positions, where, how far
//! north, south, east and west), carries it in that state, and on the window's final call writes the window's
//! [`WindowResult`] to S3 as JSON. [`heatmap`] draws a result as a heat map of the world.
//!
//! Everything that decides anything is a small pure function ([`Cell::of`], [`Aggregate::add`], [`Aggregate::fold`],
//! [`Aggregate::finish`], [`heat`]); the handler and [`emit`] only wire them to Lambda and S3.

use aws_config::SdkConfig;
use aws_lambda_events::event::kinesis::{KinesisEventRecord, KinesisTimeWindowEvent, KinesisTimeWindowEventResponse};
use aws_lambda_events::time_window::Window;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

pub mod heatmap;
pub use heatmap::{COOL, EMPTY, HOT, Rgb, heat, render_svg, write_svg};

// ANCHOR: position
/// One position, as the producer of step 2 writes it: `{"id":"…","latitude":…,"longitude":…}` and a newline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub id: Uuid,
    /// Degrees north of the equator (south is negative), within ±90.
    pub latitude: f64,
    /// Degrees east of Greenwich (west is negative), within ±180.
    pub longitude: f64,
}
// ANCHOR_END: position

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq)]
pub enum BadRecord {
    /// The data is not a JSON position: empty, not JSON, a missing or mistyped field (serde_json's message).
    NotAPosition(String),
    /// A coordinate beyond ±90 (latitude) or ±180 (longitude).
    OutOfRange { latitude: f64, longitude: f64 },
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRecord::NotAPosition(message) => write!(f, "not a position: {message}"),
            BadRecord::OutOfRange { latitude, longitude } => {
                write!(
                    f,
                    "({latitude}, {longitude}) is not on Earth: latitude within ±90, longitude within ±180"
                )
            }
        }
    }
}

impl std::error::Error for BadRecord {}

/// One record's data (already base64-decoded) as a [`Position`], or why it is not one. Step 3 taught this part;
/// here it is given.
pub fn parse_record(data: &[u8]) -> Result<Position, BadRecord> {
    let position: Position =
        serde_json::from_slice(data).map_err(|error| BadRecord::NotAPosition(error.to_string()))?;
    // `contains` is false for NaN and for the infinities.
    if (-90.0..=90.0).contains(&position.latitude) && (-180.0..=180.0).contains(&position.longitude) {
        Ok(position)
    } else {
        Err(BadRecord::OutOfRange {
            latitude: position.latitude,
            longitude: position.longitude,
        })
    }
}

// ANCHOR: grid
/// The size of a cell of the grid, in degrees of latitude and of longitude.
pub const CELL_DEGREES: f64 = 30.0;
/// Latitude bands, from 90° S to 90° N.
pub const ROWS: usize = 6;
/// Longitude bands, from 180° W to 180° E.
pub const COLUMNS: usize = 12;

/// Positions per cell: `cells[row][column]`, 72 numbers whatever the traffic.
pub type Grid = [[u64; COLUMNS]; ROWS];

/// One cell of the grid. Row 0 is the band from 90° S to 60° S, row 5 the one from 60° N to 90° N; column 0 is the
/// band from 180° W to 150° W, column 11 the one from 150° E to 180° E.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    pub row: usize,
    pub column: usize,
}
// ANCHOR_END: grid

impl Cell {
    // learner: count 30° bands from 90° S and from 180° W; 90° N and 180° E belong to the last band
    // ANCHOR: cell_of
    /// The cell of a valid position. A band includes its southern (western) edge, so 0° is in the band north (east)
    /// of the equator (Greenwich); the last band also includes its far edge, since nothing lies beyond it.
    pub fn of(latitude: f64, longitude: f64) -> Cell {
        let band = |degrees_from_edge: f64, bands: usize| {
            let band = (degrees_from_edge / CELL_DEGREES).floor() as usize;
            band.min(bands - 1)
        };
        Cell {
            row: band(latitude + 90.0, ROWS),
            column: band(longitude + 180.0, COLUMNS),
        }
    }
    // ANCHOR_END: cell_of

    /// The latitude of the cell's southern edge.
    pub fn south(self) -> f64 {
        -90.0 + self.row as f64 * CELL_DEGREES
    }

    /// The longitude of the cell's western edge.
    pub fn west(self) -> f64 {
        -180.0 + self.column as f64 * CELL_DEGREES
    }

    /// Every cell, row by row from the south, west to east in each row.
    pub fn all() -> impl Iterator<Item = Cell> {
        (0..ROWS).flat_map(|row| (0..COLUMNS).map(move |column| Cell { row, column }))
    }
}

// ANCHOR: aggregate
/// The smallest and the largest value of one coordinate in a window, and the sum of them all: with the count, the
/// sum gives the mean at the end, so the state never holds the positions themselves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
}

impl Spread {
    /// Widens `spread` to take in one more value (the first value starts it).
    pub fn widen(spread: &mut Option<Spread>, value: f64) {
        *spread = Some(match *spread {
            None => Spread {
                min: value,
                max: value,
                sum: value,
            },
            Some(Spread { min, max, sum }) => Spread {
                min: min.min(value),
                max: max.max(value),
                sum: sum + value,
            },
        });
    }
}

/// What one shard's window has seen so far: the state carried from one invocation to the next. Its size does not
/// depend on the traffic (about 200 bytes of JSON when empty, under 2 KB when every number is at its largest),
/// far from the 1 MB Lambda allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Positions counted.
    pub count: u64,
    /// Records skipped: not a position, or not on Earth.
    pub skipped: u64,
    /// Positions per cell.
    pub cells: Grid,
    /// `None` until the first position.
    pub latitude: Option<Spread>,
    pub longitude: Option<Spread>,
}
// ANCHOR_END: aggregate

impl Aggregate {
    // learner: count the position in total and in its cell, and widen the latitude and longitude spreads
    // ANCHOR: add
    /// Adds one position.
    pub fn add(&mut self, position: &Position) {
        let cell = Cell::of(position.latitude, position.longitude);
        self.count += 1;
        self.cells[cell.row][cell.column] += 1;
        Spread::widen(&mut self.latitude, position.latitude);
        Spread::widen(&mut self.longitude, position.longitude);
    }
    // ANCHOR_END: add

    // learner: parse each record's data; add each position, count each bad record as skipped and log why
    // ANCHOR: fold
    /// Adds a batch. A bad record is skipped and counted, never an error: a retry would bring the same bytes back.
    pub fn fold(&mut self, records: &[KinesisEventRecord]) {
        for record in records {
            match parse_record(&record.kinesis.data) {
                Ok(position) => self.add(&position),
                Err(reason) => {
                    tracing::warn!(sequence_number = %record.kinesis.sequence_number, %reason, "record skipped");
                    self.skipped += 1;
                }
            }
        }
    }
    // ANCHOR_END: fold
}

// ANCHOR: state
/// The one entry of the window's state, which holds the aggregate as JSON. (`aws_lambda_events` types the state as
/// a map of strings; one entry keeps it simple.)
pub const STATE_KEY: &str = "aggregate";

impl Aggregate {
    /// The aggregate that a window's state carries. A state without it is a new window: an empty aggregate.
    pub fn from_state(state: &HashMap<String, String>) -> Result<Aggregate, serde_json::Error> {
        match state.get(STATE_KEY) {
            Some(json) => serde_json::from_str(json),
            None => Ok(Aggregate::default()),
        }
    }

    /// The state that carries this aggregate to the window's next invocation.
    pub fn to_state(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(self).expect("an aggregate holds only numbers: it always serialises");
        HashMap::from([(STATE_KEY.to_owned(), json)])
    }
}
// ANCHOR_END: state

// ANCHOR: result
/// A window's time range, as Lambda gives it: from `start` (included) to `end` (excluded), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl From<&Window> for TimeRange {
    fn from(window: &Window) -> TimeRange {
        TimeRange {
            start: window.start,
            end: window.end,
        }
    }
}

/// One coordinate over a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// A cell and its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCount {
    pub row: usize,
    pub column: usize,
    pub count: u64,
}

/// How many cells [`WindowResult::busiest`] lists, at most.
pub const BUSIEST: usize = 5;

/// What one shard's window came to: the JSON document written to S3 when the window ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowResult {
    pub window: TimeRange,
    pub shard_id: String,
    /// Positions counted.
    pub count: u64,
    /// Records skipped: not a position, or not on Earth.
    pub skipped: u64,
    /// `None` when the window counted no position.
    pub latitude: Option<Summary>,
    pub longitude: Option<Summary>,
    /// Positions per cell, `cells[row][column]` (see [`Cell`]).
    pub cells: Grid,
    /// The busiest cells, busiest first, at most [`BUSIEST`], none that is empty.
    pub busiest: Vec<CellCount>,
    /// Lambda ended the window early, which it does when a state passes 1 MB (this one never gets near): the result
    /// then covers only part of the window.
    pub terminated_early: bool,
}
// ANCHOR_END: result

/// The `limit` busiest cells of a grid, busiest first (ties: the southern, then the western cell first), without
/// empty cells.
pub fn busiest_cells(cells: &Grid, limit: usize) -> Vec<CellCount> {
    let mut counts: Vec<CellCount> = Cell::all()
        .map(|cell| CellCount {
            row: cell.row,
            column: cell.column,
            count: cells[cell.row][cell.column],
        })
        .filter(|cell| cell.count > 0)
        .collect();
    // A stable sort keeps the cells of equal counts in grid order.
    counts.sort_by_key(|cell| std::cmp::Reverse(cell.count));
    counts.truncate(limit);
    counts
}

impl Aggregate {
    // learner: the window's result: copy the counts, a mean is a spread's sum / count, add busiest_cells
    // ANCHOR: finish
    /// The result of a window that ends with this aggregate.
    pub fn finish(&self, window: TimeRange, shard_id: &str, terminated_early: bool) -> WindowResult {
        let summary = |spread: Option<Spread>| {
            spread.map(|Spread { min, max, sum }| Summary {
                min,
                max,
                mean: sum / self.count as f64,
            })
        };
        WindowResult {
            window,
            shard_id: shard_id.to_owned(),
            count: self.count,
            skipped: self.skipped,
            latitude: summary(self.latitude),
            longitude: summary(self.longitude),
            cells: self.cells,
            busiest: busiest_cells(&self.cells, BUSIEST),
            terminated_early,
        }
    }
    // ANCHOR_END: finish
}

// ANCHOR: destination
/// Where the results go: a bucket, and a prefix for the keys (empty, or ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub bucket: String,
    pub prefix: String,
}

pub const BUCKET_VARIABLE: &str = "ANALYTICS_BUCKET";
pub const PREFIX_VARIABLE: &str = "ANALYTICS_PREFIX";
pub const DEFAULT_PREFIX: &str = "analytics/";

impl Destination {
    /// Reads the function's environment: `ANALYTICS_BUCKET` (required) and `ANALYTICS_PREFIX` (`analytics/` when
    /// unset).
    pub fn from_env() -> Result<Destination, Error> {
        Destination::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, from any lookup (a test passes a closure instead of changing the process's environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Destination, Error> {
        let bucket = lookup(BUCKET_VARIABLE)
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| format!("{BUCKET_VARIABLE} is not set: the function needs a bucket for its results"))?;
        let mut prefix = lookup(PREFIX_VARIABLE).unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Destination { bucket, prefix })
    }
}

impl WindowResult {
    /// The result's key: `<prefix><window start>/<shard id>.json`, the start in ISO 8601's basic format
    /// (`20261127T101500Z`: no colons to escape, and keys sort by time). One key per window and shard, so a final
    /// invocation that Lambda runs again overwrites its own object instead of adding a second one.
    pub fn key(&self, prefix: &str) -> String {
        format!(
            "{prefix}{}/{}.json",
            self.window.start.format("%Y%m%dT%H%M%SZ"),
            self.shard_id
        )
    }
}
// ANCHOR_END: destination

/// An S3 client for the function's configuration. On the local cloud (an endpoint set in `AWS_ENDPOINT_URL`) S3
/// needs path-style addresses; on AWS the default, virtual-hosted style, is the right one.
pub fn s3_client(config: &SdkConfig) -> Client {
    let local = config.endpoint_url().is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(local)
        .build();
    Client::from_conf(s3_config)
}

// learner: put the result, as JSON, in the destination's bucket under result.key(prefix); return the key
// ANCHOR: emit
/// Writes a window's result to S3, and returns its key.
pub async fn emit(s3: &Client, destination: &Destination, result: &WindowResult) -> Result<String, Error> {
    let key = result.key(&destination.prefix);
    let body = serde_json::to_vec_pretty(result)?;
    s3.put_object()
        .bucket(&destination.bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await?;
    Ok(key)
}
// ANCHOR_END: emit

/// The shard id a result carries when the event names none (Lambda always does).
pub const UNKNOWN_SHARD: &str = "unknown-shard";

// learner: state -> Aggregate, fold the records; on the final invoke finish and emit; answer with the state
// ANCHOR: handler
/// The function. Each invocation brings one shard's next batch of a window, and the state the previous invocation
/// of that window returned; the answer carries the state on. The final invocation of a window (which may have no
/// records at all) also writes the window's result to S3. Bad records are skipped and counted, never reported in
/// `batchItemFailures`; a failed write to S3 is an error, so that Lambda invokes the final call again.
pub async fn handler(
    s3: &Client,
    destination: &Destination,
    event: LambdaEvent<KinesisTimeWindowEvent>,
) -> Result<KinesisTimeWindowEventResponse, Error> {
    let records = &event.payload.kinesis_event.records;
    let window = &event.payload.time_window_properties;
    let shard_id = window.shard_id.as_deref().unwrap_or(UNKNOWN_SHARD);

    let mut aggregate = Aggregate::from_state(&window.state)?;
    aggregate.fold(records);
    tracing::info!(
        shard_id,
        window_start = %window.window.start,
        records = records.len(),
        count = aggregate.count,
        skipped = aggregate.skipped,
        is_final = window.is_final_invoke_for_window,
        "window updated"
    );

    if window.is_final_invoke_for_window {
        let result = aggregate.finish(
            TimeRange::from(&window.window),
            shard_id,
            window.is_window_terminated_early,
        );
        let key = emit(s3, destination, &result).await?;
        tracing::info!(key, count = result.count, skipped = result.skipped, "window emitted");
    }

    let mut response = KinesisTimeWindowEventResponse::default();
    response.time_window_event_response_properties.state = aggregate.to_state();
    Ok(response)
}
// ANCHOR_END: handler
