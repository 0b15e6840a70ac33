//! The grid's bookkeeping (the chapter's "The grid"): a cell's edges, the counts per cell ([`Grid`], which keeps
//! only the busy cells and travels as a list of [`CellCount`]s), and the busiest cells. Where a reading falls,
//! [`Cell::of`], is the learner's, in `aggregate.rs`.

use crate::{CELL_DEGREES, COLUMNS, Cell, ROWS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

impl Cell {
    /// The latitude of the cell's southern edge.
    pub fn south(self) -> f64 {
        -90.0 + self.row as f64 * CELL_DEGREES
    }

    /// The longitude of the cell's western edge.
    pub fn west(self) -> f64 {
        -180.0 + self.column as f64 * CELL_DEGREES
    }

    /// Every cell, row by row from the south, west to east in each row.
    pub fn all() -> impl Iterator<Item = Cell> {
        (0..ROWS).flat_map(|row| (0..COLUMNS).map(move |column| Cell { row, column }))
    }
}

/// A cell and its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCount {
    pub row: usize,
    pub column: usize,
    pub count: u64,
}

/// Readings per cell. Only the cells that have some are kept (most of the globe has none), and they travel as a
/// list of [`CellCount`]s, in grid order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<CellCount>", into = "Vec<CellCount>")]
pub struct Grid(BTreeMap<Cell, u64>);

impl Grid {
    /// One more reading in `cell`.
    pub fn add(&mut self, cell: Cell) {
        *self.0.entry(cell).or_default() += 1;
    }

    /// The readings in `cell`.
    pub fn count(&self, cell: Cell) -> u64 {
        self.0.get(&cell).copied().unwrap_or(0)
    }

    /// The count of the busiest cell (0 for an empty grid).
    pub fn max(&self) -> u64 {
        self.0.values().copied().max().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The cells that have readings, in grid order.
    pub fn cells(&self) -> impl Iterator<Item = CellCount> + '_ {
        self.0.iter().map(|(cell, &count)| CellCount {
            row: cell.row,
            column: cell.column,
            count,
        })
    }

    /// Adds another grid's counts to this one's.
    pub fn absorb(&mut self, other: &Grid) {
        for (cell, count) in &other.0 {
            *self.0.entry(*cell).or_default() += count;
        }
    }
}

impl From<Vec<CellCount>> for Grid {
    fn from(cells: Vec<CellCount>) -> Grid {
        let mut grid = Grid::default();
        for CellCount { row, column, count } in cells {
            *grid.0.entry(Cell { row, column }).or_default() += count;
        }
        grid
    }
}

impl From<Grid> for Vec<CellCount> {
    fn from(grid: Grid) -> Vec<CellCount> {
        grid.cells().collect()
    }
}

/// The `limit` busiest cells of a grid, busiest first (ties: the southern, then the western cell first).
pub fn busiest_cells(grid: &Grid, limit: usize) -> Vec<CellCount> {
    let mut counts: Vec<CellCount> = grid.cells().collect();
    // A stable sort keeps the cells of equal counts in grid order.
    counts.sort_by_key(|cell| std::cmp::Reverse(cell.count));
    counts.truncate(limit);
    counts
}
