//! What `decide` answers: a new shard count, or "hold, because …" with the reason as a value (a test can tell the
//! reasons apart, a log line says them in words). The chapter's "The scaler's rule" explains each reason.

use super::notification::{AlarmChange, AlarmState};
use super::stream::{StreamState, StreamStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::fmt;

// ANCHOR: decision
/// The scaler's answer to one alarm change.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// `UpdateShardCount` from `from` open shards to `to`.
    Scale {
        from: u32,
        to: u32,
    },
    Hold(Hold),
}

/// Why the scaler leaves the stream as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    /// The alarm went to OK or INSUFFICIENT_DATA: nothing to answer.
    NotAnAlarm(AlarmState),
    /// The alarm watches another stream (its `StreamName`), or none.
    AnotherStream(Option<String>),
    /// The stream is not ACTIVE: being made, deleted, or resharded already (UPDATING).
    NotActive(StreamStatus),
    /// The last scaling, at `last`, came after the data this alarm rests on began: its effect cannot show yet.
    CoolingDown { last: DateTime<Utc> },
    /// Ten scalings in the last 24 hours, AWS's limit: the next is possible at `next`.
    DailyLimit { next: DateTime<Utc> },
    /// No more shards allowed: the stream has 10,000, or the account's quota (`limit`) leaves no room.
    NoRoom { limit: u32 },
}
// ANCHOR_END: decision

fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::NotAnAlarm(state) => write!(f, "the alarm is {}: nothing to answer", state.as_str()),
            Hold::AnotherStream(Some(stream)) => write!(f, "the alarm watches another stream, {stream}"),
            Hold::AnotherStream(None) => write!(f, "the alarm watches no stream"),
            Hold::NotActive(status) => write!(f, "the stream is {}, not ACTIVE", status.as_str()),
            Hold::CoolingDown { last } => write!(
                f,
                "cooling down: the last scaling ({}) came after this alarm's data began, so its effect cannot show yet",
                time(last)
            ),
            Hold::DailyLimit { next } => write!(
                f,
                "10 scalings in the last 24 hours, AWS's limit: the next is possible at {}",
                time(next)
            ),
            Hold::NoRoom { limit } => write!(
                f,
                "no room: the stream cannot have more shards (10,000 a stream; the account's quota is {limit})"
            ),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Scale { from, to } => write!(f, "scale from {from} to {to} shards"),
            Decision::Hold(why) => write!(f, "hold: {why}"),
        }
    }
}

impl Decision {
    /// The decision as one log line's JSON: what the scaler was told, what it saw, what it did and why.
    pub fn log_line(&self, change: &AlarmChange, stream: &StreamState) -> Value {
        let (decision, to) = match self {
            Decision::Scale { to, .. } => ("scale", Some(*to)),
            Decision::Hold(_) => ("hold", None),
        };
        json!({
            "decision": decision,
            "because": self.to_string(),
            "alarm": change.alarm,
            "state": change.state.as_str(),
            "changed_at": time(&change.changed_at),
            "stream": stream.name,
            "status": stream.status.as_str(),
            "open_shards": stream.open_shards,
            "target_shards": to,
        })
    }
}
