//! Step 5: real-time analysis in tumbling windows. The event source mapping cuts each shard's records into windows
//! of `TumblingWindowInSeconds` and calls [`handler`] several times per window, handing back each time the state the
//! previous call returned. The function folds every batch into an [`Aggregate`]: a heat map of where the readings
//! were, and for each vehicle the distance it covered and its top speed, from one reading to the next; a reading that
//! implies an impossible speed is flagged as an anomaly. On the window's final call it writes the window's
//! [`WindowResult`] to S3 as JSON, with each vehicle's last reading, which the next window picks up. [`merge`] joins
//! the shards' results of a window into the stream's, and [`heatmap`] draws it over the world's coastlines.
//!
//! Everything that decides anything is a small pure function ([`Cell::of`], [`Track::observe`], [`Aggregate::add`],
//! [`Aggregate::fold`], [`Aggregate::finish`], [`heat`]); the handler and [`emit`] only wire them to Lambda and S3.

use aws_config::SdkConfig;
use aws_lambda_events::event::kinesis::{KinesisEventRecord, KinesisTimeWindowEvent, KinesisTimeWindowEventResponse};
use aws_lambda_events::time_window::Window;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub mod coastline;
pub mod heatmap;
pub mod merge;
pub use heatmap::{COOL, EMPTY, HOT, Rgb, heat, render_svg, write_svg};
pub use merge::{StreamWindow, merge, merge_by_window};

// ANCHOR: reading
/// One reading, as the producer of step 2 writes it:
/// `{"id":"…","vehicle":"vehicle-00042","timestamp":"2026-11-27T10:15:03.250Z","latitude":…,"longitude":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub id: Uuid,
    pub vehicle: String,
    /// When the vehicle took the reading (event time, RFC 3339).
    pub timestamp: DateTime<Utc>,
    /// Degrees north of the equator (south is negative), within ±90.
    pub latitude: f64,
    /// Degrees east of Greenwich (west is negative), within ±180.
    pub longitude: f64,
}
// ANCHOR_END: reading

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq)]
pub enum BadRecord {
    /// The data is not a JSON reading: empty, not JSON, a missing or mistyped field (serde_json's message).
    NotAReading(String),
    /// The vehicle is empty.
    NoVehicle,
    /// A coordinate beyond ±90 (latitude) or ±180 (longitude).
    OutOfRange { latitude: f64, longitude: f64 },
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRecord::NotAReading(message) => write!(f, "not a reading: {message}"),
            BadRecord::NoVehicle => write!(f, "the reading names no vehicle"),
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

/// One record's data (already base64-decoded) as a [`Reading`], or why it is not one. Step 3 taught this part;
/// here it is given.
pub fn parse_record(data: &[u8]) -> Result<Reading, BadRecord> {
    let reading: Reading = serde_json::from_slice(data).map_err(|error| BadRecord::NotAReading(error.to_string()))?;
    if reading.vehicle.trim().is_empty() {
        return Err(BadRecord::NoVehicle);
    }
    // `contains` is false for NaN and for the infinities.
    if (-90.0..=90.0).contains(&reading.latitude) && (-180.0..=180.0).contains(&reading.longitude) {
        Ok(reading)
    } else {
        Err(BadRecord::OutOfRange {
            latitude: reading.latitude,
            longitude: reading.longitude,
        })
    }
}

// ANCHOR: grid
/// The size of a cell of the grid, in degrees of latitude and of longitude.
pub const CELL_DEGREES: f64 = 10.0;
/// Latitude bands, from 90° S to 90° N.
pub const ROWS: usize = 18;
/// Longitude bands, from 180° W to 180° E.
pub const COLUMNS: usize = 36;

/// One cell of the grid. Row 0 is the band from 90° S to 80° S, row 17 the one from 80° N to 90° N; column 0 is the
/// band from 180° W to 170° W, column 35 the one from 170° E to 180° E.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    pub row: usize,
    pub column: usize,
}
// ANCHOR_END: grid

impl Cell {
    // learner: count 10° bands from 90° S and from 180° W; 90° N and 180° E belong to the last band
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

/// A cell and its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCount {
    pub row: usize,
    pub column: usize,
    pub count: u64,
}

/// Readings per cell. Only the cells that have some are kept (most of the globe has none), and they travel as a
/// list of [`CellCount`]s, in grid order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<CellCount>", into = "Vec<CellCount>")]
pub struct Grid(BTreeMap<Cell, u64>);

impl Grid {
    /// One more reading in `cell`.
    pub fn add(&mut self, cell: Cell) {
        *self.0.entry(cell).or_default() += 1;
    }

    /// The readings in `cell`.
    pub fn count(&self, cell: Cell) -> u64 {
        self.0.get(&cell).copied().unwrap_or(0)
    }

    /// The count of the busiest cell (0 for an empty grid).
    pub fn max(&self) -> u64 {
        self.0.values().copied().max().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The cells that have readings, in grid order.
    pub fn cells(&self) -> impl Iterator<Item = CellCount> + '_ {
        self.0.iter().map(|(cell, &count)| CellCount {
            row: cell.row,
            column: cell.column,
            count,
        })
    }

    /// Adds another grid's counts to this one's.
    pub fn absorb(&mut self, other: &Grid) {
        for (cell, count) in &other.0 {
            *self.0.entry(*cell).or_default() += count;
        }
    }
}

impl From<Vec<CellCount>> for Grid {
    fn from(cells: Vec<CellCount>) -> Grid {
        let mut grid = Grid::default();
        for CellCount { row, column, count } in cells {
            *grid.0.entry(Cell { row, column }).or_default() += count;
        }
        grid
    }
}

impl From<Grid> for Vec<CellCount> {
    fn from(grid: Grid) -> Vec<CellCount> {
        grid.cells().collect()
    }
}

/// The `limit` busiest cells of a grid, busiest first (ties: the southern, then the western cell first).
pub fn busiest_cells(grid: &Grid, limit: usize) -> Vec<CellCount> {
    let mut counts: Vec<CellCount> = grid.cells().collect();
    // A stable sort keeps the cells of equal counts in grid order.
    counts.sort_by_key(|cell| std::cmp::Reverse(cell.count));
    counts.truncate(limit);
    counts
}

// ANCHOR: track
/// No vehicle of the fleet goes faster: a reading that implies more, from the vehicle's previous one, is an anomaly.
pub const MAX_KMH: f64 = 500.0;
/// The Earth's mean radius, in km.
pub const EARTH_RADIUS_KM: f64 = 6_371.0;

/// A reading reduced to what a vehicle's track needs: where, when, and which reading it was. (The short names keep
/// the state small: a window's state holds one or two of these per vehicle.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    #[serde(rename = "i")]
    pub id: Uuid,
    /// Milliseconds since 1970.
    #[serde(rename = "t")]
    pub at_ms: i64,
    #[serde(rename = "a")]
    pub latitude: f64,
    #[serde(rename = "o")]
    pub longitude: f64,
}

impl Fix {
    /// The fix of a reading, its position rounded to a millionth of a degree (about 10 cm).
    pub fn of(reading: &Reading) -> Fix {
        let round = |degrees: f64| (degrees * 1e6).round() / 1e6;
        Fix {
            id: reading.id,
            at_ms: reading.timestamp.timestamp_millis(),
            latitude: round(reading.latitude),
            longitude: round(reading.longitude),
        }
    }

    /// The great-circle distance to another fix, in km (the haversine formula). Longitudes are only ever used
    /// through their difference's sine, so 179.9° E to 179.9° W is 0.2°, not 359.8°.
    pub fn km_to(&self, other: &Fix) -> f64 {
        let (north, other_north) = (self.latitude.to_radians(), other.latitude.to_radians());
        let half_north = (other_north - north) / 2.0;
        let half_east = (other.longitude - self.longitude).to_radians() / 2.0;
        let h = half_north.sin().powi(2) + north.cos() * other_north.cos() * half_east.sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }

    /// The speed, in km/h, that going from this fix to a later one implies.
    pub fn kmh_to(&self, later: &Fix) -> f64 {
        let hours = (later.at_ms - self.at_ms) as f64 / 3_600_000.0;
        self.km_to(later) / hours
    }
}

/// One vehicle, as a window's state carries it: its last good reading, the reading flagged just after it (if the
/// latest one was), and what the vehicle did in this window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// The last reading accepted as where the vehicle was.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Fix>,
    /// The latest reading, when it was flagged: if the next one agrees with it, the two outvote `last`.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub suspect: Option<Fix>,
    /// Kilometres travelled in this window.
    #[serde(rename = "d", default)]
    pub km: f64,
    /// The highest speed between two consecutive good readings in this window, km/h.
    #[serde(rename = "v", default)]
    pub top_kmh: f64,
    /// Readings of this vehicle in this window.
    #[serde(rename = "n", default)]
    pub readings: u64,
}

/// What one reading tells about its vehicle, compared with the vehicle's track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// The vehicle's first reading: nothing to compare it with.
    First,
    /// A plausible move from the last good reading: so far, at that speed.
    Moved { km: f64, kmh: f64 },
    /// Not later than the last good reading: a duplicate or a late resend, no movement.
    OutOfOrder,
    /// Impossibly far from the last good reading: flagged, and left out of distance and speed.
    Anomaly { kmh: f64 },
    /// Impossibly far from the last good reading, but plausible from the reading flagged just before: the last
    /// good reading was the glitch. `glitch` is flagged (at `glitch_kmh`, its speed to `cleared`), `cleared` is no
    /// longer an anomaly, and the vehicle moved `km` at `kmh` from `cleared` to this reading.
    Reanchored {
        glitch: Fix,
        glitch_kmh: f64,
        cleared: Fix,
        km: f64,
        kmh: f64,
    },
}
// ANCHOR_END: track

impl Track {
    // learner: first, out of order, plausible move or anomaly; two agreeing anomalies outvote the last
    // ANCHOR: observe
    /// Compares a reading with the vehicle's track, and moves the track on.
    pub fn observe(&mut self, fix: Fix) -> Step {
        let Some(last) = self.last else {
            self.last = Some(fix);
            return Step::First;
        };
        if fix.at_ms <= last.at_ms {
            return Step::OutOfOrder;
        }
        let kmh = last.kmh_to(&fix);
        if kmh <= MAX_KMH {
            self.last = Some(fix);
            self.suspect = None;
            return Step::Moved {
                km: last.km_to(&fix),
                kmh,
            };
        }
        // Two readings that agree with each other and not with `last`: `last` was the odd one out.
        if let Some(suspect) = self.suspect.take()
            && fix.at_ms > suspect.at_ms
            && suspect.kmh_to(&fix) <= MAX_KMH
        {
            self.last = Some(fix);
            return Step::Reanchored {
                glitch: last,
                glitch_kmh: last.kmh_to(&suspect),
                cleared: suspect,
                km: suspect.km_to(&fix),
                kmh: suspect.kmh_to(&fix),
            };
        }
        self.suspect = Some(fix);
        Step::Anomaly { kmh }
    }
    // ANCHOR_END: observe

    /// Counts a plausible move in this window's figures, to three decimals (a metre, a thousandth of a km/h): more
    /// digits would only make the state larger.
    pub fn travel(&mut self, km: f64, kmh: f64) {
        let thousandths = |value: f64| (value * 1000.0).round() / 1000.0;
        self.km = thousandths(self.km + km);
        self.top_kmh = thousandths(self.top_kmh.max(kmh));
    }
}

// ANCHOR: aggregate
/// A reading flagged as impossible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub vehicle: String,
    /// The reading's id.
    pub id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    /// The speed it implies from the vehicle's last good reading, km/h.
    pub kmh: f64,
}

impl Anomaly {
    pub fn new(vehicle: &str, fix: Fix, kmh: f64) -> Anomaly {
        Anomaly {
            vehicle: vehicle.to_owned(),
            id: fix.id,
            timestamp: DateTime::from_timestamp_millis(fix.at_ms).unwrap_or_default(),
            latitude: fix.latitude,
            longitude: fix.longitude,
            kmh,
        }
    }
}

/// A window keeps at most this many anomalies (and counts the rest), so that a broken receiver cannot fill the state.
pub const MAX_ANOMALIES: usize = 1_000;

/// What one shard's window has seen so far: the state carried from one invocation to the next. It grows with the
/// number of vehicles (about 100 bytes each), never with the number of readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Readings counted.
    pub count: u64,
    /// Records skipped: not a reading, or not on Earth.
    pub skipped: u64,
    /// Readings not later than their vehicle's last good one (duplicates, late resends).
    pub out_of_order: u64,
    /// Readings per cell.
    pub cells: Grid,
    /// Each vehicle seen, by id.
    pub vehicles: BTreeMap<String, Track>,
    /// The readings flagged in this window, in the order they were flagged.
    pub anomalies: Vec<Anomaly>,
    /// Anomalies beyond [`MAX_ANOMALIES`].
    pub anomalies_dropped: u64,
    /// Readings flagged in an earlier window that this one cleared (see [`Step::Reanchored`]).
    pub withdrawn: Vec<Uuid>,
}
// ANCHOR_END: aggregate

impl Aggregate {
    /// Flags a reading (or counts it, once the list is full).
    pub fn flag(&mut self, anomaly: Anomaly) {
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(anomaly);
        } else {
            self.anomalies_dropped += 1;
        }
    }

    /// Withdraws the flag of reading `id`: from this window's list, or, if an earlier window flagged it, by naming it
    /// in `withdrawn`.
    pub fn clear(&mut self, id: Uuid) {
        let before = self.anomalies.len();
        self.anomalies.retain(|anomaly| anomaly.id != id);
        if self.anomalies.len() == before {
            self.withdrawn.push(id);
        }
    }

    // learner: count the reading in its cell; observe it on its vehicle's track and act on the Step
    // ANCHOR: add
    /// Adds one reading.
    pub fn add(&mut self, reading: &Reading) {
        self.count += 1;
        self.cells.add(Cell::of(reading.latitude, reading.longitude));
        let fix = Fix::of(reading);
        let track = self.vehicles.entry(reading.vehicle.clone()).or_default();
        track.readings += 1;
        match track.observe(fix) {
            Step::First => {}
            Step::Moved { km, kmh } => track.travel(km, kmh),
            Step::OutOfOrder => self.out_of_order += 1,
            Step::Anomaly { kmh } => self.flag(Anomaly::new(&reading.vehicle, fix, kmh)),
            Step::Reanchored {
                glitch,
                glitch_kmh,
                cleared,
                km,
                kmh,
            } => {
                track.travel(km, kmh);
                self.clear(cleared.id);
                self.flag(Anomaly::new(&reading.vehicle, glitch, glitch_kmh));
            }
        }
    }
    // ANCHOR_END: add

    // learner: parse each record's data; add each reading, count each bad record as skipped and log why
    // ANCHOR: fold
    /// Adds a batch. A bad record is skipped and counted, never an error: a retry would bring the same bytes back.
    pub fn fold(&mut self, records: &[KinesisEventRecord]) {
        for record in records {
            match parse_record(&record.kinesis.data) {
                Ok(reading) => self.add(&reading),
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
    /// The aggregate that a window's state carries, or `None` for a state without one: a window's first call.
    pub fn from_state(state: &HashMap<String, String>) -> Result<Option<Aggregate>, serde_json::Error> {
        state.get(STATE_KEY).map(|json| serde_json::from_str(json)).transpose()
    }

    /// The state that carries this aggregate to the window's next invocation.
    pub fn to_state(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(self).expect("an aggregate holds only numbers and text: it always serialises");
        HashMap::from([(STATE_KEY.to_owned(), json)])
    }

    /// A new window's aggregate, which knows each vehicle's last readings from the window before (if any).
    pub fn resume(carried: &BTreeMap<String, Carry>) -> Aggregate {
        let vehicles = carried
            .iter()
            .map(|(vehicle, carry)| {
                let track = Track {
                    last: Some(carry.last),
                    suspect: carry.suspect,
                    ..Track::default()
                };
                (vehicle.clone(), track)
            })
            .collect();
        Aggregate {
            vehicles,
            ..Aggregate::default()
        }
    }
}
// ANCHOR_END: state

// ANCHOR: result
/// A window's time range, as Lambda gives it: from `start` (included) to `end` (excluded), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

impl TimeRange {
    /// The tumbling window just before this one: as long, ending where this one starts.
    pub fn previous(&self) -> TimeRange {
        TimeRange {
            start: self.start - (self.end - self.start),
            end: self.start,
        }
    }
}

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
// ANCHOR_END: result

impl Aggregate {
    // learner: the result: copy the counts, summarise each vehicle, the busiest cells, carry the tracks
    // ANCHOR: finish
    /// The result of a window that ends with this aggregate.
    pub fn finish(&self, window: TimeRange, shard_id: &str, terminated_early: bool) -> WindowResult {
        let vehicles = self
            .vehicles
            .iter()
            .filter(|(_, track)| track.readings > 0)
            .map(|(vehicle, track)| {
                let summary = VehicleSummary {
                    readings: track.readings,
                    km: track.km,
                    top_kmh: track.top_kmh,
                };
                (vehicle.clone(), summary)
            })
            .collect();
        let carry = self
            .vehicles
            .iter()
            .filter_map(|(vehicle, track)| {
                let carry = Carry {
                    last: track.last?,
                    suspect: track.suspect,
                };
                Some((vehicle.clone(), carry))
            })
            .collect();
        WindowResult {
            window,
            shard_id: shard_id.to_owned(),
            count: self.count,
            skipped: self.skipped,
            out_of_order: self.out_of_order,
            cells: self.cells.clone(),
            busiest: busiest_cells(&self.cells, BUSIEST),
            vehicles,
            anomalies: self.anomalies.clone(),
            anomalies_dropped: self.anomalies_dropped,
            withdrawn: self.withdrawn.clone(),
            terminated_early,
            carry,
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
        result_key(prefix, &self.window, &self.shard_id)
    }
}
// ANCHOR_END: destination

/// The key of the result of `window` on `shard_id` (see [`WindowResult::key`]).
pub fn result_key(prefix: &str, window: &TimeRange, shard_id: &str) -> String {
    format!("{prefix}{}/{shard_id}.json", window.start.format("%Y%m%dT%H%M%SZ"))
}

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

// ANCHOR: carried
/// The vehicles' last readings that the window before `window` left in its result on this shard: nothing when
/// there is no such result (the first window, or a shard that was quiet for a whole window).
pub async fn carried(
    s3: &Client,
    destination: &Destination,
    window: &TimeRange,
    shard_id: &str,
) -> Result<BTreeMap<String, Carry>, Error> {
    let key = result_key(&destination.prefix, &window.previous(), shard_id);
    let object = match s3.get_object().bucket(&destination.bucket).key(&key).send().await {
        Ok(object) => object,
        Err(error) => match error_code(&error) {
            Some("NoSuchKey" | "NoSuchBucket") => return Ok(BTreeMap::new()),
            // Without s3:ListBucket, S3 answers a missing key with 403; without s3:GetObject, every key. Either way
            // the window can still be counted: failing would hold the shard on a window that can never succeed.
            Some("AccessDenied") => {
                tracing::warn!(
                    key,
                    "cannot read the previous window's result (s3:GetObject, s3:ListBucket?)"
                );
                return Ok(BTreeMap::new());
            }
            _ => return Err(error.into()),
        },
    };
    let bytes = object.body.collect().await?.into_bytes();
    let previous: WindowResult = serde_json::from_slice(&bytes)?;
    Ok(previous.carry)
}
// ANCHOR_END: carried

/// The S3 error code of a failed `GetObject`, if S3 answered at all.
fn error_code<R>(
    error: &aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError, R>,
) -> Option<&str> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    error.as_service_error().and_then(|service| service.code())
}

/// The shard id a result carries when the event names none (Lambda always does).
pub const UNKNOWN_SHARD: &str = "unknown-shard";

// learner: state or resume from the previous window; fold; on the final call finish and emit
// ANCHOR: handler
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
    let records = &event.payload.kinesis_event.records;
    let window = &event.payload.time_window_properties;
    let shard_id = window.shard_id.as_deref().unwrap_or(UNKNOWN_SHARD);
    let range = TimeRange::from(&window.window);

    let mut aggregate = match Aggregate::from_state(&window.state)? {
        Some(aggregate) => aggregate,
        None => Aggregate::resume(&carried(s3, destination, &range, shard_id).await?),
    };
    aggregate.fold(records);
    tracing::info!(
        shard_id,
        window_start = %range.start,
        records = records.len(),
        count = aggregate.count,
        vehicles = aggregate.vehicles.len(),
        anomalies = aggregate.anomalies.len(),
        is_final = window.is_final_invoke_for_window,
        "window updated"
    );

    if window.is_final_invoke_for_window {
        let result = aggregate.finish(range, shard_id, window.is_window_terminated_early);
        let key = emit(s3, destination, &result).await?;
        tracing::info!(
            key,
            count = result.count,
            anomalies = result.anomalies.len(),
            "window emitted"
        );
    }

    let mut response = KinesisTimeWindowEventResponse::default();
    response.time_window_event_response_properties.state = aggregate.to_state();
    Ok(response)
}
// ANCHOR_END: handler

/// Reads a JSON document from a file, or from S3 for `s3://BUCKET/KEY` (with the usual AWS configuration: on the
/// local cloud, `AWS_ENDPOINT_URL` points at it). For the binaries.
pub async fn read_source(source: &str) -> Result<Vec<u8>, Error> {
    match source.strip_prefix("s3://") {
        Some(location) => {
            let (bucket, key) = location
                .split_once('/')
                .ok_or_else(|| format!("{source}: expected s3://BUCKET/KEY"))?;
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let object = s3_client(&config).get_object().bucket(bucket).key(key).send().await?;
            Ok(object.body.collect().await?.into_bytes().to_vec())
        }
        None => Ok(std::fs::read(source).map_err(|error| format!("reading {source}: {error}"))?),
    }
}

#[cfg(test)]
mod tests;
