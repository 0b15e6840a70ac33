//! What AWS accepts in an event source mapping and the local cloud cannot run, refused when the mapping is made or
//! updated (HTTP 400 `InvalidParameterValueException`, each message saying it is the local cloud that refuses)
//! rather than accepted and then silently not done — a mapping reported `Enabled` that never runs would be a
//! green here that is not a green on AWS:
//! - a source that is not a Kinesis data stream: the local pollers read Kinesis only (the data plane, `runtime/`);
//!   an enhanced fan-out consumer (`…:stream/<name>/consumer/<consumer>:<time>`) is not emulated either (the
//!   Kinesis engine refuses `RegisterStreamConsumer`);
//! - `ParallelizationFactor` above 1: Lambda then processes up to 10 batches of a shard at once, in order per
//!   partition key ("Polling and batching streams", <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>);
//!   the local pollers run one batch per shard at a time;
//! - an SQS or SNS on-failure destination: the local cloud delivers on-failure records to S3 only
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html>);
//! - `FilterCriteria` (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html>): the local
//!   pollers do not filter, so the function would get records AWS would have dropped.

use super::stream_options::service_of;
use super::{SourceStream, invalid_parameter};
use crate::gateway::errors::AwsError;
use crate::gateway::kinesis::StreamKey;
use serde_json::Value;

/// The source as a Kinesis stream, or the local cloud's refusal of any other source.
pub fn kinesis_stream(arn: &str) -> Result<SourceStream, AwsError> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, "kinesis", region, account, resource] = fields.as_slice() else {
        return Err(invalid_parameter(format!(
            "the local cloud runs event source mappings for Kinesis data streams only, and {arn} is a {} source: \
             map a Kinesis stream, or run this mapping on AWS",
            service_of(arn)
        )));
    };
    let name = resource.strip_prefix("stream/").unwrap_or_default();
    if name.contains("/consumer/") {
        return Err(invalid_parameter(format!(
            "the local cloud does not implement enhanced fan-out consumers ({arn}): map the stream itself \
             (arn:aws:kinesis:{region}:{account}:stream/{})",
            name.split('/').next().unwrap_or_default()
        )));
    }
    Ok(SourceStream {
        arn: arn.to_owned(),
        key: StreamKey {
            region: (*region).to_owned(),
            name: name.to_owned(),
        },
        account: (*account).to_owned(),
    })
}

/// The settings the local pollers cannot honour, at creation and at an update.
pub fn settings(body: &Value) -> Result<(), AwsError> {
    if let Some(factor) = body.get("ParallelizationFactor").and_then(Value::as_i64)
        && factor > 1
    {
        return Err(invalid_parameter(format!(
            "ParallelizationFactor {factor} is not supported by the local cloud: it runs one batch per shard at a \
             time. Set ParallelizationFactor to 1 (the default) to run this mapping locally"
        )));
    }
    let on_failure = body
        .pointer("/DestinationConfig/OnFailure/Destination")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let service @ ("sqs" | "sns") = service_of(on_failure) {
        return Err(invalid_parameter(format!(
            "the local cloud delivers on-failure records to an Amazon S3 destination only, not to Amazon {} \
             ({on_failure}): use an S3 bucket (arn:aws:s3:::<bucket>), or run this mapping on AWS",
            service.to_uppercase()
        )));
    }
    let filters = body
        .pointer("/FilterCriteria/Filters")
        .and_then(Value::as_array)
        .is_some_and(|filters| !filters.is_empty());
    if filters {
        return Err(invalid_parameter(
            "the local cloud does not implement event filtering (FilterCriteria): its pollers would give the \
             function every record. Filter in the function, or run this mapping on AWS",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal<T>(result: Result<T, AwsError>) -> String {
        match result {
            Ok(_) => panic!("accepted"),
            Err(error) => error.message,
        }
    }

    #[test]
    fn only_a_kinesis_stream_is_a_source_here() {
        let stream = kinesis_stream("arn:aws:kinesis:eu-west-1:123456789012:stream/s").unwrap();
        assert_eq!(stream.key.name, "s");
        assert_eq!(stream.key.region, "eu-west-1");
        assert_eq!(stream.account, "123456789012");
        let sqs = refusal(kinesis_stream("arn:aws:sqs:us-east-1:123456789012:q"));
        assert!(
            sqs.contains("Kinesis data streams only") && sqs.contains("sqs source"),
            "{sqs}"
        );
        let consumer = refusal(kinesis_stream(
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1700000000",
        ));
        assert!(
            consumer.contains("enhanced fan-out") && consumer.ends_with("stream/s)"),
            "{consumer}"
        );
    }

    #[test]
    fn what_the_pollers_cannot_honour_is_refused_by_name() {
        assert!(settings(&json!({"ParallelizationFactor": 1})).is_ok());
        assert!(refusal(settings(&json!({"ParallelizationFactor": 2}))).starts_with("ParallelizationFactor 2"));
        let to = |arn: &str| json!({"DestinationConfig": {"OnFailure": {"Destination": arn}}});
        assert!(settings(&to("arn:aws:s3:::bucket")).is_ok());
        assert!(refusal(settings(&to("arn:aws:sqs:us-east-1:123456789012:q"))).contains("not to Amazon SQS"));
        assert!(refusal(settings(&to("arn:aws:sns:us-east-1:123456789012:t"))).contains("not to Amazon SNS"));
        assert!(settings(&json!({"FilterCriteria": {"Filters": []}})).is_ok());
        let filtered = json!({"FilterCriteria": {"Filters": [{"Pattern": "{}"}]}});
        assert!(refusal(settings(&filtered)).contains("FilterCriteria"));
    }
}
