//! Firehose from a Kinesis source to S3, for delivery streams registered in the Firehose API (moto keeps their
//! configuration but never moves their data).
//!
//! As AWS documents it: the delivery stream reads every shard of its source stream from the time it was created
//! (Firehose starts at the stream's LATEST position when the delivery stream is created); it buffers records and
//! writes one object when the buffer reaches `BufferingHints.SizeInMBs` or `IntervalInSeconds` has passed since
//! the buffer's first record; with the `AppendDelimiterToRecord` processor each record ends with a newline. Object
//! keys are the prefix (its `!{timestamp:...}` and `!{firehose:random-string}` expressions evaluated; without a
//! timestamp expression, AWS's default `YYYY/MM/dd/HH/` is appended) and
//! `<delivery stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`, the time being the arrival of the object's oldest
//! record, in UTC. Only uncompressed delivery is supported here.
//!
//! Firehose checkpoints what it has delivered from each shard of its source and continues from there, so that a
//! record reaches S3 once (barring a failure between the write and the checkpoint: Firehose promises at least once).
//! The local pump does the same: once an object is written, each of its shards' last sequence number is saved
//! (`<checkpoints>/firehose/<delivery stream>/<shard>.json`), and a pump started again (a new `lab-cloud serve`, or
//! the delivery stream updated) reads each shard after its checkpoint, not from the delivery stream's creation.

use anyhow::{Context, Result, bail};
use aws_sdk_firehose::types::{CompressionFormat, DeliveryStreamDescription, ProcessorType};
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::aws::error_chain;
use crate::runtime::faults::FaultPlan;
use crate::runtime::metrics::{MetricBook, MetricId};
use crate::runtime::read_pacing::{ReadPacer, ShardCheckpoint, is_read_throttle};

/// What the pump needs to know of a delivery stream.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    pub name: String,
    pub version_id: String,
    pub stream_arn: String,
    pub bucket: String,
    pub prefix: String,
    pub error_output_prefix: Option<String>,
    pub buffer_bytes: usize,
    pub buffer_interval: Duration,
    pub append_delimiter: bool,
    /// Where reading starts: when the delivery stream was created (seconds since the epoch).
    pub start_at: f64,
    /// The role Firehose reads the source with, and the one it writes the destination with (the workshop gives both
    /// the same role).
    pub source_role: String,
    pub destination_role: String,
}

impl DeliverySettings {
    /// `None` for delivery streams the pump has nothing to do with (Direct PUT, other destinations).
    pub fn from_description(description: &DeliveryStreamDescription) -> Result<Option<DeliverySettings>> {
        let Some(source) = description
            .source
            .as_ref()
            .and_then(|s| s.kinesis_stream_source_description.as_ref())
        else {
            return Ok(None);
        };
        let Some(destination) = description
            .destinations
            .iter()
            .find_map(|d| d.extended_s3_destination_description.as_ref())
        else {
            return Ok(None);
        };
        if destination.compression_format != CompressionFormat::Uncompressed {
            bail!(
                "{}: the local pump delivers uncompressed objects only",
                description.delivery_stream_name
            );
        }
        let hints = destination.buffering_hints.as_ref();
        let processors = destination
            .processing_configuration
            .as_ref()
            .filter(|configuration| configuration.enabled != Some(false))
            .and_then(|configuration| configuration.processors.clone())
            .unwrap_or_default();
        Ok(Some(DeliverySettings {
            name: description.delivery_stream_name.clone(),
            version_id: description.version_id.clone(),
            stream_arn: source
                .kinesis_stream_arn
                .clone()
                .context("the source has no stream ARN")?,
            bucket: destination.bucket_arn.trim_start_matches("arn:aws:s3:::").to_owned(),
            prefix: destination.prefix.clone().unwrap_or_default(),
            error_output_prefix: destination.error_output_prefix.clone(),
            // AWS's defaults: 5 MiB and 300 s.
            buffer_bytes: hints.and_then(|h| h.size_in_mbs).unwrap_or(5).max(1) as usize * 1024 * 1024,
            buffer_interval: Duration::from_secs(hints.and_then(|h| h.interval_in_seconds).unwrap_or(300).max(0) as u64),
            append_delimiter: processors
                .iter()
                .any(|p| p.r#type == ProcessorType::AppendDelimiterToRecord),
            start_at: description.create_timestamp.map(|t| t.as_secs_f64()).unwrap_or(0.0),
            source_role: source.role_arn.clone().context("the source has no role")?,
            destination_role: destination.role_arn.clone(),
        }))
    }

    fn stream_name(&self) -> &str {
        self.stream_arn
            .rsplit_once(":stream/")
            .map_or(&self.stream_arn, |(_, name)| name)
    }
}

/// What a pump has delivered.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub records: AtomicU64,
    pub objects: AtomicU64,
    pub bytes: AtomicU64,
    /// Milliseconds from a record's arrival in the stream to its object being written.
    pub arrival_to_s3_ms: Mutex<Vec<f64>>,
    /// The buffer as it is now: its bytes, and when its first record came in (epoch ms; 0 when it is empty).
    pub buffer: Mutex<(u64, i64)>,
    /// The key of the latest object written.
    pub latest_key: Mutex<Option<String>>,
    /// The keys of the objects this pump wrote, oldest first (the latest [`WRITTEN_KEYS_KEPT`]): what it wrote, told
    /// apart from what another data plane on the same emulator wrote under the same names.
    pub written_keys: Mutex<Vec<String>>,
    /// S3 writes that failed and were tried again (`--faults s3-error`, or S3 itself).
    pub s3_retries: AtomicU64,
    /// Records dropped because their object could not be written within the retry window.
    pub records_dropped: AtomicU64,
}

/// How many keys [`DeliveryStats::written_keys`] keeps.
pub const WRITTEN_KEYS_KEPT: usize = 10_000;

/// Evaluates a Firehose S3 prefix at `time`: `!{timestamp:<Java date pattern>}` and `!{firehose:random-string}`;
/// without a timestamp expression, AWS appends `YYYY/MM/dd/HH/`.
pub fn evaluate_prefix(prefix: &str, time: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut rest = prefix;
    let mut has_timestamp = false;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let expression = &rest[start + 2..start + end];
        if let Some(pattern) = expression.strip_prefix("timestamp:") {
            has_timestamp = true;
            out.push_str(&java_date(pattern, time));
        } else if expression == "firehose:random-string" {
            out.push_str(&uuid::Uuid::new_v4().simple().to_string()[..11]);
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    if !has_timestamp {
        out.push_str(&format!(
            "{:04}/{:02}/{:02}/{:02}/",
            time.year(),
            time.month(),
            time.day(),
            time.hour()
        ));
    }
    out
}

/// The parts of Java's date pattern that Firehose prefixes use.
fn java_date(pattern: &str, time: DateTime<Utc>) -> String {
    pattern
        .replace("yyyy", &format!("{:04}", time.year()))
        .replace("MM", &format!("{:02}", time.month()))
        .replace("dd", &format!("{:02}", time.day()))
        .replace("HH", &format!("{:02}", time.hour()))
        .replace("mm", &format!("{:02}", time.minute()))
        .replace("ss", &format!("{:02}", time.second()))
}

/// The object key of a delivery: the evaluated prefix, then AWS's object name.
pub fn object_key(settings: &DeliverySettings, oldest_arrival: DateTime<Utc>) -> String {
    format!(
        "{}{}-{}-{}-{}",
        evaluate_prefix(&settings.prefix, oldest_arrival),
        settings.name,
        settings.version_id,
        oldest_arrival.format("%Y-%m-%d-%H-%M-%S"),
        uuid::Uuid::new_v4()
    )
}

fn arrival(record: &Record) -> DateTime<Utc> {
    record
        .approximate_arrival_timestamp
        .and_then(|t| DateTime::from_timestamp_millis((t.as_secs_f64() * 1000.0) as i64))
        .unwrap_or_else(Utc::now)
}

pub struct Pump {
    pub settings: DeliverySettings,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub poll_interval: Duration,
    pub stats: Arc<DeliveryStats>,
    pub stop: Arc<AtomicBool>,
    /// This delivery stream's checkpoints, one file per shard.
    pub checkpoints: PathBuf,
    /// `s3-error` strikes S3 writes; its retry window bounds every failing write.
    pub faults: Arc<FaultPlan>,
    /// Where the delivery stream's CloudWatch metrics (`AWS/Firehose`) are counted.
    pub metrics: Arc<MetricBook>,
}

/// CloudWatch's namespace for Firehose's metrics.
pub const FIREHOSE_NAMESPACE: &str = "AWS/Firehose";

impl Pump {
    /// Reads every shard and delivers until `stop` is set; what is buffered then is delivered too.
    pub async fn run(self) -> Result<()> {
        let shards = self
            .kinesis
            .list_shards()
            .stream_name(self.settings.stream_name())
            .send()
            .await
            .context("ListShards")?
            .shards
            .unwrap_or_default();
        let (sender, mut receiver) = mpsc::channel::<(String, Vec<Record>)>(64);
        for shard in shards {
            let reader = ShardReader {
                kinesis: self.kinesis.clone(),
                stream_name: self.settings.stream_name().to_owned(),
                checkpoint: self.checkpoint(&shard.shard_id),
                shard_id: shard.shard_id,
                start_at: self.settings.start_at,
                poll_interval: self.poll_interval,
                stop: self.stop.clone(),
            };
            let sender = sender.clone();
            tokio::spawn(async move { reader.run(sender).await });
        }
        drop(sender);

        let mut buffer: Vec<Record> = vec![];
        // Each shard's last record in the buffer: its checkpoint once the buffer is written.
        let mut buffered_through: BTreeMap<String, String> = BTreeMap::new();
        let mut buffered_bytes = 0usize;
        let mut first_buffered: Option<Instant> = None;
        loop {
            let wait = match first_buffered {
                Some(at) => self.settings.buffer_interval.saturating_sub(at.elapsed()),
                None => self.poll_interval,
            };
            let received = tokio::time::timeout(wait, receiver.recv()).await;
            match received {
                Ok(Some((shard_id, records))) => {
                    let bytes = records.iter().map(|r| r.data.as_ref().len()).sum::<usize>();
                    self.count("DataReadFromKinesisStream.Records", records.len() as f64);
                    self.count("DataReadFromKinesisStream.Bytes", bytes as f64);
                    if let Some(last) = records.last() {
                        buffered_through.insert(shard_id, last.sequence_number.clone());
                    }
                    if first_buffered.is_none() && !records.is_empty() {
                        first_buffered = Some(Instant::now());
                    }
                    buffered_bytes += records.iter().map(|r| r.data.as_ref().len() + 1).sum::<usize>();
                    buffer.extend(records);
                }
                // Every reader has stopped.
                Ok(None) => {
                    self.flush(&mut buffer, &mut buffered_through).await;
                    return Ok(());
                }
                Err(_elapsed) => {}
            }
            let interval_over = first_buffered.is_some_and(|at| at.elapsed() >= self.settings.buffer_interval);
            if !buffer.is_empty() && (buffered_bytes >= self.settings.buffer_bytes || interval_over) {
                self.flush(&mut buffer, &mut buffered_through).await;
                buffered_bytes = 0;
                first_buffered = None;
            }
            let opened = first_buffered.map_or(0, |at| {
                Utc::now().timestamp_millis() - i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX)
            });
            *self.stats.buffer.lock().expect("not poisoned") = (buffered_bytes as u64, opened);
        }
    }

    /// One sample of a Firehose metric of this delivery stream
    /// (<https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html>: the
    /// `DataReadFromKinesisStream.*` per read, the `DeliveryToS3.*` per object; `DataFreshness` is the age, in
    /// seconds, of the oldest record delivered).
    fn count(&self, name: &str, value: f64) {
        let metric = MetricId::new(FIREHOSE_NAMESPACE, name, ("DeliveryStreamName", &self.settings.name));
        self.metrics.sample(metric, value, Utc::now().timestamp_millis() as u64);
    }

    /// A shard's checkpoint, owned by this delivery stream (its source and creation time: a delivery stream made
    /// again under the same name starts afresh).
    fn checkpoint(&self, shard_id: &str) -> ShardCheckpoint {
        let owner = format!("{} created {}", self.settings.stream_arn, self.settings.start_at);
        ShardCheckpoint::new(self.checkpoints.clone(), shard_id, owner)
    }

    /// Writes the buffer as one object (retrying while S3 refuses, as Firehose does for up to a day), then
    /// checkpoints each shard at its last record in the object.
    async fn flush(&self, buffer: &mut Vec<Record>, buffered_through: &mut BTreeMap<String, String>) {
        if buffer.is_empty() {
            return;
        }
        let records = std::mem::take(buffer);
        let oldest = records.iter().map(arrival).min().unwrap_or_else(Utc::now);
        let mut body = Vec::with_capacity(records.iter().map(|r| r.data.as_ref().len() + 1).sum());
        for record in &records {
            body.extend_from_slice(record.data.as_ref());
            if self.settings.append_delimiter {
                body.push(b'\n');
            }
        }
        let key = object_key(&self.settings, oldest);
        let size = body.len();
        let delivered = self.put_until_window_ends(&key, body).await;
        self.count("DeliveryToS3.Success", if delivered { 1.0 } else { 0.0 });
        if !delivered {
            self.stats
                .records_dropped
                .fetch_add(records.len() as u64, Ordering::Relaxed);
        }
        // Only now: a pump stopped before the write reads these records again, after the previous checkpoint.
        for (shard_id, sequence_number) in std::mem::take(buffered_through) {
            self.checkpoint(&shard_id).save_or_warn(&sequence_number);
        }
        if !delivered {
            return;
        }
        let now = Utc::now().timestamp_millis() as f64;
        self.count("DeliveryToS3.Records", records.len() as f64);
        self.count("DeliveryToS3.Bytes", size as f64);
        let freshness_s = (now - oldest.timestamp_millis() as f64).max(0.0) / 1000.0;
        self.count("DeliveryToS3.DataFreshness", freshness_s);
        self.stats.records.fetch_add(records.len() as u64, Ordering::Relaxed);
        self.stats.objects.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes.fetch_add(size as u64, Ordering::Relaxed);
        let mut written = self.stats.written_keys.lock().expect("not poisoned");
        if written.len() >= WRITTEN_KEYS_KEPT {
            written.drain(..WRITTEN_KEYS_KEPT / 2);
        }
        written.push(key.clone());
        drop(written);
        *self.stats.latest_key.lock().expect("not poisoned") = Some(key);
        let mut latencies = self.stats.arrival_to_s3_ms.lock().expect("not poisoned");
        latencies.extend(
            records
                .iter()
                .map(|r| (now - arrival(r).timestamp_millis() as f64).max(0.0)),
        );
    }
}

impl Pump {
    /// Writes one object, retrying (once a second) while S3 refuses, for at most the fault plan's retry window;
    /// whether it was written. Firehose retries a failed S3 delivery for as long as its source keeps the data (24 h
    /// for a Kinesis stream by default), then the data is lost: unlike a failed transformation, it is not written
    /// under the error output prefix ("Amazon S3" in
    /// <https://docs.aws.amazon.com/firehose/latest/dev/retry.html>).
    async fn put_until_window_ends(&self, key: &str, body: Vec<u8>) -> bool {
        let started = Instant::now();
        loop {
            let failure = if self.faults.strikes(lab_contract::FaultKind::S3Error) {
                Some("InternalError: injected by the local cloud (--faults s3-error)".to_owned())
            } else {
                let put = self.s3.put_object().bucket(&self.settings.bucket).key(key);
                put.body(body.clone().into())
                    .send()
                    .await
                    .err()
                    .map(|e| error_chain(&e))
            };
            let Some(failure) = failure else { return true };
            if started.elapsed() >= self.faults.s3_retry_window {
                eprintln!(
                    "firehose {}: writing {key} failed for {:.0} s, the retry window; its records are dropped: {failure}",
                    self.settings.name,
                    started.elapsed().as_secs_f64()
                );
                return false;
            }
            eprintln!(
                "firehose {}: writing {key} failed, retrying: {failure}",
                self.settings.name
            );
            self.stats.s3_retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

struct ShardReader {
    kinesis: aws_sdk_kinesis::Client,
    stream_name: String,
    shard_id: String,
    checkpoint: ShardCheckpoint,
    start_at: f64,
    poll_interval: Duration,
    stop: Arc<AtomicBool>,
}

impl ShardReader {
    /// The shard's first iterator: after its checkpoint, or else at the delivery stream's creation.
    async fn first_iterator(&self) -> Option<String> {
        let request = self
            .kinesis
            .get_shard_iterator()
            .stream_name(&self.stream_name)
            .shard_id(&self.shard_id);
        let request = match self.checkpoint.load() {
            Some(sequence_number) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(sequence_number),
            None => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_secs_f64(self.start_at)),
        };
        match request.send().await {
            Ok(output) => output.shard_iterator,
            Err(error) => {
                eprintln!("firehose: reading {} failed: {}", self.shard_id, error_chain(&error));
                None
            }
        }
    }

    async fn run(self, sender: mpsc::Sender<(String, Vec<Record>)>) {
        let mut iterator = self.first_iterator().await;
        // One call per poll interval (Firehose, like Lambda, polls each shard about once a second), longer after a
        // read throttle.
        let mut pacer = ReadPacer::new(self.poll_interval);
        while let Some(current) = iterator.take() {
            tokio::time::sleep(pacer.until_next_call()).await;
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            match self
                .kinesis
                .get_records()
                .shard_iterator(&current)
                .limit(10_000)
                .send()
                .await
            {
                Ok(output) => {
                    pacer.called(false);
                    iterator = output.next_shard_iterator;
                    if !output.records.is_empty() && sender.send((self.shard_id.clone(), output.records)).await.is_err()
                    {
                        return;
                    }
                }
                Err(error) => {
                    let throttled = is_read_throttle(&error);
                    pacer.called(throttled);
                    if !throttled {
                        eprintln!(
                            "firehose: GetRecords on {} failed: {}",
                            self.shard_id,
                            error_chain(&error)
                        );
                    }
                    iterator = Some(current);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_prefix_without_a_timestamp_gets_the_default_hour_folders() {
        assert_eq!(
            evaluate_prefix("telemetry/", at("2026-11-27T09:05:03Z")),
            "telemetry/2026/11/27/09/"
        );
        assert_eq!(evaluate_prefix("", at("2026-01-02T23:59:59Z")), "2026/01/02/23/");
    }

    #[test]
    fn timestamp_expressions_are_evaluated() {
        let prefix = "gps/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/";
        assert_eq!(
            evaluate_prefix(prefix, at("2026-11-27T09:05:03Z")),
            "gps/year=2026/month=11/day=27/"
        );
    }
}
