//! Step 3: the consumer Lambda. An event source mapping reads the stream shard by shard and calls [`handler`] with a
//! batch of records; the function turns each record into a typed, validated [`GpsRecord`], processes every id once,
//! logs the batch, and names the records it could not process so that Lambda retries exactly those.
//!
//! Everything that decides anything is a small pure function ([`GpsRecord::validate`], [`parse_record`],
//! [`process_batch`]), tested and benchmarked without Lambda. The handler only wires them together.

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::error::Category;
use std::collections::HashSet;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use uuid::Uuid;

/// One reading, as the producer of step 2 writes it:
/// `{"id":"…","vehicle":"vehicle-00042","timestamp":"2026-11-27T10:15:03.250Z","latitude":…,"longitude":…}`, nothing
/// after it.
///
/// Fields this type does not know are ignored, not rejected: a producer that starts sending, say, a `speed` must
/// not turn every record into a failure (Lambda would retry them, and a retry never changes the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpsRecord {
    /// One per reading: a record delivered twice carries the same id.
    pub id: Uuid,
    /// The vehicle that sent the reading (and the record's partition key): not empty.
    pub vehicle: String,
    /// When the reading was taken, RFC 3339 (`2026-11-27T10:15:03.250Z`); checked by [`is_rfc3339`].
    pub timestamp: String,
    /// Degrees north of the equator (south is negative), within ±[`MAX_LATITUDE`].
    pub latitude: f64,
    /// Degrees east of Greenwich (west is negative), within ±[`MAX_LONGITUDE`].
    pub longitude: f64,
}

pub const MAX_LATITUDE: f64 = 90.0;
pub const MAX_LONGITUDE: f64 = 180.0;

/// Why a record cannot be processed. Each one becomes an entry of the response's `batchItemFailures`.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordError {
    /// The record's data is empty, or only whitespace.
    Empty,
    /// The data is not JSON: a syntax error, text cut short, bytes that are not UTF-8 (serde_json's message).
    NotJson(String),
    /// The data is JSON but not a GPS record: a missing field, a wrong type, an `id` that is not a UUID.
    NotAGpsRecord(String),
    /// A coordinate outside `[-limit, limit]`, or not a finite number.
    OutOfRange {
        field: &'static str,
        value: f64,
        limit: f64,
    },
    /// The vehicle is empty (or only whitespace).
    NoVehicle,
    /// The timestamp is not an RFC 3339 date and time.
    BadTimestamp(String),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Empty => write!(f, "the record has no data (or only whitespace)"),
            RecordError::NotJson(message) => write!(f, "the data is not JSON: {message}"),
            RecordError::NotAGpsRecord(message) => write!(f, "the data is not a GPS record: {message}"),
            RecordError::OutOfRange { field, value, limit } => {
                write!(f, "{field} {value} is not a number within [-{limit}, {limit}]")
            }
            RecordError::NoVehicle => write!(f, "the reading names no vehicle"),
            RecordError::BadTimestamp(text) => {
                write!(f, "the timestamp {text:?} is not an RFC 3339 date and time")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// serde_json says whether the text was not JSON at all, or JSON of the wrong shape.
impl From<serde_json::Error> for RecordError {
    fn from(error: serde_json::Error) -> Self {
        match error.classify() {
            Category::Data => RecordError::NotAGpsRecord(error.to_string()),
            Category::Syntax | Category::Eof | Category::Io => RecordError::NotJson(error.to_string()),
        }
    }
}

impl GpsRecord {
    /// The record itself when both coordinates are in range, it names a vehicle and its timestamp is RFC 3339;
    /// otherwise the first thing that is wrong.
    pub fn validate(self) -> Result<GpsRecord, RecordError> {
        todo!("coordinates within the bounds (included; NaN out), a vehicle, an RFC 3339 timestamp")
    }
}

/// Whether `text` is an RFC 3339 date and time: `YYYY-MM-DDThh:mm:ss`, an optional fraction of a second, then `Z` or
/// an offset `±hh:mm` (`T` and `Z` in either case). The date must exist; a 60th second is allowed, for leap seconds.
pub fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |from: usize, count: usize| -> Option<u32> {
        let slice = bytes.get(from..from + count)?;
        slice
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| slice.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|byte| allowed.contains(byte));
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let date_ok = (1..=12).contains(&month) && (1..=month_days[month as usize - 1]).contains(&day);
    let shape_ok = at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":");
    if !(date_ok && shape_ok && hour < 24 && minute < 60 && second <= 60) {
        return false;
    }
    let mut rest = 19;
    if at(rest, b".") {
        let fraction = bytes[rest + 1..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if fraction == 0 {
            return false;
        }
        rest += 1 + fraction;
    }
    match &bytes[rest..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] if bytes.len() == rest + 6 => {
            let (hours, minutes) = (digits(rest + 1, 2), digits(rest + 4, 2));
            at(rest + 3, b":") && hours.is_some_and(|h| h < 24) && minutes.is_some_and(|m| m < 60)
        }
        _ => false,
    }
}

/// One record's data (already base64-decoded) as a valid [`GpsRecord`], or the reason it is not one.
pub fn parse_record(data: &[u8]) -> Result<GpsRecord, RecordError> {
    todo!("empty data is an error; otherwise parse the JSON into a GpsRecord, then validate it")
}

/// A record that could not be processed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The record's sequence number in its shard: the identifier Lambda expects back in `batchItemFailures`.
    pub sequence_number: String,
    pub error: RecordError,
}

/// What one batch came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The valid records, each id once, in the order they arrived.
    pub records: Vec<GpsRecord>,
    /// Valid records whose id was already processed in this batch: delivered again, processed once.
    pub duplicates: usize,
    /// The records that could not be processed, in the order they arrived.
    pub rejected: Vec<Rejected>,
}

/// Sorts a batch into valid records (each id once), duplicates (counted) and rejected records (with the reason).
pub fn process_batch(records: &[KinesisEventRecord]) -> Batch {
    todo!("parse each record; keep the first of each id, count the rest; reject bad ones by sequence number")
}

impl Batch {
    /// Logs the batch: a warning for each rejected record, with its reason, then one line for the whole batch with
    /// the count and the records (`data`, a JSON array), the duplicates and the number rejected.
    pub fn log(&self) {
        for rejected in &self.rejected {
            tracing::warn!(
                sequence_number = %rejected.sequence_number,
                reason = %rejected.error,
                "record rejected"
            );
        }
        // Ids and numbers always serialise; were that ever to fail, the line would still carry the counts.
        let data = serde_json::to_string(&self.records).unwrap_or_default();
        tracing::info!(
            count = self.records.len(),
            duplicates = self.duplicates,
            rejected = self.rejected.len(),
            data,
            "batch processed"
        );
    }
}

/// The function. Bad records are reported in the response, never returned as an error: an error would make
/// Lambda retry the whole batch, good records included, and hold the shard until it succeeds.
pub async fn handler(event: LambdaEvent<KinesisEvent>) -> Result<KinesisEventResponse, Error> {
    todo!("process the event's records, log the batch, and report each rejected record's sequence number")
}

/// The function's log format: one JSON object a line, the event's fields at the top level, the runtime's span
/// (with the request id) under `span`, and no timestamp, since CloudWatch Logs stamps every line it receives.
pub fn json_logs<W>(writer: W, level: LevelFilter) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_max_level(level)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests;
