//! The simulated fleet: vehicles that start near real cities and drive around them, each reading a pure function of
//! the fleet's seed, the vehicle and the time. No state survives an invocation, and none is needed: the next
//! invocation asks where each vehicle is *now*, and the answer continues the same journey.
//!
//! This module is given. It is here so that the stream carries data worth analysing (step 5), with a known share of
//! deliberate mistakes: a [`Fleet::is_glitch`] reading is hundreds of kilometres off, as a GPS receiver sometimes is.

use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;
use uuid::Uuid;

/// One GPS reading, as the rest of the pipeline reads it:
/// `{"id":"…","vehicle":"vehicle-00042","timestamp":"2026-11-27T10:15:03.250Z","latitude":…,"longitude":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// One per reading: a record that Kinesis delivers twice carries the same id.
    pub id: Uuid,
    /// The vehicle that sent it, and the record's partition key.
    pub vehicle: String,
    /// When the vehicle took the reading (event time), RFC 3339 in UTC with milliseconds.
    pub timestamp: String,
    /// Degrees north (positive) or south (negative) of the equator: -90 to 90.
    pub latitude: f64,
    /// Degrees east (positive) or west (negative) of Greenwich: -180 to 180.
    pub longitude: f64,
}

/// A place vehicles start from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    pub name: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

const fn city(name: &'static str, latitude: f64, longitude: f64) -> City {
    City {
        name,
        latitude,
        longitude,
    }
}

/// Where the fleet's vehicles start: every inhabited continent, both hemispheres, and Taveuni, the Fijian island
/// that the 180° meridian crosses, so that some vehicles drive over the antimeridian.
pub const CITIES: [City; 36] = [
    city("Reykjavik", 64.147, -21.943),
    city("London", 51.507, -0.128),
    city("Paris", 48.857, 2.352),
    city("Madrid", 40.417, -3.704),
    city("Berlin", 52.520, 13.405),
    city("Rome", 41.903, 12.496),
    city("Istanbul", 41.008, 28.978),
    city("Moscow", 55.756, 37.617),
    city("Cairo", 30.044, 31.236),
    city("Lagos", 6.524, 3.379),
    city("Nairobi", -1.286, 36.817),
    city("Johannesburg", -26.204, 28.047),
    city("Dubai", 25.205, 55.271),
    city("Mumbai", 19.076, 72.878),
    city("Delhi", 28.614, 77.209),
    city("Bangkok", 13.756, 100.502),
    city("Singapore", 1.352, 103.820),
    city("Beijing", 39.904, 116.407),
    city("Shanghai", 31.230, 121.474),
    city("Seoul", 37.567, 126.978),
    city("Tokyo", 35.676, 139.650),
    city("Sydney", -33.869, 151.209),
    city("Auckland", -36.848, 174.763),
    city("Taveuni", -16.850, -179.970),
    city("Honolulu", 21.307, -157.858),
    city("Anchorage", 61.218, -149.900),
    city("Vancouver", 49.283, -123.121),
    city("San Francisco", 37.775, -122.419),
    city("Los Angeles", 34.052, -118.244),
    city("Mexico City", 19.433, -99.133),
    city("Chicago", 41.878, -87.630),
    city("New York", 40.713, -74.006),
    city("Bogota", 4.711, -74.072),
    city("Lima", -12.046, -77.043),
    city("Sao Paulo", -23.551, -46.633),
    city("Buenos Aires", -34.604, -58.382),
];

/// Kilometres per degree of latitude (and of longitude at the equator).
const KM_PER_DEGREE: f64 = 111.32;
/// A vehicle's home is within this many kilometres of its city, in each direction.
const HOME_SPREAD_KM: f64 = 30.0;
/// The wanderings around home, per axis: (amplitude in km, period in hours). The speed along an axis is at most
/// 2π × Σ amplitude / period ≈ 97 km/h, scaled by each vehicle's pace: a journey whose heading and speed change
/// over minutes, never from one reading to the next.
const WANDER: [(f64, f64); 3] = [(90.0, 20.0), (30.0, 5.0), (6.0, 1.2)];
/// GPS noise: an error of up to this many metres in each direction, drifting from one value to the next every
/// [`NOISE_STEP_MS`], as a receiver's error does (it moves the reading by a few km/h at most).
const NOISE_METRES: f64 = 5.0;
const NOISE_STEP_MS: i64 = 10_000;
/// A glitch moves the reading this far, in kilometres, in a random direction.
pub const GLITCH_KM: (f64, f64) = (200.0, 800.0);

/// Salts, so that each use of the hash draws independent numbers.
const PROFILE: u64 = 1;
const NOISE: u64 = 2;
const GLITCH: u64 = 3;
const GLITCH_SHIFT: u64 = 4;
const ID: u64 = 5;

/// The simulation's parameters. Two fleets with the same seed and size are the same vehicles on the same journeys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fleet {
    pub seed: u64,
    /// Vehicles `vehicle-00000` to `vehicle-<vehicles - 1>`.
    pub vehicles: u32,
    /// The share of readings, 0 to 1, that are glitches.
    pub glitch_rate: f64,
}

impl Fleet {
    /// The id of vehicle number `vehicle`: `vehicle-00042`.
    pub fn vehicle_id(vehicle: u32) -> String {
        format!("vehicle-{vehicle:05}")
    }

    /// The city vehicle number `vehicle` starts from.
    pub fn city_of(&self, vehicle: u32) -> City {
        CITIES[(mix(&[self.seed, PROFILE, vehicle as u64]) % CITIES.len() as u64) as usize]
    }

    /// Where the vehicle really is at `at_ms` (milliseconds since 1970), as (latitude, longitude): no noise, no glitch.
    pub fn true_position(&self, vehicle: u32, at_ms: i64) -> (f64, f64) {
        let city = self.city_of(vehicle);
        let draw = |n: u64| unit(mix(&[self.seed, PROFILE, vehicle as u64, n]));
        let pace = 0.6 + 0.4 * draw(0);
        let hours = at_ms as f64 / 3_600_000.0;
        // East and north, in km from the city: a fixed home, plus a few slow waves of different periods.
        let mut east = HOME_SPREAD_KM * (2.0 * draw(1) - 1.0);
        let mut north = HOME_SPREAD_KM * (2.0 * draw(2) - 1.0);
        for (term, (amplitude, period)) in WANDER.iter().enumerate() {
            let n = 10 + 4 * term as u64;
            let stretch = 0.8 + 0.4 * draw(n);
            let (amplitude, period) = (amplitude * stretch * pace, period * stretch);
            east += amplitude * (TAU * hours / period + TAU * draw(n + 1)).sin();
            north += amplitude * (TAU * hours / (period * 1.13) + TAU * draw(n + 2)).sin();
        }
        shifted(city.latitude, city.longitude, east, north)
    }

    /// Whether the reading of `vehicle` (its id) at `at_ms` is a glitch: a pure function of the seed, the vehicle and
    /// the time, so that whoever knows the seed and the rate can tell the glitches in a stream from its readings alone.
    pub fn is_glitch(&self, vehicle: &str, at_ms: i64) -> bool {
        unit(mix(&[self.seed, GLITCH, text_hash(vehicle), at_ms as u64])) < self.glitch_rate
    }

    /// The reading vehicle number `vehicle` sends at `at_ms`: its position with GPS noise, or, for a glitch, a point
    /// hundreds of kilometres away.
    pub fn reading(&self, vehicle: u32, at_ms: i64) -> Reading {
        let id = Fleet::vehicle_id(vehicle);
        let (latitude, longitude) = self.true_position(vehicle, at_ms);
        let (east, north) = self.noise(vehicle, at_ms);
        let (mut latitude, mut longitude) = shifted(latitude, longitude, east / 1000.0, north / 1000.0);
        if self.is_glitch(&id, at_ms) {
            let draw = |n: u64| unit(mix(&[self.seed, GLITCH_SHIFT, vehicle as u64, at_ms as u64, n]));
            let distance = GLITCH_KM.0 + (GLITCH_KM.1 - GLITCH_KM.0) * draw(0);
            let bearing = TAU * draw(1);
            (latitude, longitude) = shifted(latitude, longitude, distance * bearing.sin(), distance * bearing.cos());
        }
        let bits = |n: u64| mix(&[self.seed, ID, vehicle as u64, at_ms as u64, n]).to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&bits(0));
        bytes[8..].copy_from_slice(&bits(1));
        Reading {
            id: uuid::Builder::from_random_bytes(bytes).into_uuid(),
            vehicle: id,
            timestamp: rfc3339_millis(at_ms),
            latitude,
            longitude,
        }
    }

    /// `count` readings spread evenly over the second that starts at `second_ms`, from vehicles taking turns: the
    /// first is vehicle number `first % vehicles`, the next the one after it, and so on round the fleet.
    pub fn readings(&self, first: u64, count: u64, second_ms: i64) -> Vec<Reading> {
        (0..count)
            .map(|n| {
                let vehicle = ((first + n) % self.vehicles as u64) as u32;
                self.reading(vehicle, second_ms + (n * 1000 / count.max(1)) as i64)
            })
            .collect()
    }

    /// The GPS error at `at_ms`, east and north in metres: drawn afresh every [`NOISE_STEP_MS`] and eased from one
    /// draw to the next, so that it never jumps.
    fn noise(&self, vehicle: u32, at_ms: i64) -> (f64, f64) {
        let step = at_ms.div_euclid(NOISE_STEP_MS);
        let along = at_ms.rem_euclid(NOISE_STEP_MS) as f64 / NOISE_STEP_MS as f64;
        let ease = along * along * (3.0 - 2.0 * along);
        let draw = |step: i64, axis: u64| {
            NOISE_METRES * (2.0 * unit(mix(&[self.seed, NOISE, vehicle as u64, step as u64, axis])) - 1.0)
        };
        let blend = |axis| draw(step, axis) * (1.0 - ease) + draw(step + 1, axis) * ease;
        (blend(0), blend(1))
    }
}

/// The point `east` and `north` kilometres from (latitude, longitude), on a local flat map (close enough for a few
/// hundred km), with the longitude brought back into [-180, 180) and the latitude kept within the poles.
fn shifted(latitude: f64, longitude: f64, east: f64, north: f64) -> (f64, f64) {
    let latitude = (latitude + north / KM_PER_DEGREE).clamp(-89.9, 89.9);
    let longitude = longitude + east / (KM_PER_DEGREE * latitude.to_radians().cos());
    (latitude, (longitude + 180.0).rem_euclid(360.0) - 180.0)
}

/// A well-mixed 64-bit hash of a few numbers (SplitMix64's finaliser after each one).
fn mix(values: &[u64]) -> u64 {
    values.iter().fold(0x9e37_79b9_7f4a_7c15, |hash, value| {
        let mut z = (hash ^ value).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// FNV-1a of a text, to feed [`mix`].
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// A hash as a number in [0, 1).
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Milliseconds since 1970 as RFC 3339 in UTC with milliseconds: `2026-11-27T10:15:03.250Z`.
pub fn rfc3339_millis(at_ms: i64) -> String {
    let (days, ms) = (at_ms.div_euclid(86_400_000), at_ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// The inverse of [`rfc3339_millis`], for the timestamps the fleet writes (`None` for any other text).
pub fn parse_rfc3339_millis(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 24
        && text.is_ascii()
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .all(|&(at, byte)| bytes[at] == byte);
    if !shape_ok {
        return None;
    }
    let number = |from: usize, to: usize| text[from..to].parse::<i64>().ok();
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let days = days_from_civil(year, month, day);
    let ms = ((number(11, 13)? * 60 + number(14, 16)?) * 60 + number(17, 19)?) * 1000 + number(20, 23)?;
    (rfc3339_millis(days * 86_400_000 + ms) == text).then_some(days * 86_400_000 + ms)
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's algorithm, proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day, counted from 1970-01-01, of a date: the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
