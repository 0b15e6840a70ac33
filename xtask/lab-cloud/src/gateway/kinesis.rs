//! The Kinesis operations the gateway looks into: writes are admitted per shard before they reach the emulator,
//! reads are admitted per shard and cut to one call's maximum on the way back.

use super::Shared;
use super::limits::ShardKey;
use super::shards::{self, DEFAULT_ACCOUNT, StreamRef, StreamShards, hash_key, iterator_after, iterator_position};
use super::upstream::{Buffered, unreachable_upstream};
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, request};
use bytes::Bytes;
use lab_contract::FaultKind;
use serde_json::{Value, json};
use std::sync::Arc;

const JSON_1_1: &str = "application/x-amz-json-1.1";
const THROTTLED: &str = "ProvisionedThroughputExceededException";
/// The per-record error of a `PutRecords` entry Kinesis failed to store for a reason of its own (API reference:
/// "ErrorCode ... ProvisionedThroughputExceededException or InternalFailure").
const INTERNAL_FAILURE: &str = "InternalFailure";

/// Why an entry of a `PutRecords` call was not sent on to the emulator.
#[derive(Clone, Copy, PartialEq)]
enum Refusal {
    Throttled,
    /// `--faults put-internal=...`.
    InternalFailure,
}

/// PutRecords' own request limits (API reference): the emulator answers a request beyond them with its error, so
/// the gateway forwards such a request untouched and counts nothing.
const MAX_ENTRIES: usize = 500;
const MAX_RECORD_BYTES: u64 = 1024 * 1024;
const MAX_REQUEST_BYTES: u64 = 5 * 1024 * 1024;

/// A Kinesis request read whole.
pub struct Call {
    pub parts: request::Parts,
    pub body: Bytes,
}

impl Call {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn authorization(&self) -> Option<&str> {
        self.parts
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
    }
}

/// One record of a write: where it goes and how much of the shard's allowance it takes.
struct Entry {
    shard: ShardKey,
    bytes: u64,
}

/// The bytes a record counts for: its data (sent in base64) plus its partition key.
fn record_bytes(record: &Value) -> Option<u64> {
    let data = record.get("Data")?.as_str()?;
    let padding = data.bytes().rev().take_while(|&b| b == b'=').count();
    let key = record.get("PartitionKey")?.as_str()?;
    Some(((data.len() - padding) * 3 / 4 + key.len()) as u64)
}

impl Shared {
    /// The stream's shards: from the cache, or described by the emulator (`refresh` skips the cache).
    async fn stream_shards(&self, call: &Call, stream: &StreamRef, refresh: bool) -> Option<Arc<StreamShards>> {
        if !refresh && let Some(shards) = self.streams.get(stream) {
            return Some(shards);
        }
        let request = json!({ "StreamName": stream.name }).to_string().into_bytes();
        let answer = self
            .upstream
            .kinesis(&call.parts.headers, "DescribeStream", request)
            .await
            .ok()?;
        let description = serde_json::from_slice(&answer.body).ok()?;
        let shards = StreamShards::from_description(&description)?;
        Some(self.streams.insert(stream.clone(), shards))
    }

    /// Each record's shard and size, or `None` when a record cannot be routed (the emulator then answers the
    /// request itself). A hash key no cached shard holds means the stream changed: described again, once.
    async fn route(
        &self,
        call: &Call,
        stream: &StreamRef,
        records: &[Value],
    ) -> Option<(Vec<Entry>, Arc<StreamShards>)> {
        let mut refresh = false;
        loop {
            let shards = self.stream_shards(call, stream, refresh).await?;
            let routed: Option<Vec<Entry>> = records
                .iter()
                .map(|record| {
                    let key = record.get("PartitionKey")?.as_str()?;
                    let explicit = record.get("ExplicitHashKey").and_then(Value::as_str);
                    let shard_id = shards.shard_for(hash_key(key, explicit)?)?;
                    Some(Entry {
                        shard: ShardKey {
                            region: stream.region.clone(),
                            stream: stream.name.clone(),
                            shard_id: shard_id.to_owned(),
                        },
                        bytes: record_bytes(record)?,
                    })
                })
                .collect();
            match routed {
                Some(entries) => return Some((entries, shards)),
                None if !refresh => refresh = true,
                None => return None,
            }
        }
    }

    /// `PutRecords`: every entry its shard refuses comes back in place with AWS's per-record error and is not
    /// sent on; the rest are stored by the emulator and its results merged back in the request's order.
    pub async fn put_records(&self, call: Call) -> Response<Body> {
        let Some((mut request, stream)) = self.write_request(&call) else {
            return self.forward(call).await;
        };
        let records = request["Records"].as_array().cloned().unwrap_or_default();
        let sizes: Option<Vec<u64>> = records.iter().map(record_bytes).collect();
        let within_request_limits = sizes.is_some_and(|sizes| {
            !sizes.is_empty()
                && sizes.len() <= MAX_ENTRIES
                && sizes.iter().all(|&size| size <= MAX_RECORD_BYTES)
                && sizes.iter().sum::<u64>() <= MAX_REQUEST_BYTES
        });
        if !within_request_limits {
            return self.forward(call).await;
        }
        let Some((entries, shards)) = self.route(&call, &stream, &records).await else {
            return self.forward(call).await;
        };
        if let Some(fault) = self.whole_call_fault() {
            return fault;
        }
        // An entry struck by `put-internal` is refused before it is counted against its shard.
        let refusals: Vec<Option<Refusal>> = entries
            .iter()
            .map(|e| {
                if self.faults.strikes(FaultKind::PutInternal) {
                    Some(Refusal::InternalFailure)
                } else if self.ledger.admit_write(&e.shard, e.bytes) {
                    None
                } else {
                    Some(Refusal::Throttled)
                }
            })
            .collect();
        let forwarded: Vec<Value> = records
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|(record, _)| record.clone())
            .collect();

        let everything = forwarded.len() == records.len();
        let answer = if forwarded.is_empty() {
            None
        } else if everything {
            Some(self.upstream.exchange(&call.parts, call.body.clone()).await)
        } else {
            request["Records"] = Value::Array(forwarded);
            let body = Bytes::from(serde_json::to_vec(&request).expect("JSON serialises"));
            Some(self.upstream.exchange(&call.parts, body).await)
        };
        let (stored, answer) = match answer {
            None => (json!({ "FailedRecordCount": 0, "Records": [] }), None),
            Some(Err(error)) => return unreachable_upstream(&error),
            Some(Ok(answer)) => match serde_json::from_slice::<Value>(&answer.body) {
                Ok(stored) if answer.status == StatusCode::OK => (stored, Some(answer)),
                _ => return buffered_response(answer),
            },
        };
        let merged = self.merge_put_records(&stream, &shards, &entries, &refusals, stored);
        match answer {
            // Nothing refused: the emulator's own answer, as it sent it.
            Some(answer) if everything => buffered_response(answer),
            _ => json_response(StatusCode::OK, &merged),
        }
    }

    /// The request's JSON and the stream it writes to, when both can be read.
    fn write_request(&self, call: &Call) -> Option<(Value, StreamRef)> {
        let request = call.json()?;
        let stream = StreamRef::of_request(&request, call.authorization())?;
        Some((request, stream))
    }

    /// The emulator's results for the forwarded entries, with the refused ones put back in their places.
    fn merge_put_records(
        &self,
        stream: &StreamRef,
        shards: &StreamShards,
        entries: &[Entry],
        refusals: &[Option<Refusal>],
        mut stored: Value,
    ) -> Value {
        let mut results = stored["Records"].as_array().cloned().unwrap_or_default().into_iter();
        let mut failed = stored["FailedRecordCount"].as_u64().unwrap_or(0);
        let mut merged = Vec::with_capacity(entries.len());
        for (entry, refusal) in entries.iter().zip(refusals) {
            match refusal {
                Some(Refusal::Throttled) => {
                    failed += 1;
                    let message = throttle_message(&entry.shard, shards);
                    merged.push(json!({ "ErrorCode": THROTTLED, "ErrorMessage": message }));
                    continue;
                }
                Some(Refusal::InternalFailure) => {
                    failed += 1;
                    merged.push(json!({ "ErrorCode": INTERNAL_FAILURE, "ErrorMessage": "Internal service failure." }));
                    continue;
                }
                None => {}
            }
            let result = results
                .next()
                .unwrap_or_else(|| json!({ "ErrorCode": "InternalFailure" }));
            self.settle_write(stream, entry, &result);
            merged.push(result);
        }
        stored["FailedRecordCount"] = failed.into();
        stored["Records"] = Value::Array(merged);
        stored
    }

    /// Counts a record the emulator stored; if it stored it on another shard than the gateway expected, the
    /// stream was reshaped behind the gateway's back and its shards are described again next time.
    fn settle_write(&self, stream: &StreamRef, entry: &Entry, result: &Value) {
        let Some(shard_id) = result.get("ShardId").and_then(Value::as_str) else {
            return;
        };
        self.ledger.record_written(&entry.shard, entry.bytes);
        if shard_id != entry.shard.shard_id {
            self.streams.forget(stream);
        }
    }

    /// `PutRecord`: refused with HTTP 400 and `ProvisionedThroughputExceededException` when its shard is full.
    pub async fn put_record(&self, call: Call) -> Response<Body> {
        let Some((request, stream)) = self.write_request(&call) else {
            return self.forward(call).await;
        };
        let record = std::slice::from_ref(&request);
        if record_bytes(&request).is_none_or(|size| size > MAX_RECORD_BYTES) {
            return self.forward(call).await;
        }
        let Some((entries, shards)) = self.route(&call, &stream, record).await else {
            return self.forward(call).await;
        };
        if let Some(fault) = self.whole_call_fault() {
            return fault;
        }
        let entry = &entries[0];
        if !self.ledger.admit_write(&entry.shard, entry.bytes) {
            return throttled(&throttle_message(&entry.shard, &shards));
        }
        match self.upstream.exchange(&call.parts, call.body).await {
            Ok(answer) => {
                if answer.status == StatusCode::OK
                    && let Ok(result) = serde_json::from_slice::<Value>(&answer.body)
                {
                    self.settle_write(&stream, entry, &result);
                }
                buffered_response(answer)
            }
            Err(error) => unreachable_upstream(&error),
        }
    }

    /// `GetRecords`: at most `read_calls` calls and `read_bytes` per shard and window, whoever reads; at most
    /// `records_per_read` records (the default `Limit`) and `bytes_per_read` bytes per call.
    pub async fn get_records(&self, call: Call) -> Response<Body> {
        let Some(mut request) = call.json() else {
            return self.forward(call).await;
        };
        let Some((stream_name, shard_id)) = request["ShardIterator"].as_str().and_then(iterator_position) else {
            return self.forward(call).await;
        };
        let region = match request.get("StreamARN").and_then(Value::as_str) {
            Some(arn) => arn.split(':').nth(3).unwrap_or_default().to_owned(),
            None => shards::signed_region(call.authorization()),
        };
        let stream = StreamRef {
            region,
            name: stream_name,
        };
        let shard = ShardKey {
            region: stream.region.clone(),
            stream: stream.name.clone(),
            shard_id,
        };
        let limits = self.ledger.limits().clone();
        let limit = request.get("Limit").and_then(Value::as_u64);
        if limit.is_some_and(|limit| limit > limits.records_per_read) {
            let message = format!(
                "Limit {} is above the maximum of {}.",
                limit.unwrap_or(0),
                limits.records_per_read
            );
            return error_response("InvalidArgumentException", &message);
        }
        if !self.ledger.admit_read(&shard) {
            let shards = self.stream_shards(&call, &stream, false).await;
            let account = shards.as_ref().map_or(DEFAULT_ACCOUNT, |s| s.account.as_str());
            return throttled(&format!(
                "Rate exceeded for shard {} in stream {} under account {account}.",
                shard.shard_id, shard.stream
            ));
        }
        let body = if limit.is_none() && limits.records_per_read != u64::MAX {
            request["Limit"] = limits.records_per_read.into();
            Bytes::from(serde_json::to_vec(&request).expect("JSON serialises"))
        } else {
            call.body.clone()
        };
        match self.upstream.exchange(&call.parts, body).await {
            Ok(answer) => self.settle_read(&shard, limits.bytes_per_read, answer),
            Err(error) => unreachable_upstream(&error),
        }
    }

    /// Charges the shard for what a read returned, first cutting it to `max_bytes` (at least one record, as a
    /// record may be as large as a shard's whole allowance) with a `NextShardIterator` after the last record kept.
    fn settle_read(&self, shard: &ShardKey, max_bytes: u64, answer: Buffered) -> Response<Body> {
        let read = (answer.status == StatusCode::OK).then(|| serde_json::from_slice::<Value>(&answer.body).ok());
        let Some(Some(mut read)) = read else {
            return buffered_response(answer);
        };
        let records = read["Records"].as_array().cloned().unwrap_or_default();
        let mut kept = 0;
        let mut bytes = 0u64;
        for record in &records {
            let size = record_bytes(record).unwrap_or(0);
            if kept > 0 && bytes.saturating_add(size) > max_bytes {
                break;
            }
            kept += 1;
            bytes += size;
        }
        self.ledger.record_read(shard, kept as u64, bytes);
        if kept == records.len() {
            return buffered_response(answer);
        }
        let last = records[kept - 1]["SequenceNumber"].as_str().unwrap_or("0");
        read["NextShardIterator"] = iterator_after(&shard.stream, &shard.shard_id, last).into();
        read["Records"] = Value::Array(records[..kept].to_vec());
        json_response(StatusCode::OK, &read)
    }

    /// Operations that reshape or remove a stream: forwarded, and the gateway forgets the stream's shards.
    pub async fn reshape(&self, call: Call) -> Response<Body> {
        if let Some((_, stream)) = self.write_request(&call) {
            self.streams.forget(&stream);
        }
        self.forward(call).await
    }

    /// `--faults put-5xx=...`: the whole write call fails before anything is stored, with HTTP 500
    /// `InternalFailure` or 503 `ServiceUnavailable` (by the chance's number), the two server errors the Kinesis
    /// API reference lists for every operation
    /// (<https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html>); the SDKs retry both.
    fn whole_call_fault(&self) -> Option<Response<Body>> {
        let chance = self.faults.strike(FaultKind::Put5xx)?;
        let (status, error_type) = if chance % 2 == 0 {
            (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_FAILURE)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
        };
        let message = "injected by the local cloud (--faults put-5xx)";
        let mut response = error_response(error_type, message);
        *response.status_mut() = status;
        Some(response)
    }

    async fn forward(&self, call: Call) -> Response<Body> {
        self.upstream.forward(call.parts, Body::from(call.body)).await
    }
}

/// AWS's per-shard throttling message, as PutRecords returns it per entry.
fn throttle_message(shard: &ShardKey, shards: &StreamShards) -> String {
    format!(
        "Rate exceeded for shard {} in stream {} under account {}.",
        shard.shard_id, shards.name, shards.account
    )
}

fn throttled(message: &str) -> Response<Body> {
    error_response(THROTTLED, message)
}

/// An AWS JSON 1.1 error: HTTP 400, the error's name in `__type`.
pub fn error_response(error_type: &str, message: &str) -> Response<Body> {
    let mut response = json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "__type": error_type, "message": message }),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    let request_id = uuid::Uuid::new_v4().to_string();
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&request_id).expect("a UUID is a header value"),
    );
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn buffered_response(answer: Buffered) -> Response<Body> {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}
