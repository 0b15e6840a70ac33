//! Whether the dashboard's map is drawn where the readings were, judged from the picture as the browser rendered it
//! (`dashboard-check`). Each anomaly's ring is placed from the reading's own latitude and longitude, and that reading
//! is counted in its cell: so every ring must lie in (or, at a cell's edge, next to) a cell that has readings. A map
//! whose cells are drawn flipped or shifted puts the cells somewhere else than the rings, and fails; issue #26's map,
//! row 0 drawn at the north pole, had its rings over empty sea.
//!
//! The judgement needs no convention of its own (which row is where): the rings and the cells are compared with each
//! other, in screen pixels, so it holds for whatever draws the map.

use serde::Deserialize;

/// A rectangle on the screen: `[x, y, width, height]` in CSS pixels, as `getBoundingClientRect` gives it.
pub type Box = [f64; 4];

/// A cell of the picture with readings (`data-row`, `data-column`, `data-count`) and where it is drawn.
#[derive(Debug, Clone, Deserialize)]
pub struct Cell {
    pub row: u64,
    pub column: u64,
    pub count: u64,
    #[serde(rename = "box")]
    pub area: Box,
}

/// An anomaly's ring: where it is drawn, and its hover text (the vehicle, the time, the reading's id).
#[derive(Debug, Clone, Deserialize)]
pub struct Ring {
    #[serde(rename = "box")]
    pub area: Box,
    pub title: String,
}

/// What the page showed of one picture: the cells with readings and the rings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Picture {
    pub cells: Vec<Cell>,
    pub rings: Vec<Ring>,
}

/// Rounding in the browser's layout: a ring exactly on a cell's edge must not fail by a fraction of a pixel.
const SLACK_PX: f64 = 0.5;

fn centre(area: &Box) -> (f64, f64) {
    (area[0] + area[2] / 2.0, area[1] + area[3] / 2.0)
}

/// How far a point is outside a rectangle, in cells (0 inside it), along x and y.
fn cells_away(point: (f64, f64), area: &Box) -> (f64, f64) {
    let gap = |p: f64, start: f64, size: f64| ((start - p).max(p - (start + size)).max(0.0) - SLACK_PX).max(0.0);
    (
        gap(point.0, area[0], area[2]) / area[2].max(f64::EPSILON),
        gap(point.1, area[1], area[3]) / area[3].max(f64::EPSILON),
    )
}

/// The rings drawn more than one cell away from every cell with readings. One cell of tolerance: a ring on a band's
/// edge touches both; and a glitch flagged one window after it was counted (its vehicle's next readings came then)
/// is in no cell of the window that flags it, but hundreds of km from its vehicle's city, mostly within a cell of it.
pub fn misplaced(picture: &Picture) -> Vec<&Ring> {
    picture
        .rings
        .iter()
        .filter(|ring| {
            let at = centre(&ring.area);
            !picture.cells.iter().any(|cell| {
                let (x, y) = cells_away(at, &cell.area);
                x <= 1.0 && y <= 1.0
            })
        })
        .collect()
}

/// `Err` with what is wrong when a ring lies away from the readings: how many, and the first few with the cell
/// nearest to each.
pub fn judge(picture: &Picture) -> Result<(), String> {
    let misplaced = misplaced(picture);
    if misplaced.is_empty() {
        return Ok(());
    }
    let examples: Vec<String> = misplaced
        .iter()
        .take(3)
        .map(|ring| {
            let at = centre(&ring.area);
            let nearest = picture.cells.iter().min_by(|a, b| {
                let distance = |cell: &Cell| {
                    let (x, y) = cells_away(at, &cell.area);
                    x.hypot(y)
                };
                distance(a).total_cmp(&distance(b))
            });
            let nearest = nearest.map_or_else(
                || "no cell has readings".to_owned(),
                |cell| {
                    let (x, y) = centre(&cell.area);
                    format!(
                        "the nearest cell with readings (row {}, column {}, {} readings) is at ({x:.0}, {y:.0})",
                        cell.row, cell.column, cell.count
                    )
                },
            );
            format!(
                "ring \"{}\" at ({:.0}, {:.0}) px: {nearest}",
                ring.title.trim(),
                at.0,
                at.1
            )
        })
        .collect();
    Err(format!(
        "the map is drawn away from its readings: {} of {} anomaly rings (placed from the readings' latitude and \
         longitude) lie more than a cell away from every cell with readings, as on a map drawn flipped or shifted; \
         e.g.\n    {}",
        misplaced.len(),
        picture.rings.len(),
        examples.join("\n    ")
    ))
}

/// Where the picture and `/api/metrics` disagree on the busiest cells (`analysis.busiest`, step 5's `merge-window`
/// output): each must be drawn, with its count. The page must show the picture of the window the figures are of.
pub fn busiest_not_drawn(picture: &Picture, busiest: &serde_json::Value) -> Vec<String> {
    let listed = busiest.as_array().into_iter().flatten();
    listed
        .filter_map(|cell| {
            let (row, column, count) = (cell["row"].as_u64()?, cell["column"].as_u64()?, cell["count"].as_u64()?);
            let drawn = picture.cells.iter().find(|c| (c.row, c.column) == (row, column));
            match drawn {
                Some(drawn) if drawn.count == count => None,
                Some(drawn) => Some(format!(
                    "the busiest cell row {row}, column {column} has {count} readings in /api/metrics, {} on the map",
                    drawn.count
                )),
                None => Some(format!(
                    "the busiest cell row {row}, column {column} ({count} readings in /api/metrics) is not on the map"
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture laid out as step 5's heat map is (3 px a degree, north up), for readings at `(latitude,
    /// longitude)`: each reading's cell and, for each anomaly, its ring. `flip` draws the rows upside down, as the
    /// dashboard of issue #26 did.
    fn picture(readings: &[(f64, f64)], anomalies: &[(f64, f64)], flip: bool) -> Picture {
        let (left, top, cell) = (48.0, 64.0, 30.0);
        let mut cells: Vec<Cell> = vec![];
        for &(latitude, longitude) in readings {
            let row = (((latitude + 90.0) / 10.0).floor() as u64).min(17);
            let column = (((longitude + 180.0) / 10.0).floor() as u64).min(35);
            let drawn_row = if flip { row } else { 17 - row };
            match cells.iter_mut().find(|c| (c.row, c.column) == (row, column)) {
                Some(existing) => existing.count += 1,
                None => cells.push(Cell {
                    row,
                    column,
                    count: 1,
                    area: [left + column as f64 * cell, top + drawn_row as f64 * cell, cell, cell],
                }),
            }
        }
        let rings = anomalies
            .iter()
            .map(|&(latitude, longitude)| {
                let (x, y) = (left + (longitude + 180.0) * 3.0, top + (90.0 - latitude) * 3.0);
                Ring {
                    area: [x - 4.0, y - 4.0, 8.0, 8.0],
                    title: format!("{latitude}, {longitude}"),
                }
            })
            .collect();
        Picture { cells, rings }
    }

    const TOKYO: (f64, f64) = (35.676, 139.650);
    const SHANGHAI: (f64, f64) = (31.230, 121.474);
    const LONDON: (f64, f64) = (51.507, -0.128);
    const SYDNEY: (f64, f64) = (-33.869, 151.209);

    #[test]
    fn rings_on_the_cells_of_their_readings_pass() {
        let readings = [TOKYO, SHANGHAI, LONDON, SYDNEY, (40.0, 10.0), (90.0, 180.0)];
        // Every reading an anomaly, those on a band's edge (40° N, 10° E; the pole and the antimeridian) too.
        assert_eq!(judge(&picture(&readings, &readings, false)), Ok(()));
    }

    #[test]
    fn a_map_drawn_upside_down_fails_and_names_a_ring() {
        let readings = [TOKYO, SHANGHAI, LONDON];
        let error = judge(&picture(&readings, &readings, true)).unwrap_err();
        assert!(error.contains("3 of 3 anomaly rings"), "{error}");
        assert!(error.contains("ring \"35.676, 139.65\""), "{error}");
        assert!(error.contains("the nearest cell with readings (row 12"), "{error}");
    }

    #[test]
    fn a_map_shifted_by_two_cells_fails_and_one_cell_is_the_tolerance() {
        let shifted = |by: f64| {
            let mut drawn = picture(&[TOKYO, LONDON], &[TOKYO, LONDON], false);
            drawn.cells.iter_mut().for_each(|cell| cell.area[1] += by * 30.0);
            drawn
        };
        assert_eq!(misplaced(&shifted(1.0)).len(), 0, "within a cell");
        assert_eq!(misplaced(&shifted(2.5)).len(), 2);
        assert_eq!(misplaced(&shifted(-2.5)).len(), 2);
    }

    #[test]
    fn a_ring_where_no_reading_was_fails_even_when_other_rings_are_right() {
        let mut drawn = picture(&[TOKYO, LONDON], &[TOKYO, LONDON], false);
        drawn.rings.extend(picture(&[], &[SYDNEY], false).rings);
        let misplaced = misplaced(&drawn);
        assert_eq!(misplaced.len(), 1);
        assert_eq!(misplaced[0].title, "-33.869, 151.209");
    }

    #[test]
    fn a_picture_without_rings_has_nothing_misplaced() {
        assert_eq!(judge(&picture(&[TOKYO], &[], true)), Ok(()));
        let error = judge(&picture(&[], &[TOKYO], false)).unwrap_err();
        assert!(error.contains("no cell has readings"), "{error}");
    }

    #[test]
    fn the_busiest_cells_of_the_figures_must_be_drawn_with_their_counts() {
        let drawn = picture(&[TOKYO, TOKYO, LONDON], &[], false);
        let listed = |cells: serde_json::Value| busiest_not_drawn(&drawn, &cells);
        assert!(
            listed(serde_json::json!([{"row": 12, "column": 31, "count": 2}, {"row": 14, "column": 17, "count": 1}]))
                .is_empty()
        );
        assert_eq!(
            listed(serde_json::json!([{"row": 12, "column": 31, "count": 3}])),
            ["the busiest cell row 12, column 31 has 3 readings in /api/metrics, 2 on the map"]
        );
        assert_eq!(
            listed(serde_json::json!([{"row": 5, "column": 33, "count": 1}])),
            ["the busiest cell row 5, column 33 (1 readings in /api/metrics) is not on the map"]
        );
    }
}
