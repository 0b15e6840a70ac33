//! Step 6: watch the stream, and scale it.
//!
//! Two CloudWatch alarms say when the stream is in trouble: its writes refused for minutes on end (too few shards
//! for its producers), and its readers falling behind. Each notifies an SNS topic, which invokes the scaler, a
//! Lambda function whose rule is [`decide`]: from the alarm's change and the stream as it is, a new shard count
//! within AWS's limits ([`within_limits`]), or "hold, because …".
//!
//! Your code is here: the two alarm definitions and the two functions of the rule. The machinery — the types, SNS's
//! event read, the stream read and resharded, the alarms put into CloudWatch — is in `given/`, re-exported here.

mod given;

pub use given::alarm::{AlarmDefinition, Comparison, KINESIS_NAMESPACE, MissingData, STREAM_DIMENSION, Statistic};
pub use given::decision::{Decision, Hold};
pub use given::errors::ScalingError;
pub use given::notification::{AlarmChange, AlarmState, alarm_change, alarm_changes};
pub use given::stream::{MAX_SHARDS_PER_STREAM, SCALINGS_PER_DAY, ShardQuota, StreamState, StreamStatus};
pub use given::{cloudwatch, handler, stream, tool};

use chrono::{DateTime, Utc};

/// The alarms' names (a learner's deploy puts their prefix before them).
pub const WRITE_THROTTLED: &str = "write-throttled";
pub const ITERATOR_AGE: &str = "iterator-age";

/// The stream refuses writes: its producers need more than its shards take. A few refusals a minute are the
/// producer's retries doing their job; thousands, two minutes out of three, are a stream too small.
pub fn write_throttled_alarm(stream: &str) -> AlarmDefinition {
    todo!("alarm when writes are refused minute after minute, not at one stray burst")
}

/// A reader falls behind: the records it reads are older and older. The stream-wide maximum, since an average over
/// every reader and shard hides the one shard that is minutes behind.
pub fn iterator_age_alarm(stream: &str) -> AlarmDefinition {
    todo!("alarm when a reader falls minutes behind: the age of its oldest unread record, at its maximum")
}

/// The shard count nearest to `wanted` that AWS accepts from `open` open shards: at least half, at most double, no
/// scaling up past [`MAX_SHARDS_PER_STREAM`] nor past what the account's quota leaves this stream.
pub fn within_limits(open: u32, wanted: u32, quota: &ShardQuota) -> u32 {
    todo!("the count nearest `wanted` that UpdateShardCount allows from `open`, within the quota")
}

/// The scaler's rule: an alarm in ALARM about this stream doubles its shards, unless something says to wait.
pub fn decide(change: &AlarmChange, stream: &StreamState, now: DateTime<Utc>) -> Decision {
    todo!("on ALARM for this ACTIVE stream double it, within limits; else hold and say why")
}
