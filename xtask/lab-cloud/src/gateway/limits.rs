//! AWS's per-shard throughput limits, counted in windows of a clock the gateway is given.
//!
//! The figures are AWS's, from "Quotas and limits" in the Kinesis Data Streams Developer Guide
//! (<https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>) and the API reference pages of
//! `PutRecords` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>) and `GetRecords`
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

/// What a shard accepts per window, and what one `GetRecords` call returns at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The accounting window: AWS counts per second.
    pub window: Duration,
    /// Records written per shard per window: 1,000 (PutRecords, PutRecord).
    pub write_records: u64,
    /// Bytes written per shard per window, data plus partition key: 1 MiB.
    pub write_bytes: u64,
    /// `GetRecords` calls per shard per window, shared by every reader of the shard: 5.
    pub read_calls: u64,
    /// Bytes read per shard per window, shared by every reader: 2 MiB. A call that returns more (up to
    /// [`Limits::bytes_per_read`]) is served and the excess is owed: the shard's next calls are refused until the
    /// windows that follow have paid it back ("if a call returns 10 MiB, subsequent calls made within the next 5
    /// seconds throw ProvisionedThroughputExceededException").
    pub read_bytes: u64,
    /// Records one `GetRecords` call returns at most, and its `Limit` when the caller sets none: 10,000.
    pub records_per_read: u64,
    /// Bytes one `GetRecords` call returns at most: 10 MiB.
    pub bytes_per_read: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            window: Duration::from_secs(1),
            write_records: 1_000,
            write_bytes: MIB,
            read_calls: 5,
            read_bytes: 2 * MIB,
            records_per_read: 10_000,
            bytes_per_read: 10 * MIB,
        }
    }
}

impl Limits {
    /// No limit at all (`--no-limits`): moto's own behaviour, with the traffic still counted.
    pub fn none() -> Self {
        Limits {
            window: Duration::from_secs(1),
            write_records: u64::MAX,
            write_bytes: u64::MAX,
            read_calls: u64::MAX,
            read_bytes: u64::MAX,
            records_per_read: u64::MAX,
            bytes_per_read: u64::MAX,
        }
    }
}

/// The time the gateway counts windows in. Tests give it a [`ManualClock`], so that a window passes when the test
/// says so and no test waits for a real second.
pub trait Clock: Send + Sync + 'static {
    /// Time since some fixed origin.
    fn now(&self) -> Duration;
}

/// The machine's monotonic clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }
}

/// A shard, as the gateway counts it: its stream (region and name, the way both writes and shard iterators name
/// it) and its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardKey {
    pub region: String,
    pub stream: String,
    pub shard_id: String,
}

/// A shard's traffic since the gateway started, for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShardTraffic {
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    /// Records refused with `ProvisionedThroughputExceededException` (PutRecords entries and PutRecord calls).
    pub writes_throttled: u64,
    /// `GetRecords` calls served.
    pub read_calls: u64,
    pub records_read: u64,
    pub bytes_read: u64,
    /// `GetRecords` calls refused with `ProvisionedThroughputExceededException`.
    pub read_throttles: u64,
}

/// One shard's use of the current window.
#[derive(Debug, Default)]
struct Usage {
    window: u64,
    records_written: u64,
    bytes_written: u64,
    read_calls: u64,
    /// Read bytes the shard may still return; below zero when a large call is being paid back.
    read_allowance: i128,
}

#[derive(Debug, Default)]
struct Shard {
    usage: Usage,
    traffic: ShardTraffic,
}

/// The gateway's books: every shard's usage of the current window and its traffic so far.
pub struct Ledger {
    limits: Limits,
    clock: Arc<dyn Clock>,
    shards: Mutex<BTreeMap<ShardKey, Shard>>,
}

impl Ledger {
    pub fn new(limits: Limits, clock: Arc<dyn Clock>) -> Self {
        Ledger {
            limits,
            clock,
            shards: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn current_window(&self) -> u64 {
        let window = self.limits.window.as_nanos().max(1);
        (self.clock.now().as_nanos() / window) as u64
    }

    /// Runs `f` on the shard's books, brought up to the current window.
    fn with_shard<T>(&self, key: &ShardKey, f: impl FnOnce(&Limits, &mut Shard) -> T) -> T {
        let window = self.current_window();
        let mut shards = self.shards.lock().unwrap();
        let shard = shards.entry(key.clone()).or_insert_with(|| Shard {
            usage: Usage {
                window,
                read_allowance: self.limits.read_bytes.into(),
                ..Usage::default()
            },
            traffic: ShardTraffic::default(),
        });
        let usage = &mut shard.usage;
        if usage.window != window {
            let windows_passed = i128::from(window.saturating_sub(usage.window));
            let read_bytes = i128::from(self.limits.read_bytes);
            usage.read_allowance = (usage.read_allowance + read_bytes * windows_passed).min(read_bytes);
            usage.window = window;
            usage.records_written = 0;
            usage.bytes_written = 0;
            usage.read_calls = 0;
        }
        f(&self.limits, shard)
    }

    /// Takes one record of `bytes` from the shard's write allowance, or refuses it (counted as throttled).
    pub fn admit_write(&self, key: &ShardKey, bytes: u64) -> bool {
        self.with_shard(key, |limits, shard| {
            let usage = &mut shard.usage;
            let fits = usage.records_written < limits.write_records
                && usage.bytes_written.saturating_add(bytes) <= limits.write_bytes;
            if fits {
                usage.records_written += 1;
                usage.bytes_written += bytes;
            } else {
                shard.traffic.writes_throttled += 1;
            }
            fits
        })
    }

    /// Records that the upstream stored a record admitted by [`Ledger::admit_write`].
    pub fn record_written(&self, key: &ShardKey, bytes: u64) {
        self.with_shard(key, |_, shard| {
            shard.traffic.records_accepted += 1;
            shard.traffic.bytes_accepted += bytes;
        });
    }

    /// Takes one `GetRecords` call from the shard's allowance, or refuses it (counted as a read throttle).
    pub fn admit_read(&self, key: &ShardKey) -> bool {
        self.with_shard(key, |limits, shard| {
            let usage = &mut shard.usage;
            let allowed = usage.read_calls < limits.read_calls && usage.read_allowance > 0;
            if allowed {
                usage.read_calls += 1;
            } else {
                shard.traffic.read_throttles += 1;
            }
            allowed
        })
    }

    /// Charges what an admitted `GetRecords` call returned.
    pub fn record_read(&self, key: &ShardKey, records: u64, bytes: u64) {
        self.with_shard(key, |_, shard| {
            shard.usage.read_allowance -= i128::from(bytes);
            shard.traffic.read_calls += 1;
            shard.traffic.records_read += records;
            shard.traffic.bytes_read += bytes;
        });
    }

    /// Every shard's traffic so far: one lock, one copy of a few numbers per shard.
    pub fn traffic(&self) -> BTreeMap<ShardKey, ShardTraffic> {
        let shards = self.shards.lock().unwrap();
        shards
            .iter()
            .map(|(key, shard)| (key.clone(), shard.traffic.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(limits: Limits) -> (Ledger, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        (Ledger::new(limits, clock.clone()), clock)
    }

    fn shard(id: &str) -> ShardKey {
        ShardKey {
            region: "us-east-1".into(),
            stream: "s".into(),
            shard_id: id.into(),
        }
    }

    #[test]
    fn a_shard_takes_its_records_per_window_and_no_more() {
        let (ledger, clock) = ledger(Limits::default());
        let admitted = (0..1_001).filter(|_| ledger.admit_write(&shard("a"), 10)).count();
        assert_eq!(admitted, 1_000);
        assert!(
            ledger.admit_write(&shard("b"), 10),
            "another shard has its own allowance"
        );
        clock.advance(Duration::from_secs(1));
        assert!(ledger.admit_write(&shard("a"), 10), "a new window, a new allowance");
        assert_eq!(ledger.traffic()[&shard("a")].writes_throttled, 1);
    }

    #[test]
    fn a_large_read_is_paid_back_by_the_windows_after_it() {
        let (ledger, clock) = ledger(Limits::default());
        assert!(ledger.admit_read(&shard("a")));
        ledger.record_read(&shard("a"), 10, 10 * MIB);
        for _ in 0..4 {
            clock.advance(Duration::from_secs(1));
            assert!(
                !ledger.admit_read(&shard("a")),
                "10 MiB read: 4 windows of 2 MiB still owed"
            );
        }
        clock.advance(Duration::from_secs(1));
        assert!(ledger.admit_read(&shard("a")));
    }

    #[test]
    fn no_limits_refuse_nothing() {
        let (ledger, _) = ledger(Limits::none());
        assert!((0..10_000).all(|_| ledger.admit_write(&shard("a"), 1 << 20)));
        assert!((0..100).all(|_| ledger.admit_read(&shard("a"))));
    }
}
