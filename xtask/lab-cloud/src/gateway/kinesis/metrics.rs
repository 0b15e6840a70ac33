//! The figures CloudWatch's `AWS/Kinesis` namespace publishes for a stream, per minute, accumulated in memory for a
//! later piece to publish ("Monitoring the Amazon Kinesis Data Streams Service with Amazon CloudWatch",
//! <https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html>, "Basic Stream-level
//! Metrics"; dimension `StreamName`, period one minute):
//! - `IncomingRecords`, `IncomingBytes`: records and bytes successfully put (PutRecord and PutRecords);
//! - `PutRecord.Bytes`, `PutRecord.Success`; `PutRecords.Bytes`, `PutRecords.Success` (calls that stored at least
//!   one record), `PutRecords.TotalRecords`, `PutRecords.SuccessfulRecords`, `PutRecords.FailedRecords` (internal
//!   failures), `PutRecords.ThrottledRecords`;
//! - `WriteProvisionedThroughputExceeded` (records refused for the shard's limits),
//!   `ReadProvisionedThroughputExceeded` (`GetRecords` calls refused);
//! - `GetRecords.Records`, `GetRecords.Bytes`, `GetRecords.Success`, `GetRecords.IteratorAgeMilliseconds` (the
//!   age of the last record of each call; its statistic is Maximum, the others' Sum).
//!
//! `OutgoingRecords` and `OutgoingBytes` are shard-level ("enhanced") metrics in AWS; they are kept here per stream
//! too, since nothing publishes shard-level figures. Calls through the operator door (the local cloud's own
//! read-back) are not counted, as they are not the learner's traffic.

use super::store::StreamKey;
use std::collections::BTreeMap;
use std::sync::Mutex;

const MINUTE_MS: u64 = 60_000;
/// Minutes kept per stream (CloudWatch accepts data points up to two weeks old; a day is plenty here).
const MINUTES_KEPT: usize = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Maximum,
}

/// One metric's value over one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub value: f64,
    /// CloudWatch's unit: `Count`, `Bytes` or `Milliseconds`.
    pub unit: &'static str,
    pub statistic: Statistic,
}

/// A stream's figures over one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMinute {
    pub stream: StreamKey,
    /// The minute's start, ms since the epoch.
    pub minute_start_ms: u64,
    /// By CloudWatch metric name.
    pub metrics: BTreeMap<&'static str, Datum>,
}

fn unit_of(name: &str) -> &'static str {
    if name.ends_with("Bytes") {
        "Bytes"
    } else if name.ends_with("Milliseconds") {
        "Milliseconds"
    } else {
        "Count"
    }
}

/// One stream-minute's figures, by metric name.
type Figures = BTreeMap<&'static str, Datum>;

#[derive(Default)]
pub struct Metrics {
    minutes: Mutex<BTreeMap<(StreamKey, u64), Figures>>,
}

impl Metrics {
    fn record(&self, stream: &StreamKey, now_ms: u64, changes: &[(&'static str, f64)], statistic: Statistic) {
        let minute = now_ms - now_ms % MINUTE_MS;
        let mut minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let figures = minutes.entry((stream.clone(), minute)).or_default();
        for &(name, value) in changes {
            let datum = figures.entry(name).or_insert(Datum {
                value: 0.0,
                unit: unit_of(name),
                statistic,
            });
            datum.value = match statistic {
                Statistic::Sum => datum.value + value,
                Statistic::Maximum => datum.value.max(value),
            };
        }
        let oldest = minute.saturating_sub(MINUTES_KEPT as u64 * MINUTE_MS);
        minutes.retain(|(_, start), _| *start >= oldest);
    }

    /// Adds to Sum metrics of the stream's current minute.
    pub fn add(&self, stream: &StreamKey, now_ms: u64, changes: &[(&'static str, f64)]) {
        self.record(stream, now_ms, changes, Statistic::Sum);
    }

    /// Raises a Maximum metric of the stream's current minute.
    pub fn max(&self, stream: &StreamKey, now_ms: u64, name: &'static str, value: f64) {
        self.record(stream, now_ms, &[(name, value)], Statistic::Maximum);
    }

    /// Every stream's minutes kept, oldest first.
    pub fn snapshot(&self) -> Vec<StreamMinute> {
        let minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut all: Vec<StreamMinute> = minutes
            .iter()
            .map(|((stream, start), metrics)| StreamMinute {
                stream: stream.clone(),
                minute_start_ms: *start,
                metrics: metrics.clone(),
            })
            .collect();
        all.sort_by_key(|minute| minute.minute_start_ms);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_per_stream_and_minute_and_the_iterator_age_is_a_maximum() {
        let metrics = Metrics::default();
        let stream = StreamKey {
            region: "us-east-1".into(),
            name: "s".into(),
        };
        metrics.add(&stream, 60_000, &[("IncomingRecords", 3.0), ("IncomingBytes", 30.0)]);
        metrics.add(&stream, 119_999, &[("IncomingRecords", 2.0)]);
        metrics.max(&stream, 60_001, "GetRecords.IteratorAgeMilliseconds", 50.0);
        metrics.max(&stream, 60_002, "GetRecords.IteratorAgeMilliseconds", 20.0);
        metrics.add(&stream, 120_000, &[("IncomingRecords", 1.0)]);
        let minutes = metrics.snapshot();
        assert_eq!(minutes.len(), 2);
        let first = &minutes[0].metrics;
        assert_eq!(minutes[0].minute_start_ms, 60_000);
        assert_eq!(first["IncomingRecords"].value, 5.0);
        assert_eq!(first["IncomingBytes"].unit, "Bytes");
        assert_eq!(first["GetRecords.IteratorAgeMilliseconds"].value, 50.0);
        assert_eq!(
            first["GetRecords.IteratorAgeMilliseconds"].statistic,
            Statistic::Maximum
        );
        assert_eq!(minutes[1].metrics["IncomingRecords"].value, 1.0);
    }
}
