//! The code step 3 gives you: you call it, you need not edit it. The chapter's "What is given" lists it.
//!
//! - [`record`]: the [`GpsRecord`](crate::GpsRecord) and its bounds ("Typed records, and what \"invalid\" means");
//! - [`errors`]: the reasons a record is rejected, [`RecordError`](crate::RecordError), and how each reads in a log
//!   line (same section);
//! - [`timestamp`]: [`is_rfc3339`](timestamp::is_rfc3339), the check of a reading's timestamp (same section);
//! - [`logs`]: `Batch::log` and the function's JSON log format ("One log line per batch").

pub mod errors;
pub mod logs;
pub mod record;
pub mod timestamp;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
