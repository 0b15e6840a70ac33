//! Step 3: the consumer Lambda. An event source mapping reads the stream shard by shard and calls [`handler`] with a
//! batch of records; the function turns each record into a typed, validated [`GpsRecord`], processes every id once,
//! logs the batch, and names the records it could not process so that Lambda retries exactly those.
//!
//! Everything that decides anything is a small pure function ([`GpsRecord::validate`], [`parse_record`],
//! [`process_batch`]), tested and benchmarked without Lambda; the handler only wires them together. The types they
//! build are given, with the machinery, in `given/`: the [`GpsRecord`] and its bounds in `given/record.rs`, the
//! [`RecordError`] reasons and how they display in `given/errors.rs`, [`is_rfc3339`] in `given/timestamp.rs`,
//! `Batch::log` and the log format in `given/logs.rs`.

mod given;

pub use given::errors::RecordError;
pub use given::logs::json_logs;
pub use given::record::{GpsRecord, MAX_LATITUDE, MAX_LONGITUDE};
pub use given::timestamp::is_rfc3339;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::error::Category;
use std::collections::HashSet;

impl GpsRecord {
    /// The record itself when both coordinates are in range, it names a vehicle and its timestamp is RFC 3339;
    /// otherwise the first thing that is wrong.
    pub fn validate(self) -> Result<GpsRecord, RecordError> {
        todo!("coordinates within the bounds (included; NaN out), a vehicle, an RFC 3339 timestamp")
    }
}

/// serde_json says whether the text was not JSON at all (cut short, say) or JSON of the wrong shape (a field
/// missing or of the wrong type): the two reasons point at different faults of a producer.
impl From<serde_json::Error> for RecordError {
    fn from(error: serde_json::Error) -> Self {
        todo!("serde_json's syntax, end-of-input and I/O errors are NotJson; its data errors, NotAGpsRecord")
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

/// The function. Bad records are reported in the response, never returned as an error: an error would make
/// Lambda retry the whole batch, good records included, and hold the shard until it succeeds.
pub async fn handler(event: LambdaEvent<KinesisEvent>) -> Result<KinesisEventResponse, Error> {
    todo!("process the event's records, log the batch, and report each rejected record's sequence number")
}

#[cfg(test)]
mod tests;
