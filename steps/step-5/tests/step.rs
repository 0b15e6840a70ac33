//! The tests of step 5. They run against your code in `steps/step-5` (`cargo xtask check step-5`) and, unchanged,
//! against the solution. The events are JSON files in `tests/fixtures/`, in the shape Lambda sends them when the
//! event source mapping has a tumbling window; the handler is called the way the Lambda runtime calls it, and the
//! tests that check what the final invocation writes talk to the local cloud's S3.

use analytics::*;
use aws_lambda_events::event::kinesis::{KinesisTimeWindowEvent, KinesisTimeWindowEventResponse};
use lab_testkit::{local_aws, local_s3, unique_name};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The first invocation of the window 10:15:00 to 10:16:00 on shard 1: four positions (Paris, Sydney, New York,
/// Lagos), and the empty state of a window's first call.
const FIRST: &str = include_str!("fixtures/window-first.json");
/// The second invocation of that window: three positions (Berlin, Tokyo, São Paulo) and two bad records (a latitude
/// of 91.2, JSON cut short). Its `state` is empty in the file: a test puts in it what the first invocation returned.
const SECOND: &str = include_str!("fixtures/window-second.json");
/// The final invocation of that window: no records at all, as is usual for a final call.
const FINAL: &str = include_str!("fixtures/window-final.json");
/// The first invocation of the next window (10:16:00 to 10:17:00): Madrid, and the corner (90, 180).
const NEXT_WINDOW: &str = include_str!("fixtures/next-window.json");
/// Twelve records from shard 0: ten that are not positions on Earth (see `fold_adds_positions_and_skips_bad_records`)
/// between two that are (Nairobi first, Reykjavik last).
const BAD_RECORDS: &str = include_str!("fixtures/bad-records.json");
/// AWS's documented example of a time-window event, whose one record says "Hello, this is a test.". (The example's
/// state holds numbers; `aws_lambda_events` reads a state of strings, so here they are strings.)
const AWS_EXAMPLE: &str = include_str!("fixtures/aws-example-time-window-event.json");
/// A realistic result: one minute of the producer's positions on one shard.
const RESULT: &str = include_str!("fixtures/window-result.json");

const SHARD: &str = "shardId-000000000001";

fn event(fixture: &str) -> KinesisTimeWindowEvent {
    serde_json::from_str(fixture).expect("a fixture is a time-window event as Lambda sends it")
}

/// The event of a fixture, carrying the state a previous invocation of its window returned.
fn event_with_state(fixture: &str, state: &HashMap<String, String>) -> KinesisTimeWindowEvent {
    let mut event = event(fixture);
    event.time_window_properties.state = state.clone();
    event
}

fn position(latitude: f64, longitude: f64) -> Position {
    Position {
        id: Uuid::new_v4(),
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

/// The grid of the window 10:15 to 10:16 on shard 1, after its seven positions.
fn first_window_cells() -> Grid {
    let mut cells = Grid::default();
    for (row, column) in [(4, 6), (1, 11), (4, 3), (3, 6), (4, 6), (4, 10), (2, 4)] {
        cells[row][column] += 1;
    }
    cells
}

fn first_window() -> TimeRange {
    TimeRange {
        start: "2026-11-27T10:15:00Z".parse().unwrap(),
        end: "2026-11-27T10:16:00Z".parse().unwrap(),
    }
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: expected {expected}, got {actual}"
    );
}

fn total(cells: &Grid) -> u64 {
    cells.iter().flatten().sum()
}

async fn s3() -> aws_sdk_s3::Client {
    local_s3(&local_aws().await)
}

/// A destination in a bucket that does not exist: an invocation that is not final must not write anything, and if
/// it tried, S3 would answer NoSuchBucket.
fn nowhere() -> Destination {
    Destination {
        bucket: unique_name("no-such-bucket"),
        prefix: DEFAULT_PREFIX.to_owned(),
    }
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
    Aggregate::from_state(&state(response)).expect("the state the handler returns holds an aggregate")
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

#[test]
fn cell_of_a_position_is_its_30_degree_band() {
    for (place, latitude, longitude, expected) in [
        ("Paris", PARIS.0, PARIS.1, cell(4, 6)),
        ("Sydney", SYDNEY.0, SYDNEY.1, cell(1, 11)),
        ("New York", 40.7128, -74.006, cell(4, 3)),
        ("Lagos", 6.5244, 3.3792, cell(3, 6)),
        ("Tokyo", 35.6762, 139.6503, cell(4, 10)),
        ("São Paulo", -23.5505, -46.6333, cell(2, 4)),
        ("Reykjavik", 64.1466, -21.9426, cell(5, 5)),
        ("Honolulu", 21.3069, -157.8583, cell(3, 0)),
        ("McMurdo Station", -77.8419, 166.6863, cell(0, 11)),
    ] {
        assert_eq!(
            Cell::of(latitude, longitude),
            expected,
            "{place} ({latitude}, {longitude}): rows count 30° bands from 90° S, columns from 180° W"
        );
    }
}

#[test]
fn cell_of_the_edges_is_a_valid_cell() {
    for (latitude, longitude, expected, why) in [
        (-90.0, -180.0, cell(0, 0), "the south-west corner of the map"),
        (
            90.0,
            180.0,
            cell(5, 11),
            "90° N and 180° E belong to the last bands: nothing lies beyond them",
        ),
        (-90.0, 180.0, cell(0, 11), "the south pole on the antimeridian"),
        (
            90.0,
            -180.0,
            cell(5, 0),
            "the north pole on the antimeridian, from the west",
        ),
        (0.0, 0.0, cell(3, 6), "a band includes its southern and western edges"),
        (-0.0, -0.0, cell(3, 6), "-0.0 is 0.0"),
        (
            -30.0,
            -30.0,
            cell(2, 5),
            "a band includes its southern and western edges",
        ),
        (60.0, 30.0, cell(5, 7), "a band includes its southern and western edges"),
        (59.999, 29.999, cell(4, 6), "just below an edge is still the band below"),
        (
            -60.000_001,
            -150.000_001,
            cell(0, 0),
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

#[test]
fn add_counts_a_position_in_its_cell_and_widens_the_spreads() {
    let mut aggregate = Aggregate::default();
    assert_eq!(aggregate.count, 0);
    assert_eq!(aggregate.latitude, None, "no position yet: no spread");

    for (latitude, longitude) in [PARIS, SYDNEY, BERLIN] {
        aggregate.add(&position(latitude, longitude));
    }
    assert_eq!(aggregate.count, 3, "three positions added");
    assert_eq!(aggregate.skipped, 0, "add never skips");
    assert_eq!(
        aggregate.cells[4][6], 2,
        "Paris and Berlin share the cell 30° N to 60° N, 0° E to 30° E"
    );
    assert_eq!(aggregate.cells[1][11], 1, "Sydney's cell");
    assert_eq!(total(&aggregate.cells), 3, "each position is counted in one cell");

    let latitude = aggregate.latitude.expect("a spread once positions are added");
    assert_eq!(
        (latitude.min, latitude.max),
        (SYDNEY.0, BERLIN.0),
        "latitude: min and max"
    );
    assert_close(latitude.sum, PARIS.0 + SYDNEY.0 + BERLIN.0, "latitude: the sum");
    let longitude = aggregate.longitude.expect("a spread once positions are added");
    assert_eq!(
        (longitude.min, longitude.max),
        (PARIS.1, SYDNEY.1),
        "longitude: min and max"
    );
    assert_close(longitude.sum, PARIS.1 + SYDNEY.1 + BERLIN.1, "longitude: the sum");
}

#[test]
fn fold_adds_positions_and_skips_bad_records() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(BAD_RECORDS).kinesis_event.records);
    // Cut-short JSON, a latitude of 91.2, a longitude of -180.5, a latitude that is a string, no data, no
    // longitude, an id that is not a UUID, gzip bytes, a lone newline, JSON null.
    assert_eq!(aggregate.skipped, 10, "each bad record is skipped and counted");
    assert_eq!(aggregate.count, 2, "the good records around them still count");
    assert_eq!(aggregate.cells[2][7], 1, "Nairobi (-1.2921, 36.8219)");
    assert_eq!(aggregate.cells[5][5], 1, "Reykjavik (64.1466, -21.9426)");

    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    aggregate.fold(&event(SECOND).kinesis_event.records);
    assert_eq!(
        (aggregate.count, aggregate.skipped),
        (7, 2),
        "two batches fold into one aggregate"
    );
    assert_eq!(aggregate.cells, first_window_cells());
}

#[test]
fn state_of_a_window_is_one_small_json_entry() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    let state = aggregate.to_state();
    assert_eq!(state.keys().collect::<Vec<_>>(), vec![STATE_KEY], "one entry");
    assert_eq!(
        Aggregate::from_state(&state).unwrap(),
        aggregate,
        "the state gives back the aggregate"
    );
    assert_eq!(
        Aggregate::from_state(&HashMap::new()).unwrap(),
        Aggregate::default(),
        "an empty state is a new window"
    );

    // However busy the window, the state stays the same size: no number can grow past 20 digits.
    let mut busiest = aggregate.clone();
    busiest.count = u64::MAX;
    busiest.skipped = u64::MAX;
    busiest.cells = [[u64::MAX; COLUMNS]; ROWS];
    let size = busiest.to_state()[STATE_KEY].len();
    assert!(
        size < 2048,
        "the state takes {size} bytes: Lambda allows 1 MB, and this aggregate needs far less"
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
    assert_eq!((result.count, result.skipped), (7, 2));
    assert_eq!(result.cells, first_window_cells());
    assert!(!result.terminated_early);

    let latitudes = [48.8566, -33.8688, 40.7128, 6.5244, 52.52, 35.6762, -23.5505];
    let latitude = result.latitude.expect("seven positions: a latitude summary");
    assert_eq!((latitude.min, latitude.max), (-33.8688, 52.52));
    assert_close(latitude.mean, latitudes.iter().sum::<f64>() / 7.0, "the mean latitude");
    let longitudes = [2.3522, 151.2093, -74.006, 3.3792, 13.405, 139.6503, -46.6333];
    let longitude = result.longitude.expect("seven positions: a longitude summary");
    assert_eq!((longitude.min, longitude.max), (-74.006, 151.2093));
    assert_close(
        longitude.mean,
        longitudes.iter().sum::<f64>() / 7.0,
        "the mean longitude",
    );

    let busiest: Vec<(usize, usize, u64)> = result.busiest.iter().map(|c| (c.row, c.column, c.count)).collect();
    assert_eq!(
        busiest,
        vec![(4, 6, 2), (1, 11, 1), (2, 4, 1), (3, 6, 1), (4, 3, 1)],
        "the busiest first, then the cells of equal count from the south-west, at most {BUSIEST}"
    );

    let empty = Aggregate::default().finish(first_window(), SHARD, true);
    assert_eq!(empty.count, 0);
    assert_eq!(
        (empty.latitude, empty.longitude),
        (None, None),
        "no position, no mean (not NaN)"
    );
    assert!(empty.busiest.is_empty(), "an empty cell is never among the busiest");
    assert!(empty.terminated_early);
}

#[tokio::test]
async fn handler_carries_the_state_across_the_invocations_of_a_window() {
    let s3 = s3().await;
    let nowhere = nowhere();

    let first = invoke(&s3, &nowhere, event(FIRST)).await;
    let after_first = aggregate(&first);
    assert_eq!(
        (after_first.count, after_first.skipped),
        (4, 0),
        "the first batch: four positions"
    );

    let second = invoke(&s3, &nowhere, event_with_state(SECOND, &state(&first))).await;
    let after_second = aggregate(&second);
    assert_eq!(
        (after_second.count, after_second.skipped),
        (7, 2),
        "the second invocation starts from the state the first returned"
    );
    assert_eq!(after_second.cells, first_window_cells());

    // The state is what carries the window, not anything kept in the process between invocations.
    let alone = aggregate(&invoke(&s3, &nowhere, event(SECOND)).await);
    assert_eq!(
        (alone.count, alone.skipped),
        (3, 2),
        "with an empty state, only the batch itself counts"
    );
}

#[tokio::test]
async fn handler_starts_each_new_window_empty() {
    let s3 = s3().await;
    let nowhere = nowhere();
    let first = invoke(&s3, &nowhere, event(FIRST)).await;
    let _second = invoke(&s3, &nowhere, event_with_state(SECOND, &state(&first))).await;

    // Lambda starts each window with an empty state.
    let next = aggregate(&invoke(&s3, &nowhere, event(NEXT_WINDOW)).await);
    assert_eq!(
        (next.count, next.skipped),
        (2, 0),
        "the new window counts its own records only"
    );
    let mut expected = Grid::default();
    expected[4][5] = 1; // Madrid
    expected[5][11] = 1; // (90, 180)
    assert_eq!(next.cells, expected);
    let latitude = next.latitude.expect("two positions");
    assert_eq!((latitude.min, latitude.max), (40.4168, 90.0));
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
    assert_eq!((after.count, after.skipped), (2, 10));
    let json = serde_json::to_value(&response).unwrap();
    assert!(
        json.get("batchItemFailures")
            .is_none_or(|failures| failures == &json!([])),
        "no record is reported: Lambda would only send it again\n{json}"
    );

    // AWS's example: its one record is not a position, and its state does not hold an aggregate.
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
    let aggregate: Value = serde_json::from_str(
        entries[STATE_KEY]
            .as_str()
            .expect("each entry of the state is a string"),
    )
    .expect("the entry holds the aggregate as JSON");
    assert_eq!(aggregate["count"], 4, "{aggregate}");
}

#[tokio::test]
async fn emit_writes_one_result_per_window_and_shard_to_s3() {
    let s3 = s3().await;
    let bucket = unique_name("analytics");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the local cloud creates the test's bucket");
    let destination = Destination::from_lookup(|name| (name == BUCKET_VARIABLE).then(|| bucket.clone()))
        .expect("ANALYTICS_BUCKET is all a destination needs");
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
        "one object per window and shard, keyed by the window's start"
    );
    let object = s3
        .get_object()
        .bucket(&destination.bucket)
        .key(key)
        .send()
        .await
        .expect("the result can be read back");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let result: WindowResult = serde_json::from_slice(&bytes).expect("the object is a WindowResult, as JSON");
    assert_eq!(result.window, first_window());
    assert_eq!(result.shard_id, SHARD);
    assert_eq!(
        (result.count, result.skipped),
        (7, 2),
        "every record sent in the window: seven positions, two skipped"
    );
    assert_eq!(result.cells, first_window_cells());
    assert_eq!(
        result.busiest[0],
        CellCount {
            row: 4,
            column: 6,
            count: 2
        }
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

/// The heat map's cells: (row, column) to (count, fill), read from the SVG's `data-` attributes.
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

fn read_svg(result: &WindowResult) -> String {
    let path = std::env::temp_dir().join(format!("{}.svg", unique_name("heatmap")));
    write_svg(result, &path).expect("the heat map is written");
    let svg = std::fs::read_to_string(&path).expect("the heat map file exists");
    std::fs::remove_file(&path).ok();
    svg
}

#[test]
fn heat_map_shows_every_cell_of_the_result() {
    let result: WindowResult = serde_json::from_str(RESULT).expect("the fixture is a WindowResult");
    let max = result.cells.iter().flatten().copied().max().unwrap();
    let svg = read_svg(&result);
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
    for Cell { row, column } in Cell::all() {
        let (count, fill, _) = &cells[&(row, column)];
        let expected = result.cells[row][column];
        assert_eq!(*count, expected, "the count of row {row}, column {column}");
        assert_eq!(
            *fill,
            heat(expected, max).to_string(),
            "the colour of row {row}, column {column}"
        );
    }
    assert!(
        cells[&(5, 0)].2 < cells[&(0, 0)].2,
        "north at the top: row 5 (60° N to 90° N) is drawn above row 0"
    );

    let title = root
        .children()
        .find(|node| node.has_tag_name("title"))
        .and_then(|node| node.text())
        .expect("the document has a <title>");
    assert!(
        title.contains("2026-11-27 10:15:00") && title.contains("10:16:00"),
        "the title gives the window's time range: {title:?}"
    );
    let legend: Vec<u64> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("legend"))
        .filter_map(|node| node.attribute("data-count")?.parse().ok())
        .collect();
    assert_eq!(legend.first(), Some(&0), "the legend starts at no position: {legend:?}");
    assert_eq!(
        legend.last(),
        Some(&max),
        "the legend ends at the busiest cell: {legend:?}"
    );
}

#[test]
fn heat_map_of_a_sparse_or_empty_window() {
    let mut aggregate = Aggregate::default();
    aggregate.fold(&event(FIRST).kinesis_event.records);
    aggregate.fold(&event(SECOND).kinesis_event.records);
    let sparse = aggregate.finish(first_window(), SHARD, false);
    let svg = read_svg(&sparse);
    let document = roxmltree::Document::parse(&svg).expect("the heat map is XML");
    let cells = svg_cells(&document);
    assert_eq!(cells[&(4, 6)].0, 2);
    assert_eq!(cells[&(4, 6)].1, HOT.to_string(), "the busiest cell is the hottest");
    assert_eq!(cells[&(0, 0)].1, EMPTY.to_string(), "an empty cell");

    let empty = Aggregate::default().finish(first_window(), SHARD, false);
    let svg = read_svg(&empty);
    let document = roxmltree::Document::parse(&svg).expect("the heat map of an empty window is XML");
    let cells = svg_cells(&document);
    assert!(
        cells
            .values()
            .all(|(count, fill, _)| *count == 0 && *fill == EMPTY.to_string()),
        "an empty window: every cell empty"
    );
    for nonsense in ["NaN", "\"inf", ">inf"] {
        assert!(!svg.contains(nonsense), "no NaN nor infinity in the picture:\n{svg}");
    }
}

/// The whole loop: records put into a stream, windowed by the local cloud's event source mapping
/// (`TumblingWindowInSeconds`), given to this crate's own `analytics` binary, results landing in S3.
#[tokio::test]
async fn through_an_event_source_mapping_window_results_land_in_s3() {
    use aws_sdk_lambda::types::EventSourcePosition;
    use lab_cloud::testing::LocalFunction;
    use std::time::{Duration, Instant};

    // The cell of a position must be right before anything else is.
    assert_eq!(Cell::of(PARIS.0, PARIS.1), cell(4, 6));

    let config = local_aws().await;
    let s3 = local_s3(&config);
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let bucket = unique_name("analytics-e2e").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let stream_arn = lab_cloud::testing::one_shard_stream(&config, "analytics-e2e")
        .await
        .unwrap();
    // The function: registered in the Lambda API, its code this crate's own `analytics` executable.
    let binary = env!("CARGO_BIN_EXE_analytics").as_ref();
    let environment = [("ANALYTICS_BUCKET", bucket.as_str())];
    let function = LocalFunction::register(&config, "analytics", binary, &environment)
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&config)
        .create_event_source_mapping()
        .function_name(&function.name)
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(100)
        .tumbling_window_in_seconds(2)
        .send()
        .await
        .unwrap();

    let positions = [PARIS, SYDNEY, BERLIN, PARIS];
    for (latitude, longitude) in positions {
        let text = format!(
            r#"{{"id":"{}","latitude":{latitude},"longitude":{longitude}}}"#,
            Uuid::new_v4()
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
        .data(b"not a position".as_slice().into())
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    supervisor.shutdown();

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
    let europe: u64 = results.iter().map(|result| result.cells[4][6]).sum();
    assert_eq!(europe, 3, "30-60°N, 0-30°E holds Paris twice and Berlin");
}
