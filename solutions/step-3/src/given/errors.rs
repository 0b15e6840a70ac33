//! How a [`RecordError`] reads: the reason the consumer logs for each rejected record ("record rejected", its
//! `reason` field). The chapter's "Typed records, and what \"invalid\" means" lists the reasons.

use crate::RecordError;

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
