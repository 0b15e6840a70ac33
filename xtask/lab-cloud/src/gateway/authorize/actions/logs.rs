//! Amazon CloudWatch Logs: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html>.
//! Log-group operations act on `arn:aws:logs:<region>:<account>:log-group:<name>`; writing and reading a stream's
//! events on `…:log-group:<group>:log-stream:<stream>` (`PutLogEvents`, `GetLogEvents`); describing groups on `*`.
//! What Lambda writes for a function, with the function's role, is `CreateLogGroup`, `CreateLogStream` and
//! `PutLogEvents` (the managed policy `AWSLambdaBasicExecutionRole`).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("logs:{operation}");
    let empty = Value::Null;
    let body = call.json().unwrap_or(&empty);
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let group = |name: &str| arn("logs", call.region(), &format!("log-group:{name}"));
    let resource = match operation {
        "DescribeLogGroups" => "*".to_owned(),
        "PutLogEvents" | "GetLogEvents" => match (field("logGroupName"), field("logStreamName")) {
            (Some(g), Some(s)) => format!("{}:log-stream:{s}", group(g)),
            _ => "*".to_owned(),
        },
        "TagResource" | "UntagResource" | "ListTagsForResource" => field("resourceArn").unwrap_or("*").to_owned(),
        _ => field("logGroupName").map_or_else(|| "*".to_owned(), group),
    };
    Needs::one(&action, resource)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    #[test]
    fn a_functions_log_writes_name_its_group_and_stream() {
        let body = r#"{"logGroupName":"/aws/lambda/p","logStreamName":"2026/12/06/[$LATEST]abc","logEvents":[]}"#;
        assert_eq!(
            needs(&call("logs", "POST", "/", Some("Logs_20140328.PutLogEvents"), body)),
            Needs::one(
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/p:log-stream:2026/12/06/[$LATEST]abc"
            )
        );
        let create = r#"{"logGroupName":"/aws/lambda/p"}"#;
        assert_eq!(
            needs(&call("logs", "POST", "/", Some("Logs_20140328.CreateLogGroup"), create)),
            Needs::one(
                "logs:CreateLogGroup",
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/p"
            )
        );
    }
}
