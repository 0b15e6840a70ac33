//! The tests of step 5. They run against your code in `steps/step-5` (`cargo xtask check step-5`) and, unchanged,
//! against the solution. The events are JSON files in `tests/fixtures/`, in the shape Lambda sends them when the
//! event source mapping has a tumbling window; the handler is called the way the Lambda runtime calls it, and the
//! tests that check what the final invocation writes (and what the next window reads back) talk to the local
//! cloud's S3.

use analytics::*;
use aws_lambda_events::event::kinesis::{KinesisTimeWindowEvent, KinesisTimeWindowEventResponse};
use lab_testkit::{local_aws, local_s3, unique_name};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The first invocation of the window 10:15:00 to 10:16:00 on shard 1: six readings of three vehicles.
/// vehicle-00001 drives 0.5 km east in Paris; vehicle-00002 is in Sydney, then 30 s later 550 km away (a glitch);
/// vehicle-00003 drives over the antimeridian on Taveuni, from 179.997° E to 179.997° W.
const FIRST: &str = include_str!("fixtures/window-first.json");
/// The second invocation of that window: vehicle-00002 back in Sydney, vehicle-00001 another 0.5 km on, the
/// producer's resend of vehicle-00001's reading of 10:15:31 (out of order), and two bad records (a latitude of
/// 91.2, JSON cut short). Its `state` is empty in the file: a test puts in it what the first invocation returned.
const SECOND: &str = include_str!("fixtures/window-second.json");
/// The final invocation of that window: no records at all, as is usual for a final call.
const FINAL: &str = include_str!("fixtures/window-final.json");
/// The first invocation of the next window (10:16:00 to 10:17:00): vehicle-00001 another 0.5 km on, a vehicle in
/// Madrid, and one at the corner (90, 180).
const NEXT_WINDOW: &str = include_str!("fixtures/next-window.json");
/// Sixteen records from shard 0: twelve that are not readings on Earth (see
/// `fold_adds_readings_and_skips_bad_records`) between two that are (Nairobi first, Reykjavik last).
const BAD_RECORDS: &str = include_str!("fixtures/bad-records.json");
/// AWS's documented example of a time-window event, whose one record says "Hello, this is a test.". (The example's
/// state holds numbers; `aws_lambda_events` reads a state of strings, so here they are strings.)
const AWS_EXAMPLE: &str = include_str!("fixtures/aws-example-time-window-event.json");
/// A realistic result: one window of the step 2 fleet (300 vehicles, 1% glitches) on one shard.
const RESULT: &str = include_str!("fixtures/window-result.json");

const SHARD: &str = "shardId-000000000001";
const GLITCH: &str = "9b8a7c6d-5e4f-4321-8fed-cba987654321";

fn event(fixture: &str) -> KinesisTimeWindowEvent {
    serde_json::from_str(fixture).expect("a fixture is a time-window event as Lambda sends it")
}

/// The event of a fixture, carrying the state a previous invocation of its window returned.
fn event_with_state(fixture: &str, state: &HashMap<String, String>) -> KinesisTimeWindowEvent {
    let mut event = event(fixture);
    event.time_window_properties.state = state.clone();
    event
}

/// A fix of a made-up reading at `second`s past 10:15:00.
fn fix(second: f64, latitude: f64, longitude: f64) -> Fix {
    Fix {
        id: Uuid::new_v4(),
        at_ms: 1_795_774_500_000 + (second * 1000.0) as i64,
        latitude,
        longitude,
    }
}

fn reading(vehicle: &str, second: u32, latitude: f64, longitude: f64) -> Reading {
    Reading {
        id: Uuid::new_v4(),
        vehicle: vehicle.to_owned(),
        timestamp: format!("2026-11-27T10:15:{second:02}Z").parse().unwrap(),
        latitude,
        longitude,
    }
}

const PARIS: (f64, f64) = (48.8566, 2.3522);
const SYDNEY: (f64, f64) = (-33.8688, 151.2093);
const BERLIN: (f64, f64) = (52.52, 13.405);

fn cell(row: usize, column: usize) -> Cell {
    Cell { row, column }
}

/// The cells of the window 10:15 to 10:16 on shard 1, after its two batches.
fn first_window_cells() -> Grid {
    let mut cells = Grid::default();
    for (row, column) in [
        (13, 18),
        (13, 18),
        (13, 18),
        (13, 18),
        (5, 33),
        (5, 33),
        (7, 35),
        (7, 0),
        (6, 33),
    ] {
        cells.add(cell(row, column));
    }
    cells
}

fn first_window() -> TimeRange {
    TimeRange {
        start: "2026-11-27T10:15:00Z".parse().unwrap(),
        end: "2026-11-27T10:16:00Z".parse().unwrap(),
    }
}

fn assert_between(actual: f64, range: std::ops::RangeInclusive<f64>, what: &str) {
    assert!(range.contains(&actual), "{what}: expected {range:?}, got {actual}");
}

async fn s3() -> aws_sdk_s3::Client {
    local_s3(&local_aws().await)
}

/// A destination in a bucket that does not exist: an invocation that is not final must not write anything, and if
/// it tried, S3 would answer NoSuchBucket. (A window's first call finds nothing carried there.)
fn nowhere() -> Destination {
    Destination {
        bucket: unique_name("no-such-bucket"),
        prefix: DEFAULT_PREFIX.to_owned(),
    }
}

/// A destination in a new bucket of the local cloud.
async fn new_bucket(s3: &aws_sdk_s3::Client) -> Destination {
    let bucket = unique_name("analytics");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the local cloud creates the test's bucket");
    Destination::from_lookup(|name| (name == BUCKET_VARIABLE).then(|| bucket.clone()))
        .expect("ANALYTICS_BUCKET is all a destination needs")
}

/// Calls the handler as the Lambda runtime does.
async fn invoke(
    s3: &aws_sdk_s3::Client,
    destination: &Destination,
    event: KinesisTimeWindowEvent,
) -> KinesisTimeWindowEventResponse {
    handler(s3, destination, LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler skips bad records and only fails when S3 does")
}

fn state(response: &KinesisTimeWindowEventResponse) -> HashMap<String, String> {
    response.time_window_event_response_properties.state.clone()
}

fn aggregate(response: &KinesisTimeWindowEventResponse) -> Aggregate {
    Aggregate::from_state(&state(response))
        .expect("the state the handler returns is JSON")
        .expect("the state the handler returns holds an aggregate")
}

/// The keys of the bucket, under the prefix.
async fn keys(s3: &aws_sdk_s3::Client, destination: &Destination) -> Vec<String> {
    let listing = s3
        .list_objects_v2()
        .bucket(&destination.bucket)
        .prefix(&destination.prefix)
        .send()
        .await
        .expect("the test's bucket can be listed");
    listing
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect()
}

async fn read_result(s3: &aws_sdk_s3::Client, destination: &Destination, key: &str) -> WindowResult {
    let object = s3
        .get_object()
        .bucket(&destination.bucket)
        .key(key)
        .send()
        .await
        .expect("the result can be read back");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    serde_json::from_slice(&bytes).expect("the object is a WindowResult, as JSON")
}

/// The first window, run through the handler: its two batches, then the final call.
async fn run_first_window(s3: &aws_sdk_s3::Client, destination: &Destination) -> HashMap<String, String> {
    let first = invoke(s3, destination, event(FIRST)).await;
    let second = invoke(s3, destination, event_with_state(SECOND, &state(&first))).await;
    let _final = invoke(s3, destination, event_with_state(FINAL, &state(&second))).await;
    state(&second)
}

// ---------------------------------------------------------------------------------------------------------------
// The grid

#[test]
fn cell_of_a_position_is_its_10_degree_band() {
    for (place, latitude, longitude, expected) in [
        ("Paris", PARIS.0, PARIS.1, cell(13, 18)),
        ("Sydney", SYDNEY.0, SYDNEY.1, cell(5, 33)),
        ("New York", 40.7128, -74.006, cell(13, 10)),
        ("Lagos", 6.5244, 3.3792, cell(9, 18)),
        ("Tokyo", 35.6762, 139.6503, cell(12, 31)),
        ("São Paulo", -23.5505, -46.6333, cell(6, 13)),
        ("Reykjavik", 64.1466, -21.9426, cell(15, 15)),
        ("Honolulu", 21.3069, -157.8583, cell(11, 2)),
        ("McMurdo Station", -77.8419, 166.6863, cell(1, 34)),
        ("Taveuni, east of 180°", -16.85, -179.997, cell(7, 0)),
        ("Taveuni, west of 180°", -16.85, 179.997, cell(7, 35)),
    ] {
        assert_eq!(
            Cell::of(latitude, longitude),
            expected,
            "{place} ({latitude}, {longitude}): rows count 10° bands from 90° S, columns from 180° W"
        );
    }
}

#[test]
fn cell_of_the_edges_is_a_valid_cell() {
    for (latitude, longitude, expected, why) in [
        (-90.0, -180.0, cell(0, 0), "the south-west corner of the map"),
        (90.0, 180.0, cell(17, 35), "90° N and 180° E belong to the last bands"),
        (-90.0, 180.0, cell(0, 35), "the south pole on the antimeridian"),
        (
            90.0,
            -180.0,
            cell(17, 0),
            "the north pole on the antimeridian, from the west",
        ),
        (0.0, 0.0, cell(9, 18), "a band includes its southern and western edges"),
        (-0.0, -0.0, cell(9, 18), "-0.0 is 0.0"),
        (
            -30.0,
            -30.0,
            cell(6, 15),
            "a band includes its southern and western edges",
        ),
        (
            59.999,
            29.999,
            cell(14, 20),
            "just below an edge is still the band below",
        ),
        (
            -60.000_001,
            -150.000_001,
            cell(2, 2),
            "just below an edge is still the band below",
        ),
    ] {
        assert_eq!(
            Cell::of(latitude, longitude),
            expected,
            "({latitude}, {longitude}): {why}"
        );
    }
    for latitude in (-90..=90).map(f64::from) {
        for longitude in (-180..=180).step_by(5).map(f64::from) {
            let Cell { row, column } = Cell::of(latitude, longitude);
            assert!(
                row < ROWS && column < COLUMNS,
                "({latitude}, {longitude}) lands in row {row}, column {column}: outside the {ROWS} x {COLUMNS} grid"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A vehicle's track

#[test]
fn observe_measures_a_vehicles_moves_between_consecutive_readings() {
    let mut track = Track::default();
    assert_eq!(
        track.observe(fix(0.0, PARIS.0, PARIS.1)),
        Step::First,
        "nothing to compare with"
    );
    // 0.01° of latitude is 1.11 km; in 60 s, 66.7 km/h.
    let Step::Moved { km, kmh } = track.observe(fix(60.0, PARIS.0 + 0.01, PARIS.1)) else {
        panic!("a plausible move");
    };
    assert_between(km, 1.10..=1.12, "km");
    assert_between(kmh, 66.0..=67.5, "km/h");
    assert_eq!(
        track.last.unwrap().at_ms,
        fix(60.0, 0.0, 0.0).at_ms,
        "the track moves on"
    );

    assert_eq!(
        track.observe(fix(30.0, PARIS.0, PARIS.1)),
        Step::OutOfOrder,
        "a reading older than the last one is no movement"
    );
    assert_eq!(
        track.observe(fix(60.0, PARIS.0 + 0.01, PARIS.1)),
        Step::OutOfOrder,
        "nor is a reading of the same time (a duplicate)"
    );
}

#[test]
fn observe_crosses_the_antimeridian_as_a_short_move() {
    let mut track = Track::default();
    track.observe(fix(0.0, -16.85, 179.997));
    let step = track.observe(fix(30.0, -16.85, -179.997));
    let Step::Moved { km, kmh } = step else {
        panic!("0.006° of longitude over the antimeridian is a short drive, not a trip round the world: {step:?}");
    };
    assert_between(km, 0.6..=0.7, "km over the antimeridian");
    assert_between(kmh, 70.0..=85.0, "km/h over the antimeridian");
}

#[test]
fn observe_flags_an_impossible_jump_and_keeps_the_last_good_reading() {
    let mut track = Track::default();
    let start = fix(0.0, SYDNEY.0, SYDNEY.1);
    track.observe(start);
    // 550 km in 30 s.
    let Step::Anomaly { kmh } = track.observe(fix(30.0, -30.0, 155.0)) else {
        panic!("550 km in 30 s is an anomaly");
    };
    assert!(kmh > 50_000.0, "{kmh} km/h");
    assert_eq!(
        track.last,
        Some(start),
        "the glitch does not become the vehicle's position"
    );
    let step = track.observe(fix(60.0, SYDNEY.0 + 0.005, SYDNEY.1));
    assert!(
        matches!(step, Step::Moved { km, .. } if km < 1.0),
        "the next reading is compared with the last good one: {step:?}"
    );
    let limit = fix(3_660.0, SYDNEY.0 + 0.005 + 4.49, SYDNEY.1);
    assert!(
        matches!(track.observe(limit), Step::Moved { .. }),
        "under {MAX_KMH} km/h (499 km in an hour) is plausible"
    );
}

#[test]
fn observe_two_agreeing_readings_outvote_a_glitch_that_came_first() {
    // The vehicle's very first reading is the glitch: nothing tells it apart until two readings agree.
    let mut track = Track::default();
    let glitch = fix(0.0, -30.0, 155.0);
    track.observe(glitch);
    let true_one = fix(30.0, SYDNEY.0, SYDNEY.1);
    assert!(
        matches!(track.observe(true_one), Step::Anomaly { .. }),
        "at first the true one looks wrong"
    );
    let step = track.observe(fix(60.0, SYDNEY.0 + 0.005, SYDNEY.1));
    let Step::Reanchored {
        glitch: flagged,
        cleared,
        km,
        ..
    } = step
    else {
        panic!("two readings that agree outvote the one that came first: {step:?}");
    };
    assert_eq!(flagged, glitch, "the first reading is the glitch");
    assert_eq!(cleared, true_one, "and the reading flagged before is cleared");
    assert_between(km, 0.5..=0.6, "the move between the two good readings");
    assert!(matches!(
        track.observe(fix(90.0, SYDNEY.0 + 0.01, SYDNEY.1)),
        Step::Moved { .. }
    ));
}

// ---------------------------------------------------------------------------------------------------------------
// The aggregate

#[test]
fn add_counts_a_reading_in_its_cell_and_on_its_vehicle() {
    let mut aggregate = Aggregate::default();
    aggregate.add(&reading("vehicle-00001", 0, PARIS.0, PARIS.1));
    aggregate.add(&reading("vehicle-00002", 1, BERLIN.0, BERLIN.1));
    aggregate.add(&reading("vehicle-00001", 30, PARIS.0 + 0.005, PARIS.1));
    aggregate.add(&reading("vehicle-00001", 40, SYDNEY.0, SYDNEY.1));
    assert_eq!(aggregate.count, 4, "every reading is counted, glitches too");
    assert_eq!(aggregate.cells.count(cell(13, 18)), 2, "Paris twice");
    assert_eq!(aggregate.cells.count(cell(14, 19)), 1, "Berlin");
    assert_eq!(aggregate.cells.total(), 4);

    let paris = &aggregate.vehicles["vehicle-00001"];
    assert_eq!(paris.readings, 3);
    assert_between(
        paris.km,
        0.55..=0.57,
        "vehicle-00001's distance leaves the jump to Sydney out",
    );
    assert_between(paris.top_kmh, 66.0..=67.5, "and so does its top speed");
    assert_eq!(aggregate.anomalies.len(), 1, "the jump to Sydney is flagged");
    let anomaly = &aggregate.anomalies[0];
    assert_eq!(anomaly.vehicle, "vehicle-00001");
    assert!(anomaly.kmh > 1_000_000.0, "16,960 km in 10 s: {}", anomaly.kmh);
    assert_eq!(
        (anomaly.latitude, anomaly.longitude),
        SYDNEY,
        "where the glitch claimed to be"
    );
}

#[test]
fn fold_adds_readings_and_skips_bad_records() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(BAD_RECORDS).kinesis_event.records);
    // Cut-short JSON, a latitude of 91.2, a longitude of -180.5, a latitude that is a string, no data, no
    // longitude, an id that is not a UUID, gzip bytes, a lone newline, JSON null, an empty vehicle, a timestamp that
    // is not RFC 3339.
    assert_eq!(aggregate.skipped, 12, "each bad record is skipped and counted");
    assert_eq!(aggregate.count, 2, "the good records around them still count");
    assert_eq!(aggregate.cells.count(cell(8, 21)), 1, "Nairobi (-1.2921, 36.8219)");
    assert_eq!(aggregate.cells.count(cell(15, 15)), 1, "Reykjavik (64.1466, -21.9426)");

    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    aggregate.fold(&event(SECOND).kinesis_event.records);
    assert_eq!(
        (aggregate.count, aggregate.skipped, aggregate.out_of_order),
        (9, 2, 1),
        "two batches fold into one aggregate; the resent reading is out of order"
    );
    assert_eq!(aggregate.cells, first_window_cells());
    let ids: Vec<String> = aggregate.anomalies.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(ids, [GLITCH], "the glitch, and nothing else, is flagged");
}

/// An aggregate as a busy window leaves it: `vehicles` vehicles, each seen twice, a few of them with a flagged
/// reading pending.
fn busy_aggregate(vehicles: u32) -> Aggregate {
    let mut aggregate = Aggregate::default();
    for vehicle in 0..vehicles {
        let name = format!("vehicle-{vehicle:05}");
        let (latitude, longitude) = (
            -60.0 + f64::from(vehicle % 120) + 0.123_456_7,
            -179.0 + f64::from(vehicle % 358),
        );
        aggregate.add(&reading(&name, 1, latitude, longitude));
        aggregate.add(&reading(&name, 31, latitude + 0.004_321, longitude));
        if vehicle % 100 == 0 {
            aggregate.add(&reading(&name, 45, latitude + 5.0, longitude));
        }
    }
    aggregate
}

#[test]
fn state_stays_well_under_1_mb_at_ten_times_the_default_fleet() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    let state = aggregate.to_state();
    assert_eq!(state.keys().collect::<Vec<_>>(), vec![STATE_KEY], "one entry");
    assert_eq!(
        Aggregate::from_state(&state).unwrap(),
        Some(aggregate),
        "the state gives back the aggregate"
    );
    assert_eq!(
        Aggregate::from_state(&HashMap::new()).unwrap(),
        None,
        "an empty state is a new window"
    );

    // The producer's default fleet is 300 vehicles; the state grows with vehicles, not readings. Even if every
    // vehicle hashed to one shard, ten times the default fleet must leave most of Lambda's 1 MB free.
    let default_fleet = busy_aggregate(300).to_state()[STATE_KEY].len();
    let ten_times = busy_aggregate(3_000).to_state()[STATE_KEY].len();
    eprintln!("state per shard: {default_fleet} bytes for 300 vehicles, {ten_times} bytes for 3,000");
    assert!(
        default_fleet < 64 * 1024,
        "300 vehicles take {default_fleet} bytes of state"
    );
    assert!(
        ten_times < 512 * 1024,
        "3,000 vehicles take {ten_times} bytes of state: Lambda ends a window early past 1 MB"
    );
}

#[test]
fn finish_turns_the_aggregate_into_the_window_result() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    aggregate.fold(&event(SECOND).kinesis_event.records);
    let result = aggregate.finish(first_window(), SHARD, false);

    assert_eq!(result.window, first_window());
    assert_eq!(result.shard_id, SHARD);
    assert_eq!((result.count, result.skipped, result.out_of_order), (9, 2, 1));
    assert_eq!(result.cells, first_window_cells());
    assert!(!result.terminated_early);

    let paris = result.vehicles["vehicle-00001"];
    assert_eq!(paris.readings, 4, "three readings and the resent one");
    assert_between(
        paris.km,
        0.99..=1.0,
        "two moves of 0.5 km, across the window's two invocations",
    );
    assert_between(paris.top_kmh, 74.0..=75.5, "0.5 km in 24 s");
    let sydney = result.vehicles["vehicle-00002"];
    assert_between(sydney.km, 0.42..=0.43, "the glitch is left out of the distance");
    assert!(sydney.top_kmh < 40.0, "and out of the top speed: {}", sydney.top_kmh);
    let taveuni = result.vehicles["vehicle-00003"];
    assert_between(taveuni.km, 0.6..=0.7, "over the antimeridian");
    assert_eq!(result.anomalies.len(), 1);
    assert_eq!(result.anomalies[0].id.to_string(), GLITCH);
    assert_eq!(result.anomalies[0].vehicle, "vehicle-00002");
    assert_eq!(
        result.anomalies[0].timestamp,
        "2026-11-27T10:15:32Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    );

    let busiest: Vec<(usize, usize, u64)> = result.busiest.iter().map(|c| (c.row, c.column, c.count)).collect();
    assert_eq!(
        busiest,
        vec![(13, 18, 4), (5, 33, 2), (6, 33, 1), (7, 0, 1), (7, 35, 1)],
        "the busiest first, then the cells of equal count from the south-west, at most {BUSIEST}"
    );
    assert_eq!(
        result.carry.len(),
        3,
        "each vehicle's last good reading goes on to the next window"
    );
    assert_eq!(
        result.carry["vehicle-00002"].last.latitude, -33.865,
        "Sydney, not the glitch"
    );

    let empty = Aggregate::default().finish(first_window(), SHARD, true);
    assert_eq!(empty.count, 0);
    assert!(empty.busiest.is_empty() && empty.vehicles.is_empty() && empty.anomalies.is_empty());
    assert!(empty.terminated_early);
}

/// A window's result summarises the vehicles that reported in it, and only those; a vehicle silent in this window is
/// not in its `vehicles` (it drove no km here), but its last reading still goes on to the next window.
#[test]
fn finish_summarises_only_the_vehicles_that_reported_in_the_window() {
    let mut first = Aggregate::default();
    first.fold(&event(FIRST).kinesis_event.records);
    let first = first.finish(first_window(), SHARD, false);
    assert!(!first.vehicles.is_empty() && !first.carry.is_empty());

    let silent = Aggregate::resume(&first.carry).finish(first_window(), SHARD, false);
    assert!(
        silent.vehicles.is_empty(),
        "no vehicle reported in this window, yet it summarises {:?}",
        silent.vehicles.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        silent.carry.keys().collect::<Vec<_>>(),
        first.carry.keys().collect::<Vec<_>>(),
        "each vehicle's last reading goes on, reported in this window or not"
    );
}

#[test]
fn merge_adds_up_the_shards_of_one_window() {
    let mut one = Aggregate::default();
    one.fold(&event(FIRST).kinesis_event.records);
    one.fold(&event(SECOND).kinesis_event.records);
    let one = one.finish(first_window(), SHARD, false);
    let mut other = Aggregate::default();
    other.fold(&event(BAD_RECORDS).kinesis_event.records);
    let other = other.finish(first_window(), "shardId-000000000000", false);

    let merged = merge(&[one.clone(), other.clone()]).expect("two shards of one window merge");
    assert_eq!(merged.shards, ["shardId-000000000000", SHARD], "sorted");
    assert_eq!((merged.count, merged.skipped), (11, 14));
    assert_eq!(merged.cells.total(), 11);
    assert_eq!(merged.cells.count(cell(13, 18)), 4);
    assert_eq!(merged.cells.count(cell(8, 21)), 1);
    assert_eq!(merged.vehicles.len(), 5);
    assert_eq!(merged.anomalies.len(), 1);
    assert_eq!(
        merged.busiest[0],
        CellCount {
            row: 13,
            column: 18,
            count: 4
        }
    );
    assert_eq!(
        merge(&[other.clone(), one.clone()]).unwrap(),
        merged,
        "the order of the shards does not matter"
    );

    assert!(merge(&[]).is_err(), "nothing to merge");
    assert!(
        merge(&[one.clone(), one.clone()]).is_err(),
        "one shard twice would count it twice"
    );
    let mut later = other;
    later.window = TimeRange::from(&event(NEXT_WINDOW).time_window_properties.window);
    assert!(
        merge(&[one.clone(), later.clone()]).is_err(),
        "two windows are two views"
    );
    let windows = merge_by_window(vec![later, one]).unwrap();
    assert_eq!(windows.len(), 2, "merge_by_window keeps windows apart");
    assert!(windows[0].window.start < windows[1].window.start, "oldest first");
}

#[test]
fn merge_window_binary_prints_the_streams_windows_oldest_first() {
    let mut one = Aggregate::default();
    one.fold(&event(FIRST).kinesis_event.records);
    let mut other = Aggregate::default();
    other.fold(&event(BAD_RECORDS).kinesis_event.records);
    let mut next = Aggregate::default();
    next.fold(&event(NEXT_WINDOW).kinesis_event.records);
    let next_window = TimeRange::from(&event(NEXT_WINDOW).time_window_properties.window);
    let results = [
        next.finish(next_window, SHARD, false),
        one.finish(first_window(), SHARD, false),
        other.finish(first_window(), "shardId-000000000000", false),
    ];
    let paths: Vec<std::path::PathBuf> = results
        .iter()
        .map(|result| {
            let path = std::env::temp_dir().join(format!("{}.json", unique_name("result")));
            std::fs::write(&path, serde_json::to_vec(result).unwrap()).unwrap();
            path
        })
        .collect();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_merge-window"))
        .args(&paths)
        .output()
        .expect("the merge-window binary runs");
    for path in &paths {
        std::fs::remove_file(path).ok();
    }
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let windows: Vec<StreamWindow> = serde_json::from_slice(&output.stdout).expect("a JSON array of windows");
    assert_eq!(windows.len(), 2, "two windows");
    assert_eq!(windows[0].window, first_window(), "oldest first");
    assert_eq!(windows[0].shards.len(), 2);
    assert_eq!(windows[0].count, 8, "six readings on one shard, two on the other");
    assert_eq!(windows[0].anomalies[0].id.to_string(), GLITCH);
    assert_eq!(windows[1].count, 3);
}

// ---------------------------------------------------------------------------------------------------------------
// The handler

#[tokio::test]
async fn handler_carries_the_state_across_the_invocations_of_a_window() {
    let s3 = s3().await;
    let nowhere = nowhere();

    let first = invoke(&s3, &nowhere, event(FIRST)).await;
    let after_first = aggregate(&first);
    assert_eq!(
        (after_first.count, after_first.skipped),
        (6, 0),
        "the first batch: six readings"
    );

    let second = invoke(&s3, &nowhere, event_with_state(SECOND, &state(&first))).await;
    let after_second = aggregate(&second);
    assert_eq!(
        (after_second.count, after_second.skipped),
        (9, 2),
        "the second invocation starts from the state the first returned"
    );
    assert_eq!(after_second.cells, first_window_cells());
    assert_between(
        after_second.vehicles["vehicle-00001"].km,
        0.99..=1.0,
        "a vehicle's journey goes on from one invocation to the next",
    );

    // The state is what carries the window, not anything kept in the process between invocations.
    let alone = aggregate(&invoke(&s3, &nowhere, event(SECOND)).await);
    assert_eq!(
        (alone.count, alone.skipped),
        (3, 2),
        "with an empty state, only the batch itself counts"
    );
    assert_between(
        alone.vehicles["vehicle-00001"].km,
        0.0..=0.0,
        "and no vehicle has a past",
    );
}

#[tokio::test]
async fn handler_starts_a_new_window_from_the_last_readings_of_the_one_before() {
    let s3 = s3().await;
    let destination = new_bucket(&s3).await;
    run_first_window(&s3, &destination).await;

    // Lambda starts each window with an empty state; the function picks up where the previous result left off.
    let next = aggregate(&invoke(&s3, &destination, event(NEXT_WINDOW)).await);
    assert_eq!(
        (next.count, next.skipped),
        (3, 0),
        "the new window counts its own readings only"
    );
    let mut expected = Grid::default();
    expected.add(cell(13, 18)); // Paris
    expected.add(cell(13, 17)); // Madrid
    expected.add(cell(17, 35)); // (90, 180)
    assert_eq!(next.cells, expected);
    let paris = &next.vehicles["vehicle-00001"];
    assert_eq!(paris.readings, 1, "one reading in this window");
    assert_between(
        paris.km,
        0.49..=0.51,
        "measured from its last reading of the window before",
    );
    assert!(
        next.vehicles["vehicle-00002"].last.is_some(),
        "a vehicle quiet in this window is still known"
    );

    // Without the previous result (the first window of all), the new window starts with no past.
    let fresh = aggregate(&invoke(&s3, &nowhere(), event(NEXT_WINDOW)).await);
    assert_between(
        fresh.vehicles["vehicle-00001"].km,
        0.0..=0.0,
        "no previous result, no carried reading",
    );
}

#[tokio::test]
async fn handler_skips_and_counts_bad_records_without_failing() {
    let s3 = s3().await;
    let response = handler(
        &s3,
        &nowhere(),
        LambdaEvent::new(event(BAD_RECORDS), Context::default()),
    )
    .await
    .expect("a bad record is never an error: retrying the batch would bring the same bad bytes back");
    let after = aggregate(&response);
    assert_eq!((after.count, after.skipped), (2, 12));
    let json = serde_json::to_value(&response).unwrap();
    assert!(
        json.get("batchItemFailures")
            .is_none_or(|failures| failures == &json!([])),
        "no record is reported: Lambda would only send it again\n{json}"
    );

    // AWS's example: its one record is not a reading, and its state does not hold an aggregate.
    let response = invoke(&s3, &nowhere(), event(AWS_EXAMPLE)).await;
    let after = aggregate(&response);
    assert_eq!(
        (after.count, after.skipped),
        (0, 1),
        "\"Hello, this is a test.\" is skipped"
    );
}

#[tokio::test]
async fn handler_answers_with_the_state_lambda_expects() {
    let s3 = s3().await;
    let response = invoke(&s3, &nowhere(), event(FIRST)).await;
    let json = serde_json::to_value(&response).unwrap();
    let object = json.as_object().expect("the response is a JSON object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        vec!["state"],
        "Lambda needs `state` in every response of a windowed function: without it, the invocation failed\n{json}"
    );
    let entries = json["state"].as_object().expect("the state is an object");
    assert_eq!(entries.keys().collect::<Vec<_>>(), vec![STATE_KEY], "{json}");
    let aggregate: Value = serde_json::from_str(entries[STATE_KEY].as_str().expect("each entry is a string"))
        .expect("the entry holds the aggregate as JSON");
    assert_eq!(aggregate["count"], 6, "{aggregate}");
}

#[tokio::test]
async fn emit_writes_one_result_per_window_and_shard_to_s3() {
    let s3 = s3().await;
    let destination = new_bucket(&s3).await;
    assert_eq!(destination.prefix, "analytics/", "the default prefix");

    let first = invoke(&s3, &destination, event(FIRST)).await;
    let second = invoke(&s3, &destination, event_with_state(SECOND, &state(&first))).await;
    assert_eq!(
        keys(&s3, &destination).await,
        Vec::<String>::new(),
        "nothing is written before the window's final invocation"
    );

    // The final invocation brings no record, only the state.
    let _final = invoke(&s3, &destination, event_with_state(FINAL, &state(&second))).await;
    let key = "analytics/20261127T101500Z/shardId-000000000001.json";
    assert_eq!(
        keys(&s3, &destination).await,
        vec![key],
        "one object per window and shard, keyed by its start"
    );
    let result = read_result(&s3, &destination, key).await;
    assert_eq!(result.window, first_window());
    assert_eq!(result.shard_id, SHARD);
    assert_eq!((result.count, result.skipped), (9, 2), "every record of the window");
    assert_eq!(result.cells, first_window_cells());
    assert_eq!(
        result.anomalies[0].id.to_string(),
        GLITCH,
        "the glitch is in the result"
    );

    // Lambda runs a final invocation again when it fails (or times out after writing): the same key, one object.
    let _again = invoke(&s3, &destination, event_with_state(FINAL, &state(&second))).await;
    assert_eq!(
        keys(&s3, &destination).await,
        vec![key],
        "a final invocation run twice writes one object"
    );

    // The next window has its own key.
    let next = invoke(&s3, &destination, event(NEXT_WINDOW)).await;
    let mut final_of_next = event_with_state(FINAL, &state(&next));
    final_of_next.time_window_properties.window = event(NEXT_WINDOW).time_window_properties.window;
    let _final = invoke(&s3, &destination, final_of_next).await;
    assert_eq!(
        keys(&s3, &destination).await,
        vec![key, "analytics/20261127T101600Z/shardId-000000000001.json"]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The heat map

#[test]
fn heat_scales_from_cool_to_hot_by_the_square_root() {
    assert_eq!(heat(0, 10), EMPTY, "a cell without positions");
    assert_eq!(heat(0, 0), EMPTY, "an empty window: no division by zero");
    assert_eq!(heat(10, 10), HOT, "the busiest cell");
    assert_eq!(heat(1, 1), HOT, "the busiest cell, even with one position");
    assert_eq!(heat(25, 100), COOL.mix(HOT, 0.5), "sqrt(25 / 100) = 0.5");
    assert_eq!(heat(1, 100), COOL.mix(HOT, 0.1), "sqrt(1 / 100) = 0.1");

    let mut previous = COOL;
    for count in 1..=100 {
        let colour = heat(count, 100);
        assert_ne!(colour, EMPTY, "{count} positions are not none");
        assert!(
            colour.1 <= previous.1 && colour.2 <= previous.2,
            "the colour darkens as the count grows: {count} gives {colour}, {} gave {previous}",
            count - 1
        );
        previous = colour;
    }
}

/// The heat map's cells: (row, column) to (count, fill, y), read from the SVG's `data-` attributes.
fn svg_cells(document: &roxmltree::Document) -> HashMap<(usize, usize), (u64, String, f64)> {
    let number = |node: roxmltree::Node, name: &str| -> f64 {
        node.attribute(name)
            .unwrap_or_else(|| panic!("a cell has {name}"))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a number"))
    };
    document
        .descendants()
        .filter(|node| node.has_tag_name("rect") && node.attribute("class") == Some("cell"))
        .map(|node| {
            let position = (number(node, "data-row") as usize, number(node, "data-column") as usize);
            let fill = node.attribute("fill").expect("a cell has a fill").to_owned();
            (position, (number(node, "data-count") as u64, fill, number(node, "y")))
        })
        .collect()
}

fn read_svg(window: &StreamWindow) -> String {
    let path = std::env::temp_dir().join(format!("{}.svg", unique_name("heatmap")));
    write_svg(window, &path).expect("the heat map is written");
    let svg = std::fs::read_to_string(&path).expect("the heat map file exists");
    std::fs::remove_file(&path).ok();
    svg
}

#[test]
fn heat_map_shows_every_cell_of_the_stream_over_the_coastlines() {
    let result: WindowResult = serde_json::from_str(RESULT).expect("the fixture is a WindowResult");
    let window = StreamWindow::from(&result);
    let max = result.cells.max();
    let svg = read_svg(&window);
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|error| panic!("not XML ({error}):\n{svg}"));
    let root = document.root_element();
    assert!(
        root.has_tag_name(("http://www.w3.org/2000/svg", "svg")),
        "an SVG document"
    );

    let cells = svg_cells(&document);
    assert_eq!(
        cells.len(),
        ROWS * COLUMNS,
        "one rect per cell, each with its own row and column"
    );
    for cell in Cell::all() {
        let (count, fill, _) = &cells[&(cell.row, cell.column)];
        let expected = result.cells.count(cell);
        assert_eq!(*count, expected, "the count of {cell:?}");
        let colour = if expected == 0 {
            "none".to_owned()
        } else {
            heat(expected, max).to_string()
        };
        assert_eq!(*fill, colour, "the colour of {cell:?}");
    }
    assert!(
        cells[&(17, 0)].2 < cells[&(0, 0)].2,
        "north at the top: row 17 is drawn above row 0"
    );
    let mut written: Vec<u64> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("count"))
        .filter_map(|node| node.text()?.parse().ok())
        .collect();
    let mut counts: Vec<u64> = result.cells.cells().map(|cell| cell.count).collect();
    written.sort_unstable();
    counts.sort_unstable();
    assert_eq!(written, counts, "each busy cell has its count written on it");

    let land = document
        .descendants()
        .find(|node| node.attribute("class") == Some("land"))
        .expect("the coastlines are drawn");
    assert!(
        land.attribute("d").is_some_and(|d| d.len() > 10_000),
        "Natural Earth's land, not a stub"
    );
    let land_at = land.range().start;
    assert!(
        document
            .descendants()
            .filter(|node| node.attribute("class") == Some("cell"))
            .all(|node| node.range().start > land_at),
        "the cells are drawn over the land"
    );
    let mut marked: Vec<&str> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("anomaly"))
        .filter_map(|node| node.attribute("data-id"))
        .collect();
    let mut flagged: Vec<String> = result.anomalies.iter().map(|anomaly| anomaly.id.to_string()).collect();
    assert!(!flagged.is_empty(), "the fixture has anomalies");
    marked.sort_unstable();
    flagged.sort_unstable();
    assert_eq!(marked, flagged, "every anomaly is marked");

    let title = root
        .children()
        .find(|node| node.has_tag_name("title"))
        .and_then(|node| node.text())
        .expect("the document has a <title>");
    assert!(
        title.contains(&result.window.start.format("%Y-%m-%d %H:%M:%S").to_string()),
        "{title:?}"
    );
    let legend: Vec<u64> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("legend"))
        .filter_map(|node| node.attribute("data-count")?.parse().ok())
        .collect();
    assert_eq!(legend.first(), Some(&1), "the legend starts at one reading: {legend:?}");
    assert_eq!(
        legend.last(),
        Some(&max),
        "the legend ends at the busiest cell: {legend:?}"
    );
}

#[test]
fn heat_map_of_a_merged_or_empty_window() {
    let mut one = Aggregate::default();
    one.fold(&event(FIRST).kinesis_event.records);
    one.fold(&event(SECOND).kinesis_event.records);
    let mut other = Aggregate::default();
    other.fold(&event(BAD_RECORDS).kinesis_event.records);
    let stream = merge(&[
        one.finish(first_window(), SHARD, false),
        other.finish(first_window(), "shardId-000000000000", false),
    ])
    .unwrap();
    let svg = read_svg(&stream);
    let document = roxmltree::Document::parse(&svg).expect("the heat map is XML");
    let cells = svg_cells(&document);
    assert_eq!(cells[&(13, 18)].0, 4);
    assert_eq!(cells[&(13, 18)].1, HOT.to_string(), "the busiest cell is the hottest");
    assert_eq!(cells[&(8, 21)].0, 1, "Nairobi, from the other shard");
    assert!(svg.contains("2 shards"), "the picture says it shows the whole stream");

    let empty = StreamWindow::from(&Aggregate::default().finish(first_window(), SHARD, false));
    let svg = read_svg(&empty);
    let document = roxmltree::Document::parse(&svg).expect("the heat map of an empty window is XML");
    assert!(
        svg_cells(&document)
            .values()
            .all(|(count, fill, _)| *count == 0 && fill == "none")
    );
    for nonsense in ["NaN", "\"inf", ">inf"] {
        assert!(!svg.contains(nonsense), "no NaN nor infinity in the picture");
    }
}

/// Runs the `heatmap` binary in `folder` with `args`: its standard output, or its error (on the starter: the `todo!()`
/// it reached).
fn run_heatmap(folder: &std::path::Path, args: &[&std::path::Path]) -> Result<String, String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_heatmap"))
        .args(args)
        .current_dir(folder)
        .output()
        .expect("the heatmap binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_owned();
    assert!(
        !stderr.contains("not yet implemented"),
        "the heatmap binary reached a todo!():\n{stderr}"
    );
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(stderr)
    }
}

#[test]
fn heatmap_binary_draws_shard_results_or_one_merged_window() {
    let folder = std::env::temp_dir().join(unique_name("heatmap-binary"));
    std::fs::create_dir_all(&folder).unwrap();
    let result: WindowResult = serde_json::from_str(RESULT).expect("the fixture is a WindowResult");
    let other_shard = WindowResult {
        shard_id: "shardId-000000000001".to_owned(),
        ..result.clone()
    };
    let write = |name: &str, json: Vec<u8>| {
        let path = folder.join(name);
        std::fs::write(&path, json).unwrap();
        path
    };
    let shard_0 = write("shard-0.json", serde_json::to_vec(&result).unwrap());
    let shard_1 = write("shard-1.json", serde_json::to_vec(&other_shard).unwrap());
    let merged = write(
        "window.json",
        serde_json::to_vec(&merge(&[result.clone(), other_shard]).unwrap()).unwrap(),
    );
    let out = folder.join("stream.svg");
    let drawn_cells = |path: &std::path::Path| {
        let svg = std::fs::read_to_string(path).expect("the binary wrote the picture");
        let document = roxmltree::Document::parse(&svg).expect("the picture is XML");
        let counts: u64 = svg_cells(&document).values().map(|(count, _, _)| count).sum();
        (counts, svg.contains("2 shards"))
    };

    // Two shards' results of one window: merged, drawn into the file named last.
    let printed = run_heatmap(&folder, &[&shard_0, &shard_1, &out]).expect("two shards' results are drawn");
    assert!(
        printed.contains("stream.svg"),
        "it says where the picture is: {printed}"
    );
    assert_eq!(drawn_cells(&out), (2 * result.count, true), "both shards' readings");

    // One merged window, and no output named: heatmap.svg in the current folder.
    run_heatmap(&folder, &[&merged]).expect("a merged window is drawn");
    assert_eq!(drawn_cells(&folder.join("heatmap.svg")), (2 * result.count, true));

    // What it cannot draw as one picture, it refuses, naming what it takes.
    let (merged, shard_0) = (merged.as_path(), shard_0.as_path());
    for mixed in [[merged, shard_0], [merged, merged]] {
        let refused = run_heatmap(&folder, &mixed).expect_err("a merged window with anything else is refused");
        assert!(
            refused.contains("give one merged window, or shard results of one window"),
            "{refused}"
        );
    }
    let refused = run_heatmap(&folder, &[&out]).expect_err("no input at all");
    assert!(refused.contains("usage: heatmap"), "{refused}");
    std::fs::remove_dir_all(&folder).ok();
}

#[test]
fn heatmap_binary_answers_help_and_refuses_unknown_options() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_heatmap"))
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("the heatmap binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stdout, stderr)
    };
    for help in ["-h", "--help"] {
        let (code, stdout, stderr) = run(&[help]);
        assert_eq!(code, Some(0), "{help} is a question, not a mistake: {stderr}");
        assert!(stdout.contains("usage: heatmap"), "{help} prints the usage: {stdout}");
        assert!(!stderr.contains("reading"), "{help} is not read as a file: {stderr}");
    }
    let (code, _, stderr) = run(&["-x", "window.json"]);
    assert_eq!(code, Some(2), "an unknown option is a usage error: {stderr}");
    assert!(
        stderr.contains("unknown option -x") && stderr.contains("usage: heatmap"),
        "it names the option and what is accepted: {stderr}"
    );
    let (code, _, stderr) = run(&[]);
    assert_eq!(code, Some(2), "no input is a usage error too: {stderr}");
}

/// The whole loop: records put into a stream, windowed by the local cloud's event source mapping
/// (`TumblingWindowInSeconds`), given to this crate's own `analytics` binary, results landing in S3.
#[tokio::test]
async fn through_an_event_source_mapping_window_results_land_in_s3() {
    use aws_sdk_lambda::types::EventSourcePosition;
    use lab_cloud::testing::LocalFunction;
    use std::time::{Duration, Instant};

    // The cell of a position must be right before anything else is.
    assert_eq!(Cell::of(PARIS.0, PARIS.1), cell(13, 18));

    let config = local_aws().await;
    let s3 = local_s3(&config);
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let bucket = unique_name("analytics-e2e").to_lowercase();
    // The bucket, the stream and the function, at once: the stream is CREATING for a moment. The function is
    // registered in the Lambda API, its code this crate's own `analytics` executable.
    let binary = env!("CARGO_BIN_EXE_analytics").as_ref();
    let environment = [("ANALYTICS_BUCKET", bucket.as_str())];
    let (made, stream_arn, function) = tokio::join!(
        s3.create_bucket().bucket(&bucket).send(),
        lab_cloud::testing::one_shard_stream(&config, "analytics-e2e"),
        LocalFunction::register(&config, "analytics", binary, &environment)
    );
    made.unwrap();
    let (stream_arn, function) = (stream_arn.unwrap(), function.unwrap());

    // The readings first: their window is already running while the mapping is made. They are in the stream from
    // its start, where the mapping begins (TRIM_HORIZON), and in windows by the time they arrived, as on AWS.
    let positions = [PARIS, SYDNEY, BERLIN, PARIS];
    for (n, (latitude, longitude)) in positions.into_iter().enumerate() {
        let text = format!(
            r#"{{"id":"{}","vehicle":"vehicle-{n:05}","timestamp":"{}","latitude":{latitude},"longitude":{longitude}}}"#,
            Uuid::new_v4(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        let blob = aws_sdk_kinesis::primitives::Blob::new(format!("{text}\n"));
        kinesis
            .put_record()
            .stream_arn(&stream_arn)
            .partition_key("one-shard")
            .data(blob)
            .send()
            .await
            .unwrap();
    }
    kinesis
        .put_record()
        .stream_arn(&stream_arn)
        .partition_key("one-shard")
        .data(b"not a reading".as_slice().into())
        .send()
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&config)
        .create_event_source_mapping()
        .function_name(&function.name)
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(100)
        // One-second windows (AWS takes 0 to 900): the readings may fall in one or two of them; the results add up.
        .tumbling_window_in_seconds(1)
        .send()
        .await
        .unwrap();

    let mut supervisor = function.supervisor(&config).await.unwrap();

    // The windows close (their time passes, then a final invocation each) and their results are written.
    let destination = Destination {
        bucket: bucket.clone(),
        prefix: DEFAULT_PREFIX.to_owned(),
    };
    let started = Instant::now();
    let mut results: Vec<WindowResult> = vec![];
    while started.elapsed() < Duration::from_secs(30) {
        results.clear();
        for key in keys(&s3, &destination).await {
            let object = s3.get_object().bucket(&bucket).key(&key).send().await.unwrap();
            let bytes = object.body.collect().await.unwrap().into_bytes();
            results.push(serde_json::from_slice(&bytes).expect("a result object is a WindowResult"));
        }
        if results.iter().map(|result| result.count + result.skipped).sum::<u64>() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    supervisor.shutdown();
    // The check cloud serves the next check too: a stream left there keeps its shard counted against the account's
    // 500 (AWS's limit, which the local cloud enforces).
    kinesis.delete_stream().stream_arn(&stream_arn).send().await.unwrap();

    assert!(
        !results.is_empty(),
        "the final invocations wrote results under {DEFAULT_PREFIX}"
    );
    assert_eq!(
        results.iter().map(|result| result.count).sum::<u64>(),
        4,
        "every position counted once: {results:?}"
    );
    assert_eq!(
        results.iter().map(|result| result.skipped).sum::<u64>(),
        1,
        "the bad record skipped and counted"
    );
    let paris: u64 = results.iter().map(|result| result.cells.count(cell(13, 18))).sum();
    assert_eq!(paris, 2, "40-50°N, 0-10°E holds Paris twice");
}
