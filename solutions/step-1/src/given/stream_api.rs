//! The Kinesis calls `ensure_stream` is built from, and its error type. The chapter's "Creating it idempotently"
//! section explains why tags and retention are set after the stream is ACTIVE, and "Waiting until it is ACTIVE"
//! why [`wait_until_active`] asks every second instead of using the SDK's waiter.

use crate::{Capacity, StreamDefinition};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::types::{StreamDescriptionSummary, StreamMode, StreamModeDetails, StreamStatus};
use std::time::{Duration, Instant};

/// How long [`wait_until_active`] waits for a new stream: AWS usually needs well under a minute.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// How often [`wait_until_active`] asks, at most. `DescribeStreamSummary` allows 20 calls a second per account
/// (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html>): once a second leaves
/// plenty for everyone else, and sees the stream ACTIVE within a second of its becoming so.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often [`wait_until_active`] asks during its first second, before it asks every [`POLL_INTERVAL`]. A
/// retention change, or a new stream on the local cloud, is over in well under a second: asking once a second from
/// the start would make each of them cost a whole second, and pauses growing from this one (0.1, 0.2, 0.4 s) saw a
/// change of half a second only after 0.7. Ten calls in that second are half the account's rate, for one second.
pub const FIRST_SECOND_PAUSE: Duration = Duration::from_millis(100);

/// What can go wrong while making sure the stream exists.
#[derive(Debug)]
pub enum StreamError {
    /// A Kinesis call failed (the message says which, and why).
    Kinesis(String),
    /// The stream did not become ACTIVE: still CREATING (or UPDATING) after `waited`, or DELETING, or gone.
    NotActive {
        stream: String,
        status: String,
        waited: Duration,
    },
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Kinesis(message) => write!(f, "Kinesis call failed: {message}"),
            StreamError::NotActive { stream, status, waited } => write!(
                f,
                "{stream} did not become ACTIVE: it is {status} after {} s of waiting",
                waited.as_secs()
            ),
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

/// Waits until the stream is ACTIVE, asking `DescribeStreamSummary` every [`FIRST_SECOND_PAUSE`] for a second, then
/// every [`POLL_INTERVAL`], for [`ACTIVE_TIMEOUT`] at most; returns its summary; an error once the time is up, or at
/// once if the stream is being deleted or is gone.
pub async fn wait_until_active(client: &Client, name: &str) -> Result<StreamDescriptionSummary, StreamError> {
    wait_until_active_within(client, name, ACTIVE_TIMEOUT, POLL_INTERVAL).await
}

/// [`wait_until_active`], pausing `longest_pause` between two questions after the first second (and never longer
/// during it), for `patience` at most (the given tests wait milliseconds).
pub(crate) async fn wait_until_active_within(
    client: &Client,
    name: &str,
    patience: Duration,
    longest_pause: Duration,
) -> Result<StreamDescriptionSummary, StreamError> {
    let started = Instant::now();
    loop {
        let not_active = |status: &str| StreamError::NotActive {
            stream: name.to_owned(),
            status: status.to_owned(),
            waited: started.elapsed(),
        };
        let Some(summary) = describe(client, name).await? else {
            return Err(not_active("gone (DescribeStreamSummary: ResourceNotFoundException)"));
        };
        match summary.stream_status {
            StreamStatus::Active => return Ok(summary),
            // A stream being created, or resharded or changed (UPDATING), becomes ACTIVE by itself.
            StreamStatus::Creating | StreamStatus::Updating if started.elapsed() < patience => {}
            status => return Err(not_active(status.as_str())),
        }
        tokio::time::sleep(next_pause(started.elapsed(), longest_pause)).await;
    }
}

/// How long [`wait_until_active_within`] pauses, `elapsed` into its wait: [`FIRST_SECOND_PAUSE`] (or `longest_pause`
/// if shorter) during the first second, `longest_pause` after it.
pub(crate) fn next_pause(elapsed: Duration, longest_pause: Duration) -> Duration {
    if elapsed < Duration::from_secs(1) {
        FIRST_SECOND_PAUSE.min(longest_pause)
    } else {
        longest_pause
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
