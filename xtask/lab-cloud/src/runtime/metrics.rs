//! CloudWatch's metrics as AWS's services publish them: each figure kept per one-minute period as a statistic set
//! (sample count, sum, minimum, maximum), and each minute, once it has ended, published into the local CloudWatch
//! with `PutMetricData` (`StatisticValues`, the minute's start as its timestamp, storage resolution 60), where
//! `GetMetricStatistics` and `GetMetricData` read it back and alarms evaluate it.
//!
//! Who records what (each service's "Monitoring ... with Amazon CloudWatch" page):
//! - `AWS/Kinesis`, dimension `StreamName`: the Kinesis engine (`gateway::kinesis::metrics`), one sample per call
//!   (<https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html>);
//! - `AWS/Lambda`, dimension `FunctionName`: the Lambda host, one sample per invocation: `Invocations`, `Errors`
//!   (function errors, timeouts and crashes), `Duration` (ms); and, for a stream's event source mapping,
//!   `IteratorAge`: the age of the batch's last record when the function is invoked
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>);
//! - `AWS/Firehose`, dimension `DeliveryStreamName`: the pump, `DataReadFromKinesisStream.Records`/`.Bytes` per
//!   read, `DeliveryToS3.Records`, `.Bytes`, `.Success` (1 or 0 per object) and `.DataFreshness` (the age of the
//!   oldest record delivered, in seconds) per object
//!   (<https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html>).
//!
//! **The CloudWatch minute.** AWS aggregates over one-minute periods and evaluates alarms once a minute. The local
//! cloud does the same by default; `--cloudwatch-minute-ms` (for tests and quick demonstrations only) makes its
//! "minute" shorter, scaling the aggregation period, the publication and the alarms' evaluation together, so that
//! an alarm with `Period: 60, EvaluationPeriods: 2` fires after two short minutes. A datum's timestamp is then the
//! start of its short minute, in real time.

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet as SdkStatisticSet};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// AWS's minute.
pub const MINUTE: Duration = Duration::from_secs(60);
/// Minutes kept in memory per metric (alarms look back at most a day for periods under an hour; a day is plenty).
const MINUTES_KEPT: u64 = 24 * 60;
/// `PutMetricData` takes at most 1,000 metrics a call.
const PER_CALL: usize = 1000;

/// One metric: its namespace, name and dimensions (name, value), as CloudWatch identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    pub fn new(namespace: &str, name: &str, dimension: (&str, &str)) -> MetricId {
        MetricId {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: vec![(dimension.0.to_owned(), dimension.1.to_owned())],
        }
    }
}

/// The samples of one period, as CloudWatch keeps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl StatisticSet {
    fn one(value: f64) -> StatisticSet {
        StatisticSet {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    pub fn merge(&mut self, other: &StatisticSet) {
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        self.minimum = self.minimum.min(other.minimum);
        self.maximum = self.maximum.max(other.maximum);
    }

    /// The statistic by its CloudWatch name (`Sum`, `Average`, ...).
    pub fn statistic(&self, name: &str) -> Option<f64> {
        match name {
            "SampleCount" => Some(self.sample_count),
            "Sum" => Some(self.sum),
            "Minimum" => Some(self.minimum),
            "Maximum" => Some(self.maximum),
            "Average" => Some(self.sum / self.sample_count),
            _ => None,
        }
    }
}

/// One metric over one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteDatum {
    pub metric: MetricId,
    pub minute_start_ms: u64,
    /// CloudWatch's unit: `Count`, `Bytes`, `Milliseconds`, `Seconds`.
    pub unit: &'static str,
    pub statistics: StatisticSet,
}

/// A metric's unit and its statistic set over one minute.
type UnitAndSet = (&'static str, StatisticSet);

/// Every metric's statistic sets per minute: written by the services as they work, read by the publisher and the
/// alarms.
pub struct MetricBook {
    minute_ms: u64,
    minutes: Mutex<BTreeMap<(MetricId, u64), UnitAndSet>>,
}

impl std::fmt::Debug for MetricBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetricBook(minute {} ms)", self.minute_ms)
    }
}

impl Default for MetricBook {
    fn default() -> Self {
        MetricBook::new(MINUTE)
    }
}

/// The unit CloudWatch gives a metric of this name.
pub fn unit_of(name: &str) -> &'static str {
    if name.ends_with("Bytes") {
        "Bytes"
    } else if name.ends_with("Milliseconds") || name == "Duration" || name == "IteratorAge" {
        "Milliseconds"
    } else if name.ends_with("DataFreshness") {
        "Seconds"
    } else {
        "Count"
    }
}

impl MetricBook {
    /// A book whose minutes last `minute` (AWS's: [`MINUTE`]).
    pub fn new(minute: Duration) -> MetricBook {
        MetricBook {
            minute_ms: (minute.as_millis() as u64).max(1),
            minutes: Mutex::default(),
        }
    }

    pub fn minute_ms(&self) -> u64 {
        self.minute_ms
    }

    /// The start of the minute `at_ms` (ms since the epoch) falls in.
    pub fn minute_of(&self, at_ms: u64) -> u64 {
        at_ms - at_ms % self.minute_ms
    }

    /// One sample of `metric`, taken at `at_ms`.
    pub fn sample(&self, metric: MetricId, value: f64, at_ms: u64) {
        let minute = self.minute_of(at_ms);
        let unit = unit_of(&metric.name);
        let mut minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        minutes
            .entry((metric, minute))
            .and_modify(|(_, set)| set.merge(&StatisticSet::one(value)))
            .or_insert((unit, StatisticSet::one(value)));
        let oldest = minute.saturating_sub(MINUTES_KEPT * self.minute_ms);
        if minutes.first_key_value().is_some_and(|((_, start), _)| *start < oldest) {
            minutes.retain(|(_, start), _| *start >= oldest);
        }
    }

    /// The start of the oldest minute kept, if any.
    pub fn oldest_minute(&self) -> Option<u64> {
        let minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        minutes.keys().map(|(_, start)| *start).min()
    }

    /// Every metric of the minute starting at `minute_start_ms`.
    pub fn minute(&self, minute_start_ms: u64) -> Vec<MinuteDatum> {
        self.data(|start| start == minute_start_ms)
    }

    /// Every minute kept, oldest first.
    pub fn snapshot(&self) -> Vec<MinuteDatum> {
        let mut all = self.data(|_| true);
        all.sort_by_key(|datum| datum.minute_start_ms);
        all
    }

    fn data(&self, wanted: impl Fn(u64) -> bool) -> Vec<MinuteDatum> {
        let minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        minutes
            .iter()
            .filter(|((_, start), _)| wanted(*start))
            .map(|((metric, start), (unit, statistics))| MinuteDatum {
                metric: metric.clone(),
                minute_start_ms: *start,
                unit,
                statistics: *statistics,
            })
            .collect()
    }

    /// `metric`'s samples over `[from_ms, to_ms)`, merged; `None` when it has none there (a missing datapoint).
    pub fn aggregate(&self, metric: &MetricId, from_ms: u64, to_ms: u64) -> Option<StatisticSet> {
        let minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        minutes
            .range((metric.clone(), from_ms)..(metric.clone(), to_ms))
            .map(|(_, (_, set))| *set)
            .reduce(|mut all, set| {
                all.merge(&set);
                all
            })
    }
}

/// Publishes a minute's metrics into CloudWatch, a call per namespace and thousand metrics.
pub async fn publish(cloudwatch: &aws_sdk_cloudwatch::Client, data: &[MinuteDatum]) -> Result<usize> {
    let mut by_namespace: BTreeMap<&str, Vec<MetricDatum>> = BTreeMap::new();
    for datum in data {
        by_namespace
            .entry(datum.metric.namespace.as_str())
            .or_default()
            .push(metric_datum(datum));
    }
    let mut published = 0;
    for (namespace, metrics) in by_namespace {
        for chunk in metrics.chunks(PER_CALL) {
            cloudwatch
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .with_context(|| format!("publishing {} metrics of {namespace}", chunk.len()))?;
            published += chunk.len();
        }
    }
    Ok(published)
}

fn metric_datum(datum: &MinuteDatum) -> MetricDatum {
    let dimensions = datum
        .metric
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    let set = &datum.statistics;
    MetricDatum::builder()
        .metric_name(&datum.metric.name)
        .set_dimensions(Some(dimensions))
        .timestamp(DateTime::from_millis(datum.minute_start_ms as i64))
        .statistic_values(
            SdkStatisticSet::builder()
                .sample_count(set.sample_count)
                .sum(set.sum)
                .minimum(set.minimum)
                .maximum(set.maximum)
                .build(),
        )
        .unit(StandardUnit::from(datum.unit))
        .storage_resolution(60)
        .build()
}

/// The book every part of one local cloud records into.
pub type SharedBook = Arc<MetricBook>;

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> MetricId {
        MetricId::new("AWS/Kinesis", name, ("StreamName", "s"))
    }

    #[test]
    fn samples_make_one_statistic_set_per_metric_and_minute() {
        let book = MetricBook::default();
        book.sample(stream("IncomingRecords"), 500.0, 60_000);
        book.sample(stream("IncomingRecords"), 100.0, 119_999);
        book.sample(stream("IncomingRecords"), 7.0, 120_000);
        let first = book.minute(60_000);
        assert_eq!(first.len(), 1);
        let set = first[0].statistics;
        assert_eq!(
            (set.sample_count, set.sum, set.minimum, set.maximum),
            (2.0, 600.0, 100.0, 500.0)
        );
        assert_eq!(set.statistic("Average"), Some(300.0));
        assert_eq!(first[0].unit, "Count");
        assert_eq!(book.minute(120_000)[0].statistics.sum, 7.0);
    }

    #[test]
    fn a_shorter_minute_scales_the_periods() {
        let book = MetricBook::new(Duration::from_millis(500));
        book.sample(stream("WriteProvisionedThroughputExceeded"), 3.0, 1_000);
        book.sample(stream("WriteProvisionedThroughputExceeded"), 4.0, 1_499);
        book.sample(stream("WriteProvisionedThroughputExceeded"), 5.0, 1_500);
        assert_eq!(book.minute(1_000)[0].statistics.sum, 7.0);
        let two_minutes = book.aggregate(&stream("WriteProvisionedThroughputExceeded"), 1_000, 2_000);
        assert_eq!(two_minutes.unwrap().sum, 12.0);
        assert_eq!(
            book.aggregate(&stream("WriteProvisionedThroughputExceeded"), 2_000, 3_000),
            None
        );
        assert_eq!(book.aggregate(&stream("IncomingRecords"), 1_000, 2_000), None);
    }

    #[test]
    fn units_follow_the_metric_names() {
        assert_eq!(unit_of("GetRecords.IteratorAgeMilliseconds"), "Milliseconds");
        assert_eq!(unit_of("IteratorAge"), "Milliseconds");
        assert_eq!(unit_of("DeliveryToS3.DataFreshness"), "Seconds");
        assert_eq!(unit_of("DeliveryToS3.Bytes"), "Bytes");
        assert_eq!(unit_of("Errors"), "Count");
    }
}
