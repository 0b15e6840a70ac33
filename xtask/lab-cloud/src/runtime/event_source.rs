//! Kinesis → Lambda event source mappings, as AWS documents them, for mappings registered in the Lambda API.
//!
//! One poller per shard reads the stream in order and invokes the function (through the [`LambdaHost`]) with
//! batches of up to `BatchSize` records, waiting up to `MaximumBatchingWindowInSeconds` for a batch to fill. A
//! shard moves on only when its batch is done, so records of a shard arrive in order, at least once:
//! - a function error retries the whole batch; with `BisectBatchOnFunctionError` the batch is split in two and each
//!   half retried, down to single records (splits do not use up `MaximumRetryAttempts`: bisecting exists to isolate
//!   the bad record, so the retries count for the batch that can no longer be split);
//! - with `FunctionResponseTypes = [ReportBatchItemFailures]`, the answer's `batchItemFailures` checkpoint the
//!   shard at the lowest failed sequence number and the retry starts there (an identifier not in the batch counts
//!   as a failure of the whole batch);
//! - after `MaximumRetryAttempts` retries, or for records older than `MaximumRecordAgeInSeconds`, the batch is
//!   given up: an invocation record goes to the on-failure destination (and always to `.lab/failures/`), and the
//!   shard moves on;
//! - with `TumblingWindowInSeconds`, records are grouped into windows aligned to multiples of the window's size by
//!   their arrival time; each invocation carries the window and the state the function returned last in it, and
//!   when the window is over (a later record arrives, or its time passes) the function gets a final invocation
//!   with no records and `isFinalInvokeForWindow: true`.

use anyhow::{Context, Result, bail};
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use aws_sdk_lambda::types::{EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::error_chain;
use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome};
use crate::runtime::read_pacing::{ReadPacer, is_read_throttle};

/// Where a new mapping starts reading.
#[derive(Debug, Clone, PartialEq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(f64),
}

/// A mapping's settings, as the Lambda API holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingSettings {
    pub uuid: String,
    pub function_name: String,
    pub stream_arn: String,
    pub batch_size: usize,
    pub starting_position: StartingPosition,
    pub batching_window: Duration,
    pub bisect_on_error: bool,
    /// `None`: retry until the records expire (AWS's default, -1).
    pub max_retry_attempts: Option<u32>,
    /// `None`: no limit (-1).
    pub max_record_age: Option<Duration>,
    pub report_batch_item_failures: bool,
    pub on_failure_destination: Option<String>,
    /// `TumblingWindowInSeconds`: state carried between invocations of one window, one shard.
    pub tumbling_window: Option<Duration>,
    pub enabled: bool,
}

impl MappingSettings {
    pub fn from_configuration(configuration: &EventSourceMappingConfiguration) -> Result<MappingSettings> {
        let stream_arn = configuration
            .event_source_arn
            .clone()
            .context("the mapping has no event source")?;
        if !stream_arn.contains(":kinesis:") {
            bail!("not a Kinesis mapping: {stream_arn}");
        }
        let function_arn = configuration
            .function_arn
            .clone()
            .context("the mapping has no function")?;
        let starting_position = match &configuration.starting_position {
            Some(EventSourcePosition::Latest) => StartingPosition::Latest,
            Some(EventSourcePosition::AtTimestamp) => StartingPosition::AtTimestamp(
                configuration
                    .starting_position_timestamp
                    .map(|t| t.as_secs_f64())
                    .unwrap_or(0.0),
            ),
            _ => StartingPosition::TrimHorizon,
        };
        let seconds = |value: Option<i32>| value.filter(|v| *v >= 0).map(|v| Duration::from_secs(v as u64));
        Ok(MappingSettings {
            uuid: configuration.uuid.clone().unwrap_or_default(),
            function_name: function_arn.rsplit(':').next().unwrap_or(&function_arn).to_owned(),
            stream_arn,
            batch_size: configuration.batch_size.unwrap_or(100).max(1) as usize,
            starting_position,
            batching_window: seconds(configuration.maximum_batching_window_in_seconds).unwrap_or_default(),
            bisect_on_error: configuration.bisect_batch_on_function_error.unwrap_or(false),
            max_retry_attempts: configuration
                .maximum_retry_attempts
                .filter(|v| *v >= 0)
                .map(|v| v as u32),
            max_record_age: seconds(configuration.maximum_record_age_in_seconds),
            report_batch_item_failures: configuration
                .function_response_types
                .as_ref()
                .is_some_and(|types| types.contains(&FunctionResponseType::ReportBatchItemFailures)),
            on_failure_destination: configuration
                .destination_config
                .as_ref()
                .and_then(|d| d.on_failure.as_ref())
                .and_then(|f| f.destination.clone()),
            tumbling_window: seconds(configuration.tumbling_window_in_seconds).filter(|w| !w.is_zero()),
            enabled: configuration.state.as_deref().is_none_or(|state| state == "Enabled"),
        })
    }

    pub fn stream_name(&self) -> &str {
        self.stream_arn
            .rsplit_once(":stream/")
            .map_or(&self.stream_arn, |(_, name)| name)
    }

    fn region(&self) -> &str {
        self.stream_arn.split(':').nth(3).unwrap_or("us-east-1")
    }
}

/// How the local pollers pace themselves: each shard about once a second by default, as AWS polls (the shard's 5
/// reads per second are shared by all its readers); tests poll faster, without changing what is delivered.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub poll_interval: Duration,
    pub retry_delay: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_millis(200),
        }
    }
}

/// What a mapping has done, for progress displays and the lab's summary.
#[derive(Debug, Default)]
pub struct MappingStats {
    pub invocations: AtomicU64,
    pub function_errors: AtomicU64,
    /// Records whose batch the function finished (counted once per record, when the shard moves past it).
    pub records_done: AtomicU64,
    /// Records reported in `batchItemFailures` (each report counts; a record may be reported on every retry).
    pub records_reported_failed: AtomicU64,
    /// Records given up on (sent to the on-failure destination).
    pub records_given_up: AtomicU64,
    /// Milliseconds from a record's arrival in the stream to the invocation that carried it (first delivery).
    pub arrival_to_invoke_ms: Mutex<Vec<f64>>,
    /// Milliseconds behind the tip of the stream, per the last GetRecords.
    pub iterator_age_ms: AtomicU64,
    /// Tumbling windows closed with a final invocation.
    pub windows_closed: AtomicU64,
}

/// The tumbling window a shard is in: its bounds (epoch ms) and the state the function last returned.
#[derive(Debug, Clone)]
pub struct OpenWindow {
    pub start_ms: i64,
    pub end_ms: i64,
    pub state: Value,
}

/// Where given-up batches are written (besides the on-failure destination).
#[derive(Clone)]
pub struct Destinations {
    pub failures_dir: PathBuf,
    pub s3: Option<aws_sdk_s3::Client>,
}

pub struct ShardPoller {
    pub settings: MappingSettings,
    pub shard_id: String,
    pub function: FunctionSpec,
    pub kinesis: aws_sdk_kinesis::Client,
    pub host: Arc<LambdaHost>,
    pub destinations: Destinations,
    pub pacing: Pacing,
    pub stats: Arc<MappingStats>,
    pub stop: Arc<AtomicBool>,
}

impl ShardPoller {
    /// Polls the shard until `stop` is set or the shard is closed: one `GetRecords` call (up to 10,000 records, as
    /// Lambda reads) per poll interval, delivered in batches of `BatchSize`.
    pub async fn run(self) -> Result<()> {
        let mut iterator = self.first_iterator().await?;
        let mut buffer: Vec<Record> = vec![];
        let mut first_buffered: Option<Instant> = None;
        let mut window: Option<OpenWindow> = None;
        let mut pacer = ReadPacer::new(self.pacing.poll_interval);
        while !self.stop.load(Ordering::Relaxed) {
            let Some(current) = iterator.take() else {
                // The shard is closed (resharded): deliver what is left, and stop.
                while !buffer.is_empty() {
                    let batch: Vec<Record> = buffer.drain(..buffer.len().min(self.settings.batch_size)).collect();
                    self.deliver_batch(batch, &mut window).await;
                }
                if let Some(open) = window.take() {
                    self.close_window(open).await;
                }
                return Ok(());
            };
            // Wait for this reader's turn at the shard, or less when the batching window ends first.
            let mut pause = pacer.until_next_call();
            if let Some(at) = first_buffered {
                pause = pause.min(self.settings.batching_window.saturating_sub(at.elapsed()));
            }
            tokio::time::sleep(pause).await;
            iterator = if pacer.until_next_call().is_zero() {
                self.read(current, &mut pacer, &mut buffer, &mut first_buffered).await
            } else {
                Some(current)
            };
            self.deliver_ready(&mut buffer, &mut first_buffered, &mut window).await;
            // A window ends when its time is over, records or not: Lambda then makes the final invocation.
            if buffer.is_empty()
                && window
                    .as_ref()
                    .is_some_and(|open| Utc::now().timestamp_millis() >= open.end_ms)
            {
                self.close_window(window.take().expect("checked")).await;
            }
        }
        Ok(())
    }

    /// One `GetRecords` call into the buffer; the iterator to read from next (the same one after a failure: a read
    /// throttle or a passing fault is retried, as Lambda does).
    async fn read(
        &self,
        current: String,
        pacer: &mut ReadPacer,
        buffer: &mut Vec<Record>,
        first_buffered: &mut Option<Instant>,
    ) -> Option<String> {
        let request = self.kinesis.get_records().shard_iterator(&current).limit(10_000);
        let output = match request.send().await {
            Ok(output) => output,
            Err(error) => {
                let throttled = is_read_throttle(&error);
                pacer.called(throttled);
                if !throttled {
                    let reason = error_chain(&error);
                    eprintln!(
                        "event source mapping {}: GetRecords failed: {reason}",
                        self.settings.uuid
                    );
                }
                return Some(current);
            }
        };
        pacer.called(false);
        self.stats.iterator_age_ms.store(
            output.millis_behind_latest.unwrap_or(0).max(0) as u64,
            Ordering::Relaxed,
        );
        if !output.records.is_empty() && first_buffered.is_none() {
            *first_buffered = Some(Instant::now());
        }
        buffer.extend(output.records);
        output.next_shard_iterator
    }

    /// Delivers every full batch, and what is left once the batching window is over.
    async fn deliver_ready(
        &self,
        buffer: &mut Vec<Record>,
        first_buffered: &mut Option<Instant>,
        window: &mut Option<OpenWindow>,
    ) {
        loop {
            let full = buffer.len() >= self.settings.batch_size;
            let window_over = first_buffered.is_some_and(|at| at.elapsed() >= self.settings.batching_window);
            if buffer.is_empty() || !(full || window_over) {
                return;
            }
            let batch: Vec<Record> = buffer.drain(..buffer.len().min(self.settings.batch_size)).collect();
            if buffer.is_empty() {
                *first_buffered = None;
            }
            self.deliver_batch(batch, window).await;
        }
    }

    async fn first_iterator(&self) -> Result<Option<String>> {
        // By name: moto 5.2.5 loses the stream of an iterator asked for by ARN (GetRecords then fails).
        let request = self
            .kinesis
            .get_shard_iterator()
            .stream_name(self.settings.stream_name())
            .shard_id(&self.shard_id);
        let request = match self.settings.starting_position {
            StartingPosition::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartingPosition::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
            StartingPosition::AtTimestamp(seconds) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_secs_f64(seconds)),
        };
        Ok(request.send().await.context("GetShardIterator")?.shard_iterator)
    }

    /// Delivers a batch; with tumbling windows, window by window (a batch never spans two windows), closing the
    /// open window with its final invocation when a record of a later window arrives.
    async fn deliver_batch(&self, records: Vec<Record>, window: &mut Option<OpenWindow>) {
        let Some(size) = self.settings.tumbling_window else {
            self.deliver(records, None).await;
            return;
        };
        let size_ms = size.as_millis() as i64;
        let mut records = records.into_iter().peekable();
        while let Some(first) = records.next() {
            // Windows are aligned to multiples of their size, by the records' arrival in the stream.
            let start_ms = (arrival_ms(&first) as i64).div_euclid(size_ms) * size_ms;
            let mut group = vec![first];
            while let Some(next) = records.next_if(|r| (arrival_ms(r) as i64).div_euclid(size_ms) * size_ms == start_ms)
            {
                group.push(next);
            }
            if window.as_ref().is_some_and(|open| open.start_ms != start_ms) {
                self.close_window(window.take().expect("checked")).await;
            }
            let open = window.get_or_insert_with(|| OpenWindow {
                start_ms,
                end_ms: start_ms + size_ms,
                state: json!({}),
            });
            self.deliver(group, Some(open)).await;
        }
    }

    /// The final invocation of a window: no records, the window's state, `isFinalInvokeForWindow: true`.
    async fn close_window(&self, open: OpenWindow) {
        let mut event = kinesis_event(&self.settings, &self.shard_id, &[]);
        add_window(&mut event, &self.settings, &self.shard_id, &open, true);
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let outcome = self.host.invoke(&self.function, &event).await;
        if let Some((error_type, message)) = outcome.error() {
            self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "event source mapping {}: the final invocation of a window failed: {error_type}: {message}",
                self.settings.uuid
            );
        }
        self.stats.windows_closed.fetch_add(1, Ordering::Relaxed);
    }

    /// Delivers one batch: invokes the function until the batch is done or given up, in the shard's order.
    async fn deliver(&self, records: Vec<Record>, mut window: Option<&mut OpenWindow>) {
        let mut first_delivery = true;
        let mut queue = VecDeque::from([(records, 0u32)]);
        while let Some((mut batch, mut attempts)) = queue.pop_front() {
            loop {
                if let Some(max_age) = self.settings.max_record_age {
                    let (expired, fresh): (Vec<Record>, Vec<Record>) =
                        batch.into_iter().partition(|record| age(record) > max_age);
                    if !expired.is_empty() {
                        self.give_up(&expired, "RecordAgeExceeded", None, attempts).await;
                    }
                    batch = fresh;
                }
                if batch.is_empty() {
                    break;
                }

                let mut event = kinesis_event(&self.settings, &self.shard_id, &batch);
                if let Some(open) = window.as_deref() {
                    add_window(&mut event, &self.settings, &self.shard_id, open, false);
                }
                if first_delivery {
                    let now = Utc::now().timestamp_millis() as f64;
                    let mut latencies = self.stats.arrival_to_invoke_ms.lock().expect("not poisoned");
                    latencies.extend(batch.iter().map(|record| (now - arrival_ms(record)).max(0.0)));
                    first_delivery = false;
                }
                self.stats.invocations.fetch_add(1, Ordering::Relaxed);
                let outcome = self.host.invoke(&self.function, &event).await;
                if outcome.is_error() {
                    self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
                }
                // The function's answer carries the window's state forward.
                if let (Outcome::Response(body), Some(open)) = (&outcome, window.as_deref_mut())
                    && let Some(state) = body.get("state").filter(|state| state.is_object())
                {
                    open.state = state.clone();
                }

                let failed_from = match &outcome {
                    Outcome::Response(body) if self.settings.report_batch_item_failures => {
                        let failed = first_reported_failure(body, &batch);
                        let reported = body["batchItemFailures"].as_array().map_or(0, Vec::len);
                        self.stats
                            .records_reported_failed
                            .fetch_add(reported as u64, Ordering::Relaxed);
                        failed
                    }
                    Outcome::Response(_) => None,
                    _ => Some(0),
                };
                let Some(index) = failed_from else {
                    self.stats.records_done.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                };
                // The checkpoint moves past the records before the first failure; the retry starts there.
                self.stats.records_done.fetch_add(index as u64, Ordering::Relaxed);
                batch.drain(..index);

                // Splitting isolates a bad record; it does not use up the batch's retries.
                if outcome.is_error() && self.settings.bisect_on_error && batch.len() > 1 {
                    let second = batch.split_off(batch.len() / 2);
                    queue.push_front((second, attempts));
                    queue.push_front((batch, attempts));
                    break;
                }
                attempts += 1;
                if self.settings.max_retry_attempts.is_some_and(|max| attempts > max) {
                    self.give_up(&batch, "RetryAttemptsExhausted", Some(&outcome), attempts)
                        .await;
                    break;
                }
                tokio::time::sleep(self.pacing.retry_delay).await;
            }
        }
    }

    /// Gives up a batch: the invocation record (as AWS writes it) to the on-failure destination, and to
    /// `.lab/failures/<mapping>/` where the learner can read it; the shard moves on.
    async fn give_up(&self, batch: &[Record], condition: &str, outcome: Option<&Outcome>, attempts: u32) {
        self.stats
            .records_given_up
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let record = failure_record(
            &self.settings,
            &self.function,
            &self.shard_id,
            batch,
            condition,
            outcome,
            attempts,
        );
        let now = Utc::now();
        let name = format!("{}-{}", now.format("%Y-%m-%dT%H.%M.%S"), uuid::Uuid::new_v4());
        let folder = self
            .destinations
            .failures_dir
            .join(&self.settings.uuid)
            .join(&self.shard_id);
        let text = serde_json::to_string_pretty(&record).expect("JSON");
        if std::fs::create_dir_all(&folder).is_ok() {
            let _ = std::fs::write(folder.join(format!("{name}.json")), &text);
        }
        if let (Some(s3), Some(bucket)) = (
            &self.destinations.s3,
            self.settings
                .on_failure_destination
                .as_deref()
                .and_then(|arn| arn.strip_prefix("arn:aws:s3:::")),
        ) {
            // AWS's key for S3 on-failure destinations of stream mappings.
            let key = format!(
                "aws/lambda/{}/{}/{}/{name}",
                self.settings.uuid,
                self.shard_id,
                now.format("%Y/%m/%d")
            );
            let put = s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(text.into_bytes().into())
                .send()
                .await;
            if let Err(error) = put {
                eprintln!(
                    "event source mapping {}: writing the on-failure record failed: {}",
                    self.settings.uuid,
                    error_chain(&error)
                );
            }
        }
    }
}

fn arrival_ms(record: &Record) -> f64 {
    record
        .approximate_arrival_timestamp
        .map(|t| t.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn age(record: &Record) -> Duration {
    let now = Utc::now().timestamp_millis() as f64;
    Duration::from_millis((now - arrival_ms(record)).max(0.0) as u64)
}

fn iso(ms: f64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The index of the lowest sequence number in `batchItemFailures`; `Some(0)` (the whole batch) when an
/// identifier is missing, empty or not in the batch, as Lambda treats such an answer.
pub fn first_reported_failure(response: &Value, batch: &[Record]) -> Option<usize> {
    let failures = response.get("batchItemFailures").and_then(Value::as_array)?;
    let mut lowest: Option<usize> = None;
    for failure in failures {
        let identifier = failure.get("itemIdentifier").and_then(Value::as_str).unwrap_or("");
        let Some(index) = batch.iter().position(|record| record.sequence_number == identifier) else {
            return Some(0);
        };
        lowest = Some(lowest.map_or(index, |l| l.min(index)));
    }
    lowest
}

/// The event Lambda sends for a batch of Kinesis records.
pub fn kinesis_event(settings: &MappingSettings, shard_id: &str, batch: &[Record]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|record| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": record.sequence_number,
                    "data": base64::engine::general_purpose::STANDARD.encode(record.data.as_ref()),
                    "approximateArrivalTimestamp": arrival_ms(record) / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{shard_id}:{}", record.sequence_number),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": format!("arn:aws:iam::{}:role/{}-role", account(settings), settings.function_name),
                "awsRegion": settings.region(),
                "eventSourceARN": settings.stream_arn,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Adds what a time-window event has on top of the records: the window, the state, the shard, the final flag.
fn add_window(event: &mut Value, settings: &MappingSettings, shard_id: &str, open: &OpenWindow, is_final: bool) {
    event["window"] = json!({ "start": iso_seconds(open.start_ms), "end": iso_seconds(open.end_ms) });
    event["state"] = open.state.clone();
    event["shardId"] = json!(shard_id);
    event["eventSourceARN"] = json!(settings.stream_arn);
    event["isFinalInvokeForWindow"] = json!(is_final);
    event["isWindowTerminatedEarly"] = json!(false);
}

fn iso_seconds(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn account(settings: &MappingSettings) -> &str {
    settings.stream_arn.split(':').nth(4).unwrap_or("000000000000")
}

/// The invocation record Lambda sends to an on-failure destination for a stream batch.
fn failure_record(
    settings: &MappingSettings,
    function: &FunctionSpec,
    shard_id: &str,
    batch: &[Record],
    condition: &str,
    outcome: Option<&Outcome>,
    attempts: u32,
) -> Value {
    let first = batch.first();
    let last = batch.last();
    let mut response = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if let Some((error_type, message)) = outcome.and_then(Outcome::error) {
        response["functionError"] = json!("Unhandled");
        response["errorType"] = json!(error_type);
        response["errorMessage"] = json!(message);
    }
    json!({
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": function.arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first.map(|r| r.sequence_number.as_str()),
            "endSequenceNumber": last.map(|r| r.sequence_number.as_str()),
            "approximateArrivalOfFirstRecord": first.map(|r| iso(arrival_ms(r))),
            "approximateArrivalOfLastRecord": last.map(|r| iso(arrival_ms(r))),
            "batchSize": batch.len(),
            "streamArn": settings.stream_arn,
        },
        // The records themselves, so a learner can see what was given up (S3 destinations carry the payload).
        "payload": kinesis_event(settings, shard_id, batch),
    })
}
