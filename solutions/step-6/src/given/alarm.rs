//! An alarm's definition as a typed value: what `PutMetricAlarm` takes, each field with its meaning and AWS's
//! rules, and each choice among AWS's values an enum (a typo cannot reach CloudWatch). The chapter's "What to alarm
//! on" explains the fields; your two definitions in `lib.rs` are made of these.
//!
//! AWS's page: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>.

// ANCHOR: definition
/// CloudWatch's namespace for Kinesis Data Streams' metrics, and the dimension that names a stream in it
/// (<https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html>).
pub const KINESIS_NAMESPACE: &str = "AWS/Kinesis";
pub const STREAM_DIMENSION: &str = "StreamName";

/// One CloudWatch alarm on one metric, with a static threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmDefinition {
    /// The alarm's name (a learner's deploy puts their prefix before it): 1 to 255 characters.
    pub name: String,
    /// What it means and what to do: the first thing whoever it notifies reads.
    pub description: String,
    /// Where the metric is published (`AWS/Kinesis`), and its name there.
    pub namespace: String,
    pub metric: String,
    /// (name, value) pairs that pick one series of the metric: `StreamName` and the stream's name.
    pub dimensions: Vec<(String, String)>,
    /// How each period's samples become one datapoint.
    pub statistic: Statistic,
    /// Seconds per datapoint: 10, 20, 30 or a multiple of 60 (Kinesis publishes once a minute).
    pub period_seconds: i32,
    /// N: how many of the latest periods the alarm looks at (N × period at most a day).
    pub evaluation_periods: i32,
    /// M: how many of those N must breach for ALARM (1 ≤ M ≤ N).
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    /// How a datapoint is compared with the threshold: breaching when this holds.
    pub comparison: Comparison,
    /// What a period without any sample counts as.
    pub missing_data: MissingData,
}

/// The statistic of each period (`Statistic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

/// `ComparisonOperator` (the static ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

/// `TreatMissingData`: a period with no datapoint is `Missing` (unknown: no state change on it alone), `Ignore`d
/// (the current state is kept), `Breaching` or `NotBreaching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingData {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}
// ANCHOR_END: definition

impl Statistic {
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::SampleCount => "SampleCount",
            Statistic::Average => "Average",
            Statistic::Sum => "Sum",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
        }
    }
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    /// Whether `value` breaches `threshold` under this comparison.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

impl MissingData {
    pub fn as_str(self) -> &'static str {
        match self {
            MissingData::Missing => "missing",
            MissingData::Ignore => "ignore",
            MissingData::Breaching => "breaching",
            MissingData::NotBreaching => "notBreaching",
        }
    }
}

impl AlarmDefinition {
    /// The value of one of its dimensions.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// How long the alarm needs, at the least, to go from OK to ALARM once its metric breaches for good: M periods.
    pub fn seconds_to_alarm(&self) -> i64 {
        i64::from(self.period_seconds) * i64::from(self.datapoints_to_alarm)
    }
}
