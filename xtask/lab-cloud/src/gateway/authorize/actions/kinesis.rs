//! Kinesis Data Streams: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesis.html>.
//! Every operation is the action of the same name (`kinesis:PutRecords`); most act on a stream
//! (`arn:aws:kinesis:<region>:<account>:stream/<name>`), named by `StreamARN` or `StreamName` — and `GetRecords`,
//! whose request names only a shard iterator, on the stream the iterator reads. `ListStreams`, `DescribeLimits` and
//! the account settings have no resource (`*`); the consumer operations act on a consumer ARN; the resource-policy
//! and tagging operations on their `ResourceARN`.

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("kinesis:{operation}");
    let empty = Value::Null;
    let body = call.json().unwrap_or(&empty);
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let stream = || -> Option<String> {
        field("StreamARN")
            .map(str::to_owned)
            .or_else(|| field("StreamName").map(|name| arn("kinesis", call.region(), &format!("stream/{name}"))))
    };
    let resource = match operation {
        "ListStreams" | "DescribeLimits" | "DescribeAccountSettings" | "UpdateAccountSettings" => Some("*".to_owned()),
        "GetRecords" => field("StreamARN").map(str::to_owned).or_else(|| {
            field("ShardIterator").and_then(|iterator| crate::gateway::stream_of_iterator(iterator, call.region()))
        }),
        "SubscribeToShard" | "DeregisterStreamConsumer" => field("ConsumerARN").map(str::to_owned),
        "DescribeStreamConsumer" => field("ConsumerARN")
            .map(str::to_owned)
            .or_else(|| Some(format!("{}/consumer/{}:*", stream()?, field("ConsumerName")?))),
        "TagResource"
        | "UntagResource"
        | "ListTagsForResource"
        | "GetResourcePolicy"
        | "PutResourcePolicy"
        | "DeleteResourcePolicy" => field("ResourceARN").map(str::to_owned),
        // ListShards pages on with a NextToken alone; the token names no stream the gateway can read, so the
        // request is authorised as on every stream.
        "ListShards" => stream().or_else(|| field("NextToken").map(|_| "*".to_owned())),
        _ => stream(),
    };
    match resource {
        Some(resource) => Needs::one(&action, resource),
        // A request without its stream is refused by Kinesis itself (a validation error); authorised as on every
        // stream, so that the learner sees Kinesis's own error.
        None => Needs::one(&action, "*"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    fn kinesis(operation: &str, body: &str) -> Needs {
        needs(&call(
            "kinesis",
            "POST",
            "/",
            Some(&format!("Kinesis_20131202.{operation}")),
            body,
        ))
    }

    #[test]
    fn stream_operations_act_on_the_stream_by_name_or_arn() {
        let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
        assert_eq!(
            kinesis("PutRecords", r#"{"StreamName":"TelemetricStream","Records":[]}"#),
            Needs::one("kinesis:PutRecords", stream)
        );
        assert_eq!(
            kinesis("DescribeStreamSummary", &format!(r#"{{"StreamARN":"{stream}"}}"#)),
            Needs::one("kinesis:DescribeStreamSummary", stream)
        );
        assert_eq!(kinesis("ListStreams", "{}"), Needs::one("kinesis:ListStreams", "*"));
    }
}
