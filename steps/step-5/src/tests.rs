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
