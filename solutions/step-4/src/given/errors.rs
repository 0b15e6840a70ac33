//! The step's error type: every function of the step returns it, so that each call can use `?`. The chapter's
//! "Creating it idempotently" shows it.

use support::error_chain;

// ANCHOR: delivery_error
/// What can go wrong while setting up the delivery, or reading what it delivered.
#[derive(Debug)]
pub enum DeliveryError {
    /// An AWS call failed: which service, and the whole chain of reasons.
    Aws { service: &'static str, message: String },
    /// The SDK would not build a request: a required field is missing.
    Invalid(String),
    /// The delivery stream did not become ACTIVE.
    NotActive { name: String, status: String },
}
// ANCHOR_END: delivery_error

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::Aws { service, message } => write!(f, "{service} call failed: {message}"),
            DeliveryError::Invalid(message) => write!(f, "invalid request: {message}"),
            DeliveryError::NotActive { name, status } => write!(f, "{name} did not become ACTIVE: {status}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// The SDK's Display is terse ("service error"); the source chain says what actually went wrong.
fn aws_error(service: &'static str, error: impl std::error::Error) -> DeliveryError {
    DeliveryError::Aws {
        service,
        message: error_chain(&error),
    }
}

pub fn firehose_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("Firehose", error)
}

pub fn s3_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("S3", error)
}

pub fn iam_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("IAM", error)
}

pub fn kinesis_error(error: impl std::error::Error) -> DeliveryError {
    aws_error("Kinesis", error)
}

/// For the SDK's `BuildError`: a request or structure missing a required field.
pub fn invalid(error: impl std::error::Error) -> DeliveryError {
    DeliveryError::Invalid(error.to_string())
}
