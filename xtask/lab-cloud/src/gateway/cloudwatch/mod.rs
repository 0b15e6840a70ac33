//! CloudWatch through the front door: every call is stored and answered by the emulator (moto 5.2.5), with three
//! things added where moto and AWS part ways.
//!
//! - **The Rust SDK's protocol.** aws-sdk-cloudwatch speaks only smithy RPC v2 CBOR
//!   (`/service/GraniteServiceVersion20100801/operation/<Op>`), which moto does not: the call is passed on in AWS
//!   JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), which moto speaks, and its answer turned back
//!   into CBOR ([`cbor`]). botocore (JSON 1.0) and older clients (query) reach moto as they came.
//! - **`PutMetricAlarm` validated** as AWS validates it ([`validate`]), before anything is stored.
//! - **An alarm's state as AWS keeps it.** "When this operation creates an alarm, the alarm state is immediately
//!   set to INSUFFICIENT_DATA ... When you update an existing alarm, its state is left unchanged"
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>); moto starts
//!   every alarm, new or updated, at OK. The front door sets the state CloudWatch would have after moto stores it.
//!
//! The alarms are evaluated, and their actions carried out, by the runtime (`runtime::alarms`), not here.

pub mod cbor;
pub mod validate;

use super::call::{Call, Protocol, query_pairs};
use super::errors::AwsError;
use super::upstream::{Buffered, Upstream};
use axum::body::Body;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// CloudWatch's timestamp and double members (its service model, botocore 1.44's `cloudwatch/2010-08-01`).
pub const SHAPES: cbor::Shapes = cbor::Shapes {
    timestamps: &[
        "AlarmConfigurationUpdatedTimestamp",
        "CreatedAt",
        "CreationDate",
        "EndDate",
        "EndTime",
        "ExpireDate",
        "LastModified",
        "LastUpdateDate",
        "LastUpdatedTimestamp",
        "StartDate",
        "StartTime",
        "StateTransitionedTimestamp",
        "StateUpdatedTimestamp",
        "Timestamp",
        "Timestamps",
        "UpdatedAt",
    ],
    doubles: &[
        "AggregateValue",
        "ApproximateAggregateValue",
        "ApproximateValue",
        "Average",
        "MaxContributorValue",
        "Maximum",
        "Minimum",
        "SampleCount",
        "Sum",
        "Threshold",
        "UniqueContributors",
        "Value",
        "Counts",
        "Values",
    ],
    double_maps: &["ExtendedStatistics"],
};

/// CloudWatch's JSON 1.0 target prefix.
const TARGET: &str = "GraniteServiceVersion20100801";

/// The reason CloudWatch gives a new alarm's first state.
pub const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

/// Serves one CloudWatch call (already authenticated and authorised).
pub async fn serve(upstream: &Upstream, call: Call) -> Response<Body> {
    let protocol = call.protocol;
    let Some(input) = parameters(&call) else {
        return AwsError::bad_request("SerializationException", "the request's body could not be read")
            .response(protocol);
    };
    let creating_alarm = call.operation.as_deref() == Some("PutMetricAlarm");
    let mut before = None;
    if creating_alarm {
        if let Err(error) = validate::put_metric_alarm(&input) {
            return error.response(protocol);
        }
        let name = input["AlarmName"].as_str().unwrap_or_default();
        before = Some(alarm(upstream, &call.parts.headers, name).await);
    }
    let headers = call.parts.headers.clone();
    let answer = if protocol == Protocol::Cbor {
        match moto_json(upstream, &call, &input).await {
            Ok(answer) => answer,
            Err(error) => return error.response(protocol),
        }
    } else {
        let body = call.body.clone();
        match upstream.exchange(&call.parts, body).await {
            Ok(answer) => answer,
            Err(error) => return super::upstream::unreachable_upstream(&error),
        }
    };
    if let Some(before) = before
        && answer.status.is_success()
    {
        let name = input["AlarmName"].as_str().unwrap_or_default();
        let (state, reason, data) = match &before {
            Some(alarm) => (
                alarm["StateValue"].as_str().unwrap_or("INSUFFICIENT_DATA"),
                alarm["StateReason"].as_str().unwrap_or(INITIAL_REASON),
                alarm["StateReasonData"].as_str(),
            ),
            None => ("INSUFFICIENT_DATA", INITIAL_REASON, None),
        };
        if let Err(error) = set_state(upstream, &headers, name, state, reason, data).await {
            return AwsError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceError",
                format!("the local cloud stored the alarm but could not set its state: {error:#}"),
            )
            .response(protocol);
        }
    }
    if protocol == Protocol::Cbor {
        cbor_answer(answer)
    } else {
        buffered_response(answer)
    }
}

/// The call's parameters as JSON, whatever its protocol (the query form read as AWS JSON would name it).
pub fn parameters(call: &Call) -> Option<Value> {
    match call.protocol {
        Protocol::Query => {
            let form = std::str::from_utf8(&call.body).ok()?;
            Some(query_to_json(
                query_pairs(form).chain(query_pairs(call.parts.uri.query().unwrap_or(""))),
            ))
        }
        _ if call.body.is_empty() => Some(Value::Object(Map::new())),
        _ => call.json().cloned(),
    }
}

/// A query form as JSON: `Dimensions.member.1.Name=StreamName` → `{"Dimensions": [{"Name": "StreamName"}]}`.
/// Every value stays text (the query protocol has no numbers); the checks read numbers from text too.
pub fn query_to_json(pairs: impl Iterator<Item = (String, String)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let mut segments = key.split('.').peekable();
        let mut node = &mut root;
        while let Some(segment) = segments.next() {
            let last = segments.peek().is_none();
            if segment == "member" || segment == "entry" {
                let index: usize = segments.next().and_then(|n| n.parse().ok()).unwrap_or(1).max(1) - 1;
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let items = node.as_array_mut().expect("an array");
                while items.len() <= index {
                    items.push(Value::Object(Map::new()));
                }
                if segments.peek().is_none() {
                    items[index] = Value::from(value.clone());
                    break;
                }
                node = &mut items[index];
                continue;
            }
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let members = node.as_object_mut().expect("an object");
            if last {
                members.insert(segment.to_owned(), Value::from(value.clone()));
                break;
            }
            node = members.entry(segment.to_owned()).or_insert(Value::Null);
        }
    }
    root
}

/// Passes a CBOR call on to moto in AWS JSON 1.0.
async fn moto_json(upstream: &Upstream, call: &Call, input: &Value) -> Result<Buffered, AwsError> {
    let operation = call.operation.clone().unwrap_or_default();
    let mut parts = call.parts.clone();
    parts.uri = "/".parse().expect("a static path");
    for name in ["smithy-protocol", "accept", "x-amzn-query-mode"] {
        parts.headers.remove(name);
    }
    parts.headers.remove(CONTENT_ENCODING);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
    let target = HeaderValue::from_str(&format!("{TARGET}.{operation}"))
        .map_err(|_| AwsError::bad_request("SerializationException", "an operation name that is not a header"))?;
    parts.headers.insert("x-amz-target", target);
    let body = Bytes::from(input.to_string());
    upstream.exchange(&parts, body).await.map_err(|error| {
        AwsError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "ServiceUnavailable",
            format!("the local cloud's gateway could not reach the emulator: {error:#}"),
        )
    })
}

/// moto's JSON answer, in CBOR: the result as a CBOR map, an error as smithy RPC v2 CBOR errors are.
fn cbor_answer(answer: Buffered) -> Response<Body> {
    let json: Value = if answer.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| json!({ "message": String::from_utf8_lossy(&answer.body) }))
    };
    if !answer.status.is_success() {
        let code = json["__type"].as_str().unwrap_or("InternalServiceError");
        let code = code.rsplit('#').next().unwrap_or(code);
        let message = json["message"]
            .as_str()
            .or(json["Message"].as_str())
            .unwrap_or_default();
        return AwsError::new(answer.status, code, message).response(Protocol::Cbor);
    }
    let mut response = Response::new(Body::from(cbor::from_json(&json, &SHAPES)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    if let Some(id) = answer.headers.get("x-amzn-requestid") {
        headers.insert("x-amzn-requestid", id.clone());
    }
    response
}

fn buffered_response(answer: Buffered) -> Response<Body> {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}

/// A JSON 1.0 call of the front door's own to moto's CloudWatch, signed as the client's request was (moto reads the
/// account and region from the signature).
pub async fn moto_call(
    upstream: &Upstream,
    client: &HeaderMap,
    operation: &str,
    input: &Value,
) -> anyhow::Result<Value> {
    let answer = upstream
        .json_rpc(
            client,
            "application/x-amz-json-1.0",
            &format!("{TARGET}.{operation}"),
            input.to_string().into_bytes(),
        )
        .await?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if !answer.status.is_success() {
        anyhow::bail!("CloudWatch {operation} answered {}: {body}", answer.status);
    }
    Ok(body)
}

/// The alarm as moto describes it, if it exists.
async fn alarm(upstream: &Upstream, client: &HeaderMap, name: &str) -> Option<Value> {
    let answer = moto_call(upstream, client, "DescribeAlarms", &json!({ "AlarmNames": [name] }))
        .await
        .ok()?;
    answer["MetricAlarms"].as_array()?.first().cloned()
}

async fn set_state(
    upstream: &Upstream,
    client: &HeaderMap,
    name: &str,
    state: &str,
    reason: &str,
    data: Option<&str>,
) -> anyhow::Result<()> {
    let mut input = json!({ "AlarmName": name, "StateValue": state, "StateReason": reason });
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        input["StateReasonData"] = Value::from(data);
    }
    moto_call(upstream, client, "SetAlarmState", &input).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_form_reads_as_the_json_protocols_name_it() {
        let form = "Action=PutMetricAlarm&AlarmName=a&Period=60&Dimensions.member.1.Name=StreamName&\
                    Dimensions.member.1.Value=s&AlarmActions.member.2=arn2&AlarmActions.member.1=arn1";
        let json = query_to_json(query_pairs(form));
        assert_eq!(json["AlarmName"], "a");
        assert_eq!(json["Period"], "60");
        assert_eq!(json["Dimensions"], json!([{"Name": "StreamName", "Value": "s"}]));
        assert_eq!(json["AlarmActions"], json!(["arn1", "arn2"]));
    }
}
