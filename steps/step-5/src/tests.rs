//! Tests of the given code in `src/given/` (the drawing's are in `given/heatmap_tests.rs`): the learner's functions
//! are tested by the step's shared tests (`tests/`); these run on the solution and the starter alike.

use super::*;

#[test]
fn a_cells_edges_are_its_southern_latitude_and_western_longitude() {
    let edges = |row, column| {
        let cell = Cell { row, column };
        (cell.south(), cell.west())
    };
    assert_eq!(edges(0, 0), (-90.0, -180.0), "the south-west corner of the grid");
    assert_eq!(
        edges(8, 21),
        (-10.0, 30.0),
        "Nairobi's cell: 10° S to 0°, 30° E to 40° E"
    );
    assert_eq!(edges(9, 18), (0.0, 0.0), "north of the equator, east of Greenwich");
    assert_eq!(edges(17, 35), (80.0, 170.0), "the north-east corner's cell");
}

#[test]
fn a_new_window_resumes_each_vehicle_from_its_last_reading_and_its_suspect() {
    let fix = |n: u128, at_ms: i64, latitude: f64| Fix {
        id: Uuid::from_u128(n),
        at_ms,
        latitude,
        longitude: 151.2,
    };
    let carried = BTreeMap::from([
        (
            "vehicle-00002".to_owned(),
            Carry {
                last: fix(1, 1_000, -33.87),
                suspect: Some(fix(2, 31_000, -38.8)),
            },
        ),
        (
            "vehicle-00003".to_owned(),
            Carry {
                last: fix(3, 2_000, -16.8),
                suspect: None,
            },
        ),
    ]);
    let resumed = Aggregate::resume(&carried);
    assert_eq!(resumed.vehicles.len(), 2);
    for (vehicle, carry) in &carried {
        let track = &resumed.vehicles[vehicle];
        // The suspect too: if the new window's first reading agrees with it, the two outvote the last one.
        assert_eq!(
            (track.last, track.suspect),
            (Some(carry.last), carry.suspect),
            "{vehicle}"
        );
        assert_eq!(track.readings, 0, "nothing counted yet in the new window");
    }
    assert_eq!(resumed.count, 0);
}

#[test]
fn the_destination_needs_a_bucket_and_its_prefix_ends_in_a_slash() {
    let lookup = |bucket: Option<&'static str>, prefix: Option<&'static str>| {
        move |name: &str| match name {
            BUCKET_VARIABLE => bucket.map(str::to_owned),
            PREFIX_VARIABLE => prefix.map(str::to_owned),
            _ => None,
        }
    };
    let destination = |bucket, prefix| Destination::from_lookup(lookup(bucket, prefix));
    let at = |bucket: &str, prefix: &str| Destination {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    };
    assert_eq!(destination(Some("b"), None).unwrap(), at("b", "analytics/"));
    assert_eq!(destination(Some("b"), Some("lab/")).unwrap(), at("b", "lab/"));
    assert_eq!(destination(Some("b"), Some("lab")).unwrap(), at("b", "lab/"));
    assert_eq!(
        destination(Some("b"), Some("")).unwrap(),
        at("b", ""),
        "no prefix at all"
    );
    for missing in [None, Some("")] {
        let error = destination(missing, None).unwrap_err().to_string();
        assert!(error.contains("ANALYTICS_BUCKET is not set"), "{error}");
    }
}

#[test]
fn a_bad_record_says_why_it_was_skipped() {
    assert_eq!(
        BadRecord::NotAReading("EOF while parsing".to_owned()).to_string(),
        "not a reading: EOF while parsing"
    );
    assert_eq!(BadRecord::NoVehicle.to_string(), "the reading names no vehicle");
    let far = BadRecord::OutOfRange {
        latitude: 91.2,
        longitude: 2.35,
    };
    assert_eq!(
        far.to_string(),
        "(91.2, 2.35) is not on Earth: latitude within ±90, longitude within ±180"
    );
}

/// The stream's view of a window adds up its shards' results: every count, and a vehicle's figures when it is on two
/// shards (after a resharding; its top speed the higher one); a window any shard ended early is marked so; and what
/// goes wrong says so.
#[test]
fn merging_a_windows_shards_adds_up_every_count_and_keeps_an_early_end() {
    let window = TimeRange {
        start: "2026-11-27T10:15:00Z".parse().unwrap(),
        end: "2026-11-27T10:15:20Z".parse().unwrap(),
    };
    let summary = |readings, km, top_kmh| VehicleSummary { readings, km, top_kmh };
    let result = |shard: &str, n: u64, early| WindowResult {
        window,
        shard_id: shard.to_owned(),
        count: 10 * n,
        skipped: 3 * n,
        out_of_order: 2 * n,
        cells: Grid::default(),
        busiest: vec![],
        vehicles: BTreeMap::from([("vehicle-00001".to_owned(), summary(n, 0.5 * n as f64, 30.0 * n as f64))]),
        anomalies: vec![],
        anomalies_dropped: 4 * n,
        withdrawn: vec![Uuid::from_u128(n as u128)],
        terminated_early: early,
        carry: BTreeMap::new(),
    };
    let merged = merge(&[
        result("shardId-000000000001", 2, false),
        result("shardId-000000000000", 3, true),
    ])
    .unwrap();
    assert_eq!(
        (
            merged.count,
            merged.skipped,
            merged.out_of_order,
            merged.anomalies_dropped
        ),
        (50, 15, 10, 20)
    );
    assert_eq!(merged.vehicles["vehicle-00001"], summary(5, 2.5, 90.0));
    assert_eq!(merged.withdrawn.len(), 2);
    assert!(
        merged.terminated_early,
        "one shard's window ended early: so did the stream's"
    );
    let on_time = merge(&[
        result("shardId-000000000001", 2, false),
        result("shardId-000000000000", 3, false),
    ]);
    assert!(!on_time.unwrap().terminated_early);

    let twice = merge(&[
        result("shardId-000000000001", 1, false),
        result("shardId-000000000001", 1, false),
    ]);
    assert_eq!(
        twice.unwrap_err().to_string(),
        "two results of shardId-000000000001 for one window"
    );
    assert_eq!(merge(&[]).unwrap_err().to_string(), "no result to merge");
    let later = WindowResult {
        window: TimeRange {
            start: window.end,
            end: "2026-11-27T10:15:40Z".parse().unwrap(),
        },
        ..result("shardId-000000000000", 1, false)
    };
    assert_eq!(
        merge(&[result("shardId-000000000001", 1, false), later])
            .unwrap_err()
            .to_string(),
        "results of different windows: 2026-11-27 10:15:00 UTC and 2026-11-27 10:15:20 UTC"
    );
}

/// An anomaly of reading `n` (its id), as `Aggregate::add` flags one.
fn anomaly(n: u128) -> Anomaly {
    let fix = Fix {
        id: Uuid::from_u128(n),
        at_ms: 1_000 * n as i64,
        latitude: -33.87,
        longitude: 151.2,
    };
    Anomaly::new("vehicle-00001", fix, 5_000.0)
}

/// A window's list of anomalies is capped, so that a broken receiver cannot fill the state: past the cap each one is
/// counted, not kept.
#[test]
fn a_window_keeps_the_first_thousand_anomalies_and_counts_the_rest() {
    let mut window = Aggregate::default();
    for n in 0..MAX_ANOMALIES as u128 {
        window.flag(anomaly(n));
    }
    assert_eq!(
        window.anomalies.len(),
        MAX_ANOMALIES,
        "the list is full, nothing dropped yet"
    );
    assert_eq!(window.anomalies_dropped, 0);
    for n in 0..3 {
        window.flag(anomaly(MAX_ANOMALIES as u128 + n));
    }
    assert_eq!(
        window.anomalies.len(),
        MAX_ANOMALIES,
        "the list does not grow past the cap"
    );
    assert_eq!(window.anomalies_dropped, 3, "each one past the cap is counted");
    assert_eq!(
        window.anomalies.last().unwrap().id,
        Uuid::from_u128(MAX_ANOMALIES as u128 - 1)
    );
}

/// A flag withdrawn in the window that raised it leaves the list; one raised by an earlier window is named in
/// `withdrawn`, so that the stream's view can take it back.
#[test]
fn clearing_a_flag_removes_it_from_this_window_or_names_it_withdrawn() {
    let mut window = Aggregate::default();
    window.flag(anomaly(1));
    window.flag(anomaly(2));
    window.clear(Uuid::from_u128(1));
    assert_eq!(window.anomalies, vec![anomaly(2)], "only the other flag is left");
    assert!(
        window.withdrawn.is_empty(),
        "this window raised it: nothing to withdraw from an earlier one"
    );
    window.clear(Uuid::from_u128(7));
    assert_eq!(window.anomalies, vec![anomaly(2)]);
    assert_eq!(
        window.withdrawn,
        vec![Uuid::from_u128(7)],
        "an earlier window's flag is named"
    );
}

/// A window starts from the vehicles the previous window carried. When there is no previous result, or this role
/// may not read it (S3 answers 403 AccessDenied to a missing key without s3:ListBucket), the window starts afresh
/// rather than hold the shard on a read that can never succeed; any other error fails the invocation, to be retried.
#[tokio::test]
async fn a_window_starts_afresh_when_the_previous_result_is_missing_or_unreadable_and_fails_on_any_other_error() {
    let destination = Destination {
        bucket: "analytics".to_owned(),
        prefix: "analytics/".to_owned(),
    };
    let window = TimeRange {
        start: "2026-11-27T10:15:20Z".parse().unwrap(),
        end: "2026-11-27T10:15:40Z".parse().unwrap(),
    };
    let destination = &destination;
    let read = |status, code| async move {
        let (s3, requests) = lab_testkit::fake::s3(vec![(status, Some(code))]);
        let carried = carried(&s3, destination, &window, "shardId-000000000000").await;
        (carried, requests.try_iter().collect::<Vec<_>>())
    };
    let previous = result_key("analytics/", &window.previous(), "shardId-000000000000");
    for (status, code) in [(404, "NoSuchKey"), (403, "AccessDenied")] {
        let (carried, requests) = read(status, code).await;
        assert_eq!(carried.expect(code), BTreeMap::new(), "{code}: nothing carried");
        assert_eq!(requests, [format!("GET /analytics/{previous}?x-id=GetObject HTTP/1.1")]);
    }
    let (failed, _) = read(500, "InternalError").await;
    assert!(failed.is_err(), "an S3 failure is the invocation's, to be retried");
}
