//! The code step 1 gives you: you call it, you need not edit it. The chapter's "What is given" lists it.
//!
//! - [`policy`]: the policy document types and the ARNs of the workshop's resources ("Least privilege");
//! - [`stream_api`]: the Kinesis calls around `ensure_stream` — describing, the capacity mode, aligning tags and
//!   retention, and the step's error type ("Creating it idempotently").

pub mod policy;
pub mod stream_api;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
