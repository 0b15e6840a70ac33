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
    /// The record for this reading: its JSON and nothing else (step 4's Firehose appends the newline that makes its
    /// files NDJSON; one here too would leave a blank line after every record), keyed by the vehicle, so that one
    /// vehicle's readings stay in order on one shard (and the fleet spreads over all of them).
    pub fn to_entry(&self) -> Entry {
        todo!("the reading as one JSON document, nothing after it (Firehose adds the newline); choose the key")
    }
}

/// Groups entries, in their order, into as few `PutRecords` calls as Kinesis's limits allow: [`MAX_RECORDS_PER_CALL`]
/// and [`MAX_BYTES_PER_CALL`], given in `given/records.rs`.
pub fn batches(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    todo!("split the entries, in order, into calls of at most 500 records and 5 MiB (keys included)")
}

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

impl RetryPolicy {
    /// How long to wait before retry number `retry` (1 for the first). The ceiling doubles with each retry up to
    /// the cap; the wait is drawn at random below it, so that producers throttled together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        todo!("full jitter: a random wait from zero up to min(cap, base × 2^(retry - 1))")
    }
}

impl Producer {
    /// Sends one batch. Only the entries Kinesis refused are sent again, after a backoff; what is still refused
    /// after `retry.attempts` calls, or when the next wait would end past `stop_at`, is counted as failed.
    pub async fn send(&self, batch: Vec<Entry>, stop_at: Instant) -> Tally {
        todo!("put_records, then resend only the refused entries, with backoff, until attempts or time run out")
    }

    /// One bounded run: every second, the fleet's next `records_per_second` readings (fewer at the end, to stop at
    /// exactly `max_records`), sent in batches, until a limit is reached or the [`budget`] that `time_left` allows runs out.
    pub async fn run(&self, request: &Request, time_left: Duration) -> Response {
        todo!("every second make up to the rate's records and send them; stop at max_records or the budget")
    }
}

/// How long an invocation may produce, given the time Lambda leaves it, and why it will stop then. The margin kept
/// before the deadline is [`DEADLINE_MARGIN`] (in `given/invocation.rs`).
pub fn budget(request: &Request, time_left: Duration) -> (Duration, StopReason) {
    todo!("how long to run, max_seconds or until 2 s before the deadline, whichever is sooner, and why")
}

/// The function's handler: one invocation, one bounded run, one report.
pub async fn handler(producer: &Producer, event: LambdaEvent<Request>) -> Result<Response, Error> {
    todo!("validate the request, then run for the time left until the context's deadline")
}
