//! The local cloud's Kinesis: AWS's Kinesis Data Streams API, served by the gateway itself, in memory, with AWS's
//! documented semantics (the Kinesis Data Streams API Reference,
//! <https://docs.aws.amazon.com/kinesis/latest/APIReference/Welcome.html>). moto's Kinesis is not used for data:
//! it cannot behave as AWS's (it keeps writing into a closed parent after a split, never ends a closed shard,
//! numbers records "1", "2", ..., stores records over 1 MiB, answers some hash keys with HTTP 500, has no CREATING
//! state, and gives overlapping writes the same sequence numbers).
//!
//! One module per concern: [`store`] (streams, shards, records), [`sequence`] (sequence numbers), [`iterator`]
//! (shard iterators), [`validation`] (AWS's request checks and errors), [`lifecycle`] (stream status over time),
//! [`reshard`] (split, merge, scale), [`control`] (the control-plane operations), [`data`] (reads and writes, with
//! the shard limits and the faults), [`metrics`] (CloudWatch's per-minute figures), [`registration`] (the twin
//! stream in moto that its Lambda control plane needs).
//!
//! Operations the local cloud does not implement (enhanced fan-out consumers, `SubscribeToShard`, resource
//! policies, account settings) are refused with a message naming the operation, never accepted silently.

mod control;
mod data;
pub mod iterator;
mod lifecycle;
mod list_shards;
pub mod metrics;
mod registration;
mod reshard;
pub mod sequence;
mod store;
mod validation;

pub use iterator::stream_arn_of_iterator;
pub use metrics::{Datum, Statistic, StreamMinute};
pub use store::{ACCOUNT, StreamKey};

use super::call::{Call, Protocol};
use super::errors::AwsError;
use super::limits::{Clock, Ledger};
use super::upstream::Upstream;
use crate::runtime::faults::FaultPlan;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Response, StatusCode};
use lifecycle::Status;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Store, Stream, lock};

/// A request that came through the operator door (the local cloud's own bookkeeping: the lab's deploy and
/// read-back): served from the same streams, but neither limited nor counted, as if it were not there.
#[derive(Debug, Clone, Copy)]
pub struct Unmetered;

/// What the engine is built from (the gateway's options).
pub struct KinesisOptions {
    pub ledger: Arc<Ledger>,
    pub faults: Arc<FaultPlan>,
    /// How long a stream is CREATING, UPDATING or DELETING.
    pub lifecycle: Duration,
    /// The emulator, where each stream gets a twin for Lambda's control plane ([`registration`]).
    pub upstream: Arc<Upstream>,
    /// The gateway's clock: its time is the engine's (records' arrival, iterators' age, lifecycle, retention).
    pub clock: Arc<dyn Clock>,
    /// Where the engine's CloudWatch figures go (see [`metrics`]).
    pub metric_book: Arc<crate::runtime::metrics::MetricBook>,
}

pub struct Kinesis {
    store: Store,
    ledger: Arc<Ledger>,
    faults: Arc<FaultPlan>,
    lifecycle_ms: u64,
    upstream: Arc<Upstream>,
    clock: Arc<dyn Clock>,
    /// The epoch time (ms) at the clock's origin.
    origin_ms: u64,
    metrics: metrics::Metrics,
}

/// One call's context.
pub(crate) struct Context<'a> {
    pub call: &'a Call,
    pub body: &'a Value,
    pub now_ms: u64,
    pub metered: bool,
}

impl Context<'_> {
    pub fn region(&self) -> &str {
        self.call.region()
    }
}

type Answer = Result<Value, AwsError>;

impl Kinesis {
    pub fn new(options: KinesisOptions) -> Kinesis {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let origin_ms = (since_epoch.saturating_sub(options.clock.now())).as_millis() as u64;
        Kinesis {
            store: Store::default(),
            ledger: options.ledger,
            faults: options.faults,
            lifecycle_ms: options.lifecycle.as_millis() as u64,
            upstream: options.upstream,
            clock: options.clock,
            origin_ms,
            metrics: metrics::Metrics::new(options.metric_book),
        }
    }

    /// The engine's time, ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        self.origin_ms + self.clock.now().as_millis() as u64
    }

    /// Every stream's per-minute CloudWatch figures so far (see [`metrics`]).
    pub fn metrics(&self) -> Vec<StreamMinute> {
        self.metrics.snapshot()
    }

    /// Every closed shard (resharded: a parent), by stream, for display: `(region, stream, shard id)`.
    pub fn closed_shards(&self) -> std::collections::BTreeSet<(String, String, String)> {
        let mut closed = std::collections::BTreeSet::new();
        for stream in self.store.all() {
            let stream = store::lock(&stream);
            for shard in stream.shards.iter().filter(|shard| !shard.is_open()) {
                closed.insert((stream.key.region.clone(), stream.key.name.clone(), shard.id.clone()));
            }
        }
        closed
    }

    /// Serves one Kinesis call (AWS JSON 1.1).
    pub async fn serve(&self, call: &Call) -> Response<Body> {
        let operation = call.operation.clone().unwrap_or_default();
        let empty = Value::Object(Default::default());
        let body = match (call.body.is_empty(), call.json()) {
            (true, _) => &empty,
            (false, Some(body @ Value::Object(_))) => body,
            (false, _) => {
                let error = AwsError::bad_request("SerializationException", "the request body is not a JSON object");
                return error.response(Protocol::Json);
            }
        };
        let context = Context {
            call,
            body,
            now_ms: self.now_ms(),
            metered: call.parts.extensions.get::<Unmetered>().is_none(),
        };
        match self.dispatch(&operation, &context).await {
            Ok(answer) => json_response(StatusCode::OK, &answer),
            Err(error) => error.response(Protocol::Json),
        }
    }

    async fn dispatch(&self, operation: &str, c: &Context<'_>) -> Answer {
        match operation {
            "PutRecord" => self.put_record(c),
            "PutRecords" => self.put_records(c),
            "GetShardIterator" => self.get_shard_iterator(c),
            "GetRecords" => self.get_records(c),
            "CreateStream" => self.create_stream(c).await,
            "DeleteStream" => self.delete_stream(c).await,
            "DescribeStream" => self.describe_stream(c),
            "DescribeStreamSummary" => self.describe_stream_summary(c),
            "ListStreams" => self.list_streams(c),
            "ListShards" => self.list_shards(c),
            "SplitShard" => self.split_shard(c),
            "MergeShards" => self.merge_shards(c),
            "UpdateShardCount" => self.update_shard_count(c),
            "AddTagsToStream" | "TagResource" => self.add_tags(c, operation),
            "RemoveTagsFromStream" | "UntagResource" => self.remove_tags(c, operation),
            "ListTagsForStream" => self.list_tags_for_stream(c),
            "ListTagsForResource" => self.list_tags_for_resource(c),
            "IncreaseStreamRetentionPeriod" => self.change_retention(c, true),
            "DecreaseStreamRetentionPeriod" => self.change_retention(c, false),
            "UpdateStreamMode" => self.update_stream_mode(c),
            "DescribeLimits" => self.describe_limits(c),
            "EnableEnhancedMonitoring" => self.enhanced_monitoring(c, true),
            "DisableEnhancedMonitoring" => self.enhanced_monitoring(c, false),
            "StartStreamEncryption" => self.encryption(c, true),
            "StopStreamEncryption" => self.encryption(c, false),
            other => Err(not_implemented(other)),
        }
    }

    /// The stream, brought up to now (its status advanced, its old records trimmed), or AWS's not-found error.
    pub(crate) fn stream(&self, key: &StreamKey, now_ms: u64) -> Result<Arc<Mutex<Stream>>, AwsError> {
        let stream = self.store.get(key).ok_or_else(|| stream_not_found(key))?;
        let gone = {
            let mut guard = lock(&stream);
            let gone = lifecycle::advance(&mut guard, now_ms);
            guard.trim(now_ms);
            gone
        };
        if gone {
            self.store.remove(key);
            return Err(stream_not_found(key));
        }
        Ok(stream)
    }

    /// Runs `f` on the stream under its lock.
    pub(crate) fn with_stream<T>(
        &self,
        key: &StreamKey,
        now_ms: u64,
        f: impl FnOnce(&mut Stream) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let stream = self.stream(key, now_ms)?;
        let mut guard = lock(&stream);
        f(&mut guard)
    }
}

/// "Stream X under account Y not found." (ResourceNotFoundException).
pub(crate) fn stream_not_found(key: &StreamKey) -> AwsError {
    AwsError::bad_request(
        "ResourceNotFoundException",
        format!("Stream {} under account {ACCOUNT} not found.", key.name),
    )
}

/// "Stream X under account Y not ACTIVE, instead in state UPDATING" (ResourceInUseException).
pub(crate) fn not_active(stream: &Stream) -> AwsError {
    AwsError::bad_request(
        "ResourceInUseException",
        format!(
            "Stream {} under account {ACCOUNT} not ACTIVE, instead in state {}",
            stream.key.name,
            stream.status.name()
        ),
    )
}

/// A control-plane change needs an ACTIVE stream.
pub(crate) fn require_active(stream: &Stream) -> Result<(), AwsError> {
    if stream.status == Status::Active {
        Ok(())
    } else {
        Err(not_active(stream))
    }
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidArgumentException", message)
}

/// An operation of the Kinesis API that the local cloud does not implement.
fn not_implemented(operation: &str) -> AwsError {
    let known = [
        "RegisterStreamConsumer",
        "DeregisterStreamConsumer",
        "DescribeStreamConsumer",
        "ListStreamConsumers",
        "SubscribeToShard",
        "PutResourcePolicy",
        "GetResourcePolicy",
        "DeleteResourcePolicy",
        "DescribeAccountSettings",
        "UpdateAccountSettings",
        "UpdateMaxRecordSize",
        "UpdateStreamWarmThroughput",
    ];
    if known.contains(&operation) {
        AwsError::bad_request(
            "UnsupportedOperationException",
            format!(
                "the local cloud does not implement {operation} (enhanced fan-out consumers, resource policies and \
                 account settings are not emulated); use it against AWS"
            ),
        )
    } else {
        AwsError::bad_request(
            "UnknownOperationException",
            format!("the local cloud does not implement {operation}: it is not a Kinesis operation it knows"),
        )
    }
}

/// An AWS JSON 1.1 answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// An AWS JSON 1.1 error: HTTP 400, the error's name in `__type`.
pub fn error_response(error_type: &str, message: &str) -> Response<Body> {
    AwsError::bad_request(error_type, message).response(Protocol::Json)
}

/// Epoch ms as AWS JSON 1.1 sends a timestamp: seconds, with the milliseconds as a fraction.
pub(crate) fn timestamp(ms: u64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

impl Kinesis {
    /// A stream's tags, by its ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`): what the IAM check supplies
    /// as `aws:ResourceTag/…`; `None` when there is no such stream.
    pub fn tags_of(&self, arn: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let mut parts = arn.splitn(6, ':');
        let (region, resource) = (parts.nth(3)?, parts.nth(1)?);
        let name = resource.strip_prefix("stream/")?.split('/').next()?;
        let key = StreamKey {
            region: region.to_owned(),
            name: name.to_owned(),
        };
        let stream = self.stream(&key, self.now_ms()).ok()?;
        let tags = lock(&stream).tags.clone();
        Some(tags)
    }
}
