//! The measuring and bookkeeping behind a vehicle's track (the chapter's "Following each vehicle"): a [`Fix`] and
//! the haversine distance and speed between two, a move counted in the track's figures ([`Track::travel`]), an
//! [`Anomaly`] and the aggregate's list of them ([`Aggregate::flag`], [`Aggregate::clear`]). What a reading means,
//! [`Track::observe`], and what the aggregate does about it, [`Aggregate::add`], are the learner's.

use crate::{Aggregate, MAX_ANOMALIES, Reading, Track};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

impl Track {
    /// Counts a plausible move in this window's figures, to three decimals (a metre, a thousandth of a km/h): more
    /// digits would only make the state larger.
    pub fn travel(&mut self, km: f64, kmh: f64) {
        let thousandths = |value: f64| (value * 1000.0).round() / 1000.0;
        self.km = thousandths(self.km + km);
        self.top_kmh = thousandths(self.top_kmh.max(kmh));
    }
}

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
}
