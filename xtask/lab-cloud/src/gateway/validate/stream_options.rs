//! A Kinesis mapping's settings that AWS refuses once their values are in range, HTTP 400
//! `InvalidParameterValueException`, in AWS's words:
//! - no `EventSourceArn`: "Unrecognized event source.";
//! - no `StartingPosition` ("Required for Amazon Kinesis, Amazon DynamoDB, and Amazon MSK stream sources",
//!   <https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>): "1 validation error
//!   detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null." (an
//!   `InvalidParameterValueException`, not a `ValidationException`: both as recorded against AWS in LocalStack's
//!   snapshot tests, `test_lambda_api.snapshot.json`, `test_create_event_source_validation_kinesis`);
//! - `AT_TIMESTAMP` without `StartingPositionTimestamp`: "Need to specify a timestamp" (reported from AWS in
//!   <https://github.com/awsdocs/aws-cloudformation-user-guide/pull/334>); a timestamp with another position is
//!   refused too: it is "Only valid if StartingPosition is set to AT_TIMESTAMP" ("Lambda parameters for Amazon
//!   Kinesis Data Streams event source mappings",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html>; AWS's message for that case is
//!   not published: this one is ours);
//! - `MaximumRecordAgeInSeconds` of 0 to 59 (the API's range starts at -1): "MaximumRecordAgeInSeconds must be
//!   either -1 (forever) or between 60 and 604800 (inclusive)" (reported from AWS in
//!   <https://github.com/hashicorp/terraform-provider-aws/pull/16113>);
//! - an `OnSuccess` destination, which a Kinesis mapping does not have (it keeps discarded batches in an on-failure
//!   destination: an SQS queue, an SNS topic or an S3 bucket,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html>): "Unsupported
//!   DestinationConfig parameter for given event source mapping type."; an `OnFailure` destination
//!   that is not a queue, a topic or a bucket: "The provided destination config DestinationConfig(…) is invalid."
//!   (both recorded against AWS in LocalStack's snapshots).

use super::invalid_parameter;
use crate::gateway::errors::AwsError;
use serde_json::Value;

/// The mapping's `EventSourceArn`.
pub fn event_source(body: &Value) -> Result<String, AwsError> {
    match body.get("EventSourceArn").and_then(Value::as_str) {
        Some(arn) if !arn.is_empty() => Ok(arn.to_owned()),
        _ => Err(invalid_parameter("Unrecognized event source.")),
    }
}

/// `StartingPosition` is given, and `StartingPositionTimestamp` with `AT_TIMESTAMP` and only with it.
pub fn starting_position(body: &Value) -> Result<(), AwsError> {
    let timestamp = body.get("StartingPositionTimestamp").is_some_and(|t| !t.is_null());
    match body.get("StartingPosition").and_then(Value::as_str) {
        None => Err(invalid_parameter(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must \
             not be null.",
        )),
        Some("AT_TIMESTAMP") if !timestamp => Err(invalid_parameter("Need to specify a timestamp")),
        Some(position) if position != "AT_TIMESTAMP" && timestamp => Err(invalid_parameter(format!(
            "StartingPositionTimestamp is used only with StartingPosition AT_TIMESTAMP, not with {position}: remove \
             the timestamp, or start AT_TIMESTAMP"
        ))),
        Some(_) => Ok(()),
    }
}

/// The settings a create and an update share: the record age, the destinations.
pub fn settings(body: &Value) -> Result<(), AwsError> {
    if let Some(age) = body.get("MaximumRecordAgeInSeconds").and_then(Value::as_i64)
        && (0..60).contains(&age)
    {
        return Err(invalid_parameter(
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)",
        ));
    }
    destinations(body)
}

fn destinations(body: &Value) -> Result<(), AwsError> {
    let Some(config) = body.get("DestinationConfig") else {
        return Ok(());
    };
    let destination = |which: &str| {
        config
            .get(which)
            .and_then(|d| d.get("Destination"))
            .and_then(Value::as_str)
            .filter(|arn| !arn.is_empty())
    };
    if destination("OnSuccess").is_some() {
        return Err(invalid_parameter(
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        ));
    }
    match destination("OnFailure") {
        Some(arn) if !matches!(service_of(arn), "sqs" | "sns" | "s3") => Err(invalid_parameter(format!(
            "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) \
             is invalid."
        ))),
        _ => Ok(()),
    }
}

/// The service of an ARN: `arn:aws:<service>:…`.
pub fn service_of(arn: &str) -> &str {
    arn.split(':').nth(2).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(result: Result<(), AwsError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.code, "InvalidParameterValueException");
        error.message
    }

    #[test]
    fn a_starting_position_is_required_and_a_timestamp_goes_with_at_timestamp_only() {
        assert!(refusal(starting_position(&json!({}))).contains("Value null at 'startingPosition'"));
        assert!(starting_position(&json!({"StartingPosition": "LATEST"})).is_ok());
        assert_eq!(
            refusal(starting_position(&json!({"StartingPosition": "AT_TIMESTAMP"}))),
            "Need to specify a timestamp"
        );
        let at = json!({"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1.7e9});
        assert!(starting_position(&at).is_ok());
        let trim = json!({"StartingPosition": "TRIM_HORIZON", "StartingPositionTimestamp": 1.7e9});
        assert!(refusal(starting_position(&trim)).contains("only with StartingPosition AT_TIMESTAMP"));
    }

    #[test]
    fn a_record_age_under_a_minute_is_refused_but_forever_is_not() {
        for age in [-1, 60, 604_800] {
            assert!(settings(&json!({"MaximumRecordAgeInSeconds": age})).is_ok(), "{age}");
        }
        for age in [0, 59] {
            assert!(refusal(settings(&json!({"MaximumRecordAgeInSeconds": age}))).contains("either -1 (forever)"));
        }
    }

    #[test]
    fn a_stream_mapping_has_an_on_failure_destination_only() {
        let on = |which: &str, arn: &str| json!({"DestinationConfig": { which: {"Destination": arn} }});
        assert!(settings(&on("OnFailure", "arn:aws:s3:::bucket")).is_ok());
        assert!(settings(&on("OnFailure", "arn:aws:sqs:us-east-1:123456789012:q")).is_ok());
        assert!(settings(&on("OnFailure", "")).is_ok());
        assert!(
            refusal(settings(&on("OnSuccess", "arn:aws:s3:::bucket"))).starts_with("Unsupported DestinationConfig")
        );
        let lambda = on("OnFailure", "arn:aws:lambda:us-east-1:123456789012:function:f");
        assert!(refusal(settings(&lambda)).ends_with("is invalid."));
    }
}
