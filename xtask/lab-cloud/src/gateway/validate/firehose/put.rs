//! `PutRecord` and `PutRecordBatch` on a delivery stream whose source is a Kinesis stream: AWS refuses them with
//! `InvalidArgumentException: This operation is not permitted on KinesisStreamAsSource delivery stream type.` (the
//! records it delivers are its stream's; reported in <https://github.com/aws/aws-cli/issues/7010>; "A Firehose
//! stream can be configured to receive records directly from providers using PutRecord or PutRecordBatch, or it can be
//! configured to use an existing Kinesis stream as its source",
//! <https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html>). The emulator would take
//! them and write them to S3 itself.

use super::{Context, invalid_argument};
use crate::gateway::call::Call;
use crate::gateway::errors::AwsError;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderName, HeaderValue, Request};
use bytes::Bytes;
use serde_json::{Value, json};

pub async fn check(call: &Call, body: &Value, context: &Context<'_>) -> Result<(), AwsError> {
    let name = body["DeliveryStreamName"].as_str().unwrap_or_default();
    let description = describe(call, name, context).await;
    if description.is_some_and(|d| d["DeliveryStreamType"].as_str() == Some("KinesisStreamAsSource")) {
        return Err(invalid_argument(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
        ));
    }
    Ok(())
}

/// The emulator's description of a delivery stream (`DeliveryStreamDescription`), `None` if it has none: asked as
/// the caller asked (its signature and region), so that the emulator answers for the same account and region.
pub async fn describe(call: &Call, name: &str, context: &Context<'_>) -> Option<Value> {
    let mut request = Request::post("/").body(()).expect("a static request").into_parts().0;
    let headers = &mut request.headers;
    if let Some(host) = call.header("host").and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(HOST, host);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    headers.insert(
        HeaderName::from_static("x-amz-target"),
        HeaderValue::from_static("Firehose_20150804.DescribeDeliveryStream"),
    );
    for header in ["authorization", "x-amz-date", "x-amz-security-token"] {
        if let Some(value) = call.header(header).and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(HeaderName::from_static(header), value);
        }
    }
    let body = Bytes::from(json!({ "DeliveryStreamName": name }).to_string());
    let answer = context.upstream.exchange(&request, body).await.ok()?;
    let description: Value = serde_json::from_slice(&answer.body).ok()?;
    answer
        .status
        .is_success()
        .then(|| description["DeliveryStreamDescription"].clone())
}
