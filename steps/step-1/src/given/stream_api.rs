//! The Kinesis calls `ensure_stream` is built from, and its error type. The chapter's "Creating it idempotently"
//! section explains why tags and retention are set after the stream is ACTIVE.

use crate::{Capacity, StreamDefinition};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::types::{StreamDescriptionSummary, StreamMode, StreamModeDetails};

/// What can go wrong while making sure the stream exists.
#[derive(Debug)]
pub enum StreamError {
    /// A Kinesis call failed (the message says which, and why).
    Kinesis(String),
    /// The stream did not become ACTIVE in time.
    NotActive { status: String },
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Kinesis(message) => write!(f, "Kinesis call failed: {message}"),
            StreamError::NotActive { status } => write!(f, "the stream did not become ACTIVE in time (it is {status})"),
        }
    }
}

impl std::error::Error for StreamError {}

/// A failed Kinesis call as a [`StreamError`]. The SDK's Display is terse; the source chain says what actually went
/// wrong, so the message carries all of it.
pub(crate) fn kinesis_error(error: impl std::error::Error) -> StreamError {
    StreamError::Kinesis(support::error_chain(&error))
}

/// Reads the stream's summary; `None` when it does not exist.
pub(crate) async fn describe(client: &Client, name: &str) -> Result<Option<StreamDescriptionSummary>, StreamError> {
    match client.describe_stream_summary().stream_name(name).send().await {
        Ok(output) => Ok(output.stream_description_summary),
        Err(error) => match error.into_service_error() {
            DescribeStreamSummaryError::ResourceNotFoundException(_) => Ok(None),
            other => Err(kinesis_error(other)),
        },
    }
}

/// The `StreamModeDetails` `CreateStream` takes for a capacity.
pub(crate) fn stream_mode(capacity: &Capacity) -> StreamModeDetails {
    let mode = match capacity {
        Capacity::Provisioned { .. } => StreamMode::Provisioned,
        Capacity::OnDemand => StreamMode::OnDemand,
    };
    StreamModeDetails::builder()
        .stream_mode(mode)
        .build()
        .expect("stream_mode is set")
}

/// Brings an ACTIVE stream's tags and retention in line with its definition. (`CreateStream` takes neither
/// retention nor, on every implementation, tags: setting them afterwards also repairs a stream made by hand.)
pub(crate) async fn align_settings(
    client: &Client,
    definition: &StreamDefinition,
    summary: &StreamDescriptionSummary,
) -> Result<(), StreamError> {
    if !definition.tags.is_empty() {
        client
            .add_tags_to_stream()
            .stream_name(&definition.name)
            .set_tags(Some(definition.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(kinesis_error)?;
    }
    let hours = definition.retention_hours;
    if summary.retention_period_hours > hours {
        let request = client.decrease_stream_retention_period().stream_name(&definition.name);
        request
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(kinesis_error)?;
    } else if summary.retention_period_hours < hours {
        let request = client.increase_stream_retention_period().stream_name(&definition.name);
        request
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(kinesis_error)?;
    }
    Ok(())
}
