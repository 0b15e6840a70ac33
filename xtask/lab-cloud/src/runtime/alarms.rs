//! CloudWatch alarms evaluated as CloudWatch evaluates them, once a (CloudWatch) minute, over the metrics the local
//! cloud publishes ([`super::metrics`]); moto 5.2.5 stores alarms and never evaluates them.
//!
//! The rules ("Using Amazon CloudWatch alarms",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>, and "Configuring how
//! CloudWatch alarms treat missing data",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html>):
//! - a datapoint is the alarm's statistic over one period (periods aligned to the clock); the alarm looks at the
//!   last `EvaluationPeriods` (N) complete periods, and is in ALARM when `DatapointsToAlarm` (M, by default N) of
//!   them breach the threshold;
//! - it retrieves more periods than N, its *evaluation range* (here N + 2: AWS's number "depends on the length of
//!   the alarm period", and is not published). With at least N real datapoints there, the N most recent real ones
//!   decide and missing data is not needed; with fewer, the missing ones are filled as `TreatMissingData` says
//!   (`breaching`, `notBreaching`; `missing` and `ignore` leave them unknown) and every real one counts; with none,
//!   `missing` goes to INSUFFICIENT_DATA, `ignore` keeps the state, the others fill all N;
//! - unknown datapoints never make an alarm: when neither ALARM (M breaching) nor OK (too few left to breach) is
//!   settled, the state is kept (AWS's "avoiding premature transitions to alarm state");
//! - the state reason is AWS's text (`Threshold Crossed: 2 out of the last 2 datapoints [5.0 (06/12/26 12:30:00),
//!   ...] were greater than the threshold (0.0) (minimum 2 datapoints for OK -> ALARM transition).`), the reason
//!   data AWS's JSON (`version`, `queryDate`, `startDate`, `statistic`, `period`, `recentDatapoints`, `threshold`,
//!   `evaluatedDatapoints`).
//!
//! The state is kept in CloudWatch itself (`SetAlarmState`, so that `DescribeAlarms` shows it), and a change of
//! state carries out the actions of the new state ([`super::notifications`]). A state set by someone else
//! (`SetAlarmState` by hand) is a transition too: its actions are carried out, then the next evaluation decides.

use super::metrics::{MetricBook, MetricId};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// How many periods before the N evaluated ones the alarm also looks at (see the module's docs).
const EXTRA_PERIODS: u64 = 2;

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl State {
    pub fn parse(text: &str) -> State {
        match text {
            "OK" => State::Ok,
            "ALARM" => State::Alarm,
            _ => State::InsufficientData,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// What the alarm does with missing datapoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatMissing {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl TreatMissing {
    pub fn parse(text: Option<&str>) -> TreatMissing {
        match text {
            Some("ignore") => TreatMissing::Ignore,
            Some("breaching") => TreatMissing::Breaching,
            Some("notBreaching") => TreatMissing::NotBreaching,
            _ => TreatMissing::Missing,
        }
    }
}

/// A metric alarm, as `DescribeAlarms` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub metric: MetricId,
    pub statistic: String,
    pub period_s: u64,
    pub evaluation_periods: u64,
    pub datapoints_to_alarm: u64,
    pub threshold: f64,
    pub operator: String,
    pub treat_missing: TreatMissing,
    pub state: State,
}

impl Alarm {
    /// From one of `DescribeAlarms`' `MetricAlarms` (AWS JSON 1.0 names).
    pub fn from_description(alarm: &Value) -> Option<Alarm> {
        let text = |name: &str| alarm[name].as_str().map(str::to_owned);
        let number = |name: &str| alarm[name].as_f64();
        let dimensions = alarm["Dimensions"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|d| Some((d["Name"].as_str()?.to_owned(), d["Value"].as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let evaluation_periods = number("EvaluationPeriods")? as u64;
        Some(Alarm {
            name: text("AlarmName")?,
            metric: MetricId {
                namespace: text("Namespace")?,
                name: text("MetricName")?,
                dimensions,
            },
            statistic: text("Statistic")?,
            period_s: number("Period")? as u64,
            evaluation_periods,
            datapoints_to_alarm: number("DatapointsToAlarm").map_or(evaluation_periods, |m| m as u64),
            threshold: number("Threshold")?,
            operator: text("ComparisonOperator")?,
            treat_missing: TreatMissing::parse(alarm["TreatMissingData"].as_str()),
            state: State::parse(alarm["StateValue"].as_str().unwrap_or_default()),
        })
    }

    fn breaches(&self, value: f64) -> bool {
        match self.operator.as_str() {
            "GreaterThanOrEqualToThreshold" => value >= self.threshold,
            "GreaterThanThreshold" => value > self.threshold,
            "LessThanThreshold" => value < self.threshold,
            "LessThanOrEqualToThreshold" => value <= self.threshold,
            _ => false,
        }
    }

    /// `greater than`, `less than or equal to`: the comparison in AWS's state reasons.
    fn comparison(&self) -> &'static str {
        match self.operator.as_str() {
            "GreaterThanOrEqualToThreshold" => "greater than or equal to",
            "GreaterThanThreshold" => "greater than",
            "LessThanThreshold" => "less than",
            _ => "less than or equal to",
        }
    }
}

/// One datapoint: a period's start (epoch ms), its statistic's value and sample count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    pub start_ms: u64,
    pub value: f64,
    pub sample_count: f64,
}

/// The evaluation's outcome: the state it decided (`None`: keep the current one), why, and the reason's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: Option<State>,
    pub reason: String,
    pub reason_data: Value,
}

/// The alarm's datapoints over its evaluation range, newest first (`None` for a period without data), for an
/// evaluation at `now_ms` with CloudWatch minutes of `minute_ms`.
pub fn datapoints(alarm: &Alarm, book: &MetricBook, now_ms: u64) -> Vec<(u64, Option<Datapoint>)> {
    let period_ms = (alarm.period_s * book.minute_ms() / 60).max(1);
    let end = now_ms - now_ms % period_ms;
    (1..=alarm.evaluation_periods + EXTRA_PERIODS)
        .filter_map(|back| end.checked_sub(back * period_ms))
        .map(|start| {
            let point = book.aggregate(&alarm.metric, start, start + period_ms).and_then(|set| {
                Some(Datapoint {
                    start_ms: start,
                    value: set.statistic(&alarm.statistic)?,
                    sample_count: set.sample_count,
                })
            });
            (start, point)
        })
        .collect()
}

/// Decides the alarm's state from its evaluation range (newest first), as the module's docs say.
pub fn evaluate(alarm: &Alarm, range: &[(u64, Option<Datapoint>)], now_ms: u64) -> Verdict {
    let n = alarm.evaluation_periods as usize;
    let m = alarm.datapoints_to_alarm as usize;
    let real: Vec<Datapoint> = range.iter().filter_map(|(_, point)| *point).collect();
    let filled = n.saturating_sub(real.len());
    let evaluated: Vec<Datapoint> = if real.len() >= n {
        real[..n].to_vec()
    } else {
        real.clone()
    };
    let fill_breaching = match alarm.treat_missing {
        TreatMissing::Breaching if filled > 0 => Some(true),
        TreatMissing::NotBreaching if filled > 0 => Some(false),
        _ => None,
    };
    let real_breaching = evaluated.iter().filter(|p| alarm.breaches(p.value)).count();
    let breaching = real_breaching + if fill_breaching == Some(true) { filled } else { 0 };
    let not_breaching = evaluated.len() - real_breaching + if fill_breaching == Some(false) { filled } else { 0 };
    let data = reason_data(alarm, range, &evaluated, now_ms);
    if real.is_empty() && fill_breaching.is_none() {
        let state = (alarm.treat_missing == TreatMissing::Missing).then_some(State::InsufficientData);
        let reason = format!("Insufficient Data: {n} datapoint{} {} unknown.", plural(n), was(n));
        return Verdict {
            state,
            reason,
            reason_data: data,
        };
    }
    let (state, count, crossing) = if breaching >= m {
        (Some(State::Alarm), breaching, true)
    } else if not_breaching > n - m {
        (Some(State::Ok), not_breaching, false)
    } else {
        (None, breaching, true)
    };
    let reason = threshold_reason(alarm, &evaluated, count, filled, fill_breaching, crossing, state);
    Verdict {
        state,
        reason,
        reason_data: data,
    }
}

fn threshold_reason(
    alarm: &Alarm,
    evaluated: &[Datapoint],
    count: usize,
    filled: usize,
    fill_breaching: Option<bool>,
    crossing: bool,
    state: Option<State>,
) -> String {
    let n = alarm.evaluation_periods as usize;
    let listed: Vec<String> = evaluated
        .iter()
        .filter(|p| alarm.breaches(p.value) == crossing)
        .map(|p| format!("{} ({})", number(p.value), reason_time(p.start_ms)))
        .collect();
    let not = if crossing { "" } else { "not " };
    let (minimum, transition) = match state {
        Some(State::Ok) => (n - alarm.datapoints_to_alarm as usize + 1, "ALARM -> OK"),
        _ => (alarm.datapoints_to_alarm as usize, "OK -> ALARM"),
    };
    let mut reason = if listed.is_empty() {
        format!(
            "Threshold Crossed: no datapoints were received for {filled} period{} and {filled} missing datapoint{} {} \
             treated as [{}].",
            plural(filled),
            plural(filled),
            was(filled),
            if fill_breaching == Some(true) {
                "Breaching"
            } else {
                "NonBreaching"
            },
        )
    } else {
        format!(
            "Threshold Crossed: {count} out of the last {n} datapoints [{}] {} {not}{} the threshold ({})",
            listed.join(", "),
            was(count),
            alarm.comparison(),
            number(alarm.threshold),
        )
    };
    if !listed.is_empty() {
        reason.push_str(&format!(
            " (minimum {minimum} datapoint{} for {transition} transition).",
            plural(minimum)
        ));
    }
    reason
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn was(n: usize) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

/// A value as CloudWatch's reasons print it (Java's `Double.toString`: `5.0`, `0.25`).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e7 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

fn utc(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
}

/// `06/12/26 12:30:00`: a datapoint's time in a state reason (dd/MM/yy HH:mm:ss, UTC).
fn reason_time(ms: u64) -> String {
    utc(ms).format("%d/%m/%y %H:%M:%S").to_string()
}

/// `2026-12-06T12:30:00.000+0000`: a time in the reason data and in CloudWatch's SNS message.
pub fn iso_time(ms: u64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn reason_data(alarm: &Alarm, range: &[(u64, Option<Datapoint>)], evaluated: &[Datapoint], now_ms: u64) -> Value {
    let n = alarm.evaluation_periods as usize;
    let window = &range[..n.min(range.len())];
    let start = window.last().map_or(now_ms, |(start, _)| *start);
    let recent: Vec<f64> = window.iter().rev().filter_map(|(_, p)| p.map(|p| p.value)).collect();
    let points: Vec<Value> = evaluated
        .iter()
        .map(|p| json!({"timestamp": iso_time(p.start_ms), "sampleCount": p.sample_count, "value": p.value}))
        .collect();
    json!({
        "version": "1.0",
        "queryDate": iso_time(now_ms),
        "startDate": iso_time(start),
        "statistic": alarm.statistic,
        "period": alarm.period_s,
        "recentDatapoints": recent,
        "threshold": alarm.threshold,
        "evaluatedDatapoints": points,
    })
}

#[cfg(test)]
mod tests;
