//! Each stream's twin in the emulator. moto's Lambda control plane refuses `CreateEventSourceMapping` for a stream
//! ARN that moto's own Kinesis does not hold (moto 5.2.5, `moto/awslambda/models.py`, `create_event_source_mapping`
//! looks the stream up in its Kinesis backend), and its Firehose likewise reads a Kinesis source's description from
//! there. So when the engine creates a stream it also creates one of the same name (one shard) in moto, through
//! the upstream, signed as the client signed its call (moto reads the region from the signature and checks
//! nothing else), and deletes it when the stream is deleted. Nothing reads or writes data in moto's twin: every
//! Kinesis call goes to the engine.

use super::store::StreamKey;
use super::{ACCOUNT, Kinesis};
use crate::gateway::call::Call;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

/// The client's signature headers, with the credential scope's region set to the stream's (a call may name a
/// stream by an ARN of another region than it was signed for).
fn headers_for(call: &Call, region: &str) -> HeaderMap {
    let mut headers = call.parts.headers.clone();
    let scoped = call.scope.as_ref().map(|scope| {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/{region}/kinesis/aws4_request, SignedHeaders=host, Signature=0",
            scope.access_key, scope.date
        )
    });
    let authorization = scoped.unwrap_or_else(|| {
        format!(
            "AWS4-HMAC-SHA256 Credential=local/20260101/{region}/kinesis/aws4_request, SignedHeaders=host, Signature=0"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&authorization) {
        headers.insert("authorization", value);
    }
    headers
}

/// The error type of an emulator's answer, if it is one.
fn error_type(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| {
            body["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
        })
        .unwrap_or_default()
}

impl Kinesis {
    /// Creates the stream's twin in moto; an error says why it could not.
    pub(super) async fn register(&self, call: &Call, key: &StreamKey) -> Result<(), String> {
        let body = json!({ "StreamName": key.name, "ShardCount": 1 })
            .to_string()
            .into_bytes();
        let answer = self
            .upstream
            .kinesis(&headers_for(call, &key.region), "CreateStream", body)
            .await
            .map_err(|error| format!("{error:#}"))?;
        // A twin left from an earlier engine (a restarted `lab-cloud serve` over the same moto) is as good.
        if answer.status == StatusCode::OK || error_type(&answer.body) == "ResourceInUseException" {
            return Ok(());
        }
        Err(format!(
            "moto answered HTTP {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ))
    }

    /// Deletes the twin (a twin already gone is fine; any other failure is logged: the engine's stream is gone
    /// either way, and a twin left over only lets a mapping be created for a stream that is not there).
    pub(super) async fn deregister(&self, call: &Call, key: &StreamKey) {
        let body = json!({ "StreamName": key.name, "EnforceConsumerDeletion": true })
            .to_string()
            .into_bytes();
        match self
            .upstream
            .kinesis(&headers_for(call, &key.region), "DeleteStream", body)
            .await
        {
            Ok(answer) if answer.status == StatusCode::OK => {}
            Ok(answer) if error_type(&answer.body) == "ResourceNotFoundException" => {}
            Ok(answer) => eprintln!(
                "gateway: moto did not delete the twin of stream {} (account {ACCOUNT}): HTTP {}",
                key.name, answer.status
            ),
            Err(error) => eprintln!(
                "gateway: moto did not delete the twin of stream {}: {error:#}",
                key.name
            ),
        }
    }
}
