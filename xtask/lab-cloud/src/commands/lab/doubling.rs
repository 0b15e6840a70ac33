//! The `load-doubles` scenario: step 6 graded on its outcome. The producer writes at 90% of the stream's capacity
//! for [`BEFORE_MINUTES`] CloudWatch minutes, then at twice that for [`DOUBLED_MINUTES`] more, as a fleet that
//! doubles would. Nobody reshards by hand: the learner's alarms (deployed with stage 6) must notice the refused
//! writes, notify the topic, and the learner's scaler must double the stream. The run passes only when the stream
//! scaled and the refused writes fell, with nothing lost and every vehicle's readings in order (the lab's own
//! checks).
//!
//! The stream starts at one shard: the lab reshards step 1's stream down to one (`UpdateShardCount`, as for a stream
//! sized for a smaller fleet) before the producer starts, so that twice its capacity, 1,800 records a second, is a
//! load one machine's producer can offer (it makes about 2,000 a second on two cores); the scaler then takes it to
//! two.
//!
//! Time is counted in CloudWatch minutes (`--cloudwatch-minute-ms`, 3 s with `cargo xtask lab --demo`), so that the
//! alarms' one-minute periods mean the same at any speed. A shortened minute also shortens what a Sum adds up: a
//! 3-second minute's refused writes are a twentieth of a real minute's at the same rate.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::control::invoker::producer_request;
use crate::control::producing::{combine, until_done};
use crate::runtime::cloudwatch::Transition;
use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome};
use crate::runtime::metrics::{MetricBook, MetricId};
use crate::runtime::notifications::Delivery;

/// CloudWatch minutes at 90% of capacity, then at twice that.
pub const BEFORE_MINUTES: u64 = 2;
pub const DOUBLED_MINUTES: u64 = 8;
/// The producer's share of the stream's capacity before the load doubles, in percent.
pub const FIRST_SHARE_PERCENT: u64 = 90;
/// The share of writes refused after the scale must be at most this part of the share before it. A share, not a
/// count: once scaled, the producer catches up on the seconds it fell behind (step 2's producer makes each second's
/// readings, late if need be), so it offers more than its rate for a while, and a few of those are refused too.
/// Three quarters, not a half: after a scale that worked the share fell to 0.2 to 0.5 of what it was (runs of
/// 2026-12-06: 35% → 7%, 44% → 19%, 49% → 24%), and a half failed the last one at a coin's toss; a stream that did
/// not gain capacity keeps about the share it had (1.0).
const FALLEN_PART: f64 = 0.75;
/// The longest a producer invocation is asked to run (its timeout is 300 s): a phase longer than that is several.
const INVOCATION_SECONDS: u64 = 200;

/// The two phases of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub minute_ms: u64,
    pub first_rate: u64,
    pub first_records: u64,
    pub second_records: u64,
}

impl Plan {
    /// For a stream that takes `capacity` records a second.
    pub fn of(capacity: u64, minute_ms: u64) -> Plan {
        let first_rate = capacity * FIRST_SHARE_PERCENT / 100;
        let seconds = |minutes: u64| (minutes * minute_ms).div_ceil(1000);
        Plan {
            minute_ms,
            first_rate,
            first_records: first_rate * seconds(BEFORE_MINUTES),
            second_records: 2 * first_rate * seconds(DOUBLED_MINUTES),
        }
    }

    pub fn records(&self) -> u64 {
        self.first_records + self.second_records
    }
}

/// The stream resharded to one open shard, and ACTIVE again, before the producer starts.
pub async fn start_small(kinesis: &aws_sdk_kinesis::Client, stream_arn: &str) -> Result<()> {
    let open = |kinesis: aws_sdk_kinesis::Client| async move {
        let summary = kinesis.describe_stream_summary().stream_arn(stream_arn).send().await?;
        let summary = summary.stream_description_summary.context("no summary")?;
        anyhow::Ok((summary.stream_status, summary.open_shard_count))
    };
    let (_, shards) = open(kinesis.clone()).await?;
    if shards <= 1 {
        return Ok(());
    }
    kinesis
        .update_shard_count()
        .stream_arn(stream_arn)
        .target_shard_count((shards + 1) / 2)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .context("resharding the stream down before the load")?;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, shards) = open(kinesis.clone()).await?;
        if status == aws_sdk_kinesis::types::StreamStatus::Active {
            eprintln!("lab: the stream starts at {shards} shard(s), as one sized for a smaller fleet");
            return Ok(());
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Produces `records` at `rate`, an invocation at a time (each at most [`INVOCATION_SECONDS`] long); the reports.
async fn phase(
    host: &LambdaHost,
    producer: &FunctionSpec,
    base: &Value,
    rate: u64,
    records: u64,
) -> Result<Vec<Value>, Outcome> {
    let max_seconds_for = |records, rate| producer_request(records, rate)["max_seconds"].as_u64().unwrap_or(60);
    let mut reports = vec![];
    let mut left = records;
    while left > 0 {
        let mut request = base.clone();
        let chunk = left.min(rate * INVOCATION_SECONDS);
        for (key, value) in producer_request(chunk, rate).as_object().into_iter().flatten() {
            request[key] = value.clone();
        }
        let report = match until_done(host, producer, &request, max_seconds_for).await {
            Outcome::Response(report) => report,
            other => return Err(other),
        };
        let made = report["sent"].as_u64().unwrap_or(0) + report["failed"].as_u64().unwrap_or(0);
        reports.push(report);
        if made == 0 {
            break;
        }
        left = left.saturating_sub(made);
        // The fleet's readings are named by vehicle and millisecond: a second's pause keeps the next invocation's
        // from falling on the same milliseconds as the last batch of this one (made a moment ahead of its time).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(reports)
}

/// The producer through both phases; `doubled_at` receives the moment the second began (epoch ms).
pub async fn produce(
    host: Arc<LambdaHost>,
    producer: FunctionSpec,
    base: Value,
    plan: Plan,
    doubled_at: Arc<Mutex<Option<u64>>>,
) -> Outcome {
    let first = match phase(&host, &producer, &base, plan.first_rate, plan.first_records).await {
        Ok(reports) => reports,
        Err(outcome) => return outcome,
    };
    *doubled_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now_ms());
    eprintln!("\nlab: the load doubles: {} records/s from now on", plan.first_rate * 2);
    let second = match phase(&host, &producer, &base, plan.first_rate * 2, plan.second_records).await {
        Ok(reports) => reports,
        Err(outcome) => return outcome,
    };
    let mut report = combine(&[first, second].concat());
    // An invocation followed by another because its phase went on is no restart: only a transient stop is.
    if let Some(restarts) = report["restarts"].as_array_mut() {
        restarts.retain(|reason| reason.as_str().is_some_and(|r| !r.is_empty()));
    }
    Outcome::Response(report)
}

/// The stream's open shard counts as they changed, each with its time (epoch ms).
pub type ShardCounts = Arc<Mutex<Vec<(u64, u32)>>>;

/// The stream's open shards, watched: each change with its time (epoch ms).
pub fn watch_shards(kinesis: aws_sdk_kinesis::Client, stream: String) -> (tokio::task::JoinHandle<()>, ShardCounts) {
    let seen: ShardCounts = Arc::default();
    let record = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let summary = kinesis.describe_stream_summary().stream_name(&stream).send().await;
            if let Some(open) = summary
                .ok()
                .and_then(|s| s.stream_description_summary)
                .map(|s| s.open_shard_count)
            {
                let mut seen = record.lock().unwrap_or_else(|p| p.into_inner());
                if seen.last().is_none_or(|(_, last)| *last != open as u32) {
                    seen.push((now_ms(), open.max(0) as u32));
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (task, seen)
}

/// One alarm's change of state during the run, and what the scaler answered.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmEvent {
    pub alarm: String,
    pub state: String,
    /// Seconds since the producer started.
    pub at_s: f64,
    /// The scaler's decisions (its answer), or why it gave none.
    pub scaler: Vec<String>,
}

/// The scenario's outcome, in the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scaling {
    pub minute_ms: u64,
    pub first_rate: u64,
    /// Seconds since the producer started: when the load doubled, when the first alarm went to ALARM, when the
    /// stream's open shards changed.
    pub doubled_at_s: Option<f64>,
    pub alarm_at_s: Option<f64>,
    pub scaled_at_s: Option<f64>,
    pub shards_before: u32,
    pub shards_after: u32,
    /// Refused writes (`WriteProvisionedThroughputExceeded`, Sum) per CloudWatch minute, from the producer's start.
    pub throttled_by_minute: Vec<f64>,
    /// Their mean over the whole minutes of double load before the scale, and over those from a minute after it.
    pub throttled_per_minute_before: Option<f64>,
    pub throttled_per_minute_after: Option<f64>,
    /// Over the same minutes, the share of the writes offered (taken, `IncomingRecords`, and refused) that were
    /// refused, in percent.
    pub refused_percent_before: Option<f64>,
    pub refused_percent_after: Option<f64>,
    pub alarms: Vec<AlarmEvent>,
    /// The scaler stopped at a learner's `todo!()` (or other panic), in one line.
    pub scaler_unfinished: Option<String>,
}

/// What the run saw, to be made into [`Scaling`].
pub struct Seen<'a> {
    pub plan: Plan,
    pub stream: &'a str,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub doubled_ms: Option<u64>,
    pub shards: &'a [(u64, u32)],
    pub transitions: &'a [Transition],
    pub book: &'a MetricBook,
}

/// The scaler's words in one delivery: its decisions, or its error.
fn answered(delivery: &Delivery) -> (Vec<String>, Option<String>) {
    match delivery {
        Delivery::Invoked {
            outcome: Outcome::Response(answer),
            ..
        } => {
            let decisions = answer["decisions"].as_array().into_iter().flatten();
            (
                decisions
                    .map(|d| d["because"].as_str().unwrap_or("?").to_owned())
                    .collect(),
                None,
            )
        }
        Delivery::Invoked { outcome, .. } => {
            let (kind, message) = outcome.error().unwrap_or_default();
            match crate::unfinished::panic_in(&message) {
                Some(panic) => {
                    let line = crate::unfinished::stopped_by("step-6", "scaler", &panic);
                    (vec![panic], Some(line))
                }
                None => {
                    let first = message.lines().next().unwrap_or_default();
                    (vec![format!("failed: {kind}: {first}")], None)
                }
            }
        }
        Delivery::Denied { reason, .. } => (vec![format!("not invoked: {reason}")], None),
        Delivery::NotDelivered { reason, .. } => (vec![format!("not delivered: {reason}")], None),
    }
}

/// The run's CloudWatch minutes of the stream's writes, from the producer's start to its end.
struct Minutes<'a> {
    book: &'a MetricBook,
    minute: u64,
    starts: Vec<u64>,
    refused: MetricId,
    taken: MetricId,
}

impl Minutes<'_> {
    fn sum(&self, metric: &MetricId, start: u64) -> f64 {
        self.book
            .aggregate(metric, start, start + self.minute)
            .map_or(0.0, |set| set.sum)
    }

    /// The whole minutes between `from` and `to`.
    fn whole(&self, from: u64, to: u64) -> impl Iterator<Item = u64> + '_ {
        let minute = self.minute;
        self.starts
            .iter()
            .copied()
            .filter(move |s| *s >= from && *s + minute <= to)
    }

    /// Refused writes per minute over the whole minutes between `from` and `to`, if there are any.
    fn mean_refused(&self, from: u64, to: u64) -> Option<f64> {
        let sums: Vec<f64> = self.whole(from, to).map(|s| self.sum(&self.refused, s)).collect();
        (!sums.is_empty()).then(|| sums.iter().sum::<f64>() / sums.len() as f64)
    }

    /// The share of the writes offered (taken and refused) that were refused, in percent.
    fn refused_percent(&self, from: u64, to: u64) -> Option<f64> {
        let refused: f64 = self.whole(from, to).map(|s| self.sum(&self.refused, s)).sum();
        let taken: f64 = self.whole(from, to).map(|s| self.sum(&self.taken, s)).sum();
        (refused + taken > 0.0).then(|| 100.0 * refused / (refused + taken))
    }
}

impl Scaling {
    pub fn of(seen: &Seen<'_>) -> Scaling {
        let since = |ms: u64| ms.saturating_sub(seen.started_ms) as f64 / 1000.0;
        let minute = seen.plan.minute_ms;
        let metric = |name: &str| MetricId::new("AWS/Kinesis", name, ("StreamName", seen.stream));
        let first_minute = seen.book.minute_of(seen.started_ms);
        let minutes = Minutes {
            book: seen.book,
            minute,
            starts: (first_minute..seen.ended_ms).step_by(minute as usize).collect(),
            refused: metric("WriteProvisionedThroughputExceeded"),
            taken: metric("IncomingRecords"),
        };
        let (first, last) = (seen.shards.first(), seen.shards.last());
        let scaled_ms = seen.shards.get(1).map(|(at, _)| *at);
        let mut scaling = Scaling {
            minute_ms: minute,
            first_rate: seen.plan.first_rate,
            doubled_at_s: seen.doubled_ms.map(since),
            scaled_at_s: scaled_ms.map(since),
            shards_before: first.map_or(0, |(_, n)| *n),
            shards_after: last.map_or(0, |(_, n)| *n),
            throttled_by_minute: minutes
                .starts
                .iter()
                .map(|s| minutes.sum(&minutes.refused, *s))
                .collect(),
            ..Scaling::default()
        };
        if let Some(doubled) = seen.doubled_ms {
            let until = scaled_ms.unwrap_or(seen.ended_ms);
            scaling.throttled_per_minute_before = minutes.mean_refused(doubled, until);
            scaling.refused_percent_before = minutes.refused_percent(doubled, until);
        }
        if let Some(scaled) = scaled_ms {
            scaling.throttled_per_minute_after = minutes.mean_refused(scaled + minute, seen.ended_ms);
            scaling.refused_percent_after = minutes.refused_percent(scaled + minute, seen.ended_ms);
        }
        for transition in seen.transitions.iter().filter(|t| t.at_ms >= seen.started_ms) {
            let mut scaler = vec![];
            for (_, deliveries) in &transition.deliveries {
                for delivery in deliveries {
                    let (words, unfinished) = answered(delivery);
                    scaler.extend(words);
                    scaling.scaler_unfinished = scaling.scaler_unfinished.take().or(unfinished);
                }
            }
            if transition.to == crate::runtime::alarms::State::Alarm && scaling.alarm_at_s.is_none() {
                scaling.alarm_at_s = Some(since(transition.at_ms));
            }
            scaling.alarms.push(AlarmEvent {
                alarm: transition.alarm.clone(),
                state: transition.to.as_str().to_owned(),
                at_s: since(transition.at_ms),
                scaler,
            });
        }
        scaling
    }

    /// Why the outcome is wrong, or `None`: the stream scaled, and the refused writes fell.
    pub fn failure(&self) -> Option<String> {
        if let Some(unfinished) = &self.scaler_unfinished {
            return Some(unfinished.clone());
        }
        let before = self.throttled_per_minute_before.unwrap_or(0.0);
        if self.alarm_at_s.is_none() {
            return Some(format!(
                "no alarm went to ALARM while the load was twice the stream's capacity ({before:.0} writes refused a \
                 CloudWatch minute): look at your alarms' metric, threshold and M of N (`cargo xtask check step-6`)"
            ));
        }
        if self.shards_after <= self.shards_before {
            return Some(format!(
                "the alarm fired but the stream never scaled ({} shards before and after): the scaler's answers are \
                 in the summary",
                self.shards_before
            ));
        }
        match (self.refused_percent_before, self.refused_percent_after) {
            (Some(before), Some(after)) if after > before * FALLEN_PART => Some(format!(
                "the refused writes did not fall: {before:.0}% of the writes before the scale, {after:.0}% after"
            )),
            (Some(_), Some(_)) => None,
            _ => Some("the run ended too soon after the scale to see its effect".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::alarms::State;

    const MINUTE: u64 = 3_000;
    const START: u64 = 1_800_000_000_000;

    #[test]
    fn the_plan_is_two_minutes_at_ninety_percent_then_eight_at_twice_that() {
        let plan = Plan::of(1_000, MINUTE);
        assert_eq!(plan.first_rate, 900);
        assert_eq!(plan.first_records, 900 * 6);
        assert_eq!(plan.second_records, 1_800 * 24);
        assert_eq!(Plan::of(1_000, 60_000).records(), 900 * 120 + 1_800 * 480);
    }

    /// A run of 10 minutes: the load doubles at minute 2; `refused[i]` writes refused in minute i; the shards go
    /// from 1 to 2 at `scaled_minute`, if any; one ALARM transition answered by `answer`.
    fn scaling(refused: &[f64], scaled_minute: Option<u64>, alarm: Option<Outcome>) -> Scaling {
        let book = MetricBook::new(Duration::from_millis(MINUTE));
        let metric = MetricId::new("AWS/Kinesis", "WriteProvisionedThroughputExceeded", ("StreamName", "S"));
        let taken = MetricId::new("AWS/Kinesis", "IncomingRecords", ("StreamName", "S"));
        for (minute, refused) in refused.iter().enumerate() {
            let at = START + minute as u64 * MINUTE + 10;
            book.sample(metric.clone(), *refused, at);
            // One shard takes 3,000 records a 3-second minute; two, 6,000.
            let scaled = scaled_minute.is_some_and(|m| minute as u64 >= m);
            book.sample(taken.clone(), if scaled { 6_000.0 } else { 3_000.0 }, at);
        }
        let mut shards = vec![(START, 1)];
        shards.extend(scaled_minute.map(|m| (START + m * MINUTE, 2)));
        let transitions: Vec<Transition> = alarm
            .into_iter()
            .map(|outcome| Transition {
                alarm: "write-throttled".to_owned(),
                from: State::Ok,
                to: State::Alarm,
                reason: String::new(),
                at_ms: START + 4 * MINUTE,
                deliveries: vec![(
                    "topic".to_owned(),
                    vec![Delivery::Invoked {
                        function: "scaleKinesisStream".to_owned(),
                        outcome,
                    }],
                )],
            })
            .collect();
        Scaling::of(&Seen {
            plan: Plan::of(1_000, MINUTE),
            stream: "S",
            started_ms: START,
            ended_ms: START + 10 * MINUTE,
            doubled_ms: Some(START + 2 * MINUTE),
            shards: &shards,
            transitions: &transitions,
            book: &book,
        })
    }

    fn scaled() -> Option<Outcome> {
        Some(Outcome::Response(
            serde_json::json!({"decisions": [{"because": "scale from 1 to 2 shards"}]}),
        ))
    }

    #[test]
    fn a_scale_whose_refusals_fell_passes() {
        let refused = [0.0, 0.0, 2_000.0, 2_100.0, 1_900.0, 300.0, 0.0, 0.0, 0.0, 0.0];
        let outcome = scaling(&refused, Some(5), scaled());
        assert_eq!(outcome.failure(), None, "{outcome:#?}");
        assert_eq!((outcome.shards_before, outcome.shards_after), (1, 2));
        assert_eq!(outcome.throttled_per_minute_before, Some(2_000.0));
        assert_eq!(outcome.throttled_per_minute_after, Some(0.0));
        assert_eq!(outcome.refused_percent_before, Some(40.0));
        assert_eq!(outcome.alarm_at_s, Some(12.0));
        assert_eq!(outcome.alarms[0].scaler, ["scale from 1 to 2 shards"]);
    }

    #[test]
    fn a_stream_that_never_scaled_or_whose_refusals_stayed_fails_saying_so() {
        let refused = [
            0.0, 0.0, 2_000.0, 2_100.0, 1_900.0, 2_000.0, 2_000.0, 2_000.0, 2_000.0, 2_000.0,
        ];
        let never = scaling(&refused, None, None).failure().unwrap();
        assert!(never.starts_with("no alarm went to ALARM"), "{never}");
        let held = scaling(&refused, None, scaled()).failure().unwrap();
        assert!(held.contains("never scaled"), "{held}");
        // Scaled, but the share refused stayed (two shards took twice as much, and twice as much was refused).
        let stayed = [
            0.0, 0.0, 2_000.0, 2_100.0, 1_900.0, 4_000.0, 4_000.0, 4_000.0, 4_000.0, 4_000.0,
        ];
        let stayed = scaling(&stayed, Some(5), scaled()).failure().unwrap();
        assert!(stayed.contains("did not fall"), "{stayed}");
    }

    #[test]
    fn a_scaler_stopped_at_a_todo_is_said_in_one_line_naming_step_6() {
        let refused = [
            0.0, 0.0, 2_000.0, 2_100.0, 1_900.0, 2_000.0, 2_000.0, 2_000.0, 2_000.0, 2_000.0,
        ];
        let panicked = Outcome::FunctionError {
            error_type: "Runtime.ExitError".to_owned(),
            message: "thread 'main' panicked at src/lib.rs:99:5:\nnot yet implemented: on ALARM for this ACTIVE \
                      stream double it, within limits; else hold and say why"
                .to_owned(),
        };
        let failure = scaling(&refused, None, Some(panicked)).failure().unwrap();
        assert!(
            failure.starts_with("step 6's scaler reached a todo!()") && failure.contains("hold and say why"),
            "{failure}"
        );
        assert!(!failure.contains('\n'), "{failure}");
    }
}
