//! A record's data as a [`Reading`], or why it is not one: step 3 taught this part, so here it is given (the
//! chapter's "Bad records: skipped and counted, not reported"). [`crate::Aggregate::fold`] calls [`parse_record`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
