//! The code step 6 gives you: you call it, you need not edit it. The chapter's "What is given" lists it.
//!
//! - [`alarm`]: an alarm's definition as a typed value, and its enums ("What to alarm on");
//! - [`notification`]: SNS's event and CloudWatch's alarm message, read into an `AlarmChange` ("The scaler's rule");
//! - [`stream`]: the stream's state as the scaler reads it, `UpdateShardCount`'s limits, and the reshard itself
//!   (the same section);
//! - [`decision`]: what `decide` answers, and its log line (the same section);
//! - [`handler`]: the scaler's Lambda handler around `decide`;
//! - [`cloudwatch`] and [`tool`]: your alarms put into CloudWatch by the `ensure-alarms` tool;
//! - [`errors`]: the step's error type.

pub mod alarm;
pub mod cloudwatch;
pub mod decision;
pub mod errors;
pub mod handler;
pub mod notification;
pub mod stream;
pub mod tool;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
