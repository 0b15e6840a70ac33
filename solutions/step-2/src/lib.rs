//! Step 2: the producer Lambda.
//!
//! Each invocation reads a simulated fleet ([`fleet`]) at a steady rate and writes the readings to the stream with
//! `PutRecords`: up to 500 records a call, each keyed by its vehicle, so that one vehicle's readings stay in order on
//! one shard while the fleet spreads over every shard. Entries that Kinesis refuses are resent (only those), with
//! backoff; entries that still fail are counted, never dropped. The invocation ends on its own: at a number of
//! records, after a number of seconds, or two seconds before Lambda would stop it.

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use lambda_runtime::{Error, LambdaEvent};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::AddAssign;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::{Instant, sleep, sleep_until};

pub mod fleet;
pub use fleet::{CITIES, City, Fleet, Reading};

// ANCHOR: limits
// The byte limits are the defaults, which every stream accepts: the PutRecords reference gives 1 MiB a record and
// 5 MiB a call. A stream whose MaxRecordSizeInKiB was raised (UpdateMaxRecordSize, up to 10 MiB) takes larger
// records (https://docs.aws.amazon.com/streams/latest/dev/large-records.html); this producer's are far smaller.
/// At most this many records in one `PutRecords` call.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// At most this many bytes in one `PutRecords` call, counting every record's data *and* partition key (the default).
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// At most this many bytes in one record, data and partition key together (the default `MaxRecordSizeInKiB`, 1024).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// A partition key is 1 to 256 characters.
pub const MAX_KEY_CHARS: usize = 256;
// ANCHOR_END: limits

/// The producer stops starting new work this long before Lambda's deadline. It must exceed [`OPERATION_TIMEOUT`],
/// so that a call started just before the stop still ends before the deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

// ANCHOR: entry
/// One record ready for Kinesis: its partition key and its bytes. [`Entry::new`] refuses what Kinesis would refuse,
/// so an `Entry` always fits in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    partition_key: String,
    data: Vec<u8>,
}

impl Entry {
    pub fn new(partition_key: impl Into<String>, data: impl Into<Vec<u8>>) -> Result<Entry, EntryError> {
        let entry = Entry {
            partition_key: partition_key.into(),
            data: data.into(),
        };
        let key_chars = entry.partition_key.chars().count();
        if key_chars == 0 || key_chars > MAX_KEY_CHARS {
            return Err(EntryError::KeyLength(key_chars));
        }
        if entry.size() > MAX_RECORD_BYTES {
            return Err(EntryError::TooLarge(entry.size()));
        }
        Ok(entry)
    }

    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// What the record counts for against Kinesis's limits: its data and its partition key, in bytes.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}
// ANCHOR_END: entry

/// Why [`Entry::new`] refused a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The partition key has this many characters; Kinesis takes 1 to 256.
    KeyLength(usize),
    /// The record (data and key) has this many bytes; Kinesis takes 1 MiB at most (by default).
    TooLarge(usize),
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::KeyLength(chars) => {
                write!(f, "a partition key has 1 to {MAX_KEY_CHARS} characters, not {chars}")
            }
            EntryError::TooLarge(bytes) => {
                write!(
                    f,
                    "a record is at most {MAX_RECORD_BYTES} bytes with its key, not {bytes}"
                )
            }
        }
    }
}

impl std::error::Error for EntryError {}

impl Reading {
    // learner: the reading as one JSON document, nothing after it (Firehose adds the newline); choose the key
    // ANCHOR: to_entry
    /// The record for this reading: its JSON and nothing else (step 4's Firehose appends the newline that makes its
    /// files NDJSON; one here too would leave a blank line after every record), keyed by the vehicle, so that one
    /// vehicle's readings stay in order on one shard (and the fleet spreads over all of them).
    pub fn to_entry(&self) -> Entry {
        let json = serde_json::to_vec(self).expect("a reading always serialises");
        Entry::new(self.vehicle.clone(), json).expect("a reading is far smaller than a record may be")
    }
    // ANCHOR_END: to_entry
}

// learner: split the entries, in order, into calls of at most 500 records and 5 MiB (keys included)
// ANCHOR: batches
/// Groups entries, in their order, into as few `PutRecords` calls as Kinesis's limits allow.
pub fn batches(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut batches = vec![];
    let mut batch: Vec<Entry> = vec![];
    let mut bytes = 0;
    for entry in entries {
        let full = batch.len() == MAX_RECORDS_PER_CALL || bytes + entry.size() > MAX_BYTES_PER_CALL;
        if full {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += entry.size();
        batch.push(entry);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}
// ANCHOR_END: batches

// ANCHOR: sdk_client
/// Per attempt, the most a call may take; a `PutRecords` of 5 MiB within a region takes a fraction of it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The most a call may take, its retries included: less than [`DEADLINE_MARGIN`].
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(1_500);
const _: () = assert!(OPERATION_TIMEOUT.as_millis() < DEADLINE_MARGIN.as_millis());

/// How the SDK retries a call that failed as a whole (a dropped connection, a 500, a throttled request): three
/// attempts at most, quickly, since the whole call must fit in [`OPERATION_TIMEOUT`].
pub fn sdk_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(400))
}

/// No call may outlive the margin the producer keeps before Lambda's deadline.
pub fn sdk_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// A Kinesis client with the producer's retries and timeouts, on top of wherever `config` points (the region,
/// credentials and endpoint come from the standard chain: `AWS_ENDPOINT_URL` selects the local cloud).
pub fn kinesis_client(config: &SdkConfig) -> Client {
    let kinesis = aws_sdk_kinesis::config::Builder::from(config)
        .retry_config(sdk_retry_config())
        .timeout_config(sdk_timeout_config())
        .build();
    Client::from_conf(kinesis)
}
// ANCHOR_END: sdk_client

/// The stream to write to, as the function's environment names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// `STREAM_ARN`: unambiguous, and what an IAM policy names.
    Arn(String),
    /// `STREAM_NAME`: the stream of that name in the function's own account and region.
    Name(String),
}

impl Stream {
    /// Reads `STREAM_ARN`, or else `STREAM_NAME`, from the environment.
    pub fn from_env() -> Result<Stream, Error> {
        Stream::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Stream::from_env`] with the variables read by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Stream, Error> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        match (set("STREAM_ARN"), set("STREAM_NAME")) {
            (Some(arn), _) => Ok(Stream::Arn(arn)),
            (None, Some(name)) => Ok(Stream::Name(name)),
            (None, None) => Err("set STREAM_ARN (or STREAM_NAME) in the function's environment".into()),
        }
    }
}

// ANCHOR: retry_policy
/// How the producer resends the entries Kinesis refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `PutRecords` calls per batch at most, the first included.
    pub attempts: u32,
    /// The first resend waits up to this long; each further one up to twice as long as the one before...
    pub base: Duration,
    /// ...but never longer than this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        }
    }
}
// ANCHOR_END: retry_policy

impl RetryPolicy {
    // learner: full jitter: a random wait from zero up to min(cap, base × 2^(retry - 1))
    // ANCHOR: backoff
    /// How long to wait before retry number `retry` (1 for the first). The ceiling doubles with each retry up to
    /// the cap; the wait is drawn at random below it, so that producers throttled together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let doubling = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = self.base.saturating_mul(doubling).min(self.cap);
        ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
    // ANCHOR_END: backoff
}

// ANCHOR: tally
/// What happened to the records of one batch, or of a whole invocation (tallies add up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Records Kinesis accepted.
    pub sent: u64,
    /// Records sent again because Kinesis refused them the time before.
    pub retried: u64,
    /// Records given up on: still refused after the last attempt, or their call failed as a whole. (A call that timed
    /// out may have been written all the same: nobody can tell, which is one reason consumers meet duplicates.)
    pub failed: u64,
    /// `PutRecords` calls made.
    pub calls: u64,
    /// The failed records, counted by the error that made them fail last.
    pub errors: BTreeMap<String, u64>,
    /// A call that failed as a whole, after the SDK's own retries (a missing stream, say): it ends the invocation.
    pub error: Option<String>,
}

impl Tally {
    /// Counts `count` records as failed, for `reason`.
    pub fn give_up(&mut self, count: usize, reason: &str) {
        self.failed += count as u64;
        *self.errors.entry(reason.to_owned()).or_default() += count as u64;
    }
}
// ANCHOR_END: tally

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.calls += other.calls;
        for (reason, count) in other.errors {
            *self.errors.entry(reason).or_default() += count;
        }
        if other.error.is_some() {
            self.error = other.error;
        }
    }
}

/// A `PutRecords` call that failed as a whole: nothing in it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailed {
    /// The AWS error code (`ResourceNotFoundException`, …), or what went wrong before AWS answered.
    pub code: String,
    pub message: String,
}

impl<E: ProvideErrorMetadata + std::error::Error + 'static, R: fmt::Debug> From<SdkError<E, R>> for CallFailed {
    fn from(error: SdkError<E, R>) -> CallFailed {
        let code = match &error {
            SdkError::ServiceError(_) => error.code().unwrap_or("ServiceError").to_owned(),
            SdkError::TimeoutError(_) => "Timeout".to_owned(),
            SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
            _ => "RequestFailed".to_owned(),
        };
        // The SDK's Display is terse; the chain of sources says what actually went wrong.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        CallFailed { code, message }
    }
}

// ANCHOR: producer
/// Everything an invocation needs, built once when the function starts.
#[derive(Debug, Clone)]
pub struct Producer {
    pub client: Client,
    pub stream: Stream,
    pub retry: RetryPolicy,
    /// Every record under this one key instead of its own (`PARTITION_KEY`, which `cargo xtask lab --scenario
    /// hot-key` sets, as the original lab keyed everything "geolocation"): one shard takes all the traffic. Keep it
    /// no longer than the entries' own keys, which their calls' sizes were counted with.
    pub partition_key: Option<String>,
}
// ANCHOR_END: producer

impl Producer {
    pub fn new(client: Client, stream: Stream) -> Producer {
        Producer {
            client,
            stream,
            retry: RetryPolicy::default(),
            partition_key: None,
        }
    }

    /// The producer with every record keyed `key` (none: each record's own key).
    pub fn with_partition_key(mut self, key: Option<String>) -> Producer {
        self.partition_key = key.filter(|key| !key.is_empty());
        self
    }

    // ANCHOR: put_records
    /// One `PutRecords` call. Kinesis answers with one result per entry, in the order sent: `Ok` if it wrote the
    /// entry, else the entry's `ErrorCode` (`ProvisionedThroughputExceededException` or `InternalFailure`).
    pub async fn put_records(&self, entries: &[Entry]) -> Result<Vec<Result<(), String>>, CallFailed> {
        let records = entries
            .iter()
            .map(|entry| {
                PutRecordsRequestEntry::builder()
                    .partition_key(self.partition_key.as_deref().unwrap_or(entry.partition_key()))
                    .data(Blob::new(entry.data()))
                    .build()
                    .expect("partition key and data are set")
            })
            .collect();
        let call = self.client.put_records().set_records(Some(records));
        let call = match &self.stream {
            Stream::Arn(arn) => call.stream_arn(arn),
            Stream::Name(name) => call.stream_name(name),
        };
        let output = call.send().await?;
        if output.records.len() != entries.len() {
            return Err(CallFailed {
                code: "IncompleteResponse".to_owned(),
                message: format!("{} results for {} records", output.records.len(), entries.len()),
            });
        }
        let results = output.records.into_iter().map(|result| match result.error_code {
            None => Ok(()),
            Some(code) => Err(code),
        });
        Ok(results.collect())
    }
    // ANCHOR_END: put_records

    // learner: put_records, then resend only the refused entries, with backoff, until attempts or time run out
    // ANCHOR: send
    /// Sends one batch. Only the entries Kinesis refused are sent again, after a backoff; what is still refused
    /// after `retry.attempts` calls, or when the next wait would end past `stop_at`, is counted as failed.
    pub async fn send(&self, batch: Vec<Entry>, stop_at: Instant) -> Tally {
        let mut tally = Tally::default();
        let mut pending = batch;
        let mut attempt = 1;
        loop {
            tally.calls += 1;
            let results = match self.put_records(&pending).await {
                Ok(results) => results,
                Err(failed) => {
                    tally.give_up(pending.len(), &failed.code);
                    tally.error = Some(format!("PutRecords failed: {}", failed.message));
                    return tally;
                }
            };
            // Keep the refused entries, with the reason Kinesis gave for each.
            let mut refused = vec![];
            for (entry, result) in pending.into_iter().zip(results) {
                match result {
                    Ok(()) => tally.sent += 1,
                    Err(code) => refused.push((entry, code)),
                }
            }
            if refused.is_empty() {
                return tally;
            }
            let wait = self.retry.backoff(attempt);
            if attempt >= self.retry.attempts || Instant::now() + wait >= stop_at {
                for (_, code) in &refused {
                    tally.give_up(1, code);
                }
                return tally;
            }
            tally.retried += refused.len() as u64;
            pending = refused.into_iter().map(|(entry, _)| entry).collect();
            attempt += 1;
            sleep(wait).await;
        }
    }
    // ANCHOR_END: send

    // learner: every second make up to the rate's records and send them; stop at max_records or the budget
    // ANCHOR: run
    /// One bounded run: every second, the fleet's next `records_per_second` readings (fewer at the end, to stop at
    /// exactly `max_records`), sent in batches, until a limit is reached or the [`budget`] that `time_left` allows runs out.
    pub async fn run(&self, request: &Request, time_left: Duration) -> Response {
        let (time, until) = budget(request, time_left);
        let started = Instant::now();
        let stop_at = started + time;
        let fleet = request.fleet();
        let mut tally = Tally::default();
        let mut made = 0;
        let mut next_second = started;
        let stopped = loop {
            if Instant::now() >= stop_at {
                break until;
            }
            let count = request.records_per_second.min(request.max_records - made);
            let readings = fleet.readings(made, count, now_millis());
            let entries = readings.iter().map(Reading::to_entry).collect();
            made += count;
            for batch in batches(entries) {
                tally += self.send(batch, stop_at).await;
            }
            if tally.error.is_some() {
                break StopReason::Error;
            }
            if made == request.max_records {
                break StopReason::MaxRecords;
            }
            next_second += Duration::from_secs(1);
            sleep_until(next_second.min(stop_at)).await;
        };
        Response::new(tally, stopped, started.elapsed())
    }
    // ANCHOR_END: run
}

// ANCHOR: request
/// What an invocation is asked to do. Every field has a default, so `{}` (or a scheduled event, whose fields are
/// ignored) is a valid request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    /// New records each second: 1 to `MAX_RECORDS_PER_SECOND` (sent in batches of at most 500).
    pub records_per_second: u64,
    /// Stop after this many records (at least 1).
    pub max_records: u64,
    /// Stop after this many seconds (1 to 900, Lambda's longest timeout), or earlier if the deadline is nearer.
    pub max_seconds: u64,
    /// The fleet's size: 1 to 100,000 vehicles, taking turns to report.
    pub vehicles: u32,
    /// The fleet's seed: the same seed, the same vehicles on the same journeys, whichever invocation reads them.
    pub seed: u64,
    /// The share of readings that are glitches, hundreds of km off: 0 to 0.1.
    pub glitch_rate: f64,
}

impl Default for Request {
    fn default() -> Request {
        Request {
            records_per_second: 100,
            max_records: 10_000,
            max_seconds: 60,
            vehicles: 300,
            seed: 1,
            glitch_rate: 0.01,
        }
    }
}
// ANCHOR_END: request

/// The most records a second a request may ask for: ten shards' write capacity. More would need more than one
/// invocation's worth of calls a second (or more producers).
pub const MAX_RECORDS_PER_SECOND: u64 = 10_000;
/// The most vehicles a request may ask for.
pub const MAX_VEHICLES: u32 = 100_000;
/// The largest share of glitches a request may ask for: beyond it, a glitch would often follow a glitch, and the
/// data would stop looking like a fleet.
pub const MAX_GLITCH_RATE: f64 = 0.1;

impl Request {
    /// Refuses a request the producer cannot honour.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=MAX_RECORDS_PER_SECOND).contains(&self.records_per_second) {
            return Err(format!(
                "records_per_second must be 1 to {MAX_RECORDS_PER_SECOND}, not {}",
                self.records_per_second
            )
            .into());
        }
        if self.max_records == 0 {
            return Err("max_records must be at least 1".into());
        }
        if !(1..=900).contains(&self.max_seconds) {
            return Err(format!("max_seconds must be 1 to 900, not {}", self.max_seconds).into());
        }
        if !(1..=MAX_VEHICLES).contains(&self.vehicles) {
            return Err(format!("vehicles must be 1 to {MAX_VEHICLES}, not {}", self.vehicles).into());
        }
        // `contains` is false for NaN.
        if !(0.0..=MAX_GLITCH_RATE).contains(&self.glitch_rate) {
            return Err(format!("glitch_rate must be 0 to {MAX_GLITCH_RATE}, not {}", self.glitch_rate).into());
        }
        Ok(())
    }

    /// The fleet this request reads.
    pub fn fleet(&self) -> Fleet {
        Fleet {
            seed: self.seed,
            vehicles: self.vehicles,
            glitch_rate: self.glitch_rate,
        }
    }
}

/// The wall clock, in milliseconds since 1970: the event time of the readings made now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

// ANCHOR: response
/// Why an invocation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It made `max_records` records.
    MaxRecords,
    /// It ran for `max_seconds`.
    MaxSeconds,
    /// Lambda's deadline was less than [`DEADLINE_MARGIN`] away.
    Deadline,
    /// A call failed as a whole (see `error`).
    Error,
}

/// The invocation's report: `{"sent":…,"retried":…,"failed":…,"calls":…,"errors":{…},"error":…,"stopped":…,
/// "elapsed_ms":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    #[serde(flatten)]
    pub tally: Tally,
    pub stopped: StopReason,
    pub elapsed_ms: u64,
}
// ANCHOR_END: response

impl Response {
    pub fn new(tally: Tally, stopped: StopReason, elapsed: Duration) -> Response {
        Response {
            tally,
            stopped,
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }
}

// learner: how long to run, max_seconds or until 2 s before the deadline, whichever is sooner, and why
// ANCHOR: budget
/// How long an invocation may produce, given the time Lambda leaves it, and why it will stop then.
pub fn budget(request: &Request, time_left: Duration) -> (Duration, StopReason) {
    let before_deadline = time_left.saturating_sub(DEADLINE_MARGIN);
    let max = Duration::from_secs(request.max_seconds);
    if max < before_deadline {
        (max, StopReason::MaxSeconds)
    } else {
        (before_deadline, StopReason::Deadline)
    }
}
// ANCHOR_END: budget

// learner: validate the request, then run for the time left until the context's deadline
// ANCHOR: handler
/// The function's handler: one invocation, one bounded run, one report.
pub async fn handler(producer: &Producer, event: LambdaEvent<Request>) -> Result<Response, Error> {
    let request = event.payload;
    request.validate()?;
    let time_left = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let response = producer.run(&request, time_left).await;
    match &response.tally.error {
        Some(error) => tracing::error!(?response, "stopped by a failed call: {error}"),
        None => tracing::info!(?response, "done"),
    }
    Ok(response)
}
// ANCHOR_END: handler

#[cfg(test)]
mod tests;
