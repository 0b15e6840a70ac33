//! What the scaler is told: SNS invokes it with an event of one or more records ("Invoking Lambda functions with
//! Amazon SNS notifications", <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>), each carrying, as its
//! `Message`, the JSON CloudWatch publishes when an alarm changes state ("Amazon SNS notifications for alarms" in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html>). Both are read
//! with `aws_lambda_events`' types, and the alarm's message becomes an [`AlarmChange`]: what `decide` reads. The
//! chapter's "The scaler's rule" explains it.

use super::alarm::STREAM_DIMENSION;
use super::errors::ScalingError;
use aws_lambda_events::event::sns::{CloudWatchAlarmPayload, SnsEvent};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// An alarm's state (`NewStateValue`, `OldStateValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// One alarm's change of state, as its notification tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm: String,
    /// The new state, and the one before.
    pub state: AlarmState,
    pub previous: AlarmState,
    /// When CloudWatch evaluated the alarm into its new state (`StateChangeTime`).
    pub changed_at: DateTime<Utc>,
    /// The stream the alarm watches: its `StreamName` dimension (`None` for an alarm on something else).
    pub stream: Option<String>,
    pub metric: String,
    /// The alarm's period and evaluation periods: the new state rests on the last `evaluation_periods` periods.
    pub period_seconds: i64,
    pub evaluation_periods: i64,
    /// CloudWatch's words (`Threshold Crossed: 2 out of the last 3 datapoints [...] were greater than ...`).
    pub reason: String,
}

impl AlarmChange {
    /// When the data the new state rests on begins: `evaluation_periods` periods before the change. A scale before
    /// this moment had happened before any of it was measured; a scale after it, while it was being measured.
    pub fn evidence_since(&self) -> DateTime<Utc> {
        self.changed_at - Duration::seconds(self.period_seconds * self.evaluation_periods)
    }
}

impl AlarmState {
    fn parse(text: &str) -> Result<AlarmState, ScalingError> {
        match text {
            "OK" => Ok(AlarmState::Ok),
            "ALARM" => Ok(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Ok(AlarmState::InsufficientData),
            other => Err(ScalingError::Notification(format!("unknown alarm state {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// Every alarm change an SNS event carries (SNS sends one record per invocation today; the event's shape allows
/// more). An event that is not SNS's, or a message that is not an alarm's, is an error saying what it is.
pub fn alarm_changes(event: &Value) -> Result<Vec<AlarmChange>, ScalingError> {
    let event: SnsEvent = serde_json::from_value(event.clone())
        .map_err(|error| ScalingError::Notification(format!("not an SNS event: {error}")))?;
    if event.records.is_empty() {
        return Err(ScalingError::Notification("an SNS event without records".to_owned()));
    }
    event
        .records
        .iter()
        .map(|record| alarm_change(&record.sns.message))
        .collect()
}

/// One alarm message (the SNS record's `Message`, itself JSON).
pub fn alarm_change(message: &str) -> Result<AlarmChange, ScalingError> {
    let mut json: Value = serde_json::from_str(message)
        .map_err(|error| ScalingError::Notification(format!("the message is not JSON ({error}): {message}")))?;
    // `aws_lambda_events` reads these as strings; CloudWatch writes `null` for an alarm without a description (and
    // a missing-data treatment left to its default), which is no reason to drop the notification.
    for field in ["AlarmDescription", "NewStateReason"] {
        if json[field].is_null() {
            json[field] = Value::from("");
        }
    }
    if json["Trigger"].is_object() && json["Trigger"]["TreatMissingData"].is_null() {
        json["Trigger"]["TreatMissingData"] = Value::from("");
    }
    let payload: CloudWatchAlarmPayload = serde_json::from_value(json)
        .map_err(|error| ScalingError::Notification(format!("not a CloudWatch alarm's message: {error}")))?;
    let trigger = &payload.trigger;
    let stream = trigger
        .dimensions
        .iter()
        .find(|dimension| dimension.name == STREAM_DIMENSION)
        .map(|dimension| dimension.value.clone());
    Ok(AlarmChange {
        state: AlarmState::parse(&payload.new_state_value)?,
        previous: AlarmState::parse(&payload.old_state_value)?,
        changed_at: parse_time(&payload.state_change_time)?,
        stream,
        metric: trigger.metric_name.clone().unwrap_or_default(),
        period_seconds: trigger.period,
        evaluation_periods: trigger.evaluation_periods,
        reason: payload.new_state_reason,
        alarm: payload.alarm_name,
    })
}

/// CloudWatch's `StateChangeTime`: `2026-12-02T10:15:00.123+0000` (an offset without a colon, which RFC 3339
/// does not allow), or RFC 3339 itself.
fn parse_time(text: &str) -> Result<DateTime<Utc>, ScalingError> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| ScalingError::Notification(format!("StateChangeTime {text:?}: {error}")))
}
