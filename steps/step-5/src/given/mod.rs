//! The given code of step 5: what the learner's functions call, and what carries their results to Lambda, S3 and the
//! picture. None of it decides anything the chapter asks of the learner; lib.rs re-exports every item, so each has
//! one public path (`analytics::Destination`, `analytics::heatmap::render_svg`...).

/// The grid's bookkeeping: a cell's edges, the counts per cell, the busiest cells.
pub mod grid;
/// The heat map's colours and the SVG drawing around the learner's `heat`.
pub mod heatmap;
/// The `heatmap` tool's command line.
pub mod heatmap_command;
/// A record's data as a reading, or why it is not one (step 3's parse).
pub mod reading;
/// The destination in S3 from the environment, a result's key, the S3 client, the previous result read back.
pub mod s3;
/// The window's state in and out of Lambda's map of strings, a window's time range, a new window resumed.
pub mod state;
/// A fix and the haversine, a move counted, the anomalies' list.
pub mod track;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
