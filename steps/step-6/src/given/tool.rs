//! The `ensure-alarms` tool (`src/bin/ensure-alarms.rs`), which the deploy runs: your two alarms put into
//! CloudWatch, notifying the scaling topic. Its settings come from the environment (the deploy writes them:
//! `xtask/lab-cloud/src/control/tools.rs`); the names here are that contract.

use super::alarm::AlarmDefinition;
use super::cloudwatch::put_alarm;
use super::errors::ScalingError;
use super::handler::DEFAULT_STREAM;

/// What the tool was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The stream the alarms watch (`STREAM_NAME`).
    pub stream: String,
    /// The SNS topic they notify (`TOPIC_ARN`).
    pub topic_arn: String,
    /// What goes before each alarm's name (`ALARM_NAME_PREFIX`: a learner's prefix in a shared account).
    pub prefix: String,
}

impl Settings {
    pub fn from(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ScalingError> {
        let topic_arn = support::non_blank(&lookup, "TOPIC_ARN").ok_or_else(|| {
            ScalingError::Setting("TOPIC_ARN (the SNS topic the alarms notify) is not set".to_owned())
        })?;
        Ok(Settings {
            stream: support::non_blank(&lookup, "STREAM_NAME").unwrap_or_else(|| DEFAULT_STREAM.to_owned()),
            topic_arn,
            prefix: lookup("ALARM_NAME_PREFIX").unwrap_or_default(),
        })
    }
}

/// Your alarms on `stream`, as `lib.rs` defines them.
pub fn alarms(stream: &str) -> [AlarmDefinition; 2] {
    [crate::write_throttled_alarm(stream), crate::iterator_age_alarm(stream)]
}

/// Puts every alarm; one line each, saying what it watches.
pub async fn ensure_alarms(client: &aws_sdk_cloudwatch::Client, settings: &Settings) -> Result<String, ScalingError> {
    let mut said = String::new();
    for alarm in alarms(&settings.stream) {
        let name = format!("{}{}", settings.prefix, alarm.name);
        put_alarm(client, &alarm, &name, &settings.topic_arn).await?;
        said.push_str(&format!(
            "{name}: {} of {} {} {} over {} of {} periods of {} s, missing data {}\n",
            alarm.statistic.as_str(),
            alarm.metric,
            alarm.comparison.as_str(),
            alarm.threshold,
            alarm.datapoints_to_alarm,
            alarm.evaluation_periods,
            alarm.period_seconds,
            alarm.missing_data.as_str(),
        ));
    }
    Ok(said)
}
