//! Amazon Data Firehose: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisfirehose.html>.
//! Every operation is the action of the same name on the delivery stream
//! (`arn:aws:firehose:<region>:<account>:deliverystream/<name>`), but `ListDeliveryStreams` (`*`). Creating a
//! delivery stream or changing its destination also passes its roles (`iam:PassRole`, "Grant Firehose access").

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let empty = Value::Null;
    let body = call.json().unwrap_or(&empty);
    let action = format!("firehose:{operation}");
    if operation == "ListDeliveryStreams" {
        return Needs::one(&action, "*");
    }
    let resource = body.get("DeliveryStreamName").and_then(Value::as_str).map_or_else(
        || "*".to_owned(),
        |name| arn("firehose", call.region(), &format!("deliverystream/{name}")),
    );
    let mut requests = vec![(action, resource)];
    if matches!(operation, "CreateDeliveryStream" | "UpdateDestination") {
        requests.extend(
            passed_roles(body)
                .into_iter()
                .map(|role| ("iam:PassRole".to_owned(), role)),
        );
    }
    Needs::Requests(requests)
}

/// Every `RoleARN` anywhere in the request (the source's, each destination's, a processor's).
fn passed_roles(body: &Value) -> Vec<String> {
    let mut roles = vec![];
    let mut stack = vec![body];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(fields) => {
                for (name, field) in fields {
                    match (name.as_str(), field) {
                        ("RoleARN", Value::String(role)) if !roles.contains(role) => roles.push(role.clone()),
                        _ => stack.push(field),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    #[test]
    fn creating_a_delivery_stream_passes_each_of_its_roles() {
        let body = r#"{"DeliveryStreamName":"d","KinesisStreamSourceConfiguration":{"RoleARN":"arn:aws:iam::123456789012:role/f"},
                       "ExtendedS3DestinationConfiguration":{"RoleARN":"arn:aws:iam::123456789012:role/f","BucketARN":"arn:aws:s3:::b"}}"#;
        let needed = needs(&call(
            "firehose",
            "POST",
            "/",
            Some("Firehose_20150804.CreateDeliveryStream"),
            body,
        ));
        assert_eq!(
            needed,
            Needs::Requests(vec![
                (
                    "firehose:CreateDeliveryStream".into(),
                    "arn:aws:firehose:us-east-1:123456789012:deliverystream/d".into()
                ),
                ("iam:PassRole".into(), "arn:aws:iam::123456789012:role/f".into()),
            ])
        );
    }
}
