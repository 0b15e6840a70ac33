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
//!   with no records and `isFinalInvokeForWindow: true`;
//! - an event never exceeds Lambda's 6 MB invocation payload: a batch whose JSON would is cut to fit, the rest
//!   being the next batch; an answer over 6 MB is a function error (`Function.ResponseSizeTooLarge`);
//! - `StartingPosition` `AT_TIMESTAMP` reads each shard from `StartingPositionTimestamp`;
//! - each shard's checkpoint (the last sequence number done) is kept in a file, so that pollers started again (a
//!   new data plane, an updated mapping) resume after it instead of at the mapping's starting position.
//!
//! Tumbling windows, as "Stateful processing" documents them
//! (<https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html>): "when using tumbling windows,
//! your Lambda function response must contain a state property. If the response does not contain a state property,
//! Lambda considers this a failed invocation" (retried like a function error, never bisected: the function did
//! not fail); "Your state can be a maximum of 1 MB per shard. If it exceeds that size, Lambda terminates the window
//! early" (a final invocation with `isWindowTerminatedEarly: true`, after which the same window goes on with a
//! fresh state); and at the window's end "if the invocation is unsuccessful, your Lambda function suspends further
//! processing until a successful invocation": the final invocation is retried, holding the shard, until it
//! succeeds or the mapping's `MaximumRetryAttempts` or `MaximumRecordAgeInSeconds` give it up (its records then go
//! to the on-failure destination; with the default `MaximumRetryAttempts` -1 the record age is what ends it). A window's records are checkpointed when its final invocation is done ("Upon successful
//! invocation, your function checkpoints the sequence number"), so a restart mid-window delivers them again.

use anyhow::{Context, Result, bail};
use aws_sdk_kinesis::types::{ChildShard, Record, ShardIteratorType};
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
use crate::runtime::read_pacing::{ReadPacer, ShardCheckpoint, is_read_throttle};
use crate::runtime::shard_lineage::{DeliveryOrder, Following, ShardEnd};

/// The largest state a tumbling window carries; a larger one ends the window early ("a maximum of 1 MB per
/// shard", taken as 1 MiB of serialised JSON).
pub const MAX_WINDOW_STATE_BYTES: usize = 1024 * 1024;

/// The largest event Lambda sends a function: a batch is cut to fit. `BatchSize`: "Lambda passes all of the
/// records in the batch to the function in a single call, up to the payload limit for synchronous invocation (6
/// MB)" (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>); Invoke refuses a
/// request of 6,291,456 bytes or more ("Request must be smaller than 6291456 bytes").
pub const MAX_EVENT_BYTES: usize = 6_291_456 - 1;

/// Where a new mapping starts reading.
#[derive(Debug, Clone, PartialEq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    /// `StartingPositionTimestamp`, in seconds since the epoch (`None`: the control plane did not say it, and the
    /// supervisor refuses the mapping rather than read from another position).
    AtTimestamp(Option<f64>),
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
    /// `ParallelizationFactor` (1 to 10): concurrent batches per shard. The local cloud runs one; the supervisor
    /// refuses a mapping that asks for more.
    pub parallelization_factor: u32,
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
            Some(EventSourcePosition::AtTimestamp) => {
                StartingPosition::AtTimestamp(configuration.starting_position_timestamp.map(|t| t.as_secs_f64()))
            }
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
            parallelization_factor: configuration.parallelization_factor.unwrap_or(1).max(1) as u32,
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
    /// How the mappings and pumps follow the stream's shards across a reshard (parent before child).
    pub following: Following,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_millis(200),
            // AWS documents no figure for how soon its pollers see a new shard; a closed shard's reader names its
            // children at once, so the listing only matters for shards no reader has reached yet.
            following: Following {
                discovery_interval: Duration::from_secs(1),
                parents_first: true,
            },
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
    /// Records given up on (sent to the on-failure destination; a window whose final invocation was given up
    /// counts its records here too).
    pub records_given_up: AtomicU64,
    /// Milliseconds from a record's arrival in the stream to the invocation that carried it (first delivery).
    pub arrival_to_invoke_ms: Mutex<Vec<f64>>,
    /// Milliseconds behind the tip of the stream, per the last GetRecords.
    pub iterator_age_ms: AtomicU64,
    /// Tumbling windows closed with a final invocation.
    pub windows_closed: AtomicU64,
    /// Tumbling windows ended early because their state passed [`MAX_WINDOW_STATE_BYTES`].
    pub windows_terminated_early: AtomicU64,
    /// Tumbling-window answers without a `state` (each a failed invocation).
    pub responses_without_state: AtomicU64,
    /// Batches split in two after a function error (`BisectBatchOnFunctionError`).
    pub bisects: AtomicU64,
    /// Each partition key's records in the order they were delivered (done), against the stream's order.
    pub order: Mutex<DeliveryOrder>,
    /// Closed shards read to their end and delivered (see `shard_lineage`).
    pub shards_finished: AtomicU64,
    /// The last function error's message, when it was a panic (a learner's `todo!()` reached, say): a mapping
    /// retries such a batch as AWS would, and the lab stops rather than wait for it.
    pub last_panic: Mutex<Option<String>>,
}

/// The tumbling window a shard is in: its bounds (epoch ms), the state the function last returned, and the
/// records done in it so far (since it opened, or since it was ended early).
#[derive(Debug, Clone)]
pub struct OpenWindow {
    pub start_ms: i64,
    pub end_ms: i64,
    pub state: Value,
    pub first: Option<Record>,
    pub last: Option<Record>,
    pub records: usize,
}

impl OpenWindow {
    fn new(start_ms: i64, end_ms: i64) -> OpenWindow {
        OpenWindow {
            start_ms,
            end_ms,
            state: json!({}),
            first: None,
            last: None,
            records: 0,
        }
    }

    fn span(&self) -> Span<'_> {
        Span {
            first: self.first.as_ref(),
            last: self.last.as_ref(),
            size: self.records,
        }
    }
}

/// The records an on-failure record describes: the first, the last, how many.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub first: Option<&'a Record>,
    pub last: Option<&'a Record>,
    pub size: usize,
}

impl<'a> Span<'a> {
    pub fn of(batch: &'a [Record]) -> Span<'a> {
        Span {
            first: batch.first(),
            last: batch.last(),
            size: batch.len(),
        }
    }
}

/// Why an invocation counts as failed, for the `.lab/` copy of an on-failure record (AWS's record has no room
/// for it).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    /// `Response`, `FunctionError`, `TimedOut` or `Crashed`.
    pub outcome: &'static str,
    pub error_type: Option<String>,
    pub error_message: String,
    /// Whether Lambda reports it as a function error (`responseContext.functionError`).
    pub function_error: bool,
}

impl Diagnosis {
    /// Why Lambda counts `outcome` as a failed invocation, if it does: the function's error, or, in a tumbling
    /// window, an answer without a `state` object.
    pub fn of(outcome: &Outcome, in_window: bool) -> Option<Diagnosis> {
        let kind = match outcome {
            Outcome::Response(body) => {
                let has_state = body.get("state").is_some_and(Value::is_object);
                return (in_window && !has_state).then(|| Diagnosis {
                    outcome: "Response",
                    error_type: None,
                    error_message: "a tumbling-window response without `state` is a failed invocation".to_owned(),
                    function_error: false,
                });
            }
            Outcome::FunctionError { .. } => "FunctionError",
            Outcome::TimedOut { .. } => "TimedOut",
            Outcome::Crashed { .. } => "Crashed",
        };
        let (error_type, message) = outcome.error().unwrap_or_default();
        Some(Diagnosis {
            outcome: kind,
            error_type: Some(error_type),
            error_message: message,
            function_error: true,
        })
    }

    fn reported(sequence_number: &str) -> Diagnosis {
        Diagnosis {
            outcome: "Response",
            error_type: None,
            error_message: format!("batchItemFailures reported {sequence_number}"),
            function_error: false,
        }
    }
}

/// Where given-up batches are written (besides the on-failure destination).
#[derive(Clone)]
pub struct Destinations {
    pub failures_dir: PathBuf,
    pub s3: Option<aws_sdk_s3::Client>,
}

#[derive(Clone)]
pub struct ShardPoller {
    pub settings: MappingSettings,
    pub shard_id: String,
    pub function: FunctionSpec,
    /// The function's execution role, the events' `invokeIdentityArn`.
    pub invoke_identity_arn: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub host: Arc<LambdaHost>,
    pub destinations: Destinations,
    pub pacing: Pacing,
    pub stats: Arc<MappingStats>,
    pub stop: Arc<AtomicBool>,
    /// This mapping's checkpoint of this shard.
    pub checkpoint: ShardCheckpoint,
    /// A shard reached through its parent (after a reshard) is read from its start, whatever the mapping's
    /// starting position: the parent's records ended where the child's begin.
    pub from_its_start: bool,
}

impl ShardPoller {
    /// Polls the shard until `stop` is set or the shard is closed: one `GetRecords` call (up to 10,000 records, as
    /// Lambda reads) per poll interval, delivered in batches of `BatchSize`. A closed shard read to its end and
    /// delivered is checkpointed as finished, and its children are named.
    pub async fn run(self) -> Result<ShardEnd> {
        let mut iterator = self.first_iterator().await?;
        let mut children: Vec<ChildShard> = vec![];
        let mut buffer: Vec<Record> = vec![];
        let mut first_buffered: Option<Instant> = None;
        let mut window: Option<OpenWindow> = None;
        let mut pacer = ReadPacer::new(self.pacing.poll_interval);
        // When the latest GetRecords that found nothing more to read was sent (epoch ms).
        let mut caught_up_at_ms = 0i64;
        while !self.stopped() {
            let Some(current) = iterator.take() else {
                // The shard is closed (resharded): deliver what is left, and stop.
                while !buffer.is_empty() {
                    let batch: Vec<Record> = buffer.drain(..buffer.len().min(self.settings.batch_size)).collect();
                    self.deliver_batch(batch, &mut window).await;
                }
                if let Some(open) = window.take() {
                    self.close_window(open).await;
                }
                if self.stopped() {
                    return Ok(ShardEnd::Stopped);
                }
                self.checkpoint.finish_or_warn();
                self.stats.shards_finished.fetch_add(1, Ordering::Relaxed);
                return Ok(ShardEnd::Finished { children });
            };
            // Wait for this reader's turn at the shard, or less when the batching window ends first.
            let mut pause = pacer.until_next_call();
            if let Some(at) = first_buffered {
                pause = pause.min(self.settings.batching_window.saturating_sub(at.elapsed()));
            }
            tokio::time::sleep(pause).await;
            iterator = if pacer.until_next_call().is_zero() {
                let sent_ms = Utc::now().timestamp_millis();
                let (next, caught_up) = self
                    .read(current, &mut pacer, &mut buffer, &mut first_buffered, &mut children)
                    .await;
                if caught_up {
                    caught_up_at_ms = sent_ms;
                }
                next
            } else {
                Some(current)
            };
            self.deliver_ready(&mut buffer, &mut first_buffered, &mut window).await;
            // A window ends when its time is over, records or not: Lambda then makes the final invocation. Over
            // means a read sent after its end reached the tip of the shard (a record put just before the end may
            // otherwise come in after its window was closed, and open it again with a fresh state).
            if buffer.is_empty() && window.as_ref().is_some_and(|open| caught_up_at_ms >= open.end_ms) {
                self.close_window(window.take().expect("checked")).await;
            }
        }
        Ok(ShardEnd::Stopped)
    }

    /// Whether the supervisor has stopped this poller. A stopped poller abandons its batch unfinished and not
    /// checkpointed: its successor delivers it again, as Lambda does when a mapping's pollers move.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// One `GetRecords` call into the buffer; the iterator to read from next (the same one after a failure: a read
    /// throttle or a passing fault is retried, as Lambda does; none at a closed shard's end, whose `children` it
    /// names), and whether it reached the tip of the shard.
    async fn read(
        &self,
        current: String,
        pacer: &mut ReadPacer,
        buffer: &mut Vec<Record>,
        first_buffered: &mut Option<Instant>,
        children: &mut Vec<ChildShard>,
    ) -> (Option<String>, bool) {
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
                return (Some(current), false);
            }
        };
        pacer.called(false);
        let behind = output.millis_behind_latest.unwrap_or(0).max(0) as u64;
        self.stats.iterator_age_ms.store(behind, Ordering::Relaxed);
        // Reached the tip: nothing more to read. Not `MillisBehindLatest` = 0, which a read cut short (the front
        // door's 2 MiB per second) still carries from the emulator's full answer.
        let caught_up = output.records.is_empty();
        if !caught_up && first_buffered.is_none() {
            *first_buffered = Some(Instant::now());
        }
        buffer.extend(output.records);
        if output.next_shard_iterator.is_none() {
            *children = output.child_shards.unwrap_or_default();
        }
        (output.next_shard_iterator, caught_up)
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

    /// The first iterator: after the shard's checkpoint when there is one (Lambda resumes a mapping where it left
    /// off), else at the mapping's starting position.
    async fn first_iterator(&self) -> Result<Option<String>> {
        // By name: moto 5.2.5 loses the stream of an iterator asked for by ARN (GetRecords then fails).
        let request = || {
            self.kinesis
                .get_shard_iterator()
                .stream_name(self.settings.stream_name())
                .shard_id(&self.shard_id)
        };
        if let Some(sequence_number) = self.checkpoint.load() {
            let resumed = request()
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(&sequence_number)
                .send()
                .await;
            match resumed {
                Ok(output) => return Ok(output.shard_iterator),
                Err(error) => eprintln!(
                    "event source mapping {}: cannot resume {} after {sequence_number} ({}); starting at the mapping's starting position",
                    self.settings.uuid,
                    self.shard_id,
                    error_chain(&error)
                ),
            }
        }
        let request = match self.settings.starting_position {
            StartingPosition::TrimHorizon => request().shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartingPosition::Latest if self.from_its_start => {
                request().shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            StartingPosition::Latest => request().shard_iterator_type(ShardIteratorType::Latest),
            // "AT_TIMESTAMP - Specify a time from which to start reading records" (CreateEventSourceMapping's
            // StartingPosition, <https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>).
            StartingPosition::AtTimestamp(seconds) => request()
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_secs_f64(
                    seconds.context("AT_TIMESTAMP without a StartingPositionTimestamp")?,
                )),
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
            let open = window.get_or_insert_with(|| OpenWindow::new(start_ms, start_ms + size_ms));
            self.deliver(group, Some(open)).await;
        }
    }

    /// Closes a window with its final invocation.
    async fn close_window(&self, open: OpenWindow) {
        if self.finish_window(&open, false).await {
            self.stats.windows_closed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ends a window whose state outgrew [`MAX_WINDOW_STATE_BYTES`]: a final invocation with
    /// `isWindowTerminatedEarly: true`, then the same window goes on with a fresh state.
    async fn end_window_early(&self, open: &mut OpenWindow) {
        if self.finish_window(open, true).await {
            self.stats.windows_terminated_early.fetch_add(1, Ordering::Relaxed);
            *open = OpenWindow::new(open.start_ms, open.end_ms);
        }
    }

    /// The final invocation of a window: no records, the window's state, `isFinalInvokeForWindow: true`. Lambda
    /// holds the shard until it succeeds: a failure is retried under the mapping's retry policy, and given up
    /// (the window's records to the on-failure destination) after `MaximumRetryAttempts`. Then the window's
    /// records are checkpointed. `false` when the poller was stopped first.
    async fn finish_window(&self, open: &OpenWindow, early: bool) -> bool {
        let mut attempts = 0u32;
        loop {
            if self.stopped() {
                return false;
            }
            let mut event = kinesis_event(&self.settings, &self.shard_id, &self.invoke_identity_arn, &[]);
            add_window(&mut event, &self.settings, &self.shard_id, open, true, early);
            let (_, diagnosis) = self.invoke(&event, true).await;
            let Some(diagnosis) = diagnosis else { break };
            attempts += 1;
            eprintln!(
                "event source mapping {}: the final invocation of window {} on {} failed (attempt {attempts}): {}",
                self.settings.uuid,
                iso_seconds(open.start_ms),
                self.shard_id,
                diagnosis.error_message
            );
            if self.stopped() {
                return false;
            }
            // Retried until it succeeds, its retries are used up, or its records are older than
            // `MaximumRecordAgeInSeconds` (with the default `MaximumRetryAttempts` -1, the only way out).
            let condition = if self.settings.max_retry_attempts.is_some_and(|max| attempts > max) {
                Some("RetryAttemptsExhausted")
            } else if self.settings.max_record_age.is_some_and(|max| window_age(open) > max) {
                Some("RecordAgeExceeded")
            } else {
                None
            };
            if let Some(condition) = condition {
                self.give_up(open.span(), condition, &event, Some(&diagnosis), attempts)
                    .await;
                break;
            }
            tokio::time::sleep(self.pacing.retry_delay).await;
        }
        if let Some(last) = &open.last {
            self.checkpoint.save_or_warn(&last.sequence_number);
        }
        true
    }

    /// Lambda's `IteratorAge` for this invocation: "the age of the last record in the event ... the time between
    /// when a stream receives the record and when the event source mapping sends the event to the function"
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>).
    fn count_iterator_age(&self, event: &Value) {
        let last_arrival_s = event["Records"]
            .as_array()
            .and_then(|records| records.last())
            .and_then(|record| record["kinesis"]["approximateArrivalTimestamp"].as_f64());
        let Some(arrival_s) = last_arrival_s else { return };
        let now_ms = Utc::now().timestamp_millis() as f64;
        let metric = crate::runtime::metrics::MetricId::new(
            crate::runtime::lambda_host::LAMBDA_NAMESPACE,
            "IteratorAge",
            ("FunctionName", &self.function.name),
        );
        let age = (now_ms - arrival_s * 1000.0).max(0.0);
        self.host.metrics().sample(metric, age, now_ms as u64);
    }

    /// One invocation, counted; how it ended, and why it failed if it did.
    async fn invoke(&self, event: &Value, in_window: bool) -> (Outcome, Option<Diagnosis>) {
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        // An answer over 6 MB is already a function error here: the host's Runtime API refuses it as Lambda's does.
        self.count_iterator_age(event);
        let outcome = self.host.invoke(&self.function, event).await;
        let diagnosis = Diagnosis::of(&outcome, in_window);
        if outcome.is_error() {
            self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
            if let Some(panic) = outcome
                .error()
                .and_then(|(_, message)| crate::unfinished::panic_in(&message))
            {
                *self.stats.last_panic.lock().unwrap() = Some(panic);
            }
        } else if diagnosis.is_some() {
            self.stats.responses_without_state.fetch_add(1, Ordering::Relaxed);
        }
        (outcome, diagnosis)
    }

    /// The shard moves past these records. Without a window they are checkpointed now; in a window they are
    /// noted, and checkpointed when the window's final invocation is done.
    fn moved_past(&self, records: &[Record], window: Option<&mut OpenWindow>) {
        let Some(last) = records.last() else { return };
        match window {
            Some(open) => {
                if open.first.is_none() {
                    open.first = records.first().cloned();
                }
                open.last = Some(last.clone());
                open.records += records.len();
            }
            None => self.checkpoint.save_or_warn(&last.sequence_number),
        }
    }

    /// Notes records the function took, for the order check: each key's records in the order they were delivered.
    fn delivered(&self, records: &[Record]) {
        let mut order = self.stats.order.lock().expect("not poisoned");
        for record in records {
            let key = record.partition_key.as_deref().unwrap_or_default();
            order.delivered(key, &self.shard_id, &record.sequence_number);
        }
    }

    /// Gives up the records older than `MaximumRecordAgeInSeconds` (the first ones: a shard's records arrive in
    /// order); the rest, to deliver.
    async fn give_up_expired(&self, batch: Vec<Record>, attempts: u32, window: Option<&mut OpenWindow>) -> Vec<Record> {
        let Some(max_age) = self.settings.max_record_age else {
            return batch;
        };
        let (expired, fresh): (Vec<Record>, Vec<Record>) = batch.into_iter().partition(|record| age(record) > max_age);
        if !expired.is_empty() {
            let mut event = kinesis_event(&self.settings, &self.shard_id, &self.invoke_identity_arn, &expired);
            if let Some(open) = window.as_deref() {
                add_window(&mut event, &self.settings, &self.shard_id, open, false, false);
            }
            self.give_up(Span::of(&expired), "RecordAgeExceeded", &event, None, attempts)
                .await;
            self.moved_past(&expired, window);
        }
        fresh
    }

    /// Delivers one batch: invokes the function until the batch is done or given up, in the shard's order.
    async fn deliver(&self, records: Vec<Record>, mut window: Option<&mut OpenWindow>) {
        let mut first_delivery = true;
        let mut queue = VecDeque::from([(records, 0u32)]);
        while let Some((mut batch, mut attempts)) = queue.pop_front() {
            loop {
                if self.stopped() {
                    return;
                }
                batch = self.give_up_expired(batch, attempts, window.as_deref_mut()).await;
                if batch.is_empty() {
                    break;
                }
                let (event, rest) = self.event_within_limit(&mut batch, window.as_deref());
                if !rest.is_empty() {
                    // What does not fit is the next batch, after this one.
                    queue.push_front((rest, attempts));
                }
                if first_delivery {
                    let now = Utc::now().timestamp_millis() as f64;
                    let mut latencies = self.stats.arrival_to_invoke_ms.lock().expect("not poisoned");
                    latencies.extend(batch.iter().map(|record| (now - arrival_ms(record)).max(0.0)));
                    first_delivery = false;
                }
                let (failed_from, diagnosis) = self.attempt(&event, &batch, window.as_deref_mut()).await;
                let Some(index) = failed_from else {
                    // Checkpointed first: a count that includes a record means its checkpoint is saved.
                    self.moved_past(&batch, window.as_deref_mut());
                    self.delivered(&batch);
                    self.stats.records_done.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    if let Some(open) = window.as_deref_mut()
                        && state_bytes(&open.state) > MAX_WINDOW_STATE_BYTES
                    {
                        self.end_window_early(open).await;
                    }
                    break;
                };
                // The checkpoint moves past the records before the first failure; the retry starts there.
                self.moved_past(&batch[..index], window.as_deref_mut());
                self.delivered(&batch[..index]);
                self.stats.records_done.fetch_add(index as u64, Ordering::Relaxed);
                batch.drain(..index);
                let diagnosis = diagnosis.expect("a failure has a diagnosis");
                if self.stopped() {
                    return;
                }

                // Splitting isolates a bad record; it does not use up the batch's retries.
                if diagnosis.function_error && self.settings.bisect_on_error && batch.len() > 1 {
                    let second = batch.split_off(batch.len() / 2);
                    self.stats.bisects.fetch_add(1, Ordering::Relaxed);
                    queue.push_front((second, attempts));
                    queue.push_front((batch, attempts));
                    break;
                }
                attempts += 1;
                if self.settings.max_retry_attempts.is_some_and(|max| attempts > max) {
                    let condition = "RetryAttemptsExhausted";
                    self.give_up(Span::of(&batch), condition, &event, Some(&diagnosis), attempts)
                        .await;
                    self.moved_past(&batch, window.as_deref_mut());
                    break;
                }
                tokio::time::sleep(self.pacing.retry_delay).await;
            }
        }
    }

    /// The event for `batch`, cut (from its end) to the records whose event fits [`MAX_EVENT_BYTES`]; the records
    /// cut off.
    fn event_within_limit(&self, batch: &mut Vec<Record>, window: Option<&OpenWindow>) -> (Value, Vec<Record>) {
        let event_of = |records: &[Record]| {
            let mut event = kinesis_event(&self.settings, &self.shard_id, &self.invoke_identity_arn, records);
            if let Some(open) = window {
                add_window(&mut event, &self.settings, &self.shard_id, open, false, false);
            }
            event
        };
        let size = |event: &Value| serde_json::to_vec(event).map_or(0, |bytes| bytes.len());
        let event = event_of(batch);
        if size(&event) <= MAX_EVENT_BYTES || batch.len() == 1 {
            return (event, vec![]);
        }
        // The most records that fit (at least one: a record of 1 MiB is far below the limit).
        let (mut fits, mut too_many) = (1, batch.len());
        while too_many - fits > 1 {
            let middle = (fits + too_many) / 2;
            if size(&event_of(&batch[..middle])) <= MAX_EVENT_BYTES {
                fits = middle;
            } else {
                too_many = middle;
            }
        }
        let rest = batch.split_off(fits);
        (event_of(batch), rest)
    }

    /// One invocation with a batch: the index the retry starts at (`None`: the batch is done) and why. A valid
    /// answer carries the window's state forward, reported failures or not.
    async fn attempt(
        &self,
        event: &Value,
        batch: &[Record],
        window: Option<&mut OpenWindow>,
    ) -> (Option<usize>, Option<Diagnosis>) {
        let (outcome, diagnosis) = self.invoke(event, window.is_some()).await;
        if diagnosis.is_some() {
            return (Some(0), diagnosis);
        }
        let Outcome::Response(body) = &outcome else {
            unreachable!("only a response has no diagnosis")
        };
        if let Some(open) = window {
            open.state = body["state"].clone();
        }
        if !self.settings.report_batch_item_failures {
            return (None, None);
        }
        let reported = body["batchItemFailures"].as_array().map_or(0, Vec::len);
        self.stats
            .records_reported_failed
            .fetch_add(reported as u64, Ordering::Relaxed);
        let failed = first_reported_failure(body, batch);
        let diagnosis = failed.map(|index| Diagnosis::reported(&batch[index].sequence_number));
        (failed, diagnosis)
    }

    /// Gives up records: AWS's invocation record to the on-failure destination (an S3 destination also gets the
    /// invocation's event, as a JSON string), and the same with this local cloud's diagnosis to
    /// `.lab/failures/<mapping>/<shard>/`, where the learner can read it; the shard moves on.
    async fn give_up(
        &self,
        span: Span<'_>,
        condition: &str,
        event: &Value,
        diagnosis: Option<&Diagnosis>,
        attempts: u32,
    ) {
        self.stats
            .records_given_up
            .fetch_add(span.size as u64, Ordering::Relaxed);
        let function_error = diagnosis.is_some_and(|d| d.function_error);
        let mut record = failure_record(
            &self.settings,
            &self.function.arn,
            &self.shard_id,
            span,
            condition,
            function_error,
            attempts,
        );
        record["payload"] = json!(event.to_string());
        let now = Utc::now();
        let name = format!("{}-{}", now.format("%Y-%m-%dT%H.%M.%S"), uuid::Uuid::new_v4());
        let folder = self
            .destinations
            .failures_dir
            .join(&self.settings.uuid)
            .join(&self.shard_id);
        let mut copy = record.clone();
        copy["lab"] = lab_diagnostics(diagnosis, attempts);
        let text = serde_json::to_string_pretty(&copy).expect("JSON");
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
            let body = serde_json::to_vec(&record).expect("JSON");
            let put = s3.put_object().bucket(bucket).key(key).body(body.into()).send().await;
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

/// How old a window's oldest record is (its start, when it holds none).
fn window_age(open: &OpenWindow) -> Duration {
    match &open.first {
        Some(first) => age(first),
        None => {
            let now = Utc::now().timestamp_millis();
            Duration::from_millis((now - open.start_ms).max(0) as u64)
        }
    }
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

/// The event Lambda sends for a batch of Kinesis records. `invokeIdentityArn` is the function's execution role
/// (AWS's example event: `"invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role"`,
/// <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>).
pub fn kinesis_event(settings: &MappingSettings, shard_id: &str, invoke_identity_arn: &str, batch: &[Record]) -> Value {
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
                "invokeIdentityArn": invoke_identity_arn,
                "awsRegion": settings.region(),
                "eventSourceARN": settings.stream_arn,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Adds what a time-window event has on top of the records: the window, the state, the shard, the final flag and
/// whether the window ends early (its state too large).
fn add_window(
    event: &mut Value,
    settings: &MappingSettings,
    shard_id: &str,
    open: &OpenWindow,
    is_final: bool,
    terminated_early: bool,
) {
    event["window"] = json!({ "start": iso_seconds(open.start_ms), "end": iso_seconds(open.end_ms) });
    event["state"] = open.state.clone();
    event["shardId"] = json!(shard_id);
    event["eventSourceARN"] = json!(settings.stream_arn);
    event["isFinalInvokeForWindow"] = json!(is_final);
    event["isWindowTerminatedEarly"] = json!(terminated_early);
}

/// A state's size as the function sent it: serialised JSON.
fn state_bytes(state: &Value) -> usize {
    serde_json::to_vec(state).map_or(0, |bytes| bytes.len())
}

fn iso_seconds(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The invocation record Lambda sends to an on-failure destination for a stream batch, as "Retain discarded batch
/// records for a Kinesis Data Streams event source"
/// (<https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html>) shows it: `requestContext`,
/// `responseContext` (`statusCode`, `executedVersion`, and `functionError` when the function failed: nothing
/// more, the error's text is not in it), `version`, `timestamp` and `KinesisBatchInfo`. An S3 destination also
/// gets `payload`, the invocation's event as a JSON string ("Lambda also sends the entire invocation record along
/// with the metadata"); the caller adds it.
pub fn failure_record(
    settings: &MappingSettings,
    function_arn: &str,
    shard_id: &str,
    span: Span<'_>,
    condition: &str,
    function_error: bool,
    attempts: u32,
) -> Value {
    let mut response = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if function_error {
        response["functionError"] = json!("Unhandled");
    }
    json!({
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": span.first.map(|r| r.sequence_number.as_str()),
            "endSequenceNumber": span.last.map(|r| r.sequence_number.as_str()),
            "approximateArrivalOfFirstRecord": span.first.map(|r| iso(arrival_ms(r))),
            "approximateArrivalOfLastRecord": span.last.map(|r| iso(arrival_ms(r))),
            "batchSize": span.size,
            "streamArn": settings.stream_arn,
        },
    })
}

/// What the `.lab/failures/` copy of an on-failure record adds under `lab`: how the last attempt ended, its error,
/// and the number of invocations.
fn lab_diagnostics(diagnosis: Option<&Diagnosis>, attempts: u32) -> Value {
    match diagnosis {
        Some(diagnosis) => json!({
            "outcome": diagnosis.outcome,
            "errorType": diagnosis.error_type,
            "errorMessage": diagnosis.error_message,
            "attempts": attempts,
        }),
        None => json!({ "outcome": "NotInvoked", "attempts": attempts }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MappingSettings {
        MappingSettings {
            uuid: "mapping".to_owned(),
            function_name: "consumer".to_owned(),
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/telemetry".to_owned(),
            batch_size: 10,
            starting_position: StartingPosition::TrimHorizon,
            batching_window: Duration::ZERO,
            bisect_on_error: false,
            max_retry_attempts: Some(1),
            max_record_age: None,
            report_batch_item_failures: false,
            on_failure_destination: None,
            tumbling_window: None,
            parallelization_factor: 1,
            enabled: true,
        }
    }

    fn record(sequence_number: &str) -> Record {
        Record::builder()
            .sequence_number(sequence_number)
            .partition_key("key")
            .data(aws_sdk_kinesis::primitives::Blob::new("x"))
            .approximate_arrival_timestamp(aws_sdk_kinesis::primitives::DateTime::from_secs(1_764_633_600))
            .build()
            .unwrap()
    }

    fn keys(value: &Value) -> Vec<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn the_on_failure_record_has_awss_fields_and_no_others() {
        let batch = [record("1"), record("2")];
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:consumer";
        let record = failure_record(
            &settings(),
            arn,
            "shardId-000000000000",
            Span::of(&batch),
            "RetryAttemptsExhausted",
            true,
            2,
        );
        let mut top = keys(&record);
        top.sort();
        assert_eq!(
            top,
            [
                "KinesisBatchInfo",
                "requestContext",
                "responseContext",
                "timestamp",
                "version"
            ]
        );
        assert_eq!(
            record["responseContext"],
            json!({ "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" }),
            "statusCode, executedVersion and functionError only"
        );
        let mut context = keys(&record["requestContext"]);
        context.sort();
        assert_eq!(
            context,
            ["approximateInvokeCount", "condition", "functionArn", "requestId"]
        );
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
        let info = &record["KinesisBatchInfo"];
        let mut fields = keys(info);
        fields.sort();
        assert_eq!(
            fields,
            [
                "approximateArrivalOfFirstRecord",
                "approximateArrivalOfLastRecord",
                "batchSize",
                "endSequenceNumber",
                "shardId",
                "startSequenceNumber",
                "streamArn"
            ]
        );
        assert_eq!(info["startSequenceNumber"], "1");
        assert_eq!(info["endSequenceNumber"], "2");
        assert_eq!(info["approximateArrivalOfFirstRecord"], "2025-12-02T00:00:00.000Z");
        assert_eq!(info["batchSize"], 2);
    }

    #[test]
    fn without_a_function_error_the_response_context_has_no_function_error() {
        let batch = [record("7")];
        let record = failure_record(
            &settings(),
            "arn",
            "shard",
            Span::of(&batch),
            "RecordAgeExceeded",
            false,
            0,
        );
        assert_eq!(
            record["responseContext"],
            json!({ "statusCode": 200, "executedVersion": "$LATEST" })
        );
    }

    #[test]
    fn a_window_answer_without_state_is_a_failure_but_not_a_function_error() {
        let no_state = Outcome::Response(json!({ "batchItemFailures": [] }));
        let diagnosis = Diagnosis::of(&no_state, true).expect("a failed invocation");
        assert!(!diagnosis.function_error);
        assert_eq!(
            Diagnosis::of(&no_state, false),
            None,
            "outside a window, no state is needed"
        );
        let null_state = Outcome::Response(json!({ "state": null }));
        assert!(Diagnosis::of(&null_state, true).is_some(), "a null state is no state");
        let with_state = Outcome::Response(json!({ "state": {} }));
        assert_eq!(Diagnosis::of(&with_state, true), None);
    }
}
