//! The crates a step's executables share, in one shared library (see Cargo.toml): naming each here is what puts it
//! in the library, and a step built with `--features fast-link` then takes them from it.

pub use aws_config;
pub use aws_lambda_events;
pub use aws_sdk_cloudwatch;
pub use aws_sdk_firehose;
pub use aws_sdk_iam;
pub use aws_sdk_kinesis;
pub use aws_sdk_lambda;
pub use aws_sdk_s3;
pub use lab_cloud;
pub use lambda_runtime;
pub use serde_json;
pub use tokio;
pub use tracing_subscriber;
