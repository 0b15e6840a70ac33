//! What a window's state holds, and how each reading changes it: the grid's [`Cell`] a position falls in, each
//! vehicle's [`Track`] and what a reading says about it ([`Step`]), and the [`Aggregate`] of a shard's window so far.
//! Each decides something, and is a small pure function. What they call is given: [`Fix`] (`km_to`, `kmh_to`),
//! [`Track::travel`], [`Anomaly::new`], [`Aggregate::flag`] and `clear` in `given/track.rs`, [`Grid::add`] in
//! `given/grid.rs`, [`parse_record`] in `given/reading.rs`.

use crate::{Anomaly, Fix, Grid, Reading, parse_record};
use aws_lambda_events::event::kinesis::KinesisEventRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

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
}

// ANCHOR: track
/// No vehicle of the fleet goes faster: a reading that implies more, from the vehicle's previous one, is an anomaly.
pub const MAX_KMH: f64 = 500.0;

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
}

// ANCHOR: aggregate
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
