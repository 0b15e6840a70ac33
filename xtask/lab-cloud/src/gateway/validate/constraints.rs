//! The Lambda API's value constraints on an event source mapping: each member's "Valid Range" and "Valid Values" in
//! <https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html> (and
//! `API_UpdateEventSourceMapping.html`, the same members). AWS checks them before anything else and answers HTTP 400
//! `ValidationException`, every violation in one message: "1 validation error detected: Value '0' at 'batchSize'
//! failed to satisfy constraint: Member must have value greater than or equal to 1", or "2 validation errors
//! detected: …; …" (the wording Lambda gives for its other ranges and enums, e.g. `provisionedConcurrentExecutions`
//! and `architectures`, as recorded against AWS in LocalStack's snapshot tests, `tests/aws/services/lambda_/`).
//!
//! The semantic rules inside a range (`MaximumRecordAgeInSeconds` of 0 to 59) are AWS's next check, in
//! [`stream_options`](super::stream_options).

use super::super::errors::AwsError;
use serde_json::Value;

/// Each integer member and its valid range, in the order of the API's members.
const RANGES: [(&str, i64, i64); 6] = [
    ("BatchSize", 1, 10_000),
    ("MaximumBatchingWindowInSeconds", 0, 300),
    ("MaximumRecordAgeInSeconds", -1, 604_800),
    ("MaximumRetryAttempts", -1, 10_000),
    ("ParallelizationFactor", 1, 10),
    ("TumblingWindowInSeconds", 0, 900),
];

/// `StartingPosition`'s values, as AWS lists them in its message.
const STARTING_POSITIONS: [&str; 3] = ["LATEST", "AT_TIMESTAMP", "TRIM_HORIZON"];

/// `FunctionResponseTypes`: at most one item, `ReportBatchItemFailures`.
const FUNCTION_RESPONSE_TYPES: [&str; 1] = ["ReportBatchItemFailures"];

/// Checks a mapping's values; `creating`: `StartingPosition` is a member of the request (not of an update).
pub fn mapping(body: &Value, creating: bool) -> Result<(), AwsError> {
    let mut violations = vec![];
    for (member, min, max) in RANGES {
        let Some(value) = body.get(member).and_then(Value::as_i64) else {
            continue;
        };
        if value < min {
            violations.push(violation(
                member,
                value,
                &format!("value greater than or equal to {min}"),
            ));
        } else if value > max {
            violations.push(violation(member, value, &format!("value less than or equal to {max}")));
        }
    }
    if let Some(types) = body.get("FunctionResponseTypes").and_then(Value::as_array) {
        violations.extend(function_response_types(types));
    }
    if creating
        && let Some(position) = body.get("StartingPosition").and_then(Value::as_str)
        && !STARTING_POSITIONS.contains(&position)
    {
        violations.push(format!(
            "Value '{position}' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value \
             set: [{}]",
            STARTING_POSITIONS.join(", ")
        ));
    }
    validation_errors(violations)
}

fn function_response_types(types: &[Value]) -> Option<String> {
    let names: Vec<&str> = types.iter().map(|t| t.as_str().unwrap_or("null")).collect();
    let value = format!("[{}]", names.join(", "));
    if names.len() > 1 {
        return Some(format!(
            "Value '{value}' at 'functionResponseTypes' failed to satisfy constraint: Member must have length less \
             than or equal to 1"
        ));
    }
    names
        .iter()
        .any(|name| !FUNCTION_RESPONSE_TYPES.contains(name))
        .then(|| {
            format!(
                "Value '{value}' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy \
             constraint: [Member must satisfy enum value set: [{}], Member must not be null]",
                FUNCTION_RESPONSE_TYPES.join(", ")
            )
        })
}

/// "Value '<value>' at '<member in lower camel case>' failed to satisfy constraint: Member must have <rule>".
fn violation(member: &str, value: i64, rule: &str) -> String {
    format!(
        "Value '{value}' at '{}' failed to satisfy constraint: Member must have {rule}",
        lower_camel(member)
    )
}

fn lower_camel(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// AWS's `ValidationException` for these violations, if any.
fn validation_errors(violations: Vec<String>) -> Result<(), AwsError> {
    let message = match violations.len() {
        0 => return Ok(()),
        1 => format!("1 validation error detected: {}", violations[0]),
        n => format!("{n} validation errors detected: {}", violations.join("; ")),
    };
    Err(AwsError::bad_request("ValidationException", message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(body: Value) -> String {
        let error = mapping(&body, true).unwrap_err();
        assert_eq!(error.code, "ValidationException");
        error.message
    }

    #[test]
    fn each_end_of_each_range_is_valid_and_one_past_it_is_not() {
        for (member, min, max) in RANGES {
            assert!(mapping(&json!({ member: min }), false).is_ok(), "{member} {min}");
            assert!(mapping(&json!({ member: max }), false).is_ok(), "{member} {max}");
            assert!(
                mapping(&json!({ member: min - 1 }), false).is_err(),
                "{member} {}",
                min - 1
            );
            assert!(
                mapping(&json!({ member: max + 1 }), false).is_err(),
                "{member} {}",
                max + 1
            );
        }
    }

    #[test]
    fn a_violation_is_worded_as_aws_words_it() {
        assert_eq!(
            message(json!({"BatchSize": 0})),
            "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have \
             value greater than or equal to 1"
        );
        assert_eq!(
            message(json!({"MaximumBatchingWindowInSeconds": 301, "TumblingWindowInSeconds": 901})),
            "2 validation errors detected: Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy \
             constraint: Member must have value less than or equal to 300; Value '901' at 'tumblingWindowInSeconds' \
             failed to satisfy constraint: Member must have value less than or equal to 900"
        );
    }

    #[test]
    fn enums_accept_only_their_values() {
        assert!(mapping(&json!({"StartingPosition": "TRIM_HORIZON"}), true).is_ok());
        assert!(message(json!({"StartingPosition": "OLDEST"})).contains("[LATEST, AT_TIMESTAMP, TRIM_HORIZON]"));
        assert!(mapping(&json!({"FunctionResponseTypes": ["ReportBatchItemFailures"]}), false).is_ok());
        assert!(mapping(&json!({"FunctionResponseTypes": []}), false).is_ok());
        assert!(message(json!({"FunctionResponseTypes": ["Report"]})).contains("enum value set"));
        assert!(
            message(json!({"FunctionResponseTypes": ["ReportBatchItemFailures", "ReportBatchItemFailures"]}))
                .contains("length less than or equal to 1")
        );
    }
}
