//! Tests of the heat map's drawing (given code): the learner's functions are tested by the step's shared tests
//! (`tests/`); these run on the solution and the starter alike.

use super::*;
use crate::{Anomaly, CellCount, Grid, TimeRange};
use chrono::{DateTime, Utc};
use roxmltree::{Document, Node};
use std::collections::BTreeMap;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// A window of the stream on one shard, with these (row, column, count) cells and these anomalies.
fn window(cells: &[(usize, usize, u64)], anomalies: Vec<Anomaly>) -> StreamWindow {
    let counts: Vec<CellCount> = cells
        .iter()
        .map(|&(row, column, count)| CellCount { row, column, count })
        .collect();
    StreamWindow {
        window: TimeRange {
            start: at("2026-11-27T10:15:00Z"),
            end: at("2026-11-27T10:16:00Z"),
        },
        shards: vec!["shardId-000000000000".to_owned()],
        count: cells.iter().map(|cell| cell.2).sum(),
        skipped: 2,
        out_of_order: 0,
        cells: Grid::from(counts),
        busiest: vec![],
        vehicles: BTreeMap::new(),
        anomalies,
        anomalies_dropped: 0,
        withdrawn: vec![],
        terminated_early: false,
    }
}

fn number(node: Node, name: &str) -> f64 {
    let value = node.attribute(name).unwrap_or_else(|| panic!("{node:?} has {name}"));
    value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is a number"))
}

fn texts<'a>(document: &'a Document, keep: impl Fn(Node) -> bool) -> Vec<(&'a str, f64, f64)> {
    document
        .descendants()
        .filter(|node| node.has_tag_name("text") && keep(*node))
        .map(|node| (node.text().unwrap_or_default(), number(node, "x"), number(node, "y")))
        .collect()
}

/// Nairobi's cell (1.3° S 36.8° E: row 8, 10° S to 0°; column 21, 30° E to 40° E), 4 readings, and the north-west
/// corner's (row 17, column 0), 1 reading: a quarter of the busiest.
fn nairobi_and_the_corner() -> StreamWindow {
    window(&[(8, 21, 4), (17, 0, 1)], vec![])
}

#[test]
fn the_picture_is_the_world_at_3_pixels_a_degree_with_margins_for_the_labels() {
    let svg = render_svg(&nairobi_and_the_corner());
    let document = Document::parse(&svg).expect("XML");
    let root = document.root_element();
    assert_eq!((number(root, "width"), number(root, "height")), (1152.0, 692.0));
    assert_eq!(root.attribute("viewBox"), Some("0 0 1152 692"));
    let ocean = document
        .descendants()
        .find(|node| node.attribute("class") == Some("ocean"))
        .expect("the ocean");
    let bounds = ["x", "y", "width", "height"].map(|name| number(ocean, name));
    assert_eq!(bounds, [48.0, 64.0, 1080.0, 540.0], "360° × 180° at 3 px a degree");
    let land = document
        .descendants()
        .find(|node| node.attribute("class") == Some("land"))
        .expect("the land");
    assert_eq!(
        land.attribute("transform"),
        Some("translate(48 64) scale(3)"),
        "the land's path is in degrees from the map's north-west corner"
    );
}

#[test]
fn a_cell_is_drawn_where_its_latitudes_and_longitudes_are() {
    let svg = render_svg(&nairobi_and_the_corner());
    let document = Document::parse(&svg).expect("XML");
    let cells: Vec<Node> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("cell"))
        .collect();
    assert_eq!(cells.len(), 18 * 36);
    for cell in &cells {
        let (row, column) = (number(*cell, "data-row"), number(*cell, "data-column"));
        // The cell's north-west corner, in degrees east of 180° W and south of 90° N, at 3 px a degree.
        let (west, north) = (-180.0 + 10.0 * column, -90.0 + 10.0 * (row + 1.0));
        let expected = [48.0 + (west + 180.0) * 3.0, 64.0 + (90.0 - north) * 3.0, 30.0, 30.0];
        let drawn = ["x", "y", "width", "height"].map(|name| number(*cell, name));
        assert_eq!(drawn, expected, "the cell of row {row}, column {column}");
    }
    let hover = |row: &str, column: &str| {
        let cell = cells
            .iter()
            .find(|cell| cell.attribute("data-row") == Some(row) && cell.attribute("data-column") == Some(column))
            .expect("the cell");
        cell.children()
            .find_map(|node| node.text())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(hover("8", "21"), "10° S to 0°, 30° E to 40° E: 4 readings");
    assert_eq!(hover("17", "0"), "80° N to 90° N, 180° to 170° W: 1 readings");
    assert_eq!(hover("0", "35"), "90° S to 80° S, 170° E to 180°: 0 readings");

    // The counts, written in the middle of their cells: white on the dark half of the scale, dark ink on the
    // pale half (a quarter of the busiest is still pale).
    let counts: Vec<(&str, f64, f64, &str)> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("count"))
        .map(|node| {
            let text = node.text().unwrap_or_default();
            (
                text,
                number(node, "x"),
                number(node, "y"),
                node.attribute("fill").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("4", 693.0, 352.0, "white"), ("1", 63.0, 82.0, "#333")],
        "Nairobi's cell at (678, 334), the corner's at (48, 64): each count centred, its baseline 3 px low"
    );
}

#[test]
fn an_anomaly_is_ringed_where_it_claimed_the_vehicle_was() {
    let glitch = Anomaly {
        vehicle: "vehicle-00002".to_owned(),
        id: uuid::Uuid::from_u128(7),
        timestamp: at("2026-11-27T10:15:30.250Z"),
        latitude: -33.87,
        longitude: 151.21,
        kmh: 66_000.4,
    };
    let svg = render_svg(&window(&[(5, 33, 2)], vec![glitch]));
    let document = Document::parse(&svg).expect("XML");
    let ring = document
        .descendants()
        .find(|node| node.attribute("class") == Some("anomaly"))
        .expect("the anomaly's ring");
    // 331.21° east of 180° W and 123.87° south of 90° N, at 3 px a degree, rounded to a tenth of a pixel.
    assert_eq!((number(ring, "cx"), number(ring, "cy")), (1041.6, 435.6));
    assert_eq!(
        ring.children().find_map(|node| node.text()),
        Some(
            "vehicle-00002 at 10:15:30.250: 66000 km/h from its last reading (reading \
             00000000-0000-0000-0000-000000000007)"
        )
    );
}

#[test]
fn the_axes_are_labelled_every_30_degrees_where_those_lines_are() {
    let svg = render_svg(&nairobi_and_the_corner());
    let document = Document::parse(&svg).expect("XML");
    let latitudes = texts(&document, |node| {
        node.attribute("text-anchor") == Some("end") && node.attribute("font-size").is_none()
    });
    let expected: Vec<(&str, f64, f64)> = ["90° N", "60° N", "30° N", "0°", "30° S", "60° S", "90° S"]
        .into_iter()
        .enumerate()
        .map(|(index, label)| (label, 42.0, 64.0 + index as f64 * 90.0 + 4.0))
        .collect();
    assert_eq!(latitudes, expected, "latitudes at the left, north at the top");
    let longitudes = texts(&document, |node| node.attribute("font-size") == Some("10"));
    let names = [
        "180°", "150° W", "120° W", "90° W", "60° W", "30° W", "0°", "30° E", "60° E", "90° E", "120° E", "150° E",
        "180°",
    ];
    let expected: Vec<(&str, f64, f64)> = names
        .into_iter()
        .enumerate()
        .map(|(index, label)| (label, 48.0 + index as f64 * 90.0, 620.0))
        .collect();
    assert_eq!(longitudes, expected, "longitudes under the map, west at the left");
    let equator = document
        .descendants()
        .find(|node| node.has_tag_name("line"))
        .expect("the equator");
    let ends = ["x1", "y1", "x2", "y2"].map(|name| number(equator, name));
    assert_eq!(
        ends,
        [48.0, 334.0, 1128.0, 334.0],
        "the equator across the middle of the map"
    );
}

#[test]
fn the_legend_shows_the_scale_from_one_reading_to_the_busiest_cell() {
    // Evenly spaced colours are at max × (step / 4)², rounded up, each count once, starting from one.
    assert_eq!(legend_counts(100), [1, 7, 25, 57, 100]);
    assert_eq!(legend_counts(16), [1, 4, 9, 16]);
    assert_eq!(legend_counts(4), [1, 3, 4]);
    assert_eq!(legend_counts(1), [1]);
    assert!(legend_counts(0).is_empty(), "an empty window has no scale");

    let svg = render_svg(&window(&[(8, 21, 100), (9, 21, 1)], vec![]));
    let document = Document::parse(&svg).expect("XML");
    let boxes: Vec<Node> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("legend"))
        .collect();
    let counts: Vec<&str> = boxes.iter().filter_map(|node| node.attribute("data-count")).collect();
    assert_eq!(counts, ["1", "7", "25", "57", "100"]);
    for (index, node) in boxes.iter().enumerate() {
        let bounds = ["x", "y", "width", "height"].map(|name| number(*node, name));
        assert_eq!(
            bounds,
            [168.0 + index as f64 * 64.0, 648.0, 56.0, 14.0],
            "the legend's boxes in a row under the map, left to right"
        );
        let count = counts[index].parse().unwrap();
        assert_eq!(node.attribute("fill"), Some(heat(count, 100).to_string().as_str()));
    }
}

#[test]
fn the_title_says_which_window_and_the_subtitle_what_is_in_it() {
    let mut stream = window(&[(8, 21, 4)], vec![]);
    assert_eq!(time_range(&stream), "2026-11-27 10:15:00 to 10:16:00 UTC");
    assert_eq!(
        subtitle(&stream),
        "1 shard · 4 readings · 0 vehicles, 0 km · 0 anomalies · 2 records skipped"
    );
    stream.window = TimeRange {
        start: at("2026-11-27T23:59:30Z"),
        end: at("2026-11-28T00:00:30Z"),
    };
    stream.shards.push("shardId-000000000001".to_owned());
    stream.terminated_early = true;
    for (vehicle, km) in [("vehicle-00001", 1.5), ("vehicle-00002", 2.25)] {
        let summary = crate::VehicleSummary {
            readings: 2,
            km,
            top_kmh: 40.0,
        };
        stream.vehicles.insert(vehicle.to_owned(), summary);
    }
    assert_eq!(
        time_range(&stream),
        "2026-11-27 23:59:30 to 2026-11-28 00:00:30 UTC",
        "the end's date when it is another day"
    );
    assert_eq!(
        subtitle(&stream),
        "2 shards · 4 readings · 2 vehicles, 4 km · 0 anomalies · 2 records skipped · window ended early",
        "the vehicles' kilometres added up (3.75), to the kilometre"
    );
}

#[test]
fn colours_mix_channel_by_channel_and_are_written_in_hex() {
    assert_eq!(Rgb(0, 100, 200).mix(Rgb(100, 50, 0), 0.5), Rgb(50, 75, 100));
    assert_eq!(Rgb(0, 100, 200).mix(Rgb(100, 50, 0), 0.0), Rgb(0, 100, 200));
    assert_eq!(
        Rgb(0, 100, 200).mix(Rgb(100, 50, 0), 2.0),
        Rgb(100, 50, 0),
        "t is at most 1"
    );
    assert_eq!(HOT.to_string(), "#b10026");
    assert_eq!(
        escape(r#"<a & 'b' "c">"#),
        "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"
    );
}
