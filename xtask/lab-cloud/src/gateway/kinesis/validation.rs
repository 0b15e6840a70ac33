//! Reading a Kinesis request's fields, and refusing it as AWS does.
//!
//! AWS validates a request's members against the API model's constraints first and reports every violation in one
//! `ValidationException` (HTTP 400): "1 validation error detected: Value 'x!' at 'streamName' failed to satisfy
//! constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" (several joined by "; ", "2
//! validation errors detected: ..."). The member names are the API's, first letter lowered; a list member is
//! `records.1.member.partitionKey`. A blob is shown as Java's `java.nio.HeapByteBuffer[pos=0 lim=N cap=N]`. (The
//! constraints are on each operation's page of the API reference,
//! <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_Operations.html>; the wording is AWS's as
//! kinesalite records it.) Checks that need the stream are `InvalidArgumentException`s, made by the operations.

use super::super::errors::AwsError;
use serde_json::Value;

/// `StreamName`'s pattern and lengths (every operation that takes one).
pub const STREAM_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
/// `ExplicitHashKey`, `NewStartingHashKey`.
pub const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
/// `StartingSequenceNumber`, `SequenceNumberForOrdering`.
pub const SEQUENCE_PATTERN: &str = "0|([1-9]\\d{0,128})";
/// `StreamARN`.
pub const STREAM_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";

/// A field of the wrong JSON type: the JSON codec's refusal, before any constraint is checked.
fn serialization(field: &str, expected: &str) -> AwsError {
    AwsError::bad_request(
        "SerializationException",
        format!("the member {field} is not {expected}"),
    )
}

pub fn string<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, AwsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(serialization(field, "a string")),
    }
}

pub fn integer(body: &Value, field: &str) -> Result<Option<i64>, AwsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_i64().or_else(|| number.as_f64().map(|f| f as i64))),
        Some(_) => Err(serialization(field, "a number")),
    }
}

pub fn boolean(body: &Value, field: &str) -> Result<Option<bool>, AwsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(serialization(field, "a boolean")),
    }
}

/// A timestamp, which AWS JSON 1.1 sends as seconds since the epoch (a number, fractions for milliseconds); in ms.
pub fn timestamp_ms(body: &Value, field: &str) -> Result<Option<u64>, AwsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number
            .as_f64()
            .map(|seconds| (seconds * 1000.0).round().max(0.0) as u64)),
        Some(_) => Err(serialization(field, "a timestamp")),
    }
}

pub fn strings<'a>(body: &'a Value, field: &str) -> Result<Option<Vec<&'a str>>, AwsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(|| serialization(field, "a list of strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(serialization(field, "a list")),
    }
}

/// The violations found so far, reported together as AWS reports them.
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, value: Option<&str>, at: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |value| format!("'{value}'"));
        self.0.push(format!(
            "Value {value} at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn not_null(&mut self, at: &str, present: bool) {
        if !present {
            self.push(None, at, "Member must not be null");
        }
    }

    /// A string's length (in characters, as Java counts them for these ASCII-bound members) and pattern.
    pub fn text(&mut self, at: &str, value: Option<&str>, min: usize, max: usize, pattern: Option<&str>) {
        let Some(text) = value else { return };
        let length = text.chars().count();
        if length < min {
            self.push(
                value,
                at,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if length > max {
            self.push(
                value,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if let Some(pattern) = pattern
            && !matches_pattern(pattern, text)
        {
            self.push(
                value,
                at,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn range(&mut self, at: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(number) = value else { return };
        let shown = number.to_string();
        if number < min {
            self.push(
                Some(&shown),
                at,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if number > max {
            self.push(
                Some(&shown),
                at,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A blob's length, shown as AWS's Java service shows a byte buffer.
    pub fn blob(&mut self, at: &str, length: usize, max: usize) {
        if length > max {
            let shown = format!("java.nio.HeapByteBuffer[pos=0 lim={length} cap={length}]");
            self.push(
                Some(&shown),
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn one_of(&mut self, at: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(text) = value
            && !allowed.contains(&text)
        {
            let set = allowed.join(", ");
            self.push(value, at, &format!("Member must satisfy enum value set: [{set}]"));
        }
    }

    pub fn list_length(&mut self, at: &str, shown: &str, length: usize, min: usize, max: usize) {
        if length < min {
            self.push(
                Some(shown),
                at,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if length > max {
            self.push(
                Some(shown),
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// `Err` with every violation, as one `ValidationException`.
    pub fn finish(self) -> Result<(), AwsError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "{n} validation error{} detected: {}",
                    if n == 1 { "" } else { "s" },
                    self.0.join("; ")
                ),
            )),
        }
    }
}

/// The few patterns of the Kinesis API, matched exactly (the whole value), without a regular-expression engine.
pub fn matches_pattern(pattern: &str, text: &str) -> bool {
    match pattern {
        STREAM_NAME_PATTERN => {
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        }
        HASH_KEY_PATTERN => decimal_without_leading_zero(text, 39),
        SEQUENCE_PATTERN => decimal_without_leading_zero(text, 129),
        STREAM_ARN_PATTERN => stream_arn_parts(text).is_some(),
        _ => true,
    }
}

/// `0|([1-9]\d{0,N-1})`.
fn decimal_without_leading_zero(text: &str, max_digits: usize) -> bool {
    text == "0"
        || (!text.is_empty()
            && text.len() <= max_digits
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit()))
}

/// `arn:aws.*:kinesis:<region>:<12 digits>:stream/<name>`: the region, account and name.
pub fn stream_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut fields = arn.splitn(6, ':');
    let (arn_word, partition, service) = (fields.next()?, fields.next()?, fields.next()?);
    let (region, account, resource) = (fields.next()?, fields.next()?, fields.next()?);
    let name = resource.strip_prefix("stream/")?;
    let well_formed = arn_word == "arn"
        && partition.starts_with("aws")
        && service == "kinesis"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.chars().any(char::is_whitespace);
    well_formed.then_some((region, account, name))
}

/// The common checks of a request that names a stream: `StreamName` and `StreamARN`.
pub fn stream_members(violations: &mut Violations, body: &Value) -> Result<(), AwsError> {
    violations.text(
        "streamName",
        string(body, "StreamName")?,
        1,
        128,
        Some(STREAM_NAME_PATTERN),
    );
    violations.text(
        "streamARN",
        string(body, "StreamARN")?,
        1,
        2048,
        Some(STREAM_ARN_PATTERN),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_reported_together_in_aws_words() {
        let mut violations = Violations::default();
        violations.text("streamName", Some("no spaces"), 1, 128, Some(STREAM_NAME_PATTERN));
        let error = violations.finish().unwrap_err();
        assert_eq!(error.code, "ValidationException");
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'no spaces' at 'streamName' failed to satisfy constraint: Member \
             must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
        let mut violations = Violations::default();
        violations.range("limit", Some(0), 1, 10_000);
        violations.blob("records.1.member.data", 1_048_577, 1_048_576);
        let message = violations.finish().unwrap_err().message;
        assert!(
            message.starts_with("2 validation errors detected: Value '0' at 'limit'"),
            "{message}"
        );
        assert!(message.contains(
            "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.1.member.data' failed to \
             satisfy constraint: Member must have length less than or equal to 1048576"
        ));
        assert!(Violations::default().finish().is_ok());
    }

    #[test]
    fn hash_keys_follow_awss_pattern() {
        for good in [
            "0",
            "1",
            "340282366920938463463374607431768211455",
            "999999999999999999999999999999999999999",
        ] {
            assert!(matches_pattern(HASH_KEY_PATTERN, good), "{good}");
        }
        for bad in ["", "-1", "007", "+1", "1.0", "1000000000000000000000000000000000000000"] {
            assert!(!matches_pattern(HASH_KEY_PATTERN, bad), "{bad}");
        }
    }

    #[test]
    fn stream_names_and_arns() {
        assert!(matches_pattern(STREAM_NAME_PATTERN, "Telemetric_Stream-1.0"));
        assert!(!matches_pattern(STREAM_NAME_PATTERN, "a/b"));
        assert_eq!(
            stream_arn_parts("arn:aws:kinesis:eu-west-1:123456789012:stream/s"),
            Some(("eu-west-1", "123456789012", "s"))
        );
        assert_eq!(stream_arn_parts("arn:aws:kinesis:eu-west-1:1234:stream/s"), None);
        assert_eq!(stream_arn_parts("arn:aws:sqs:eu-west-1:123456789012:stream/s"), None);
    }
}
