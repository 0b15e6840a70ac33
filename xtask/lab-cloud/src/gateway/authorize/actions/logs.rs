//! Amazon CloudWatch Logs: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html>.
//! Log-group operations act on `arn:aws:logs:<region>:<account>:log-group:<name>`; writing and reading a stream's
//! events on `…:log-group:<group>:log-stream:<stream>` (`PutLogEvents`, `GetLogEvents`); describing groups on `*`.
//! What Lambda writes for a function, with the function's role, is `CreateLogGroup`, `CreateLogStream` and
//! `PutLogEvents` (the managed policy `AWSLambdaBasicExecutionRole`).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde::Deserialize;

/// The fields that name the resource. Read alone, the rest skipped: a function's `PutLogEvents` carries up to a
/// megabyte of log lines, and reading all of it into a JSON tree only to find two names was most of what
/// authorising the lab's calls cost (10–27 ms a call, measured; the emulator reads the body itself).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Names {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    resource_arn: Option<String>,
}

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("logs:{operation}");
    let names: Names = serde_json::from_slice(&call.body).unwrap_or_default();
    let group = |name: &str| arn("logs", call.region(), &format!("log-group:{name}"));
    let resource = match operation {
        "DescribeLogGroups" => "*".to_owned(),
        "PutLogEvents" | "GetLogEvents" => match (&names.log_group_name, &names.log_stream_name) {
            (Some(g), Some(s)) => format!("{}:log-stream:{s}", group(g)),
            _ => "*".to_owned(),
        },
        "TagResource" | "UntagResource" | "ListTagsForResource" => names.resource_arn.unwrap_or_else(|| "*".to_owned()),
        _ => names.log_group_name.as_deref().map_or_else(|| "*".to_owned(), group),
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
