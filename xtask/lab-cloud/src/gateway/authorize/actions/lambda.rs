//! AWS Lambda: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html>. Lambda is
//! REST-JSON: the operation is the method and the path (`/2015-03-31/functions/<name>/invocations`). Function
//! operations act on `arn:aws:lambda:<region>:<account>:function:<name>` (the path may name a function by name,
//! partial ARN or ARN); an event source mapping's on `…:event-source-mapping:<uuid>`, and creating or listing them
//! on `*`. Creating a function, or changing its role, passes the role (`iam:PassRole`).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let path = call.path().trim_end_matches('/');
    let segments: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = call.method().as_str();
    let function = |name: &str| function_arn(name, call.region());
    let one = |action: &str, resource: String| Needs::one(action, resource);
    let passed_role = || {
        call.json()
            .and_then(|body| body.get("Role"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (method, segments.as_slice()) {
        ("POST", [_, "functions"]) => {
            let name = call
                .json()
                .and_then(|b| b.get("FunctionName"))
                .and_then(Value::as_str)
                .unwrap_or("*");
            let mut requests = vec![("lambda:CreateFunction".to_owned(), function(name))];
            requests.extend(passed_role().map(|role| ("iam:PassRole".to_owned(), role)));
            Needs::Requests(requests)
        }
        ("GET", [_, "functions"]) => one("lambda:ListFunctions", "*".to_owned()),
        ("GET", [_, "functions", name]) => one("lambda:GetFunction", function(name)),
        ("DELETE", [_, "functions", name]) => one("lambda:DeleteFunction", function(name)),
        ("GET", [_, "functions", name, "configuration"]) => one("lambda:GetFunctionConfiguration", function(name)),
        ("PUT", [_, "functions", name, "configuration"]) => {
            let mut requests = vec![("lambda:UpdateFunctionConfiguration".to_owned(), function(name))];
            requests.extend(passed_role().map(|role| ("iam:PassRole".to_owned(), role)));
            Needs::Requests(requests)
        }
        ("PUT", [_, "functions", name, "code"]) => one("lambda:UpdateFunctionCode", function(name)),
        ("POST", [_, "functions", name, "invocations"]) => one("lambda:InvokeFunction", function(name)),
        ("POST", [_, "functions", name, "invoke-async"]) => one("lambda:InvokeAsync", function(name)),
        ("POST", [_, "functions", name, "policy"]) => one("lambda:AddPermission", function(name)),
        ("GET", [_, "functions", name, "policy"]) => one("lambda:GetPolicy", function(name)),
        ("DELETE", [_, "functions", name, "policy", _]) => one("lambda:RemovePermission", function(name)),
        ("POST", [_, "functions", name, "versions"]) => one("lambda:PublishVersion", function(name)),
        ("GET", [_, "functions", name, "versions"]) => one("lambda:ListVersionsByFunction", function(name)),
        ("PUT", [_, "functions", name, "concurrency"]) => one("lambda:PutFunctionConcurrency", function(name)),
        ("GET" | "PUT" | "POST" | "DELETE", [_, "functions", name, "event-invoke-config"]) => {
            let action = match method {
                "GET" => "lambda:GetFunctionEventInvokeConfig",
                "DELETE" => "lambda:DeleteFunctionEventInvokeConfig",
                "POST" => "lambda:UpdateFunctionEventInvokeConfig",
                _ => "lambda:PutFunctionEventInvokeConfig",
            };
            one(action, function(name))
        }
        ("POST", [_, "event-source-mappings"]) => one("lambda:CreateEventSourceMapping", "*".to_owned()),
        ("GET", [_, "event-source-mappings"]) => one("lambda:ListEventSourceMappings", "*".to_owned()),
        ("GET", [_, "event-source-mappings", uuid]) => one("lambda:GetEventSourceMapping", mapping(uuid, call)),
        ("PUT", [_, "event-source-mappings", uuid]) => one("lambda:UpdateEventSourceMapping", mapping(uuid, call)),
        ("DELETE", [_, "event-source-mappings", uuid]) => one("lambda:DeleteEventSourceMapping", mapping(uuid, call)),
        ("POST", [_, "tags", resource]) => one("lambda:TagResource", (*resource).to_owned()),
        ("GET", [_, "tags", resource]) => one("lambda:ListTags", (*resource).to_owned()),
        ("DELETE", [_, "tags", resource]) => one("lambda:UntagResource", (*resource).to_owned()),
        ("GET", [_, "account-settings"]) => one("lambda:GetAccountSettings", "*".to_owned()),
        _ => unknown(call),
    }
}

fn mapping(uuid: &str, call: &Call) -> String {
    arn("lambda", call.region(), &format!("event-source-mapping:{uuid}"))
}

/// A function's ARN from a path's name: `name`, `name:qualifier`, `123456789012:function:name` or a whole ARN.
fn function_arn(name: &str, region: &str) -> String {
    if name.starts_with("arn:") {
        return name.to_owned();
    }
    let bare = name.rsplit("function:").next().unwrap_or(name);
    arn("lambda", region, &format!("function:{bare}"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    #[test]
    fn invoking_and_creating_name_the_function_and_its_role() {
        let invoke = needs(&call(
            "lambda",
            "POST",
            "/2015-03-31/functions/producer/invocations",
            None,
            "{}",
        ));
        assert_eq!(
            invoke,
            Needs::one(
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:123456789012:function:producer"
            )
        );
        let body = r#"{"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r"}"#;
        let create = needs(&call("lambda", "POST", "/2015-03-31/functions", None, body));
        assert_eq!(
            create,
            Needs::Requests(vec![
                (
                    "lambda:CreateFunction".into(),
                    "arn:aws:lambda:us-east-1:123456789012:function:f".into()
                ),
                ("iam:PassRole".into(), "arn:aws:iam::123456789012:role/r".into()),
            ])
        );
        let by_arn = needs(&call(
            "lambda",
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af",
            None,
            "",
        ));
        assert_eq!(
            by_arn,
            Needs::one("lambda:GetFunction", "arn:aws:lambda:us-east-1:123456789012:function:f")
        );
    }
}
