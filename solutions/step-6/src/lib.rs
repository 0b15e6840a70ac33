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

// learner: alarm when writes are refused minute after minute, not at one stray burst
// ANCHOR: write_throttled_alarm
/// The stream refuses writes: its producers need more than its shards take. A few refusals a minute are the
/// producer's retries doing their job; thousands, two minutes out of three, are a stream too small.
pub fn write_throttled_alarm(stream: &str) -> AlarmDefinition {
    AlarmDefinition {
        name: WRITE_THROTTLED.to_owned(),
        description: format!(
            "{stream} refuses more than 1,000 writes a minute, 2 minutes out of 3: its producers need more shards \
             than it has. The scaler doubles its shards; if this stays in ALARM, look at the partition keys."
        ),
        namespace: KINESIS_NAMESPACE.to_owned(),
        metric: "WriteProvisionedThroughputExceeded".to_owned(),
        dimensions: vec![(STREAM_DIMENSION.to_owned(), stream.to_owned())],
        // Records refused in the minute, all calls together.
        statistic: Statistic::Sum,
        period_seconds: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 1000.0,
        comparison: Comparison::GreaterThanThreshold,
        // No writes, no refusals: a quiet stream is no reason to scale.
        missing_data: MissingData::NotBreaching,
    }
}
// ANCHOR_END: write_throttled_alarm

// learner: alarm when a reader falls minutes behind: the age of its oldest unread record, at its maximum
// ANCHOR: iterator_age_alarm
/// A reader falls behind: the records it reads are older and older. The stream-wide maximum, since an average over
/// every reader and shard hides the one shard that is minutes behind.
pub fn iterator_age_alarm(stream: &str) -> AlarmDefinition {
    AlarmDefinition {
        name: ITERATOR_AGE.to_owned(),
        description: format!(
            "A reader of {stream} is more than a minute behind, 2 minutes out of 3: its data arrives late. The \
             scaler doubles the shards (each shard is one more batch at a time); a reader that fails is not helped."
        ),
        namespace: KINESIS_NAMESPACE.to_owned(),
        metric: "GetRecords.IteratorAgeMilliseconds".to_owned(),
        dimensions: vec![(STREAM_DIMENSION.to_owned(), stream.to_owned())],
        statistic: Statistic::Maximum,
        period_seconds: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 60_000.0,
        comparison: Comparison::GreaterThanThreshold,
        // Nobody reading at all is not "behind": say so as insufficient data rather than scale.
        missing_data: MissingData::Missing,
    }
}
// ANCHOR_END: iterator_age_alarm

// learner: the count nearest `wanted` that UpdateShardCount allows from `open`, within the quota
// ANCHOR: within_limits
/// The shard count nearest to `wanted` that AWS accepts from `open` open shards: at least half, at most double, no
/// scaling up past [`MAX_SHARDS_PER_STREAM`] nor past what the account's quota leaves this stream.
pub fn within_limits(open: u32, wanted: u32, quota: &ShardQuota) -> u32 {
    let least = open.div_ceil(2);
    let most = open.saturating_mul(2).min(MAX_SHARDS_PER_STREAM).max(least);
    let target = wanted.clamp(least, most);
    if target <= open {
        return target;
    }
    // The other streams' shards stay; this one may grow into what is left of the quota, and no further.
    let others = quota.open_in_account.saturating_sub(open);
    let room = quota.limit.saturating_sub(others);
    target.min(room.max(open))
}
// ANCHOR_END: within_limits

// learner: on ALARM for this ACTIVE stream double it, within limits; else hold and say why
// ANCHOR: decide
/// The scaler's rule: an alarm in ALARM about this stream doubles its shards, unless something says to wait.
pub fn decide(change: &AlarmChange, stream: &StreamState, now: DateTime<Utc>) -> Decision {
    if change.state != AlarmState::Alarm {
        return Decision::Hold(Hold::NotAnAlarm(change.state));
    }
    if change.stream.as_deref() != Some(stream.name.as_str()) {
        return Decision::Hold(Hold::AnotherStream(change.stream.clone()));
    }
    if stream.status != StreamStatus::Active {
        return Decision::Hold(Hold::NotActive(stream.status.clone()));
    }
    // A scaling made while this alarm's data was being measured: the data mixes the old shards and the new.
    if let Some(last) = stream.scaled_at.last().filter(|last| **last > change.evidence_since()) {
        return Decision::Hold(Hold::CoolingDown { last: *last });
    }
    let day_ago = now - chrono::Duration::days(1);
    let today: Vec<&DateTime<Utc>> = stream.scaled_at.iter().filter(|at| **at > day_ago).collect();
    if today.len() >= SCALINGS_PER_DAY {
        return Decision::Hold(Hold::DailyLimit {
            next: *today[0] + chrono::Duration::days(1),
        });
    }
    let target = within_limits(stream.open_shards, stream.open_shards * 2, &stream.quota);
    if target <= stream.open_shards {
        return Decision::Hold(Hold::NoRoom {
            limit: stream.quota.limit,
        });
    }
    Decision::Scale {
        from: stream.open_shards,
        to: target,
    }
}
// ANCHOR_END: decide
