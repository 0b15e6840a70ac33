//! What the scaler knows of the stream, and the one change it makes. The chapter's "The scaler's rule" explains
//! both.
//!
//! - Its state: status and open shards (`DescribeStreamSummary`), the account's shard quota and open shards
//!   (`DescribeLimits`), and when the scaler last scaled it. Lambda keeps nothing from one invocation to the next,
//!   so the scaler writes each scale's time into a tag of the stream itself ([`SCALED_AT_TAG`]: the last day's
//!   scales, epoch seconds) and reads it back (`ListTagsForStream`).
//! - The change: the tag, then `UpdateShardCount` with `UNIFORM_SCALING`
//!   (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html>).

use super::errors::{ScalingError, aws_error};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{ScalingType, StreamStatus as SdkStatus};
use chrono::{DateTime, Duration, Utc};

/// `UpdateShardCount`'s limits (its API reference): at most ten scalings per rolling 24 hours per stream; a new
/// count at most double and at least half the open shards; no scaling up past 10,000 shards a stream, nor past the
/// account's shard quota (500 in us-east-1 by default, `DescribeLimits`' `ShardLimit`).
pub const SCALINGS_PER_DAY: usize = 10;
pub const MAX_SHARDS_PER_STREAM: u32 = 10_000;

/// The stream's tag in which the scaler keeps the times of its scalings of the last day.
pub const SCALED_AT_TAG: &str = "scaled-at";

/// A stream's `StreamStatus`: only an ACTIVE stream can be resharded; it is UPDATING while a reshard runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    Creating,
    Active,
    Updating,
    Deleting,
}

/// The account's shard quota in the region, and the shards open in it, every stream together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardQuota {
    pub limit: u32,
    pub open_in_account: u32,
}

/// What the scaler reads before it decides.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamState {
    pub name: String,
    pub status: StreamStatus,
    pub open_shards: u32,
    /// When the scaler scaled it within the last day, oldest first.
    pub scaled_at: Vec<DateTime<Utc>>,
    pub quota: ShardQuota,
}

impl StreamStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Deleting => "DELETING",
        }
    }
}

/// The stream's state now.
pub async fn read_stream(client: &Client, name: &str) -> Result<StreamState, ScalingError> {
    let summary = client
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .map_err(|error| aws_error("DescribeStreamSummary", error))?
        .stream_description_summary
        .ok_or_else(|| ScalingError::Notification(format!("{name}: DescribeStreamSummary said nothing")))?;
    let status = match summary.stream_status {
        SdkStatus::Active => StreamStatus::Active,
        SdkStatus::Updating => StreamStatus::Updating,
        SdkStatus::Creating => StreamStatus::Creating,
        _ => StreamStatus::Deleting,
    };
    let limits = client
        .describe_limits()
        .send()
        .await
        .map_err(|error| aws_error("DescribeLimits", error))?;
    let tags = client
        .list_tags_for_stream()
        .stream_name(name)
        .send()
        .await
        .map_err(|error| aws_error("ListTagsForStream", error))?;
    let history = tags
        .tags
        .iter()
        .find(|tag| tag.key == SCALED_AT_TAG)
        .and_then(|tag| tag.value.as_deref())
        .unwrap_or_default();
    Ok(StreamState {
        name: name.to_owned(),
        status,
        open_shards: summary.open_shard_count.max(0) as u32,
        scaled_at: parse_history(history),
        quota: ShardQuota {
            limit: limits.shard_limit.max(0) as u32,
            open_in_account: limits.open_shard_count.max(0) as u32,
        },
    })
}

/// Reshards the stream to `target` open shards (`UNIFORM_SCALING`: equal hash ranges), having first added `now` to
/// its history (forgetting what is more than a day old). The tag first, while the stream is still ACTIVE:
/// `AddTagsToStream` may be refused (`ResourceInUseException`) once the reshard has made it UPDATING, and a scale
/// the history missed would escape the cool-down and the daily count. Should `UpdateShardCount` then fail, the
/// history holds a scale that did not happen: the scaler waits longer than it had to, never less.
pub async fn update_shard_count(
    client: &Client,
    stream: &StreamState,
    target: u32,
    now: DateTime<Utc>,
) -> Result<(), ScalingError> {
    let mut history: Vec<DateTime<Utc>> = stream
        .scaled_at
        .iter()
        .copied()
        .filter(|at| *at > now - Duration::days(1))
        .collect();
    history.push(now);
    client
        .add_tags_to_stream()
        .stream_name(&stream.name)
        .tags(SCALED_AT_TAG, history_tag(&history))
        .send()
        .await
        .map_err(|error| aws_error("AddTagsToStream", error))?;
    client
        .update_shard_count()
        .stream_name(&stream.name)
        .target_shard_count(target as i32)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .map_err(|error| aws_error("UpdateShardCount", error))?;
    Ok(())
}

/// The tag's value: epoch seconds, oldest first, separated by spaces (at most ten of 10 digits: far under the 256
/// characters a tag value may hold).
pub fn history_tag(times: &[DateTime<Utc>]) -> String {
    let seconds: Vec<String> = times.iter().map(|at| at.timestamp().to_string()).collect();
    seconds.join(" ")
}

/// The times a tag's value lists, oldest first; what is not a time is left out (a tag edited by hand).
pub fn parse_history(text: &str) -> Vec<DateTime<Utc>> {
    let mut times: Vec<DateTime<Utc>> = text
        .split_whitespace()
        .filter_map(|seconds| seconds.parse().ok())
        .filter_map(|seconds| DateTime::from_timestamp(seconds, 0))
        .collect();
    times.sort();
    times
}
