//! The local CloudWatch's minute: once each (CloudWatch) minute has ended, its metrics are published
//! ([`super::metrics`]), then every alarm is evaluated ([`super::alarms`]), its new state set, and the actions of
//! each change of state carried out ([`super::notifications`]). AWS does both once a minute; so does the local
//! cloud, on minutes of `--cloudwatch-minute-ms` (tests and demonstrations only; AWS's 60,000 by default).
//!
//! It talks to CloudWatch, SNS and Lambda as the administrator, through the front door's operator door, so that
//! its own calls meet the same checks (the Rust SDK's CBOR bridged to moto) and none of the learner's limits.

use super::alarms::{self, Alarm, State, iso_time};
use super::metrics::{self, MetricBook};
use super::notifications::{self, Delivery, FunctionInvoker, region_long_name};
use crate::aws::{error_chain, region_of};
use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One change of an alarm's state, and what its actions did.
#[derive(Debug, Clone)]
pub struct Transition {
    pub alarm: String,
    pub from: State,
    pub to: State,
    pub reason: String,
    /// Epoch ms.
    pub at_ms: u64,
    /// For each SNS action of the new state: the topic and what became of each subscriber.
    pub deliveries: Vec<(String, Vec<Delivery>)>,
}

/// Publishes the metrics and evaluates the alarms, minute after minute.
pub struct Watcher {
    book: Arc<MetricBook>,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    invoker: FunctionInvoker,
    region: String,
    /// Each alarm's state as last seen or set here: a different one in CloudWatch was set by someone else.
    seen: HashMap<String, State>,
    /// The start of the first minute not yet published.
    next_minute: u64,
    transitions: Arc<Mutex<Vec<Transition>>>,
    /// When set, only the alarms whose names start with it are evaluated (tests sharing one emulator use it).
    alarm_prefix: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl Watcher {
    /// `operator` reaches the local cloud as its administrator (the operator door); `book` is the one the
    /// services record into; `invoker` runs the functions SNS notifies.
    pub fn new(operator: &SdkConfig, book: Arc<MetricBook>, invoker: FunctionInvoker) -> Watcher {
        // From what was recorded before the watcher started, if anything was.
        let now = book.minute_of(now_ms());
        let next_minute = book.oldest_minute().map_or(now, |oldest| oldest.min(now));
        Watcher {
            cloudwatch: aws_sdk_cloudwatch::Client::new(operator),
            sns: aws_sdk_sns::Client::new(operator),
            region: region_of(operator),
            book,
            invoker,
            seen: HashMap::new(),
            next_minute,
            transitions: Arc::default(),
            alarm_prefix: None,
        }
    }

    /// Evaluates only the alarms whose names start with `prefix`. Several watchers sharing one emulator (tests)
    /// would otherwise each evaluate every alarm, on metrics only one of them has.
    pub fn only_alarms_prefixed(mut self, prefix: &str) -> Self {
        self.alarm_prefix = Some(prefix.to_owned());
        self
    }

    /// Every transition so far (shared: readable while the watcher runs on its task).
    pub fn transitions(&self) -> Arc<Mutex<Vec<Transition>>> {
        self.transitions.clone()
    }

    /// Runs minute after minute until the returned handle is dropped or aborted.
    pub fn spawn(mut self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // A little after the minute's end, so that what was recorded at its last instant is in.
            let grace = (self.book.minute_ms() / 20).min(2_000);
            loop {
                let now = now_ms();
                let next = self.book.minute_of(now) + self.book.minute_ms() + grace;
                tokio::time::sleep(Duration::from_millis(next - now)).await;
                if let Err(error) = self.tick(now_ms()).await {
                    eprintln!("cloudwatch: {error:#}");
                }
            }
        })
    }

    /// One minute's work at `now`: every ended minute published, then every alarm evaluated.
    pub async fn tick(&mut self, now: u64) -> Result<()> {
        let current = self.book.minute_of(now);
        while self.next_minute < current {
            let data = self.book.minute(self.next_minute);
            metrics::publish(&self.cloudwatch, &data).await?;
            self.next_minute += self.book.minute_ms();
        }
        for alarm in self.alarms().await? {
            if let Err(error) = self.evaluate(&alarm, now).await {
                eprintln!(
                    "cloudwatch: alarm {}: {error:#}",
                    alarm.alarm_name().unwrap_or_default()
                );
            }
        }
        Ok(())
    }

    async fn alarms(&self) -> Result<Vec<MetricAlarm>> {
        let mut all = Vec::new();
        let request = self
            .cloudwatch
            .describe_alarms()
            .set_alarm_name_prefix(self.alarm_prefix.clone());
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| anyhow::anyhow!("DescribeAlarms: {}", error_chain(&e)))?;
            all.extend(page.metric_alarms.unwrap_or_default());
        }
        Ok(all)
    }

    /// One alarm: a state set by someone else acted on, then evaluated, and its new state set and acted on.
    async fn evaluate(&mut self, described: &MetricAlarm, now: u64) -> Result<()> {
        let description = describe(described);
        let Some(alarm) = Alarm::from_description(&description) else {
            return Ok(());
        };
        if let Some(seen) = self.seen.insert(alarm.name.clone(), alarm.state)
            && seen != alarm.state
        {
            let reason = described.state_reason().unwrap_or_default().to_owned();
            self.transition(&description, seen, alarm.state, &reason, now).await;
        }
        let range = alarms::datapoints(&alarm, &self.book, now);
        let verdict = alarms::evaluate(&alarm, &range, now);
        let Some(state) = verdict.state.filter(|state| *state != alarm.state) else {
            return Ok(());
        };
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(&alarm.name)
            .state_value(StateValue::from(state.as_str()))
            .state_reason(&verdict.reason)
            .state_reason_data(verdict.reason_data.to_string())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("SetAlarmState: {}", error_chain(&e)))?;
        self.seen.insert(alarm.name.clone(), state);
        self.transition(&description, alarm.state, state, &verdict.reason, now)
            .await;
        Ok(())
    }

    /// A change of state: recorded, and the new state's SNS actions carried out (when the alarm's are enabled).
    async fn transition(&self, description: &Value, from: State, to: State, reason: &str, now: u64) {
        let name = description["AlarmName"].as_str().unwrap_or_default().to_owned();
        eprintln!(
            "cloudwatch: alarm {name}: {} -> {}: {reason}",
            from.as_str(),
            to.as_str()
        );
        let actions_key = match to {
            State::Alarm => "AlarmActions",
            State::Ok => "OKActions",
            State::InsufficientData => "InsufficientDataActions",
        };
        let mut deliveries = Vec::new();
        if description["ActionsEnabled"].as_bool().unwrap_or(true) {
            let message = alarm_message(description, &self.region, from, to, reason, now).to_string();
            let subject = format!("{}: \"{name}\" in {}", to.as_str(), region_long_name(&self.region));
            for topic in description[actions_key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let sent = notifications::publish(&self.sns, &self.invoker, topic, &subject, &message);
                match sent.await.with_context(|| format!("publishing to {topic}")) {
                    Ok(done) => deliveries.push((topic.to_owned(), done)),
                    Err(error) => eprintln!("cloudwatch: alarm {name}: {error:#}"),
                }
            }
        }
        let transition = Transition {
            alarm: name,
            from,
            to,
            reason: reason.to_owned(),
            at_ms: now,
            deliveries,
        };
        self.transitions.lock().expect("not poisoned").push(transition);
    }
}

/// The SDK's alarm in AWS JSON's names (what [`Alarm::from_description`] and the SNS message read).
fn describe(alarm: &MetricAlarm) -> Value {
    let dimensions: Vec<Value> = alarm
        .dimensions()
        .iter()
        .map(|d| json!({"Name": d.name(), "Value": d.value()}))
        .collect();
    let time = |t: Option<&aws_sdk_cloudwatch::primitives::DateTime>| {
        t.and_then(|t| t.to_millis().ok()).map(|ms| iso_time(ms as u64))
    };
    json!({
        "AlarmName": alarm.alarm_name(),
        "AlarmArn": alarm.alarm_arn(),
        "AlarmDescription": alarm.alarm_description(),
        "AlarmConfigurationUpdatedTimestamp": time(alarm.alarm_configuration_updated_timestamp()),
        "ActionsEnabled": alarm.actions_enabled(),
        "OKActions": alarm.ok_actions(),
        "AlarmActions": alarm.alarm_actions(),
        "InsufficientDataActions": alarm.insufficient_data_actions(),
        "StateValue": alarm.state_value().map(|s| s.as_str()),
        "MetricName": alarm.metric_name(),
        "Namespace": alarm.namespace(),
        "Statistic": alarm.statistic().map(|s| s.as_str()),
        "Dimensions": dimensions,
        "Period": alarm.period(),
        "Unit": alarm.unit().map(|u| u.as_str()),
        "EvaluationPeriods": alarm.evaluation_periods(),
        "DatapointsToAlarm": alarm.datapoints_to_alarm(),
        "Threshold": alarm.threshold(),
        "ComparisonOperator": alarm.comparison_operator().map(|c| c.as_str()),
        "TreatMissingData": alarm.treat_missing_data(),
    })
}

/// CloudWatch's SNS message for a change of state (see [`super::notifications`] for its fields).
pub fn alarm_message(alarm: &Value, region: &str, from: State, to: State, reason: &str, now: u64) -> Value {
    let dimensions: Vec<Value> = alarm["Dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| json!({"value": d["Value"], "name": d["Name"]}))
        .collect();
    json!({
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm["AlarmDescription"],
        "AWSAccountId": alarm["AlarmArn"].as_str().and_then(|arn| arn.split(':').nth(4)),
        "AlarmConfigurationUpdatedTimestamp": alarm["AlarmConfigurationUpdatedTimestamp"],
        "NewStateValue": to.as_str(),
        "NewStateReason": reason,
        "StateChangeTime": iso_time(now),
        "Region": region_long_name(region),
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": from.as_str(),
        "OKActions": alarm["OKActions"],
        "AlarmActions": alarm["AlarmActions"],
        "InsufficientDataActions": alarm["InsufficientDataActions"],
        "Trigger": {
            "MetricName": alarm["MetricName"],
            "Namespace": alarm["Namespace"],
            "StatisticType": "Statistic",
            "Statistic": alarm["Statistic"].as_str().map(str::to_uppercase),
            "Unit": alarm["Unit"],
            "Dimensions": dimensions,
            "Period": alarm["Period"],
            "EvaluationPeriods": alarm["EvaluationPeriods"],
            "DatapointsToAlarm": alarm["DatapointsToAlarm"],
            "ComparisonOperator": alarm["ComparisonOperator"],
            "Threshold": alarm["Threshold"],
            "TreatMissingData": alarm["TreatMissingData"],
            "EvaluateLowSampleCountPercentile": "",
        }
    })
}
