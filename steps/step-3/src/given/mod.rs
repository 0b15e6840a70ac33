//! The code step 3 gives you: you call it, you need not edit it. The chapter's "What is given" lists it.
//!
//! - [`errors`]: how a [`RecordError`](crate::RecordError) reads in a log line ("Typed records, and what
//!   \"invalid\" means");
//! - [`timestamp`]: [`is_rfc3339`](timestamp::is_rfc3339), the check of a reading's timestamp (same section);
//! - [`logs`]: `Batch::log` and the function's JSON log format ("One log line per batch").

pub mod errors;
pub mod logs;
pub mod timestamp;
