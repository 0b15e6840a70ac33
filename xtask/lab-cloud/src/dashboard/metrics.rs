//! The dashboard's figures: a [`Snapshot`] of the data plane, made from its in-process counters (the front door's
//! per-shard traffic, the event source mappings' and the Firehose pumps' statistics), with rates per second computed
//! from two readings about a second apart. `GET /api/metrics` is a snapshot as JSON.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::gateway::{Limits, ShardKey, ShardTraffic, TrafficMeter};
use crate::runtime::event_source::{MappingSettings, MappingStats};
use crate::runtime::firehose::{DeliverySettings, DeliveryStats};

/// What the sampler reads, set by whoever runs the data plane (the lab, `serve`) as it changes.
#[derive(Default, Clone)]
pub struct Sources {
    pub meter: Option<TrafficMeter>,
    pub mappings: Vec<(MappingSettings, Arc<MappingStats>)>,
    pub deliveries: Vec<(DeliverySettings, Arc<DeliveryStats>)>,
}

/// A mapping's counters at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct MappingCounts {
    invocations: u64,
    records: u64,
}

/// The counters at one instant; a rate is the difference of two readings over the time between them.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    shards: BTreeMap<ShardKey, ShardTraffic>,
    /// The shards a reshard has closed.
    closed: std::collections::BTreeSet<ShardKey>,
    mappings: BTreeMap<String, MappingCounts>,
    deliveries: BTreeMap<String, u64>,
}

/// The shard limits the front door holds each shard to, per second; `None`: no limit (`--no-limits`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShardLimits {
    pub write_records_per_s: Option<u64>,
    pub write_bytes_per_s: Option<u64>,
    pub read_calls_per_s: Option<u64>,
    pub read_bytes_per_s: Option<u64>,
}

impl From<&Limits> for ShardLimits {
    fn from(limits: &Limits) -> ShardLimits {
        let per_second = |n: u64| {
            let seconds = limits.window.as_secs_f64().max(1e-9);
            (n != u64::MAX).then(|| (n as f64 / seconds).round() as u64)
        };
        ShardLimits {
            write_records_per_s: per_second(limits.write_records),
            write_bytes_per_s: per_second(limits.write_bytes),
            read_calls_per_s: per_second(limits.read_calls),
            read_bytes_per_s: per_second(limits.read_bytes),
        }
    }
}

/// One shard as the front door counted it: totals since it started, and rates over the last three seconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShardFigures {
    pub stream: String,
    pub shard_id: String,
    /// The front door's own counts, as they are (flattened: the JSON has their fields beside the rates).
    #[serde(flatten)]
    pub traffic: ShardTraffic,
    /// Closed by a reshard: it takes no more writes, its readers finish it and go on with its children.
    pub closed: bool,
    pub records_per_s: f64,
    pub bytes_per_s: f64,
    pub throttled_per_s: f64,
    pub read_calls_per_s: f64,
}

/// One event source mapping: its function's invocations and what became of the records.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MappingFigures {
    pub uuid: String,
    pub function: String,
    pub stream: String,
    pub batch_size: usize,
    pub tumbling_window_s: Option<u64>,
    pub invocations: u64,
    pub function_errors: u64,
    pub records_done: u64,
    pub records_reported_failed: u64,
    pub records_given_up: u64,
    /// Batches split in two after a function error (`BisectBatchOnFunctionError`).
    pub bisects: u64,
    pub iterator_age_ms: u64,
    pub windows_closed: u64,
    pub invocations_per_s: f64,
    pub records_per_s: f64,
}

/// One Firehose delivery stream: its buffer against the hints, and what it wrote to S3.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryFigures {
    pub name: String,
    pub bucket: String,
    pub prefix: String,
    pub records: u64,
    pub objects: u64,
    /// The objects' bytes as stored, their mean, and the same objects before compression.
    pub bytes: u64,
    pub mean_object_bytes: u64,
    pub raw_bytes: u64,
    /// `CompressionFormat`, as the API names it.
    pub compression: String,
    /// From a record's arrival in the stream to its object in S3, in milliseconds (0 before the first object).
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub buffered_bytes: u64,
    pub buffer_size_hint_bytes: u64,
    /// Seconds since the buffer's first record (0 when it is empty).
    pub buffer_age_s: f64,
    pub buffer_interval_hint_s: f64,
    pub latest_key: Option<String>,
    pub records_per_s: f64,
}

/// The stream-wide figures, added up over shards, mappings and delivery streams.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    /// Records the stream accepted (every shard).
    pub produced: u64,
    /// Records the stream refused for a shard's write limit (each refusal counts; the producer resends them).
    pub throttled: u64,
    /// Records finished by every mapping without a tumbling window (the consumers).
    pub consumed: u64,
    /// Records given up by every mapping.
    pub given_up: u64,
    pub function_errors: u64,
    /// Records written to S3 by every delivery stream.
    pub delivered: u64,
    pub read_throttles: u64,
    /// The highest iterator age of any mapping.
    pub iterator_age_ms: u64,
    pub windows_closed: u64,
}

/// Everything the dashboard shows, at one instant.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    /// When it was taken, in milliseconds since the epoch.
    pub taken_at_ms: i64,
    /// `running`, or `done` once the lab has printed its summary.
    pub phase: String,
    /// What the caller says of the run: the scenario and the faults in effect (opaque to the dashboard).
    pub context: Value,
    pub limits: ShardLimits,
    pub totals: Totals,
    pub shards: Vec<ShardFigures>,
    pub mappings: Vec<MappingFigures>,
    pub deliveries: Vec<DeliveryFigures>,
    /// The analysis' latest closed window: its figures as step 5's `merge-window` printed them, and where its
    /// picture is (see [`super::picture`]).
    pub analysis: Option<Value>,
    /// The lab's summary, once it has one.
    pub summary: Option<Value>,
    /// Each CloudWatch alarm evaluated so far (step 6's), as its last change left it: `name`, `state`, `since_ms`,
    /// `reason`.
    pub alarms: Vec<Value>,
}

/// Readings over the last few seconds, and the snapshots made from them.
pub struct Sampler {
    readings: VecDeque<Reading>,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::new()
    }
}

/// How far back a rate looks: at least this long between the two readings it compares. Three of the front door's
/// one-second windows: a producer writes in bursts and backs off between them, so a one-second rate swings between
/// a full window and an empty one (a hot shard taking 1,000 records a second read as 488 in one sample).
const RATE_SPAN: Duration = Duration::from_secs(3);

impl Sampler {
    pub fn new() -> Sampler {
        Sampler {
            readings: VecDeque::new(),
        }
    }

    /// Reads every counter now and makes the snapshot; `limits` are the front door's when it has none to say.
    pub fn sample(&mut self, sources: &Sources, limits: &Limits) -> Snapshot {
        let reading = read(sources, Instant::now());
        // The reading to compare with: the newest one at least a second old (or the oldest there is).
        while self.readings.len() > 1 && reading.at.duration_since(self.readings[1].at) >= RATE_SPAN {
            self.readings.pop_front();
        }
        let before = self.readings.front().cloned();
        self.readings.push_back(reading.clone());
        let limits = sources.meter.as_ref().map_or(limits, TrafficMeter::limits);
        snapshot(sources, &reading, before.as_ref(), limits)
    }
}

fn read(sources: &Sources, at: Instant) -> Reading {
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    Reading {
        at,
        shards: sources.meter.as_ref().map(TrafficMeter::traffic).unwrap_or_default(),
        closed: sources
            .meter
            .as_ref()
            .map(TrafficMeter::closed_shards)
            .unwrap_or_default(),
        mappings: sources
            .mappings
            .iter()
            .map(|(settings, stats)| {
                let counts = MappingCounts {
                    invocations: load(&stats.invocations),
                    records: load(&stats.records_done) + load(&stats.records_given_up),
                };
                (settings.uuid.clone(), counts)
            })
            .collect(),
        deliveries: sources
            .deliveries
            .iter()
            .map(|(settings, stats)| (settings.name.clone(), load(&stats.records)))
            .collect(),
    }
}

/// `(now - then) / seconds`, 0 without an earlier reading.
fn rate(now: u64, then: Option<u64>, seconds: f64) -> f64 {
    match then {
        Some(then) if seconds > 0.0 => now.saturating_sub(then) as f64 / seconds,
        _ => 0.0,
    }
}

fn stream_name(arn: &str) -> String {
    arn.rsplit_once(":stream/").map_or(arn, |(_, name)| name).to_owned()
}

fn snapshot(sources: &Sources, now: &Reading, before: Option<&Reading>, limits: &Limits) -> Snapshot {
    let seconds = before.map_or(0.0, |b| now.at.duration_since(b.at).as_secs_f64());
    let shards: Vec<ShardFigures> = now
        .shards
        .iter()
        .map(|(key, t)| {
            // A shard the earlier reading did not have yet had written nothing then.
            let then = before.map(|b| b.shards.get(key).cloned().unwrap_or_default());
            let then = then.as_ref();
            ShardFigures {
                stream: key.stream.clone(),
                shard_id: key.shard_id.clone(),
                traffic: t.clone(),
                closed: now.closed.contains(key),
                records_per_s: rate(t.records_accepted, then.map(|t| t.records_accepted), seconds),
                bytes_per_s: rate(t.bytes_accepted, then.map(|t| t.bytes_accepted), seconds),
                throttled_per_s: rate(t.writes_throttled, then.map(|t| t.writes_throttled), seconds),
                read_calls_per_s: rate(t.read_calls, then.map(|t| t.read_calls), seconds),
            }
        })
        .collect();
    let mappings = mapping_figures(sources, now, before, seconds);
    let deliveries = delivery_figures(sources, now, before, seconds);
    let totals = totals(&shards, &mappings, &deliveries);
    Snapshot {
        taken_at_ms: chrono::Utc::now().timestamp_millis(),
        phase: "running".to_owned(),
        context: Value::Null,
        limits: ShardLimits::from(limits),
        totals,
        shards,
        mappings,
        deliveries,
        analysis: None,
        summary: None,
        alarms: vec![],
    }
}

fn mapping_figures(sources: &Sources, now: &Reading, before: Option<&Reading>, seconds: f64) -> Vec<MappingFigures> {
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let mut figures: Vec<MappingFigures> = sources
        .mappings
        .iter()
        .map(|(settings, stats)| {
            let counts = now.mappings.get(&settings.uuid).copied().unwrap_or_default();
            let then = before.map(|b| b.mappings.get(&settings.uuid).copied().unwrap_or_default());
            MappingFigures {
                uuid: settings.uuid.clone(),
                function: settings.function_name.clone(),
                stream: stream_name(&settings.stream_arn),
                batch_size: settings.batch_size,
                tumbling_window_s: settings.tumbling_window.map(|w| w.as_secs()),
                invocations: load(&stats.invocations),
                function_errors: load(&stats.function_errors),
                records_done: load(&stats.records_done),
                records_reported_failed: load(&stats.records_reported_failed),
                records_given_up: load(&stats.records_given_up),
                bisects: load(&stats.bisects),
                iterator_age_ms: load(&stats.iterator_age_ms),
                windows_closed: load(&stats.windows_closed),
                invocations_per_s: rate(counts.invocations, then.map(|c| c.invocations), seconds),
                records_per_s: rate(counts.records, then.map(|c| c.records), seconds),
            }
        })
        .collect();
    figures.sort_by(|a, b| (&a.function, &a.uuid).cmp(&(&b.function, &b.uuid)));
    figures
}

fn delivery_figures(sources: &Sources, now: &Reading, before: Option<&Reading>, seconds: f64) -> Vec<DeliveryFigures> {
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut figures: Vec<DeliveryFigures> = sources
        .deliveries
        .iter()
        .map(|(settings, stats)| {
            let (buffered_bytes, opened_ms) = *stats.buffer.lock().expect("not poisoned");
            let records = now.deliveries.get(&settings.name).copied().unwrap_or_default();
            let mut latencies = stats.arrival_to_s3_ms.lock().expect("not poisoned").clone();
            latencies.sort_by(f64::total_cmp);
            let at = |p: f64| {
                latencies
                    .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
                    .copied()
            };
            DeliveryFigures {
                name: settings.name.clone(),
                bucket: settings.bucket.clone(),
                prefix: settings.prefix.clone(),
                records: load(&stats.records),
                objects: load(&stats.objects),
                bytes: load(&stats.bytes),
                mean_object_bytes: load(&stats.bytes).checked_div(load(&stats.objects)).unwrap_or(0),
                raw_bytes: load(&stats.raw_bytes),
                compression: format!("{:?}", settings.compression),
                latency_ms_p50: at(0.5).unwrap_or(0.0),
                latency_ms_p99: at(0.99).unwrap_or(0.0),
                buffered_bytes,
                buffer_size_hint_bytes: settings.buffer_bytes as u64,
                buffer_age_s: if opened_ms > 0 {
                    (now_ms - opened_ms).max(0) as f64 / 1000.0
                } else {
                    0.0
                },
                buffer_interval_hint_s: settings.buffer_interval.as_secs_f64(),
                latest_key: stats.latest_key.lock().expect("not poisoned").clone(),
                records_per_s: rate(
                    records,
                    before.map(|b| b.deliveries.get(&settings.name).copied().unwrap_or(0)),
                    seconds,
                ),
            }
        })
        .collect();
    figures.sort_by(|a, b| a.name.cmp(&b.name));
    figures
}

fn totals(shards: &[ShardFigures], mappings: &[MappingFigures], deliveries: &[DeliveryFigures]) -> Totals {
    Totals {
        produced: shards.iter().map(|s| s.traffic.records_accepted).sum(),
        throttled: shards.iter().map(|s| s.traffic.writes_throttled).sum(),
        consumed: mappings
            .iter()
            .filter(|m| m.tumbling_window_s.is_none())
            .map(|m| m.records_done)
            .sum(),
        given_up: mappings.iter().map(|m| m.records_given_up).sum(),
        function_errors: mappings.iter().map(|m| m.function_errors).sum(),
        delivered: deliveries.iter().map(|d| d.records).sum(),
        read_throttles: shards.iter().map(|s| s.traffic.read_throttles).sum(),
        iterator_age_ms: mappings.iter().map(|m| m.iterator_age_ms).max().unwrap_or(0),
        windows_closed: mappings.iter().map(|m| m.windows_closed).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_the_difference_over_the_time_between_readings() {
        assert_eq!(rate(1500, Some(500), 2.0), 500.0);
        assert_eq!(rate(1500, None, 2.0), 0.0);
        // Counters never go back; if a source was replaced, the rate is 0 rather than negative.
        assert_eq!(rate(10, Some(20), 1.0), 0.0);
    }

    #[test]
    fn no_limit_is_said_as_none() {
        let limits = ShardLimits::from(&Limits::none());
        assert_eq!(limits.write_records_per_s, None);
        let limits = ShardLimits::from(&Limits::default());
        assert_eq!(limits.write_records_per_s, Some(1_000));
        assert_eq!(limits.write_bytes_per_s, Some(1024 * 1024));
    }
}
