//! Why a record is rejected, and how each reason reads: the consumer logs it for each rejected record ("record
//! rejected", its `reason` field). The chapter's "Typed records, and what \"invalid\" means" lists the reasons; you
//! build them in `validate`, `parse_record` and `From<serde_json::Error>`.

// ANCHOR: record_error
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
// ANCHOR_END: record_error

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
