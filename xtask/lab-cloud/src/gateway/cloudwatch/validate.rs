//! `PutMetricAlarm` checked as CloudWatch checks it, before the emulator stores anything: moto 5.2.5 accepts a
//! period of 7 seconds, 20 datapoints out of 3, or no statistic at all, and an alarm stored that way would never
//! fire (or fire as AWS never would).
//!
//! The rules, from the API reference (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>):
//! - `AlarmName` 1 to 255 characters;
//! - `Period` 10, 20, 30 or any multiple of 60 ("Period must be 10, 30 or a multiple of 60" is the message AWS
//!   gave before 20 was added); `Period` × `EvaluationPeriods` at most 86,400 s for a period under an hour, at most
//!   604,800 s otherwise;
//! - `EvaluationPeriods` at least 1; `DatapointsToAlarm` at least 1 and at most `EvaluationPeriods`
//!   ("DatapointsToAlarm must be less than or equal to EvaluationPeriods");
//! - exactly one of `Statistic` (SampleCount, Average, Sum, Minimum, Maximum) and `ExtendedStatistic`;
//! - `ComparisonOperator` and `TreatMissingData` from their lists; `Threshold` required for a static threshold;
//! - at most 5 actions of each kind.
//!
//! What the local cloud cannot evaluate it refuses, saying so, rather than store an alarm that would never change
//! state: metric math (`Metrics`), percentiles (`ExtendedStatistic`), anomaly-detection bands (`ThresholdMetricId`),
//! metrics it does not publish (any namespace but `AWS/Kinesis`, `AWS/Lambda`, `AWS/Firehose`), and actions it
//! would not carry out (anything but an SNS topic: EC2, Auto Scaling, Systems Manager, a Lambda function directly).

use super::super::errors::AwsError;
use serde_json::Value;

/// The namespaces whose metrics the local cloud publishes (and so can evaluate an alarm on).
pub const EVALUATED_NAMESPACES: [&str; 3] = ["AWS/Kinesis", "AWS/Lambda", "AWS/Firehose"];

const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
const OPERATORS: [&str; 4] = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const ANOMALY_OPERATORS: [&str; 3] = [
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];
const TREAT_MISSING: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationError", message)
}

fn missing(name: &str) -> AwsError {
    AwsError::bad_request("MissingParameter", format!("The parameter {name} is required."))
}

/// What the local cloud cannot do, said as such: not AWS's error, since AWS would accept it.
fn not_evaluated(what: &str) -> AwsError {
    AwsError::bad_request(
        "UnsupportedByTheLocalCloud",
        format!(
            "The local cloud does not evaluate {what}, so it refuses the alarm rather than store one that would \
             never change state. It evaluates static-threshold alarms on one metric of {} with a statistic \
             (SampleCount, Average, Sum, Minimum, Maximum).",
            EVALUATED_NAMESPACES.join(", ")
        ),
    )
}

fn integer(input: &Value, name: &str) -> Result<Option<i64>, AwsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
            .map(Some)
            .ok_or_else(|| invalid(format!("The parameter {name} must be an integer."))),
    }
}

fn text<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// Checks a `PutMetricAlarm` request (its parameters as JSON, whatever protocol it came in).
pub fn put_metric_alarm(input: &Value) -> Result<(), AwsError> {
    let name = text(input, "AlarmName").ok_or_else(|| missing("AlarmName"))?;
    if name.is_empty() || name.chars().count() > 255 {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'alarmName' failed to satisfy constraint: Member must \
             have length less than or equal to 255"
        )));
    }
    if input.get("Metrics").is_some_and(|m| !m.is_null()) {
        return Err(not_evaluated("metric math alarms (Metrics)"));
    }
    if input.get("ThresholdMetricId").is_some_and(|m| !m.is_null()) {
        return Err(not_evaluated("anomaly detection alarms (ThresholdMetricId)"));
    }
    let operator = text(input, "ComparisonOperator").ok_or_else(|| missing("ComparisonOperator"))?;
    if ANOMALY_OPERATORS.contains(&operator) {
        return Err(not_evaluated("anomaly detection alarms"));
    }
    if !OPERATORS.contains(&operator) {
        return Err(enum_error(operator, "comparisonOperator", &OPERATORS));
    }
    let evaluation_periods = integer(input, "EvaluationPeriods")?.ok_or_else(|| missing("EvaluationPeriods"))?;
    if evaluation_periods < 1 {
        return Err(at_least_one(evaluation_periods, "evaluationPeriods"));
    }
    if let Some(datapoints) = integer(input, "DatapointsToAlarm")? {
        if datapoints < 1 {
            return Err(at_least_one(datapoints, "datapointsToAlarm"));
        }
        if datapoints > evaluation_periods {
            return Err(invalid(
                "DatapointsToAlarm must be less than or equal to EvaluationPeriods",
            ));
        }
    }
    if let Some(treatment) = text(input, "TreatMissingData")
        && !TREAT_MISSING.contains(&treatment)
    {
        return Err(invalid(format!(
            "Invalid value for TreatMissingData: {treatment}. Valid values: {}",
            TREAT_MISSING.join(", ")
        )));
    }
    metric(input, evaluation_periods)?;
    if input.get("Threshold").is_none_or(Value::is_null) {
        return Err(missing("Threshold"));
    }
    for actions in ["AlarmActions", "OKActions", "InsufficientDataActions"] {
        let listed = input.get(actions).and_then(Value::as_array);
        if let Some(other) = listed
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|a| !a.starts_with("arn:aws:sns:"))
        {
            return Err(not_evaluated(&format!(
                "alarm actions other than SNS topics ({other}): its alarms notify SNS topics, whose Lambda subscribers                  it invokes"
            )));
        }
        let count = listed.map_or(0, Vec::len);
        if count > 5 {
            return Err(invalid(format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length \
                 less than or equal to 5",
                lower_first(actions)
            )));
        }
    }
    Ok(())
}

/// The metric, its statistic and its period.
fn metric(input: &Value, evaluation_periods: i64) -> Result<(), AwsError> {
    text(input, "MetricName").ok_or_else(|| missing("MetricName"))?;
    let namespace = text(input, "Namespace").ok_or_else(|| missing("Namespace"))?;
    match (text(input, "Statistic"), text(input, "ExtendedStatistic")) {
        (Some(_), Some(_)) => {
            return Err(AwsError::bad_request(
                "InvalidParameterCombination",
                "Exactly one of Statistic or ExtendedStatistic must be specified.",
            ));
        }
        (None, None) => {
            return Err(AwsError::bad_request(
                "InvalidParameterCombination",
                "One of Statistic or ExtendedStatistic must be specified.",
            ));
        }
        (None, Some(_)) => return Err(not_evaluated("percentile statistics (ExtendedStatistic)")),
        (Some(statistic), None) if !STATISTICS.contains(&statistic) => {
            return Err(enum_error(statistic, "statistic", &STATISTICS));
        }
        (Some(_), None) => {}
    }
    let period = integer(input, "Period")?.ok_or_else(|| missing("Period"))?;
    if !matches!(period, 10 | 20 | 30) && (period < 60 || period % 60 != 0) {
        return Err(invalid("Period must be 10, 20, 30 or a multiple of 60"));
    }
    let total = period.saturating_mul(evaluation_periods);
    if period < 3600 && total > 86_400 {
        return Err(invalid(
            "The evaluation period (Period * EvaluationPeriods) of an alarm with a period under one hour cannot \
             exceed one day (86400 seconds)",
        ));
    }
    if total > 604_800 {
        return Err(invalid(
            "The evaluation period (Period * EvaluationPeriods) of an alarm cannot exceed seven days (604800 \
             seconds)",
        ));
    }
    if !EVALUATED_NAMESPACES.contains(&namespace) {
        return Err(not_evaluated(&format!(
            "metrics of the namespace {namespace} (the local cloud does not publish them)"
        )));
    }
    Ok(())
}

fn enum_error(value: &str, member: &str, allowed: &[&str]) -> AwsError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must \
         satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}

fn at_least_one(value: i64, member: &str) -> AwsError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have \
         value greater than or equal to 1"
    ))
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alarm() -> Value {
        json!({
            "AlarmName": "throttled",
            "Namespace": "AWS/Kinesis",
            "MetricName": "WriteProvisionedThroughputExceeded",
            "Dimensions": [{"Name": "StreamName", "Value": "s"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 0.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching"
        })
    }

    fn refused(change: impl FnOnce(&mut Value)) -> AwsError {
        let mut input = alarm();
        change(&mut input);
        put_metric_alarm(&input).unwrap_err()
    }

    #[test]
    fn a_well_formed_alarm_passes() {
        put_metric_alarm(&alarm()).unwrap();
        for period in [10, 20, 30, 60, 300, 3600] {
            let mut input = alarm();
            input["Period"] = json!(period);
            input["EvaluationPeriods"] = json!(1);
            input["DatapointsToAlarm"] = json!(1);
            put_metric_alarm(&input).unwrap();
        }
    }

    #[test]
    fn a_period_that_is_not_10_20_30_or_a_multiple_of_60_is_refused() {
        for period in [1, 7, 45, 90] {
            let error = refused(|input| input["Period"] = json!(period));
            assert_eq!(error.code, "ValidationError");
            assert_eq!(error.message, "Period must be 10, 20, 30 or a multiple of 60");
        }
    }

    #[test]
    fn more_datapoints_than_periods_is_refused() {
        let error = refused(|input| input["DatapointsToAlarm"] = json!(3));
        assert_eq!(
            error.message,
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
        );
        assert!(
            refused(|input| input["EvaluationPeriods"] = json!(0))
                .message
                .contains("greater than or equal to 1")
        );
    }

    #[test]
    fn the_evaluation_range_is_at_most_a_day_under_hourly_periods() {
        let error = refused(|input| {
            input["Period"] = json!(60);
            input["EvaluationPeriods"] = json!(1441);
            input["DatapointsToAlarm"] = json!(1);
        });
        assert!(error.message.contains("86400"), "{}", error.message);
    }

    #[test]
    fn statistics_operators_and_missing_data_come_from_their_lists() {
        assert_eq!(
            refused(|input| input["Statistic"] = json!("Total")).code,
            "ValidationError"
        );
        assert!(
            refused(|i| i["ComparisonOperator"] = json!("Above"))
                .message
                .contains("enum value set")
        );
        assert!(
            refused(|i| i["TreatMissingData"] = json!("skip"))
                .message
                .contains("TreatMissingData")
        );
        let both = refused(|input| input["ExtendedStatistic"] = json!("p99"));
        assert_eq!(both.code, "InvalidParameterCombination");
        let missing = refused(|input| input.as_object_mut().unwrap().remove("Threshold").map(drop).unwrap());
        assert_eq!(
            (missing.code.as_str(), missing.message.as_str()),
            ("MissingParameter", "The parameter Threshold is required.")
        );
    }

    #[test]
    fn what_the_local_cloud_cannot_evaluate_is_refused_saying_so() {
        for change in [
            (|i: &mut Value| i["Namespace"] = json!("MyApp")) as fn(&mut Value),
            |i| i["Metrics"] = json!([{"Id": "m1"}]),
            |i| i["AlarmActions"] = json!(["arn:aws:automate:us-east-1:ec2:stop"]),
            |i| {
                i.as_object_mut().unwrap().remove("Statistic");
                i["ExtendedStatistic"] = json!("p99");
            },
        ] {
            let error = refused(change);
            assert_eq!(error.code, "UnsupportedByTheLocalCloud");
            assert!(
                error.message.starts_with("The local cloud does not evaluate"),
                "{}",
                error.message
            );
        }
    }
}
