//! Your alarm definitions put into CloudWatch (`PutMetricAlarm`: it creates the alarm, or replaces the settings of
//! the one of that name, keeping its state), each notifying a topic when it goes to ALARM and back to OK. The
//! `ensure-alarms` tool runs this; the chapter's "What is given" names it.

use super::alarm::AlarmDefinition;
use super::errors::{ScalingError, aws_error};
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};

/// Puts `definition` into CloudWatch as `name`, notifying `topic_arn` (SNS) when it goes to ALARM and when it
/// comes back to OK, so that whoever is subscribed hears both.
pub async fn put_alarm(
    client: &Client,
    definition: &AlarmDefinition,
    name: &str,
    topic_arn: &str,
) -> Result<(), ScalingError> {
    let dimensions = definition
        .dimensions
        .iter()
        .map(|(key, value)| Dimension::builder().name(key).value(value).build())
        .collect();
    client
        .put_metric_alarm()
        .alarm_name(name)
        .alarm_description(&definition.description)
        .namespace(&definition.namespace)
        .metric_name(&definition.metric)
        .set_dimensions(Some(dimensions))
        .statistic(Statistic::from(definition.statistic.as_str()))
        .period(definition.period_seconds)
        .evaluation_periods(definition.evaluation_periods)
        .datapoints_to_alarm(definition.datapoints_to_alarm)
        .threshold(definition.threshold)
        .comparison_operator(ComparisonOperator::from(definition.comparison.as_str()))
        .treat_missing_data(definition.missing_data.as_str())
        .actions_enabled(true)
        .alarm_actions(topic_arn)
        .ok_actions(topic_arn)
        .send()
        .await
        .map_err(|error| aws_error("PutMetricAlarm", error))?;
    Ok(())
}

/// The alarm called `name`, as CloudWatch describes it, if there is one.
pub async fn describe_alarm(client: &Client, name: &str) -> Result<Option<MetricAlarm>, ScalingError> {
    let described = client
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|error| aws_error("DescribeAlarms", error))?;
    Ok(described.metric_alarms.unwrap_or_default().into_iter().next())
}
