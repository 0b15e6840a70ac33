//! One invocation's question and answer: the [`Request`] and its checks (the chapter's "The fleet"), the
//! [`Response`] and why it stopped, and the clock (the chapter's "Lambda's clock and bill: why not an infinite
//! loop"). Your `budget`, `run` and `handler` use them.

use super::tally::Tally;
use crate::Fleet;
use lambda_runtime::Error;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The producer stops starting new work this long before Lambda's deadline. It must exceed the SDK's
/// [`OPERATION_TIMEOUT`](crate::OPERATION_TIMEOUT), so that a call started just before the stop still ends before
/// the deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

// ANCHOR: request
/// What an invocation is asked to do. Every field has a default, so `{}` (or a scheduled event, whose fields are
/// ignored) is a valid request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    /// New records each second: 1 to `MAX_RECORDS_PER_SECOND` (sent in batches of at most 500).
    pub records_per_second: u64,
    /// Stop after this many records (at least 1).
    pub max_records: u64,
    /// Stop after this many seconds (1 to 900, Lambda's longest timeout), or earlier if the deadline is nearer.
    pub max_seconds: u64,
    /// The fleet's size: 1 to 100,000 vehicles, taking turns to report.
    pub vehicles: u32,
    /// The fleet's seed: the same seed, the same vehicles on the same journeys, whichever invocation reads them.
    pub seed: u64,
    /// The share of readings that are glitches, hundreds of km off: 0 to 0.1.
    pub glitch_rate: f64,
}

impl Default for Request {
    fn default() -> Request {
        Request {
            records_per_second: 100,
            max_records: 10_000,
            max_seconds: 60,
            vehicles: 300,
            seed: 1,
            glitch_rate: 0.01,
        }
    }
}
// ANCHOR_END: request

/// The most records a second a request may ask for: ten shards' write capacity. More would need more than one
/// invocation's worth of calls a second (or more producers).
pub const MAX_RECORDS_PER_SECOND: u64 = 10_000;
/// The most vehicles a request may ask for.
pub const MAX_VEHICLES: u32 = 100_000;
/// The largest share of glitches a request may ask for: beyond it, a glitch would often follow a glitch, and the
/// data would stop looking like a fleet.
pub const MAX_GLITCH_RATE: f64 = 0.1;

impl Request {
    /// Refuses a request the producer cannot honour.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=MAX_RECORDS_PER_SECOND).contains(&self.records_per_second) {
            return Err(format!(
                "records_per_second must be 1 to {MAX_RECORDS_PER_SECOND}, not {}",
                self.records_per_second
            )
            .into());
        }
        if self.max_records == 0 {
            return Err("max_records must be at least 1".into());
        }
        if !(1..=900).contains(&self.max_seconds) {
            return Err(format!("max_seconds must be 1 to 900, not {}", self.max_seconds).into());
        }
        if !(1..=MAX_VEHICLES).contains(&self.vehicles) {
            return Err(format!("vehicles must be 1 to {MAX_VEHICLES}, not {}", self.vehicles).into());
        }
        // `contains` is false for NaN.
        if !(0.0..=MAX_GLITCH_RATE).contains(&self.glitch_rate) {
            return Err(format!("glitch_rate must be 0 to {MAX_GLITCH_RATE}, not {}", self.glitch_rate).into());
        }
        Ok(())
    }

    /// The fleet this request reads.
    pub fn fleet(&self) -> Fleet {
        Fleet {
            seed: self.seed,
            vehicles: self.vehicles,
            glitch_rate: self.glitch_rate,
        }
    }
}

/// The wall clock, in milliseconds since 1970: the event time of the readings made now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

// ANCHOR: response
/// Why an invocation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It made `max_records` records.
    MaxRecords,
    /// It ran for `max_seconds`.
    MaxSeconds,
    /// Lambda's deadline was less than [`DEADLINE_MARGIN`] away.
    Deadline,
    /// A call failed as a whole (see `error`).
    Error,
}

/// The invocation's report: `{"sent":…,"retried":…,"failed":…,"calls":…,"errors":{…},"error":…,"stopped":…,
/// "elapsed_ms":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    #[serde(flatten)]
    pub tally: Tally,
    pub stopped: StopReason,
    pub elapsed_ms: u64,
}
// ANCHOR_END: response

impl Response {
    pub fn new(tally: Tally, stopped: StopReason, elapsed: Duration) -> Response {
        Response {
            tally,
            stopped,
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }
}
