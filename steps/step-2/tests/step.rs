//! The tests of step 2. They run against your code in `steps/step-2` (`cargo xtask check step-2`) and, unchanged,
//! against the solution. Most use a fake Kinesis (`lab_testkit::fake`: the real SDK client, answered on the wire by
//! the test instead of the network) so that refusals and throttling can be staged exactly; the last ones put
//! records on the local cloud that `cargo xtask check` starts, and read them back, the very last through the
//! `producer` binary itself, run by the local cloud's Lambda host.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::types::ShardIteratorType;
use lab_testkit::fake::{Call, FakeAws, Reply};
use lambda_runtime::{Context, LambdaEvent};
use md5::{Digest, Md5};
use producer::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

const THROTTLED: &str = "ProvisionedThroughputExceededException";
const INTERNAL: &str = "InternalFailure";

/// Entries with the keys `key-0000`, `key-0001`, … and a little JSON each.
fn keyed_entries(count: usize) -> Vec<Entry> {
    (0..count)
        .map(|i| Entry::new(format!("key-{i:04}"), format!("{{\"n\":{i}}}\n")).unwrap())
        .collect()
}

fn index_of(key: &str) -> usize {
    key.trim_start_matches("key-").parse().unwrap()
}

/// What Kinesis does with a key: where MD5 of the key, read as a 128-bit number, falls among the shards' ranges.
fn hash_key(partition_key: &str) -> u128 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    u128::from_be_bytes(digest)
}

/// A stream's shards split the 128-bit hash space evenly: with four, shard `n` holds the keys whose top two bits
/// are `n`.
fn shard_of_four(partition_key: &str) -> usize {
    (hash_key(partition_key) >> 126) as usize
}

// ---------------------------------------------------------------------------------------------------------------
// Records: a fleet's readings, keyed by vehicle

/// A reading as the fleet writes it, fixed for the tests.
fn sample_reading() -> Reading {
    serde_json::from_value(json!({
        "id": "6f1c2a44-9b1e-4d3a-8c55-2f0e9d7b1a10",
        "vehicle": "vehicle-00042",
        "timestamp": "2026-11-27T10:15:03.250Z",
        "latitude": -22.9519,
        "longitude": -43.2105
    }))
    .unwrap()
}

/// 10:15:00 UTC on 27 November 2026, in milliseconds since 1970.
const MORNING_MS: i64 = 1_795_774_500_000;

fn test_fleet(vehicles: u32, glitch_rate: f64) -> Fleet {
    Fleet {
        seed: 7,
        vehicles,
        glitch_rate,
    }
}

/// Great-circle distance in km.
fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let (dlat, dlon) = (lat2 - lat1, (b.1 - a.1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

#[test]
fn to_entry_is_one_json_line_keyed_by_the_vehicle() {
    let entry = sample_reading().to_entry();

    let data = entry.data();
    assert!(
        !data.contains(&b'\n'),
        "a record is one JSON document and no newline: Firehose's AppendDelimiterToRecord (step 4) adds the one \
         after each record, and a second would leave a blank line after every record in S3"
    );
    let json: Value = serde_json::from_slice(data).expect("the record is JSON");
    let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "latitude", "longitude", "timestamp", "vehicle"]),
        "the record's fields"
    );
    assert_eq!(json["id"], "6f1c2a44-9b1e-4d3a-8c55-2f0e9d7b1a10");
    assert_eq!(json["vehicle"], "vehicle-00042");
    assert_eq!(json["timestamp"], "2026-11-27T10:15:03.250Z");
    assert_eq!(json["latitude"], -22.9519);
    assert_eq!(
        entry.partition_key(),
        "vehicle-00042",
        "the partition key is the vehicle: its readings share a shard, in the order they were written"
    );
}

#[test]
fn to_entry_spreads_1000_vehicles_over_four_shards_within_10_percent() {
    let fleet = test_fleet(1_000, 0.0);
    let mut per_shard = [0usize; 4];
    for vehicle in 0..1_000 {
        per_shard[shard_of_four(fleet.reading(vehicle, MORNING_MS).to_entry().partition_key())] += 1;
    }
    for (shard, count) in per_shard.iter().enumerate() {
        assert!(
            (225..=275).contains(count),
            "shard {shard} got {count} of 1,000 vehicles; each of four should get 250 ± 10% ({per_shard:?})"
        );
    }

    // One vehicle is one key, and one key is one shard, however much that vehicle sends: the hot-key problem.
    let one_vehicle: BTreeSet<usize> = (0..1_000)
        .map(|n| shard_of_four(fleet.reading(7, MORNING_MS + n * 1000).to_entry().partition_key()))
        .collect();
    assert_eq!(one_vehicle.len(), 1, "every reading of one vehicle goes to one shard");
}

#[test]
fn fleet_positions_are_a_pure_function_of_seed_vehicle_and_time() {
    let fleet = test_fleet(300, 0.01);
    for vehicle in [0, 1, 150, 299] {
        for at in [MORNING_MS, MORNING_MS + 1, MORNING_MS + 3_600_000] {
            assert_eq!(
                fleet.reading(vehicle, at),
                fleet.reading(vehicle, at),
                "the same seed, vehicle and time give the same reading (id included)"
            );
        }
    }
    let other_seed = Fleet { seed: 8, ..fleet };
    assert_ne!(
        fleet.reading(3, MORNING_MS).latitude,
        other_seed.reading(3, MORNING_MS).latitude,
        "another seed is another fleet"
    );
    // Two invocations that read the fleet a second apart continue one journey: a few dozen metres further on.
    let (now, later) = (
        fleet.true_position(3, MORNING_MS),
        fleet.true_position(3, MORNING_MS + 1000),
    );
    assert!(haversine_km(now, later) < 0.05, "{now:?} to {later:?} in one second");
}

#[test]
fn fleet_vehicles_start_near_cities_and_move_at_plausible_speeds() {
    let fleet = test_fleet(300, 0.0);
    let mut cities = BTreeSet::new();
    for vehicle in 0..300 {
        let city = fleet.city_of(vehicle);
        cities.insert(city.name);
        let mut previous = fleet.reading(vehicle, MORNING_MS);
        let mut top_kmh: f64 = 0.0;
        // A reading every 5 s for 2 hours: the speed between readings, GPS noise included.
        for step in 1..=1_440 {
            let reading = fleet.reading(vehicle, MORNING_MS + step * 5_000);
            let km = haversine_km(
                (previous.latitude, previous.longitude),
                (reading.latitude, reading.longitude),
            );
            top_kmh = top_kmh.max(km / (5.0 / 3600.0));
            previous = reading;
        }
        let home = haversine_km((city.latitude, city.longitude), (previous.latitude, previous.longitude));
        assert!(home < 300.0, "vehicle {vehicle} is {home:.0} km from {}", city.name);
        assert!(
            (20.0..=200.0).contains(&top_kmh),
            "vehicle {vehicle}'s top speed over two hours is {top_kmh:.0} km/h"
        );
    }
    assert!(
        cities.len() >= 30,
        "300 vehicles start from most of the cities: {cities:?}"
    );
    assert!(
        CITIES.iter().any(|city| city.longitude.abs() > 179.0),
        "a city on the antimeridian"
    );
    for city in CITIES {
        assert!((-90.0..=90.0).contains(&city.latitude) && (-180.0..=180.0).contains(&city.longitude));
    }
}

#[test]
fn fleet_glitches_come_at_the_configured_rate_and_can_be_recomputed() {
    let fleet = test_fleet(300, 0.02);
    let readings = fleet.readings(0, 30_000, MORNING_MS);
    let glitches: Vec<&Reading> = readings
        .iter()
        .filter(|reading| {
            let at = fleet::parse_rfc3339_millis(&reading.timestamp).expect("the fleet's timestamps parse back");
            fleet.is_glitch(&reading.vehicle, at)
        })
        .collect();
    assert!(
        (480..=720).contains(&glitches.len()),
        "2% of 30,000 readings are glitches, give or take: {}",
        glitches.len()
    );
    for glitch in glitches {
        let vehicle: u32 = glitch.vehicle.trim_start_matches("vehicle-").parse().unwrap();
        let at = fleet::parse_rfc3339_millis(&glitch.timestamp).unwrap();
        let off = haversine_km(fleet.true_position(vehicle, at), (glitch.latitude, glitch.longitude));
        assert!(
            (100.0..=1_000.0).contains(&off),
            "a glitch is hundreds of km off: {off:.0} km"
        );
    }
    let none = Fleet {
        glitch_rate: 0.0,
        ..fleet
    };
    assert!(
        none.readings(0, 10_000, MORNING_MS)
            .iter()
            .all(|reading| !none.is_glitch(&reading.vehicle, MORNING_MS)),
        "a rate of 0 injects none"
    );
}

#[test]
fn fleet_readings_have_unique_ids_and_millisecond_timestamps() {
    let fleet = test_fleet(300, 0.01);
    let readings = fleet.readings(0, 10_000, MORNING_MS);
    let ids: BTreeSet<uuid::Uuid> = readings.iter().map(|reading| reading.id).collect();
    assert_eq!(ids.len(), readings.len(), "every reading has its own id");
    assert!(readings.iter().all(|reading| reading.id.get_version_num() == 4));
    assert_eq!(readings[0].timestamp, "2026-11-27T10:15:00.000Z");
    assert_eq!(
        readings[1].timestamp, "2026-11-27T10:15:00.000Z",
        "10,000 readings in one second"
    );
    assert_eq!(readings[9_999].timestamp, "2026-11-27T10:15:00.999Z");
    assert_eq!(fleet::rfc3339_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(
        fleet::parse_rfc3339_millis("2000-02-29T00:00:00.123Z"),
        Some(951_782_400_123)
    );
    assert_eq!(fleet::parse_rfc3339_millis("2000-02-30T00:00:00.123Z"), None);
    let vehicles: BTreeSet<&str> = readings.iter().map(|reading| reading.vehicle.as_str()).collect();
    assert_eq!(vehicles.len(), 300, "the vehicles take turns");
}

/// The glitches tool and the lab read a reading's time back from its timestamp: every time of day, and nothing but
/// the fleet's own format (any other text is `None`, never a panic, whatever its length or its bytes).
#[test]
fn fleet_timestamps_parse_back_at_any_time_and_nothing_else_does() {
    for at_ms in [0, 951_782_400_123, 1_795_823_999_999, MORNING_MS + 3_723_456] {
        let text = fleet::rfc3339_millis(at_ms);
        assert_eq!(fleet::parse_rfc3339_millis(&text), Some(at_ms), "{text}");
    }
    // The proleptic Gregorian calendar, century years included (2100 is no leap year, 2400 is), on both sides of 1970.
    for (at_ms, text) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_769_860_800_000, "2026-01-31T12:00:00.000Z"),
        (1_777_593_600_000, "2026-05-01T00:00:00.000Z"),
        (1_795_823_999_999, "2026-11-27T23:59:59.999Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
        (13_574_606_400_000, "2400-02-29T12:00:00.000Z"),
        (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ] {
        assert_eq!(fleet::rfc3339_millis(at_ms), text, "{at_ms} ms");
        assert_eq!(fleet::parse_rfc3339_millis(text), Some(at_ms), "{text}");
    }
    for text in [
        "",
        "2026",
        "2026-11-27T10:15:03.25Z",
        "2026-11-27T10:15:03.2500Z",
        "2026-11-27 10:15:03.250Z",
        "2026-11-27T10:15:03.250+",
        // 24 bytes, not ASCII: its bytes do not all start a character.
        "éééééééééééé",
        "2026-11-27T10:15:03.2éZ",
    ] {
        assert_eq!(fleet::parse_rfc3339_millis(text), None, "{text:?}");
    }
}

/// Every reading is a point on the globe: latitude within the poles, longitude in [-180, 180), also for the vehicles
/// of Taveuni, whose roads cross the 180° meridian (so step 5 sees readings on both sides of it).
#[test]
fn fleet_readings_stay_on_the_globe_across_the_antimeridian() {
    let fleet = test_fleet(300, 0.05);
    let (mut west_of_it, mut east_of_it) = (0, 0);
    for vehicle in 0..300 {
        for step in 0..240 {
            let reading = fleet.reading(vehicle, MORNING_MS + step * 30_000);
            assert!(
                (-90.0..=90.0).contains(&reading.latitude) && (-180.0..180.0).contains(&reading.longitude),
                "vehicle {vehicle} at ({}, {}) is off the globe",
                reading.latitude,
                reading.longitude
            );
            if fleet.city_of(vehicle).name == "Taveuni" {
                west_of_it += usize::from(reading.longitude > 179.0);
                east_of_it += usize::from(reading.longitude < -179.0);
            }
        }
    }
    assert!(
        west_of_it > 0 && east_of_it > 0,
        "Taveuni's vehicles drive on both sides of the antimeridian: {west_of_it} readings west of it, {east_of_it} east"
    );
}

/// A glitch strikes vehicles independently: at one instant, some vehicles of a fleet glitch and others do not, and
/// which ones depends on the vehicle's id (so the lab can recompute them from the readings).
#[test]
fn fleet_glitches_strike_vehicles_independently() {
    let fleet = test_fleet(400, 0.5);
    for at_ms in [MORNING_MS, MORNING_MS + 1, MORNING_MS + 60_000] {
        let struck = (0..400)
            .filter(|vehicle| fleet.is_glitch(&Fleet::vehicle_id(*vehicle), at_ms))
            .count();
        assert!(
            (140..=260).contains(&struck),
            "at a rate of 0.5, about half of 400 vehicles glitch at one instant, not {struck}"
        );
    }
    let similar = ["vehicle-00001", "vehicle-00002", "vehicle-00003", "vehicle-00010"];
    let patterns: BTreeSet<Vec<bool>> = similar
        .iter()
        .map(|id| (0..64).map(|n| fleet.is_glitch(id, MORNING_MS + n)).collect())
        .collect();
    assert_eq!(
        patterns.len(),
        similar.len(),
        "vehicles with similar ids glitch at different times"
    );
}

/// A reading's GPS noise: how far it is from where the vehicle really is, in metres (east, north). Near enough to
/// be flat, so a degree is a fixed number of metres (on the sphere of `haversine_km`), and east shrinks with the
/// latitude's cosine.
fn noise_metres(fleet: &Fleet, vehicle: u32, at: i64) -> (f64, f64) {
    let metres_per_degree = 6_371_000.0 * std::f64::consts::PI / 180.0;
    let (latitude, longitude) = fleet.true_position(vehicle, at);
    let reading = fleet.reading(vehicle, at);
    // Across the antimeridian the longitudes differ by almost 360°: the difference, brought into [-180, 180).
    let east_degrees = (reading.longitude - longitude + 540.0).rem_euclid(360.0) - 180.0;
    (
        east_degrees * latitude.to_radians().cos() * metres_per_degree,
        (reading.latitude - latitude) * metres_per_degree,
    )
}

#[test]
fn fleet_gps_noise_is_a_few_metres_and_drifts_smoothly() {
    // fleet.rs's NOISE_METRES (private): an error of up to 5 m in each direction, so at most 5·√2 m in all (plus a
    // little for the flat map the fleet shifts a reading on).
    let most = 5.0 * 2f64.sqrt() + 0.1;
    let fleet = test_fleet(300, 0.0);
    let mut sizes = Vec::new();
    for vehicle in (0..300).step_by(15) {
        // A reading a second for two minutes: a dozen of the fleet's noise draws (one every NOISE_STEP_MS, 10 s).
        let offsets: Vec<(f64, f64)> = (0..=120)
            .map(|second| noise_metres(&fleet, vehicle, MORNING_MS + second * 1000))
            .collect();
        for (second, &(east, north)) in offsets.iter().enumerate() {
            let size = east.hypot(north);
            assert!(
                size <= most,
                "vehicle {vehicle} at {second} s: the reading is {size:.2} m from where it is (east {east:.2} m, \
                 north {north:.2} m); GPS noise is at most 5 m in each direction"
            );
            sizes.push(size);
        }
        let span = |axis: fn(&(f64, f64)) -> f64| {
            let values = || offsets.iter().map(axis);
            values().fold(f64::MIN, f64::max) - values().fold(f64::MAX, f64::min)
        };
        let (east, north) = (span(|offset| offset.0), span(|offset| offset.1));
        assert!(
            east.max(north) > 2.0,
            "vehicle {vehicle}'s GPS noise drifts over two minutes, but it spans only {east:.2} m east and \
             {north:.2} m north"
        );
        for (second, pair) in offsets.windows(2).enumerate() {
            let moved = (pair[1].0 - pair[0].0).hypot(pair[1].1 - pair[0].1);
            // Eased from draw to draw, the noise moves at most 1.5 m a second on each axis; a fresh draw would
            // jump by up to 10.
            assert!(
                moved < 2.5,
                "vehicle {vehicle}'s GPS noise moves {moved:.2} m from {second} s to {} s: it drifts, never jumps",
                second + 1
            );
        }
    }
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    assert!(
        (2.0..=5.0).contains(&mean),
        "a reading is a few metres from where its vehicle is, on average {mean:.2} m"
    );
}

#[test]
fn fleet_glitches_land_200_to_800_km_away_in_every_direction() {
    let fleet = test_fleet(300, 0.5);
    let (nearest, farthest) = fleet::GLITCH_KM;
    let mut distances = Vec::new();
    // North-east, south-east, south-west, north-west of where the vehicle is.
    let mut quadrants = [0usize; 4];
    for vehicle in 0..300 {
        for at in (0..8).map(|second| MORNING_MS + second * 1000) {
            if !fleet.is_glitch(&Fleet::vehicle_id(vehicle), at) {
                continue;
            }
            let (latitude, longitude) = fleet.true_position(vehicle, at);
            let glitch = fleet.reading(vehicle, at);
            let km = haversine_km((latitude, longitude), (glitch.latitude, glitch.longitude));
            // The fleet moves the reading on a flat map, so on the sphere it lands a little nearer or further than
            // meant: up to 5% (far north, and far east or west), measured with this fleet.
            assert!(
                (nearest * 0.94..=farthest * 1.06).contains(&km),
                "vehicle {vehicle}'s glitch at {at} is {km:.0} km from where it is, not {nearest:.0} to \
                 {farthest:.0} km"
            );
            distances.push(km);
            let north = glitch.latitude > latitude;
            let east = (glitch.longitude - longitude + 540.0).rem_euclid(360.0) - 180.0 > 0.0;
            quadrants[match (north, east) {
                (true, true) => 0,
                (false, true) => 1,
                (false, false) => 2,
                (true, false) => 3,
            }] += 1;
        }
    }
    let count = distances.len();
    assert!(count >= 1_000, "half of 2,400 readings are glitches: {count}");
    let closest = distances.iter().copied().fold(f64::MAX, f64::min);
    let furthest = distances.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        closest < 300.0 && furthest > 700.0,
        "glitches spread over {nearest:.0} to {farthest:.0} km, but {count} of them land only {closest:.0} to \
         {furthest:.0} km away"
    );
    // A random direction: a quarter of the glitches in each quadrant, give or take (4 standard deviations).
    assert!(
        quadrants
            .iter()
            .all(|&share| (count / 5..=count * 3 / 10).contains(&share)),
        "{count} glitches land in every direction alike, but north-east, south-east, south-west and north-west of \
         their vehicles hold {quadrants:?}"
    );
}

#[test]
fn glitches_binary_lists_exactly_the_injected_glitches() {
    let fleet = Fleet {
        seed: 11,
        vehicles: 50,
        glitch_rate: 0.05,
    };
    let readings = fleet.readings(0, 2_000, MORNING_MS);
    let expected: BTreeSet<String> = readings
        .iter()
        .filter(|reading| {
            fleet.is_glitch(
                &reading.vehicle,
                fleet::parse_rfc3339_millis(&reading.timestamp).unwrap(),
            )
        })
        .map(|reading| reading.id.to_string())
        .collect();
    assert!(expected.len() > 50, "a few glitches to find: {}", expected.len());
    let ndjson: String = readings
        .iter()
        .map(|reading| serde_json::to_string(reading).unwrap() + "\n")
        .collect();
    let path = std::env::temp_dir().join(format!("{}.ndjson", lab_testkit::unique_name("readings")));
    std::fs::write(&path, ndjson).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glitches"))
        .args(["--seed", "11", "--glitch-rate", "0.05"])
        .arg(&path)
        .output()
        .expect("the glitches binary runs");
    std::fs::remove_file(&path).ok();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        listed, expected,
        "one id a line, every injected glitch and nothing else"
    );
}

#[test]
fn glitches_binary_names_each_bad_line_and_fails_on_any() {
    let fleet = Fleet {
        seed: 11,
        vehicles: 50,
        glitch_rate: 0.05,
    };
    let reading = fleet.readings(0, 1, MORNING_MS).remove(0);
    let good = serde_json::to_string(&reading).unwrap();
    let not_rfc3339 = Reading {
        timestamp: "2026-11-27 10:15:00".to_owned(),
        ..reading
    };
    let late = serde_json::to_string(&not_rfc3339).unwrap();
    let path = std::env::temp_dir().join(format!("{}.ndjson", lab_testkit::unique_name("bad-lines")));
    std::fs::write(&path, format!("{good}\n{{\"cut short\n\n{late}\n")).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_glitches"))
            .args(args)
            .output()
            .expect("the glitches binary runs")
    };
    let output = run(&["--seed".as_ref(), "11".as_ref(), path.as_os_str()]);
    std::fs::remove_file(&path).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a bad line fails the run: {stderr}");
    let file = path.display();
    assert!(
        stderr.contains(&format!("{file}:2: not a reading")),
        "line 2 named: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:4: timestamp")),
        "line 4 named (a blank line counts): {stderr}"
    );

    let help = run(&["--help".as_ref()]);
    assert_eq!(help.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&help.stderr).contains("usage: glitches [--seed N]"));
}

// ---------------------------------------------------------------------------------------------------------------
// Batching

fn assert_same_entries(batches: &[Vec<Entry>], entries: &[Entry]) {
    let flat: Vec<&Entry> = batches.iter().flatten().collect();
    assert_eq!(
        flat.len(),
        entries.len(),
        "every entry is in exactly one batch (no entry lost, none twice)"
    );
    assert!(
        flat.iter().zip(entries).all(|(a, b)| *a == b),
        "batches keep the entries' order"
    );
}

fn bytes(batch: &[Entry]) -> usize {
    batch.iter().map(Entry::size).sum()
}

#[test]
fn batches_hold_at_most_500_records() {
    let entries = keyed_entries(1_234);
    let batches = batches(entries.clone());
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 500, 234], "1,234 small records make three calls");
    assert_same_entries(&batches, &entries);

    assert_eq!(
        producer::batches(keyed_entries(500)).len(),
        1,
        "500 records fit in one call"
    );
    assert!(producer::batches(vec![]).is_empty(), "no records, no calls");
}

#[test]
fn batches_hold_at_most_5_mib_counting_partition_keys() {
    // 400 records of 13,000 bytes: 5,200,000 bytes of data, under 5 MiB (5,242,880). With their 256-byte keys they
    // are 5,302,400 bytes, over it: Kinesis counts the keys, so they cannot go in one call.
    let key = |i: usize| format!("{i:0>256}");
    let entries: Vec<Entry> = (0..400)
        .map(|i| Entry::new(key(i), vec![b'x'; 13_000]).unwrap())
        .collect();
    let batches = batches(entries.clone());
    assert_same_entries(&batches, &entries);
    for batch in &batches {
        assert!(
            bytes(batch) <= MAX_BYTES_PER_CALL,
            "a batch of {} bytes (data and keys) is over 5 MiB",
            bytes(batch)
        );
    }
    assert_eq!(
        batches.len(),
        2,
        "as few calls as the limits allow: 395 records, then 5"
    );
    assert_eq!(batches[0].len(), 395);
}

#[test]
fn batches_fill_a_call_up_to_exactly_5_mib() {
    // Five records of exactly 1 MiB each (data and key): 5 MiB, which is the limit, not over it: one call.
    let mib = |i: usize| {
        let key = format!("mib-{i}");
        Entry::new(key.clone(), vec![b'x'; MAX_RECORD_BYTES - key.len()]).unwrap()
    };
    let entries: Vec<Entry> = (0..6).map(mib).collect();
    let batches = batches(entries.clone());
    assert_same_entries(&batches, &entries);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [5, 1],
        "a call may hold exactly 5 MiB (5 records of 1 MiB); only a sixth goes over"
    );
    assert_eq!(bytes(&batches[0]), MAX_BYTES_PER_CALL);
}

#[test]
fn batches_send_a_record_of_almost_1_mib() {
    let small = Entry::new("small", "{}\n").unwrap();
    let big = |i: usize| {
        let key = format!("big-{i}");
        Entry::new(key.clone(), vec![b'x'; MAX_RECORD_BYTES - key.len()]).unwrap()
    };
    let mut entries = vec![small];
    entries.extend((0..6).map(big));
    let batches = batches(entries.clone());
    assert_same_entries(&batches, &entries);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [5, 2],
        "one small record and four of 1 MiB fill a call; a fifth of 1 MiB would go over 5 MiB"
    );
    assert!(batches.iter().all(|batch| bytes(batch) <= MAX_BYTES_PER_CALL));

    // What no batching could send is refused earlier, by Entry::new.
    assert!(
        Entry::new("k", vec![b'x'; MAX_RECORD_BYTES]).is_err(),
        "1 MiB of data plus a key is over the limit"
    );
    assert!(Entry::new("", "{}").is_err(), "a partition key cannot be empty");
    assert!(
        Entry::new("k".repeat(257), "{}").is_err(),
        "a partition key has at most 256 characters"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Retrying what Kinesis refused

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter() {
    let policy = RetryPolicy {
        attempts: 5,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
    };
    for retry in 1..=12u32 {
        let ceiling = (Duration::from_millis(100) * 2u32.pow(retry - 1)).min(Duration::from_secs(1));
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(retry)).collect();
        let longest = *waits.iter().max().unwrap();
        assert!(
            longest <= ceiling,
            "retry {retry}: waited {longest:?}, more than min(cap, base × 2^{}) = {ceiling:?}",
            retry - 1
        );
        assert!(
            longest > ceiling / 2,
            "retry {retry}: 200 waits all under {:?}; they should spread up to {ceiling:?}",
            ceiling / 2
        );
        let distinct: BTreeSet<_> = waits.iter().collect();
        assert!(
            distinct.len() > 100,
            "retry {retry}: the waits are random (jitter), so producers do not retry in step"
        );
    }
    assert!(
        policy.backoff(u32::MAX) <= Duration::from_secs(1),
        "a very late retry still waits at most the cap"
    );
}

/// What the fake Kinesis saw.
#[derive(Default)]
struct Seen {
    /// The partition keys of each `PutRecords` call, in order.
    calls: Vec<Vec<String>>,
    /// How many times Kinesis accepted each key.
    accepted: HashMap<String, usize>,
    tries: HashMap<String, usize>,
}

/// A Kinesis client whose calls `fake` answers instead of the network; the client itself is the real SDK's.
fn client_of(fake: &FakeAws, retry: RetryConfig) -> Client {
    let config = aws_sdk_kinesis::config::Builder::from(&lab_testkit::fake::config(fake))
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// The partition keys of a `PutRecords` call, in order.
fn keys_of(call: &Call) -> Vec<String> {
    let records = call.body["Records"].as_array().cloned().unwrap_or_default();
    records
        .iter()
        .map(|record| record["PartitionKey"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A Kinesis client that answers every `PutRecords` itself: `refuse(key, try)` says whether (and with which error
/// code) the `try`-th sending of `key` is refused.
fn fake_kinesis(
    refuse: impl Fn(&str, usize) -> Option<&'static str> + Send + Sync + 'static,
) -> (Client, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = seen.clone();
    let fake = FakeAws::new(move |call| {
        if call.operation != "PutRecords" {
            return Reply::client_error("UnknownOperationException", "this fake answers PutRecords only");
        }
        let mut guard = log.lock().unwrap();
        let seen = &mut *guard;
        let keys = keys_of(call);
        let mut failed = 0;
        let results: Vec<Value> = keys
            .iter()
            .map(|key| {
                let tries = seen.tries.entry(key.clone()).or_default();
                *tries += 1;
                match refuse(key, *tries) {
                    Some(code) => {
                        failed += 1;
                        json!({"ErrorCode": code, "ErrorMessage": "refused by the test"})
                    }
                    None => {
                        *seen.accepted.entry(key.clone()).or_default() += 1;
                        json!({"ShardId": "shardId-000000000000", "SequenceNumber": seen.accepted.len().to_string()})
                    }
                }
            })
            .collect();
        seen.calls.push(keys);
        Reply::Output(json!({"FailedRecordCount": failed, "Records": results}))
    });
    // Every answer is a 200 here; the SDK's own retries (of failed calls) are tested separately.
    (client_of(&fake, RetryConfig::disabled()), seen)
}

/// A producer whose resends wait a few milliseconds at most.
fn quick_producer(client: Client, attempts: u32) -> Producer {
    Producer {
        client,
        stream: Stream::Name("TelemetricStream".to_owned()),
        retry: RetryPolicy {
            attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        },
        partition_key: None,
    }
}

fn in_a_minute() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn keys_where(count: usize, keep: impl Fn(usize) -> bool) -> Vec<String> {
    (0..count).filter(|&i| keep(i)).map(|i| format!("key-{i:04}")).collect()
}

#[tokio::test]
async fn send_resends_only_the_refused_entries() {
    // key-0000 is accepted at once, key-0001 refused once, key-0002 refused twice, key-0003 at once, and so on.
    let (client, seen) = fake_kinesis(|key, try_| {
        let refusals = index_of(key) % 3;
        let code = if index_of(key).is_multiple_of(2) {
            THROTTLED
        } else {
            INTERNAL
        };
        (try_ <= refusals).then_some(code)
    });
    let producer = quick_producer(client, 5);

    let tally = producer.send(keyed_entries(90), in_a_minute()).await;

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.calls.len(),
        3,
        "three calls: all, then the refused, then the refused again"
    );
    assert_eq!(
        seen.calls[0],
        keys_where(90, |_| true),
        "the first call sends the batch"
    );
    assert_eq!(
        seen.calls[1],
        keys_where(90, |i| i % 3 >= 1),
        "the second call resends exactly the entries refused by the first, in order"
    );
    assert_eq!(
        seen.calls[2],
        keys_where(90, |i| i % 3 == 2),
        "the third call resends exactly the entries refused by the second"
    );
    assert!(
        seen.accepted.len() == 90 && seen.accepted.values().all(|&times| times == 1),
        "every entry was written once: none lost, none duplicated"
    );
    assert_eq!(
        tally,
        Tally {
            sent: 90,
            retried: 60 + 30,
            failed: 0,
            calls: 3,
            errors: BTreeMap::new(),
            error: None,
        }
    );
}

#[tokio::test]
async fn send_counts_entries_refused_at_every_attempt() {
    // One key in four is refused every time; the others are accepted at once.
    let (client, seen) = fake_kinesis(|key, _| (index_of(key) % 4 == 3).then_some(INTERNAL));
    let producer = quick_producer(client, 4);

    let tally = producer.send(keyed_entries(100), in_a_minute()).await;

    let seen = seen.lock().unwrap();
    assert_eq!(seen.calls.len(), 4, "retry.attempts = 4: four calls, then give up");
    for call in &seen.calls[1..] {
        assert_eq!(
            *call,
            keys_where(100, |i| i % 4 == 3),
            "only the refused entries are resent"
        );
    }
    assert_eq!(tally.sent, 75, "the 75 accepted entries count as sent");
    assert_eq!(tally.failed, 25, "the 25 always refused entries count as failed");
    assert_eq!(tally.sent + tally.failed, 100, "every entry is either sent or failed");
    assert_eq!(tally.retried, 25 * 3, "each failed entry was resent three times");
    assert_eq!(tally.calls, 4);
    assert_eq!(
        tally.errors,
        BTreeMap::from([(INTERNAL.to_owned(), 25)]),
        "failures are reported by their error code"
    );
    assert!(
        seen.accepted.values().all(|&times| times == 1),
        "no entry written twice"
    );
}

#[tokio::test]
async fn send_retries_throttled_entries_then_gives_up_at_stop_time() {
    // A stream over its capacity: everything is throttled twice, then accepted.
    let (client, seen) = fake_kinesis(|_, try_| (try_ <= 2).then_some(THROTTLED));
    let producer = quick_producer(client, 5);
    let tally = producer.send(keyed_entries(50), in_a_minute()).await;
    assert_eq!(seen.lock().unwrap().calls.len(), 3);
    assert_eq!(
        (tally.sent, tally.retried, tally.failed),
        (50, 100, 0),
        "throttled entries are resent until accepted"
    );

    // The same, with no time left: one call, then the refused entries are counted as failed, not waited for.
    let (client, seen) = fake_kinesis(|key, _| (index_of(key).is_multiple_of(2)).then_some(THROTTLED));
    let producer = quick_producer(client, 5);
    let tally = producer.send(keyed_entries(50), Instant::now()).await;
    assert_eq!(
        seen.lock().unwrap().calls.len(),
        1,
        "no resend is started when its wait would end past stop_at"
    );
    assert_eq!((tally.sent, tally.retried, tally.failed), (25, 0, 25));
    assert_eq!(tally.errors, BTreeMap::from([(THROTTLED.to_owned(), 25)]));
}

#[tokio::test]
async fn send_gives_up_rather_than_wait_past_stop_time() {
    // Every entry refused; the next attempt would come after a backoff of up to a year, far past stop_at (a second
    // away). The entries are failed at once: sleeping would overrun the invocation (and Lambda's deadline). Waiting
    // 5 s for it (it takes none) turns a send that sleeps into a failure, not a hung test.
    let (client, seen) = fake_kinesis(|_, _| Some(THROTTLED));
    let year = Duration::from_secs(365 * 24 * 3600);
    let producer = Producer {
        retry: RetryPolicy {
            attempts: 5,
            base: year,
            cap: year,
        },
        ..quick_producer(client, 5)
    };
    let stop_at = Instant::now() + Duration::from_secs(1);
    let sent = tokio::time::timeout(Duration::from_secs(5), producer.send(keyed_entries(10), stop_at)).await;
    let tally = sent.expect("send waited past stop_at instead of giving up");
    assert_eq!(
        seen.lock().unwrap().calls.len(),
        1,
        "no resend that would end past stop_at"
    );
    assert_eq!((tally.sent, tally.retried, tally.failed), (0, 0, 10));
}

/// A `PutRecords` answer accepting every entry of `call`.
fn accept_all(call: &Call) -> Reply {
    let results: Vec<Value> = (0..keys_of(call).len())
        .map(|n| json!({"ShardId": "shardId-000000000000", "SequenceNumber": n.to_string()}))
        .collect();
    Reply::Output(json!({"FailedRecordCount": 0, "Records": results}))
}

#[tokio::test]
async fn send_counts_a_call_that_fails_as_a_whole() {
    // A call throttled as a whole is retried by the SDK itself, as sdk_retry_config() allows. (The SDK's retries
    // resend the same request, so the fake answers from a script: throttled twice, then all 20 accepted.)
    let attempts = Arc::new(Mutex::new(0));
    let fake = FakeAws::new(move |call| {
        let mut attempt = attempts.lock().unwrap();
        *attempt += 1;
        if *attempt <= 2 {
            Reply::client_error(
                THROTTLED,
                "Rate exceeded for stream TelemetricStream under account 123456789012.",
            )
        } else {
            accept_all(call)
        }
    });
    let client = client_of(&fake, sdk_retry_config());
    let tally = quick_producer(client, 5).send(keyed_entries(20), in_a_minute()).await;
    assert_eq!(fake.calls().len(), 3, "the SDK made three attempts");
    assert_eq!((tally.sent, tally.failed, tally.calls), (20, 0, 1));

    // A call that fails for good: its entries are failed, the reason is reported, nothing is lost from the count.
    let fake = FakeAws::new(|_| {
        Reply::client_error(
            "ResourceNotFoundException",
            "Stream TelemetricStream under account 123456789012 not found.",
        )
    });
    let client = client_of(&fake, sdk_retry_config());
    let tally = quick_producer(client, 5).send(keyed_entries(20), in_a_minute()).await;
    assert_eq!((tally.sent, tally.failed, tally.retried), (0, 20, 0));
    assert_eq!(
        tally.errors,
        BTreeMap::from([("ResourceNotFoundException".to_owned(), 20)])
    );
    assert!(
        tally.error.as_deref().is_some_and(|error| error.contains("not found")),
        "the tally says which call failed and why: {:?}",
        tally.error
    );
}

// ---------------------------------------------------------------------------------------------------------------
// A bounded invocation

fn request(json: Value) -> Request {
    serde_json::from_value(json).expect("a request")
}

#[test]
fn budget_stops_two_seconds_before_the_deadline() {
    let asking = |max_seconds| Request {
        max_seconds,
        ..Request::default()
    };
    assert_eq!(
        budget(&asking(60), Duration::from_secs(10)),
        (Duration::from_secs(8), StopReason::Deadline),
        "10 s left: produce for 8 s, keeping 2 s for the last call and the response"
    );
    assert_eq!(
        budget(&asking(5), Duration::from_secs(300)),
        (Duration::from_secs(5), StopReason::MaxSeconds),
        "max_seconds = 5 with 300 s left: 5 s"
    );
    assert_eq!(
        budget(&asking(60), Duration::from_millis(1_500)),
        (Duration::ZERO, StopReason::Deadline),
        "less than 2 s left: no time to produce at all"
    );
}

/// An invocation as Lambda makes it: the request, and a context whose deadline is `time_left` from now.
fn invocation(request: Request, time_left: Duration) -> (LambdaEvent<Request>, SystemTime) {
    let deadline = SystemTime::now() + time_left;
    let mut context = Context::default();
    context.request_id = "4d0b6f36-5ec1-4c3b-9d42-1d2f1b0c7a11".to_owned();
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:produceKinesisEvents".to_owned();
    (LambdaEvent::new(request, context), deadline)
}

#[tokio::test]
async fn handler_refuses_a_bad_request() {
    let (client, seen) = fake_kinesis(|_, _| None);
    let producer = quick_producer(client, 5);
    for bad in [
        json!({"records_per_second": 0}),
        json!({"records_per_second": 10_001}),
        json!({"max_records": 0}),
        json!({"max_seconds": 0}),
        json!({"max_seconds": 901}),
        json!({"vehicles": 0}),
        json!({"vehicles": 100_001}),
        json!({"glitch_rate": -0.01}),
        json!({"glitch_rate": 0.5}),
    ] {
        let (event, _) = invocation(request(bad.clone()), Duration::from_secs(60));
        assert!(handler(&producer, event).await.is_err(), "the handler refuses {bad}");
    }
    assert!(seen.lock().unwrap().calls.is_empty(), "a refused request sends nothing");

    // An EventBridge schedule (AWS's example event) is a valid request: its fields are ignored, the defaults apply.
    let scheduled = request(json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2015-10-08T16:53:06Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
        "detail": {}
    }));
    assert_eq!(scheduled, Request::default());
}

#[tokio::test]
async fn handler_returns_before_the_deadline() {
    let (client, seen) = fake_kinesis(|_, _| None);
    let producer = quick_producer(client, 5);

    // 3 s left: one second of producing (10 records), then stop, 2 s before the deadline.
    let asked = request(json!({"records_per_second": 10, "max_records": 1000, "max_seconds": 60}));
    let (event, deadline) = invocation(asked.clone(), Duration::from_secs(3));
    let response = handler(&producer, event).await.expect("the handler answers");
    assert!(
        SystemTime::now() < deadline,
        "the handler must return before the deadline"
    );
    assert_eq!(response.stopped, StopReason::Deadline);
    assert_eq!(
        (response.tally.sent, response.tally.failed),
        (10, 0),
        "in its one second it sent one second's worth of records"
    );
    assert_eq!(seen.lock().unwrap().calls.len(), 1);

    // Less than 2 s left: nothing is started.
    let (event, deadline) = invocation(asked, Duration::from_millis(1_500));
    let response = handler(&producer, event).await.expect("the handler answers");
    assert!(SystemTime::now() < deadline);
    assert_eq!(response.stopped, StopReason::Deadline);
    assert_eq!(response.tally.calls, 0, "no call is started inside the margin");
    assert_eq!(seen.lock().unwrap().calls.len(), 1);

    let report = serde_json::to_value(&response).unwrap();
    for field in ["sent", "retried", "failed", "stopped"] {
        assert!(report.get(field).is_some(), "the response reports {field}: {report}");
    }
    assert_eq!(report["stopped"], "deadline");
}

#[tokio::test]
async fn handler_stops_at_max_records_or_max_seconds() {
    // The two runs at once (each lasts a second or so of real time).
    let by_records = async {
        let (client, seen) = fake_kinesis(|_, _| None);
        let producer = quick_producer(client, 5);
        let (event, _) = invocation(
            request(json!({"records_per_second": 500, "max_records": 700, "max_seconds": 60})),
            Duration::from_secs(60),
        );
        let response = handler(&producer, event).await.expect("the handler answers");
        assert_eq!(response.stopped, StopReason::MaxRecords);
        assert_eq!(response.tally.sent, 700, "exactly max_records records");
        let sizes: Vec<usize> = seen.lock().unwrap().calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 200], "500 in the first second, the last 200 in the second");
    };
    let by_seconds = async {
        let (client, _) = fake_kinesis(|_, _| None);
        let producer = quick_producer(client, 5);
        let (event, _) = invocation(
            request(json!({"records_per_second": 20, "max_records": 1000, "max_seconds": 1})),
            Duration::from_secs(60),
        );
        let response = handler(&producer, event).await.expect("the handler answers");
        assert_eq!(response.stopped, StopReason::MaxSeconds);
        assert_eq!(response.tally.sent, 20, "one second at 20 records a second");
    };
    tokio::join!(by_records, by_seconds);
}

#[tokio::test]
async fn run_reports_the_sum_of_every_batchs_tally() {
    // 700 records in one second: two calls' worth (500, 200). Every entry is throttled once; the vehicles whose
    // number ends in 7 are refused every time (InternalFailure), in both batches.
    let (client, seen) = fake_kinesis(|key, try_| {
        if key.ends_with('7') {
            Some(INTERNAL)
        } else {
            (try_ == 1).then_some(THROTTLED)
        }
    });
    let producer = quick_producer(client, 3);
    let asked = request(json!({"records_per_second": 700, "max_records": 700, "max_seconds": 60, "vehicles": 700}));
    let response = producer.run(&asked, Duration::from_secs(60)).await;

    let seen = seen.lock().unwrap();
    let sent: usize = seen.accepted.values().sum();
    let resent = seen.calls.iter().map(Vec::len).sum::<usize>() - 700;
    let failed = 700 - sent;
    let failed_in = |batch: &[String]| batch.iter().filter(|key| key.ends_with('7')).count();
    assert!(
        failed_in(&seen.calls[0]) > 0 && failed_in(seen.calls.last().unwrap()) > 0,
        "both batches have failures"
    );
    assert_eq!(
        response.tally,
        Tally {
            sent: sent as u64,
            retried: resent as u64,
            failed: failed as u64,
            calls: seen.calls.len() as u64,
            errors: BTreeMap::from([(INTERNAL.to_owned(), failed as u64)]),
            error: None,
        },
        "the report adds up every batch's tally: sent, retried, failed, calls and errors"
    );
    assert_eq!(seen.calls.len(), 6, "three attempts for each of the two batches");
    assert_eq!(response.stopped, StopReason::MaxRecords);
}

// ---------------------------------------------------------------------------------------------------------------
// On the local cloud

/// Creates a stream of `shards` shards on the local cloud; returns its ARN.
async fn local_stream(kinesis: &Client, shards: i32) -> String {
    let name = lab_testkit::unique_name("producer-test");
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .expect("the local cloud creates a stream");
    lab_testkit::wait_until_active(kinesis, &name).await.stream_arn
}

/// Deletes a test's stream once the test has read it (before its assertions, so that a failed one deletes it too):
/// the check cloud serves the next check as well, and a stream left there keeps its shards counted against the
/// account's 500, AWS's limit, which the local cloud enforces. These tests left nine shards a check, and after
/// about 55 checks in a row `CreateStream` was refused.
async fn delete_stream(kinesis: &Client, stream_arn: &str) {
    kinesis
        .delete_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("the local cloud deletes the test's stream");
}

/// Every record on every shard of the stream, as (shard's hash range, partition key, data).
async fn read_everything(kinesis: &Client, stream_arn: &str) -> Vec<((u128, u128), String, Vec<u8>)> {
    let shards = kinesis
        .list_shards()
        .stream_arn(stream_arn)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut records = vec![];
    for shard in shards {
        let range = shard.hash_key_range.unwrap();
        let range: (u128, u128) = (
            range.starting_hash_key.parse().unwrap(),
            range.ending_hash_key.parse().unwrap(),
        );
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(&shard.shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        // GetRecords returns what is there a page at a time; an empty page means we have read it all.
        for _ in 0..100 {
            let Some(current) = iterator.take() else { break };
            let page = kinesis
                .get_records()
                .stream_arn(stream_arn)
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await
                .unwrap();
            if page.records.is_empty() {
                break;
            }
            for record in page.records {
                records.push((
                    range,
                    record.partition_key.unwrap_or_default(),
                    record.data.into_inner(),
                ));
            }
            iterator = page.next_shard_iterator;
        }
    }
    records
}

#[tokio::test]
async fn handler_puts_every_record_on_the_local_stream_once() {
    let config = lab_testkit::local_aws().await;
    let kinesis = Client::new(&config);
    let stream_arn = local_stream(&kinesis, 4).await;

    // 1,200 records in one second, well within four shards' 4,000 (the pacing is another test's).
    let producer = Producer::new(kinesis_client(&config), Stream::Arn(stream_arn.clone()));
    let (event, _) = invocation(
        request(json!({"records_per_second": 1200, "max_records": 1200, "max_seconds": 30})),
        Duration::from_secs(60),
    );
    let response = handler(&producer, event).await.expect("the handler answers");
    assert_eq!(response.stopped, StopReason::MaxRecords, "{response:?}");
    assert_eq!((response.tally.sent, response.tally.failed), (1200, 0), "{response:?}");

    let records = read_everything(&kinesis, &stream_arn).await;
    delete_stream(&kinesis, &stream_arn).await;
    assert_eq!(records.len(), 1200, "every record sent is on the stream, once");
    let mut ids = BTreeSet::new();
    let mut shards = BTreeSet::new();
    for (range, key, data) in &records {
        let reading: Reading = serde_json::from_slice(data).expect("each record is a reading in JSON");
        assert!(
            !data.contains(&b'\n'),
            "a record is its JSON alone: Firehose adds the newline"
        );
        assert_eq!(*key, reading.vehicle, "each record is keyed by its vehicle");
        assert!(
            (range.0..=range.1).contains(&hash_key(key)),
            "the record keyed {key} is on the shard whose hash range holds MD5 of its key"
        );
        ids.insert(reading.id);
        shards.insert(*range);
    }
    assert_eq!(ids.len(), 1200, "no record is on the stream twice");
    assert_eq!(shards.len(), 4, "records reached every one of the four shards");
}

#[tokio::test]
async fn handler_finds_the_stream_named_in_its_environment() {
    let config = lab_testkit::local_aws().await;
    let kinesis = Client::new(&config);
    let stream_arn = local_stream(&kinesis, 1).await;
    let name = stream_arn.rsplit('/').next().unwrap().to_owned();

    // As if the function's configuration said STREAM_NAME=<name>.
    let stream = Stream::from_lookup(|variable| (variable == "STREAM_NAME").then(|| name.clone())).unwrap();
    let producer = Producer::new(kinesis_client(&config), stream);
    let (event, _) = invocation(
        request(json!({"records_per_second": 25, "max_records": 25})),
        Duration::from_secs(60),
    );
    let response = handler(&producer, event).await.expect("the handler answers");
    let records = read_everything(&kinesis, &stream_arn).await;
    delete_stream(&kinesis, &stream_arn).await;
    assert_eq!((response.tally.sent, response.stopped), (25, StopReason::MaxRecords));
    assert_eq!(records.len(), 25);
}

#[tokio::test]
async fn handler_keeps_each_vehicles_readings_in_order_on_its_shard() {
    let config = lab_testkit::local_aws().await;
    let kinesis = Client::new(&config);
    let stream_arn = local_stream(&kinesis, 4).await;

    // 20 vehicles, 1,000 readings in one second, in two PutRecords calls of 500: each vehicle reports 50 times, a
    // reading every 20 ms, in both calls (four shards take 4,000 a second: nothing is refused and sent again).
    let producer = Producer::new(kinesis_client(&config), Stream::Arn(stream_arn.clone()));
    let (event, _) = invocation(
        request(json!({"records_per_second": 1000, "max_records": 1000, "vehicles": 20, "glitch_rate": 0})),
        Duration::from_secs(60),
    );
    let response = handler(&producer, event).await.expect("the handler answers");
    // Read back shard by shard: within a shard, records come in the order Kinesis stored them.
    let records = read_everything(&kinesis, &stream_arn).await;
    delete_stream(&kinesis, &stream_arn).await;
    assert_eq!((response.tally.sent, response.tally.failed), (1000, 0), "{response:?}");

    let mut shard_of_vehicle: HashMap<String, (u128, u128)> = HashMap::new();
    let mut last_seen: HashMap<String, String> = HashMap::new();
    let mut per_vehicle: HashMap<String, usize> = HashMap::new();
    for (range, _, data) in records {
        let reading: Reading = serde_json::from_slice(&data).unwrap();
        let shard = *shard_of_vehicle.entry(reading.vehicle.clone()).or_insert(range);
        assert_eq!(shard, range, "all of {}'s readings are on one shard", reading.vehicle);
        if let Some(previous) = last_seen.get(&reading.vehicle) {
            // RFC 3339 timestamps of one format sort as text in time order.
            assert!(
                *previous < reading.timestamp,
                "{}: the reading of {} arrived after the one of {previous}",
                reading.vehicle,
                reading.timestamp
            );
        }
        last_seen.insert(reading.vehicle.clone(), reading.timestamp);
        *per_vehicle.entry(reading.vehicle).or_default() += 1;
    }
    assert_eq!(per_vehicle.len(), 20, "every vehicle reported");
    assert!(per_vehicle.values().all(|&count| count == 50), "{per_vehicle:?}");
}

/// The whole function, as Lambda runs it: this crate's own `producer` executable, registered in the local cloud's
/// Lambda API with `STREAM_ARN` in its configuration, started by the local Lambda host and handed one invocation
/// through the Runtime API. Its `main` must build the client, find the stream and serve the handler.
#[tokio::test]
async fn the_producer_binary_answers_an_invocation_and_its_records_are_in_the_stream() {
    use lab_cloud::lambda_host::{LambdaHost, Outcome, function_spec};
    use lab_cloud::testing::LocalFunction;

    let config = lab_testkit::local_aws().await;
    let kinesis = Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let stream_arn = local_stream(&kinesis, 1).await;
    let binary = env!("CARGO_BIN_EXE_producer").as_ref();
    let environment = [("STREAM_ARN", stream_arn.as_str())];
    let function = LocalFunction::register(&config, "producer", binary, &environment);
    let function = function.await.expect("the local cloud registers the function");
    // Lambda adds its own variables to the function's: the region and credentials, here those of the local cloud
    // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
    let cloud: Vec<(String, String)> = std::env::vars().filter(|(key, _)| key.starts_with("AWS_")).collect();
    let folders = &function.folders;
    let spec = function_spec(&lambda, &function.name, &folders.functions, &folders.logs, &cloud);
    let spec = spec.await.expect("the function's configuration");

    let host = LambdaHost::new();
    let outcome = host
        .invoke(&spec, &json!({"max_records": 20, "records_per_second": 20}))
        .await;
    host.shutdown();
    let records = read_everything(&kinesis, &stream_arn).await;
    let log = function.log();
    lambda
        .delete_function()
        .function_name(&function.name)
        .send()
        .await
        .unwrap();
    delete_stream(&kinesis, &stream_arn).await;

    let Outcome::Response(answer) = outcome else {
        panic!("the producer binary answers the invocation, not {outcome:?}; its log:\n{log}");
    };
    let response: Response = serde_json::from_value(answer.clone()).expect("the answer is a Response in JSON");
    assert_eq!(
        (response.tally.sent, response.tally.failed, response.stopped),
        (20, 0, StopReason::MaxRecords),
        "20 records asked for, 20 sent: {answer}"
    );
    assert_eq!(
        records.len(),
        20,
        "the 20 records sent are on the stream its environment names"
    );
    for (_, key, data) in &records {
        let reading: Reading = serde_json::from_slice(data).expect("each record is a reading in JSON");
        assert_eq!(*key, reading.vehicle, "each record is keyed by its vehicle");
    }
}
