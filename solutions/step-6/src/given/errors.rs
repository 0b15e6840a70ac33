//! The step's error: which AWS call failed, with every cause (`support::error_chain`), or what in a notification
//! could not be read. The chapter's "What is given" names it.

use std::fmt;

#[derive(Debug)]
pub enum ScalingError {
    /// An AWS call failed: the call, then the SDK's error with its causes.
    Aws { call: &'static str, message: String },
    /// The event is no SNS notification of a CloudWatch alarm, or misses what the scaler needs.
    Notification(String),
    /// A setting the function or tool needs is missing.
    Setting(String),
}

impl fmt::Display for ScalingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalingError::Aws { call, message } => write!(f, "{call} failed: {message}"),
            ScalingError::Notification(why) => write!(f, "not an alarm notification the scaler can read: {why}"),
            ScalingError::Setting(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ScalingError {}

/// An SDK error of `call`, with every cause on one line (the SDK's own `Display` says only "service error").
pub(crate) fn aws_error(call: &'static str, error: impl std::error::Error) -> ScalingError {
    ScalingError::Aws {
        call,
        message: support::error_chain(&error),
    }
}
