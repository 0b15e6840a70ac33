//! Step 2: the producer Lambda.
//!
//! Each invocation reads a simulated fleet ([`fleet`]) at a steady rate and writes the readings to the stream with
//! `PutRecords`: up to 500 records a call, each keyed by its vehicle, so that one vehicle's readings stay in order on
//! one shard while the fleet spreads over every shard. Entries that Kinesis refuses are resent (only those), with
//! backoff; entries that still fail are counted, never dropped. The invocation ends on its own: at a number of
//! records, after a number of seconds, or two seconds before Lambda would stop it.
//!
//! This file holds what you write. The rest is given, in [`given`] (re-exported here, so `producer::Entry` and the
//! like name it): the limits and [`Entry`] in `given/records.rs`, [`Tally`] in `given/tally.rs`, the SDK client,
//! [`Stream`] and [`Producer`] with its raw [`Producer::put_records`] in `given/kinesis.rs`, and the [`Request`],
//! [`Response`] and [`DEADLINE_MARGIN`] in `given/invocation.rs`.

use lambda_runtime::{Error, LambdaEvent};
use rand::RngExt;
use std::time::{Duration, SystemTime};
use tokio::time::{Instant, sleep, sleep_until};

pub mod fleet;
pub mod given;
pub use fleet::{CITIES, City, Fleet, Reading};
// The given items, by the paths the tests, the binaries and the book use.
pub use given::{invocation::*, kinesis::*, records::*, tally::*};

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
/// Groups entries, in their order, into as few `PutRecords` calls as Kinesis's limits allow: [`MAX_RECORDS_PER_CALL`]
/// and [`MAX_BYTES_PER_CALL`], given in `given/records.rs`.
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

impl Producer {
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

// learner: how long to run, max_seconds or until 2 s before the deadline, whichever is sooner, and why
// ANCHOR: budget
/// How long an invocation may produce, given the time Lambda leaves it, and why it will stop then. The margin kept
/// before the deadline is [`DEADLINE_MARGIN`] (in `given/invocation.rs`).
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
