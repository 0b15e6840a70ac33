//! An S3 destination (`ExtendedS3DestinationConfiguration`, or the `ExtendedS3DestinationUpdate` of
//! `UpdateDestination`), checked as AWS checks it:
//!
//! - the API's constraints, each a `ValidationException` in AWS's words (`1 validation error detected: Value '0' at
//!   '...bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value greater than or equal to 1`):
//!   `SizeInMBs` 1–128, `IntervalInSeconds` 0–900 (<https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html>),
//!   `CompressionFormat` one of its five values, `Prefix` and `ErrorOutputPrefix` at most 1,024 characters,
//!   `FileExtension` `^$|\.[0-9a-z!\-_.*'()]+` and at most 128, `CustomTimeZone` at most 50
//!   (<https://docs.aws.amazon.com/firehose/latest/APIReference/API_ExtendedS3DestinationConfiguration.html>);
//! - the prefixes' semantic rules (<https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html#prefix-rules>),
//!   an `InvalidArgumentException`: "Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix
//!   cannot be null or empty when Prefix contains expressions" is AWS's own message, typo included (reported in
//!   <https://github.com/hashicorp/terraform-provider-aws/pull/13416>); the other rules are put in the same sentence
//!   with the page's words;
//! - for a delivery stream the local Firehose delivers (a Kinesis source), what it does not implement, refused by
//!   name: ZIP, processors other than `AppendDelimiterToRecord` (a Lambda transformation), format conversion, dynamic
//!   partitioning, S3 backup, and timestamp patterns it cannot evaluate.

use super::{invalid_argument, not_implemented};
use crate::gateway::errors::AwsError;
use crate::runtime::firehose_keys::{self, Part, PrefixError};
use serde_json::Value;

const COMPRESSION_FORMATS: [&str; 5] = ["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"];

pub fn check(s3: &Value, path: &str, current: Option<&Value>, delivered_here: bool) -> Result<(), AwsError> {
    constraints(s3, path)?;
    prefix_rules(s3, current, delivered_here)?;
    if delivered_here {
        implemented(s3)?;
    }
    Ok(())
}

/// The API's own constraints, all reported at once as AWS does.
fn constraints(s3: &Value, path: &str) -> Result<(), AwsError> {
    let mut errors = vec![];
    let mut at = |field: &str, value: &str, constraint: String| {
        errors.push(format!(
            "Value '{value}' at '{path}.{field}' failed to satisfy constraint: {constraint}"
        ))
    };
    for (field, key, low, high) in [
        ("bufferingHints.sizeInMBs", "SizeInMBs", 1, 128),
        ("bufferingHints.intervalInSeconds", "IntervalInSeconds", 0, 900),
    ] {
        if let Some(value) = s3["BufferingHints"][key].as_i64() {
            if value < low {
                at(
                    field,
                    &value.to_string(),
                    format!("Member must have value greater than or equal to {low}"),
                );
            } else if value > high {
                at(
                    field,
                    &value.to_string(),
                    format!("Member must have value less than or equal to {high}"),
                );
            }
        }
    }
    if let Some(format) = s3["CompressionFormat"]
        .as_str()
        .filter(|f| !COMPRESSION_FORMATS.contains(f))
    {
        let set = COMPRESSION_FORMATS.join(", ");
        at(
            "compressionFormat",
            format,
            format!("Member must satisfy enum value set: [{set}]"),
        );
    }
    for (field, key, longest) in [
        ("prefix", "Prefix", 1024),
        ("errorOutputPrefix", "ErrorOutputPrefix", 1024),
        ("fileExtension", "FileExtension", 128),
        ("customTimeZone", "CustomTimeZone", 50),
    ] {
        if let Some(text) = s3[key].as_str().filter(|text| text.chars().count() > longest) {
            at(
                field,
                text,
                format!("Member must have length less than or equal to {longest}"),
            );
        }
    }
    if let Some(extension) = s3["FileExtension"].as_str().filter(|e| !is_file_extension(e)) {
        let pattern = r"^$|\.[0-9a-z!\-_.*'()]+";
        at(
            "fileExtension",
            extension,
            format!("Member must satisfy regular expression pattern: {pattern}"),
        );
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(validation(format!("1 validation error detected: {}", errors[0]))),
        n => Err(validation(format!(
            "{n} validation errors detected: {}",
            errors.join("; ")
        ))),
    }
}

fn validation(message: String) -> AwsError {
    AwsError::bad_request("ValidationException", message)
}

/// `^$|\.[0-9a-z!\-_.*'()]+`.
fn is_file_extension(extension: &str) -> bool {
    extension.is_empty()
        || extension.strip_prefix('.').is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || "!-_.*'()".contains(c))
        })
}

/// AWS's sentence for a prefix rule, with the rule in the words of AWS's page.
fn prefix_rule(rule: &str) -> AwsError {
    invalid_argument(format!(
        "Ths supplied prefix(es) do not satisfy the following constraint: {rule}"
    ))
}

/// The rules between `Prefix` and `ErrorOutputPrefix`, on the configuration as it will be (an update's values over
/// the current ones).
fn prefix_rules(s3: &Value, current: Option<&Value>, delivered_here: bool) -> Result<(), AwsError> {
    let value = |key: &str| {
        s3[key]
            .as_str()
            .or_else(|| current.and_then(|c| c[key].as_str()))
            .unwrap_or("")
    };
    let parsed = |text: &str| match firehose_keys::parse(text) {
        Ok(parts) => Ok(parts),
        Err(PrefixError::Invalid(why)) => Err(prefix_rule(&why)),
        // Evaluated only where the local cloud delivers: a Direct PUT stream's objects are the emulator's.
        Err(PrefixError::Unsupported(_)) if !delivered_here => Ok(vec![]),
        Err(PrefixError::Unsupported(what)) => Err(not_implemented(&what)),
    };
    let prefix = parsed(value("Prefix"))?;
    let error_prefix = parsed(value("ErrorOutputPrefix"))?;
    if firehose_keys::has_expressions(&prefix) && value("ErrorOutputPrefix").is_empty() {
        return Err(prefix_rule(
            "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions",
        ));
    }
    if prefix.contains(&Part::ErrorOutputType) {
        return Err(prefix_rule("Prefix can't contain !{firehose:error-output-type}"));
    }
    if firehose_keys::has_expressions(&error_prefix) && !error_prefix.contains(&Part::ErrorOutputType) {
        return Err(prefix_rule(
            "If you specify an expression for ErrorOutputPrefix, you must include at least one instance of \
             !{firehose:error-output-type}",
        ));
    }
    let partitioned = s3.pointer("/DynamicPartitioningConfiguration/Enabled") == Some(&Value::Bool(true));
    let keyed = prefix.iter().any(|part| matches!(part, Part::PartitionKey { .. }));
    if keyed && !partitioned {
        return Err(prefix_rule(
            "The partitionKeyFromQuery and partitionKeyFromLambda namespaces can only be used when dynamic \
             partitioning is enabled",
        ));
    }
    Ok(())
}

/// What the local Firehose delivers, and nothing else.
fn implemented(s3: &Value) -> Result<(), AwsError> {
    if s3["CompressionFormat"].as_str() == Some("ZIP") {
        return Err(not_implemented(
            "CompressionFormat ZIP (it writes UNCOMPRESSED, GZIP, Snappy and HADOOP_SNAPPY)",
        ));
    }
    let processing = &s3["ProcessingConfiguration"];
    if processing["Enabled"] != Value::Bool(false) {
        for processor in processing["Processors"].as_array().into_iter().flatten() {
            let kind = processor["Type"].as_str().unwrap_or("?");
            if kind != "AppendDelimiterToRecord" {
                return Err(not_implemented(&format!(
                    "the {kind} processor (it runs AppendDelimiterToRecord only; a Lambda transformation is not run \
                     locally)"
                )));
            }
        }
    }
    let enabled = |key: &str, default: bool| s3.get(key).is_some_and(|c| c["Enabled"].as_bool().unwrap_or(default));
    if enabled("DataFormatConversionConfiguration", true) {
        return Err(not_implemented(
            "record format conversion (DataFormatConversionConfiguration)",
        ));
    }
    if enabled("DynamicPartitioningConfiguration", false) {
        return Err(not_implemented(
            "dynamic partitioning (DynamicPartitioningConfiguration)",
        ));
    }
    if s3["S3BackupMode"].as_str() == Some("Enabled") {
        return Err(not_implemented("S3BackupMode Enabled (a backup of the source records)"));
    }
    if let Err(why) = firehose_keys::time_zone(s3["CustomTimeZone"].as_str()) {
        return Err(invalid_argument(why));
    }
    Ok(())
}

/// A Kinesis source is delivered locally to an extended S3 destination only.
pub fn only_extended_s3(body: &Value) -> Result<(), AwsError> {
    let others = body.as_object().into_iter().flatten().filter_map(|(key, _)| {
        let destination = key.ends_with("DestinationConfiguration") && key != "ExtendedS3DestinationConfiguration";
        destination.then_some(key)
    });
    if let Some(other) = others.into_iter().next() {
        return Err(not_implemented(&format!(
            "{other} for a Kinesis source (it delivers to ExtendedS3DestinationConfiguration)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(s3: Value) -> String {
        let error = check(&s3, "extendedS3DestinationConfiguration", None, true).unwrap_err();
        format!("{}: {}", error.code, error.message)
    }

    #[test]
    fn each_api_constraint_is_a_validation_error_in_aws_words() {
        let message = refusal(json!({"BufferingHints": {"SizeInMBs": 0, "IntervalInSeconds": 901}}));
        assert_eq!(
            message,
            "ValidationException: 2 validation errors detected: Value '0' at \
             'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must \
             have value greater than or equal to 1; Value '901' at \
             'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: \
             Member must have value less than or equal to 900"
        );
        assert!(refusal(json!({"CompressionFormat": "LZ4"})).contains("Member must satisfy enum value set"));
        assert!(refusal(json!({"FileExtension": "gz"})).contains("regular expression pattern"));
        assert!(refusal(json!({"FileExtension": ".GZ"})).contains("regular expression pattern"));
        let ok = json!({"BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 0}, "FileExtension": ".ndjson.gz"});
        assert!(check(&ok, "x", None, true).is_ok());
    }

    #[test]
    fn the_prefix_rules_hold_on_what_an_update_leaves() {
        let hive = "t/year=!{timestamp:yyyy}/";
        assert_eq!(
            refusal(json!({ "Prefix": hive })),
            "InvalidArgumentException: Ths supplied prefix(es) do not satisfy the following constraint: \
             ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"
        );
        let current = json!({"ErrorOutputPrefix": "errors/"});
        assert!(check(&json!({ "Prefix": hive }), "u", Some(&current), true).is_ok());
        assert!(
            refusal(json!({"Prefix": "t/", "ErrorOutputPrefix": "e/!{timestamp:yyyy}/"}))
                .contains("at least one instance")
        );
        let inverted = json!({"Prefix": "t/!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/"});
        assert!(refusal(inverted).contains("Prefix can't contain"));
        let keyed = json!({"Prefix": "t/!{partitionKeyFromQuery:id}/", "ErrorOutputPrefix": "e/"});
        assert!(refusal(keyed).contains("dynamic partitioning is enabled"));
    }

    #[test]
    fn what_the_local_firehose_does_not_do_is_refused_by_name() {
        let lambda = json!({"ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda"}]}});
        assert!(refusal(lambda).contains("the Lambda processor"));
        let disabled = json!({"ProcessingConfiguration": {"Enabled": false, "Processors": [{"Type": "Lambda"}]}});
        assert!(
            check(&disabled, "x", None, true).is_ok(),
            "a disabled processor runs nowhere"
        );
        assert!(refusal(json!({"CompressionFormat": "ZIP"})).contains("ZIP"));
        assert!(refusal(json!({"DataFormatConversionConfiguration": {}})).contains("format conversion"));
        assert!(refusal(json!({"CustomTimeZone": "Mars/Olympus"})).contains("Mars/Olympus"));
        let pattern = json!({"Prefix": "!{timestamp:MMM}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"});
        assert!(refusal(pattern).contains("does not implement MMM"));
        assert!(
            check(&json!({"CompressionFormat": "ZIP"}), "x", None, false).is_ok(),
            "Direct PUT: the emulator's"
        );
        assert!(refusal(json!({"S3BackupMode": "Enabled"})).contains("S3BackupMode"));
        let http = json!({"ExtendedS3DestinationConfiguration": {}, "HttpEndpointDestinationConfiguration": {}});
        let error = only_extended_s3(&http).unwrap_err();
        assert!(
            error
                .message
                .contains("HttpEndpointDestinationConfiguration for a Kinesis source"),
            "{error:?}"
        );
        assert!(only_extended_s3(&json!({"ExtendedS3DestinationConfiguration": {}})).is_ok());
    }

    #[test]
    fn lengths_are_the_apis() {
        let long = "p/".repeat(513);
        assert!(refusal(json!({ "Prefix": long })).contains("Member must have length less than or equal to 1024"));
        let zone = "Z".repeat(51);
        assert!(refusal(json!({ "CustomTimeZone": zone })).contains("length less than or equal to 50"));
    }
}
