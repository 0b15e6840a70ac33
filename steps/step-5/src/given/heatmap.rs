//! The heat map: a window of the stream drawn as the world's grid of 10° cells, 36 across and 18 down, north at the
//! top, over the coastlines, each cell coloured by its count and each anomaly marked where it claimed to be. The
//! picture is plain SVG written by hand: no plotting library to build, and each cell can carry its numbers
//! (`data-row`, `data-column`, `data-count`, and a `<title>` that a browser shows on hover), so that a test, or a
//! curious reader, can check the picture against the result.
//!
//! Given code (the chapter's "The heat map"): the colours and the drawing. The one decision in the picture, the
//! colour of a cell, [`heat`], is the learner's, in `lib.rs`.

use crate::coastline::LAND_PATH;
pub use crate::heat;
use crate::{CELL_DEGREES, COLUMNS, Cell, ROWS, StreamWindow};
use std::fmt::Write as _;
use std::path::Path;

/// A colour, written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

impl Rgb {
    /// The colour `t` of the way from `self` (`t` = 0) to `other` (`t` = 1).
    pub fn mix(self, other: Rgb, t: f64) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let channel = |from: u8, to: u8| (f64::from(from) + (f64::from(to) - f64::from(from)) * t).round() as u8;
        Rgb(
            channel(self.0, other.0),
            channel(self.1, other.1),
            channel(self.2, other.2),
        )
    }
}

/// A cell without any reading: not drawn at all on the map (the land shows through), so that "none" is never
/// mistaken for "a few".
pub const EMPTY: Rgb = Rgb(0xee, 0xee, 0xee);
/// The colour the scale starts from: pale yellow.
pub const COOL: Rgb = Rgb(0xff, 0xf3, 0xb0);
/// The colour of the busiest cell: dark red.
pub const HOT: Rgb = Rgb(0xb1, 0x00, 0x26);

/// The side of a cell, in pixels: 3 pixels a degree.
const CELL: usize = 30;
const PIXELS_PER_DEGREE: f64 = CELL as f64 / CELL_DEGREES;
const LEFT: usize = 48;
const TOP: usize = 64;
const MAP_WIDTH: usize = COLUMNS * CELL;
const MAP_HEIGHT: usize = ROWS * CELL;
const WIDTH: usize = LEFT + MAP_WIDTH + 24;
const HEIGHT: usize = TOP + MAP_HEIGHT + 88;
const OCEAN: &str = "#f4f8fb";
const LAND: &str = "#e3e1d6";
const COAST: &str = "#9c9885";

/// Where a position is on the picture, in pixels.
fn pixel(latitude: f64, longitude: f64) -> (f64, f64) {
    (
        LEFT as f64 + (longitude + 180.0) * PIXELS_PER_DEGREE,
        TOP as f64 + (90.0 - latitude) * PIXELS_PER_DEGREE,
    )
}

/// The picture of a window of the stream (or of one shard: `StreamWindow::from(&result)`), as an SVG document.
pub fn render_svg(window: &StreamWindow) -> String {
    let max = window.cells.max();
    let mut svg = String::new();
    // Writing to a String cannot fail: the `fmt::Result`s below are always `Ok`.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let title = format!("Readings per 10° cell, {}", time_range(window));
    let _ = writeln!(svg, "<title>{}</title>", escape(&title));
    let _ = writeln!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text class="title" x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&title)
    );
    let _ = writeln!(
        svg,
        r##"<text class="subtitle" x="{LEFT}" y="44" fill="#444">{}</text>"##,
        escape(&subtitle(window))
    );
    draw_world(&mut svg);
    draw_cells(&mut svg, window, max);
    draw_anomalies(&mut svg, window);
    draw_axes(&mut svg);
    draw_legend(&mut svg, max);
    svg.push_str("</svg>\n");
    svg
}

fn subtitle(window: &StreamWindow) -> String {
    // A fold from +0.0: an empty sum of f64s is -0.0, which would print as "-0 km".
    let km = window.vehicles.values().fold(0.0, |km, vehicle| km + vehicle.km);
    let mut subtitle = format!(
        "{} shard{} · {} readings · {} vehicles, {km:.0} km · {} anomalies · {} records skipped",
        window.shards.len(),
        if window.shards.len() == 1 { "" } else { "s" },
        window.count,
        window.vehicles.len(),
        window.anomalies.len() as u64 + window.anomalies_dropped,
        window.skipped
    );
    if window.terminated_early {
        subtitle.push_str(" · window ended early");
    }
    subtitle
}

/// The ocean, and the land of Natural Earth's 1:110m map over it (the path is in degrees: scaled to pixels here).
fn draw_world(svg: &mut String) {
    let _ = writeln!(
        svg,
        r#"<rect class="ocean" x="{LEFT}" y="{TOP}" width="{MAP_WIDTH}" height="{MAP_HEIGHT}" fill="{OCEAN}"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<path class="land" transform="translate({LEFT} {TOP}) scale({PIXELS_PER_DEGREE})" fill="{LAND}" stroke="{COAST}" stroke-width="0.7" vector-effect="non-scaling-stroke" d="{LAND_PATH}"/>"#
    );
}

/// Every cell, north at the top: an empty cell is a transparent frame (its numbers still on it); a busy one is
/// coloured, a little see-through so the coast shows, with its count written on it.
fn draw_cells(svg: &mut String, window: &StreamWindow, max: u64) {
    for cell in Cell::all() {
        let count = window.cells.count(cell);
        let (x, y) = (LEFT + cell.column * CELL, TOP + (ROWS - 1 - cell.row) * CELL);
        let fill = if count == 0 {
            "none".to_owned()
        } else {
            heat(count, max).to_string()
        };
        let hover = format!(
            "{} to {}, {} to {}: {count} readings",
            latitude(cell.south()),
            latitude(cell.south() + CELL_DEGREES),
            longitude(cell.west()),
            longitude(cell.west() + CELL_DEGREES)
        );
        let _ = writeln!(
            svg,
            r#"<rect class="cell" x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" fill-opacity="0.8" data-row="{}" data-column="{}" data-count="{count}"><title>{}</title></rect>"#,
            cell.row,
            cell.column,
            escape(&hover)
        );
        if count > 0 {
            // Dark text on the pale half of the scale, white text on the dark half.
            let ink = if count as f64 / max as f64 > 0.25 {
                "white"
            } else {
                "#333"
            };
            let _ = writeln!(
                svg,
                r#"<text class="count" x="{}" y="{}" text-anchor="middle" font-size="9" fill="{ink}">{count}</text>"#,
                x + CELL / 2,
                y + CELL / 2 + 3
            );
        }
    }
}

/// A ring where each anomaly claimed the vehicle was.
fn draw_anomalies(svg: &mut String, window: &StreamWindow) {
    for anomaly in &window.anomalies {
        let (x, y) = pixel(anomaly.latitude, anomaly.longitude);
        let hover = format!(
            "{} at {}: {:.0} km/h from its last reading (reading {})",
            anomaly.vehicle,
            anomaly.timestamp.format("%H:%M:%S%.3f"),
            anomaly.kmh,
            anomaly.id
        );
        let _ = writeln!(
            svg,
            r##"<circle class="anomaly" cx="{x:.1}" cy="{y:.1}" r="4" fill="none" stroke="#1f4e9c" stroke-width="1.5" data-id="{}"><title>{}</title></circle>"##,
            anomaly.id,
            escape(&hover)
        );
    }
}

/// The equator, a frame, and the axes' labels every 30°.
fn draw_axes(svg: &mut String) {
    let equator = TOP + MAP_HEIGHT / 2;
    let right = LEFT + MAP_WIDTH;
    let bottom = TOP + MAP_HEIGHT;
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{equator}" x2="{right}" y2="{equator}" stroke="#777" stroke-dasharray="4 3"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{MAP_WIDTH}" height="{MAP_HEIGHT}" fill="none" stroke="#777"/>"##
    );
    for degrees in (-90..=90).rev().step_by(30) {
        let (_, y) = pixel(f64::from(degrees), 0.0);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.0}" text-anchor="end">{}</text>"#,
            LEFT - 6,
            y + 4.0,
            latitude(f64::from(degrees))
        );
    }
    for degrees in (-180..=180).step_by(30) {
        let (x, _) = pixel(0.0, f64::from(degrees));
        let _ = writeln!(
            svg,
            r#"<text x="{x:.0}" y="{}" text-anchor="middle" font-size="10">{}</text>"#,
            bottom + 16,
            longitude(f64::from(degrees))
        );
    }
}

/// The legend: the scale's colours at a few counts, from one reading to the busiest cell's.
fn draw_legend(svg: &mut String, max: u64) {
    let legend = TOP + MAP_HEIGHT + 44;
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="{}">Readings per cell</text>"#, legend + 11);
    for (index, count) in legend_counts(max).into_iter().enumerate() {
        let x = LEFT + 120 + index * 64;
        let _ = writeln!(
            svg,
            r##"<rect class="legend" x="{x}" y="{legend}" width="56" height="14" fill="{}" stroke="#999" data-count="{count}"/>"##,
            heat(count, max)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{count}</text>"#,
            x + 28,
            legend + 28
        );
    }
    let _ = writeln!(
        svg,
        r##"<circle cx="{}" cy="{}" r="4" fill="none" stroke="#1f4e9c" stroke-width="1.5"/><text x="{}" y="{}">anomaly</text>"##,
        LEFT + 120 + 5 * 64 + 12,
        legend + 7,
        LEFT + 120 + 5 * 64 + 22,
        legend + 11
    );
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" fill="#777" font-size="9" text-anchor="end">Land: Natural Earth (public domain)</text>"##,
        LEFT + MAP_WIDTH,
        legend + 28
    );
}

/// Writes the picture of a window to `path`.
pub fn write_svg(window: &StreamWindow, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render_svg(window))
}

/// The counts the legend shows: one, then steps evenly spaced in colour up to `max` (nothing for an empty window).
fn legend_counts(max: u64) -> Vec<u64> {
    let mut counts: Vec<u64> = vec![];
    for step in 1..=4u32 {
        // heat(count) is spaced by the square root of count / max, so evenly spaced colours are at max * (step/4)².
        let count = ((max as f64) * f64::from(step * step) / 16.0).ceil() as u64;
        if count > *counts.last().unwrap_or(&0) {
            counts.push(count);
        }
    }
    if counts.first().is_some_and(|&first| first > 1) {
        counts.insert(0, 1);
    }
    counts
}

/// "2026-11-27 10:15:00 to 10:16:00 UTC": the end without its date when it falls on the start's day.
fn time_range(result: &StreamWindow) -> String {
    let (start, end) = (result.window.start, result.window.end);
    let end_format = if start.date_naive() == end.date_naive() {
        "%H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    format!(
        "{} to {} UTC",
        start.format("%Y-%m-%d %H:%M:%S"),
        end.format(end_format)
    )
}

fn latitude(degrees: f64) -> String {
    if degrees > 0.0 {
        format!("{degrees}° N")
    } else if degrees < 0.0 {
        format!("{}° S", -degrees)
    } else {
        "0°".to_owned()
    }
}

fn longitude(degrees: f64) -> String {
    if degrees.abs() == 180.0 {
        "180°".to_owned()
    } else if degrees > 0.0 {
        format!("{degrees}° E")
    } else if degrees < 0.0 {
        format!("{}° W", -degrees)
    } else {
        "0°".to_owned()
    }
}

/// Text as XML character data or an attribute's value.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
#[path = "heatmap_tests.rs"]
mod tests;
