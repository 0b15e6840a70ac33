//! The heat map: a window's result drawn as the world's grid of 30° cells, 12 across and 6 down, north at the top,
//! each cell coloured by its count. The picture is plain SVG written by hand: no plotting library to build, and each
//! cell can carry its numbers (`data-row`, `data-column`, `data-count`, and a `<title>` that a browser shows on
//! hover), so that a test, or a curious reader, can check the picture against the result.

use crate::{CELL_DEGREES, COLUMNS, Cell, ROWS, WindowResult};
use std::fmt::Write as _;
use std::path::Path;

// ANCHOR: colours
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

/// A cell without any position: light grey, so that "none" is not mistaken for "a few".
pub const EMPTY: Rgb = Rgb(0xee, 0xee, 0xee);
/// The colour the scale starts from: pale yellow.
pub const COOL: Rgb = Rgb(0xff, 0xf3, 0xb0);
/// The colour of the busiest cell: dark red.
pub const HOT: Rgb = Rgb(0xb1, 0x00, 0x26);
// ANCHOR_END: colours

// learner: EMPTY for a count of 0; otherwise COOL.mix(HOT, t) with t the square root of count / max
// ANCHOR: heat
/// The colour of a cell with `count` positions when the busiest cell has `max`. The square root spreads the
/// colours: with a linear scale, one very busy cell would leave every other one looking pale.
pub fn heat(count: u64, max: u64) -> Rgb {
    if count == 0 || max == 0 {
        return EMPTY;
    }
    COOL.mix(HOT, (count as f64 / max as f64).sqrt())
}
// ANCHOR_END: heat

/// The side of a cell, in pixels.
const CELL: usize = 60;
const LEFT: usize = 56;
const TOP: usize = 64;
const WIDTH: usize = LEFT + COLUMNS * CELL + 24;
const HEIGHT: usize = TOP + ROWS * CELL + 88;

/// The picture of a window's result, as an SVG document.
pub fn render_svg(result: &WindowResult) -> String {
    let max = result.cells.iter().flatten().copied().max().unwrap_or(0);
    let mut svg = String::new();
    // Writing to a String cannot fail: the `fmt::Result`s below are always `Ok`.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let title = format!("Positions per 30° cell, {}", time_range(result));
    let _ = writeln!(svg, "<title>{}</title>", escape(&title));
    let _ = writeln!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text class="title" x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&title)
    );
    let mut subtitle = format!(
        "shard {} · {} positions · {} records skipped",
        result.shard_id, result.count, result.skipped
    );
    if result.terminated_early {
        subtitle.push_str(" · window ended early");
    }
    let _ = writeln!(
        svg,
        r##"<text class="subtitle" x="{LEFT}" y="44" fill="#444">{}</text>"##,
        escape(&subtitle)
    );

    // The cells, north at the top: row 5 (60° N to 90° N) is drawn first.
    for cell in Cell::all() {
        let count = result.cells[cell.row][cell.column];
        let (x, y) = (LEFT + cell.column * CELL, TOP + (ROWS - 1 - cell.row) * CELL);
        let fill = heat(count, max);
        let hover = format!(
            "{} to {}, {} to {}: {count} positions",
            latitude(cell.south()),
            latitude(cell.south() + CELL_DEGREES),
            longitude(cell.west()),
            longitude(cell.west() + CELL_DEGREES)
        );
        let _ = writeln!(
            svg,
            r#"<rect class="cell" x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" stroke="white" data-row="{}" data-column="{}" data-count="{count}"><title>{}</title></rect>"#,
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
                r#"<text x="{}" y="{}" text-anchor="middle" fill="{ink}">{count}</text>"#,
                x + CELL / 2,
                y + CELL / 2 + 4
            );
        }
    }

    // The equator, and the axes' labels at every band's edge.
    let equator = TOP + ROWS * CELL / 2;
    let right = LEFT + COLUMNS * CELL;
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{equator}" x2="{right}" y2="{equator}" stroke="#555" stroke-dasharray="4 3"/>"##
    );
    for edge in 0..=ROWS {
        let degrees = 90.0 - edge as f64 * CELL_DEGREES;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 6,
            TOP + edge * CELL + 4,
            latitude(degrees)
        );
    }
    let bottom = TOP + ROWS * CELL;
    for edge in 0..=COLUMNS {
        let degrees = -180.0 + edge as f64 * CELL_DEGREES;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="10">{}</text>"#,
            LEFT + edge * CELL,
            bottom + 16,
            longitude(degrees)
        );
    }

    // The legend: the scale's colours at a few counts, from none to the busiest cell's.
    let legend = bottom + 44;
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="{}">Positions per cell</text>"#, legend + 11);
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
    svg.push_str("</svg>\n");
    svg
}

/// Writes the picture of a window's result to `path`.
pub fn write_svg(result: &WindowResult, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render_svg(result))
}

/// The counts the legend shows: none, then four steps evenly spaced in colour up to `max`.
fn legend_counts(max: u64) -> Vec<u64> {
    let mut counts = vec![0];
    for step in 1..=4u32 {
        // heat(count) is spaced by the square root of count / max, so evenly spaced colours are at max * (step/4)².
        let count = ((max as f64) * f64::from(step * step) / 16.0).ceil() as u64;
        if count > *counts.last().unwrap_or(&0) {
            counts.push(count);
        }
    }
    counts
}

/// "2026-11-27 10:15:00 to 10:16:00 UTC": the end without its date when it falls on the start's day.
fn time_range(result: &WindowResult) -> String {
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
