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
//! Each call is one sample of each of its metrics, kept per minute as a statistic set in the local cloud's metric
//! book (`runtime::metrics`), which publishes them: "Minimum, Maximum, and Average statistics represent the records
//! in a single put operation" (`IncomingRecords`), Sum the minute's total.
//!
//! `OutgoingRecords` and `OutgoingBytes` are shard-level ("enhanced") metrics in AWS; they are kept here per stream
//! too, since nothing publishes shard-level figures. Calls through the operator door (the local cloud's own
//! read-back) are not counted, as they are not the learner's traffic.

use super::store::StreamKey;
use crate::runtime::metrics::{MetricBook, MetricId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// CloudWatch's namespace for Kinesis Data Streams.
pub const NAMESPACE: &str = "AWS/Kinesis";

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
    /// By CloudWatch metric name: the Sum of the minute's samples, or the Maximum of the iterator's age.
    pub metrics: BTreeMap<String, Datum>,
}

/// The metric whose statistic of interest is its maximum (the others': their sum).
const MAXIMUM: &str = "GetRecords.IteratorAgeMilliseconds";

/// The engine's figures, kept as statistic sets in the local cloud's metric book (one sample per call, as AWS
/// counts: `IncomingRecords`' Average is the records per put).
pub struct Metrics {
    book: Arc<MetricBook>,
    /// Each stream's region, for [`Metrics::snapshot`] (CloudWatch's metrics are per region; the book is the local
    /// cloud's one region's).
    regions: Mutex<HashMap<String, String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(Arc::new(MetricBook::default()))
    }
}

impl Metrics {
    pub fn new(book: Arc<MetricBook>) -> Metrics {
        Metrics {
            book,
            regions: Mutex::default(),
        }
    }

    fn remember(&self, stream: &StreamKey) {
        let mut regions = self.regions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !regions.contains_key(&stream.name) {
            regions.insert(stream.name.clone(), stream.region.clone());
        }
    }

    /// One call's figures: a sample of each metric.
    pub fn add(&self, stream: &StreamKey, now_ms: u64, changes: &[(&'static str, f64)]) {
        self.remember(stream);
        for &(name, value) in changes {
            let metric = MetricId::new(NAMESPACE, name, ("StreamName", &stream.name));
            self.book.sample(metric, value, now_ms);
        }
    }

    /// A sample of a metric read by its Maximum (the iterator's age).
    pub fn max(&self, stream: &StreamKey, now_ms: u64, name: &'static str, value: f64) {
        self.add(stream, now_ms, &[(name, value)]);
    }

    /// Every stream's minutes kept, oldest first.
    pub fn snapshot(&self) -> Vec<StreamMinute> {
        let regions = self
            .regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut minutes: BTreeMap<(u64, String), StreamMinute> = BTreeMap::new();
        for datum in self.book.snapshot() {
            let [(_, stream)] = datum.metric.dimensions.as_slice() else {
                continue;
            };
            if datum.metric.namespace != NAMESPACE {
                continue;
            }
            let region = regions.get(stream).cloned().unwrap_or_default();
            let minute = minutes
                .entry((datum.minute_start_ms, stream.clone()))
                .or_insert_with(|| StreamMinute {
                    stream: StreamKey {
                        region,
                        name: stream.clone(),
                    },
                    minute_start_ms: datum.minute_start_ms,
                    metrics: BTreeMap::new(),
                });
            let (value, statistic) = if datum.metric.name == MAXIMUM {
                (datum.statistics.maximum, Statistic::Maximum)
            } else {
                (datum.statistics.sum, Statistic::Sum)
            };
            let figure = Datum {
                value,
                unit: datum.unit,
                statistic,
            };
            minute.metrics.insert(datum.metric.name, figure);
        }
        minutes.into_values().collect()
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
