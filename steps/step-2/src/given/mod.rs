//! The producer's given code: what the functions you write in `lib.rs` stand on, and need not be edited. Each
//! module's docs say which section of the chapter ("Step 2: the producer Lambda") explains it; `lib.rs` re-exports
//! every public item, so `producer::Entry`, `producer::Tally`, … name them wherever they live.

pub mod invocation;
pub mod kinesis;
pub mod records;
pub mod tally;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
