//! The record the consumer reads: what step 2's producer writes, as a type ("Typed records, and what \"invalid\"
//! means"). Its fields and bounds are what [`GpsRecord::validate`] checks.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(doc)]
use crate::is_rfc3339;

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
