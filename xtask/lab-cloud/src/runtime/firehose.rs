//! Firehose from a Kinesis source to S3, for delivery streams registered in the Firehose API (moto keeps their
//! configuration but never moves their data).
//!
//! As AWS documents it: the delivery stream reads every shard of its source stream from the time it was created
//! (Firehose starts at the stream's LATEST position when the delivery stream is created); it buffers records and
//! writes one object when the buffer reaches `BufferingHints.SizeInMBs` or `IntervalInSeconds` has passed since
//! the buffer's first record; with the `AppendDelimiterToRecord` processor each record ends with a newline. The
//! object is compressed as `CompressionFormat` says ([`super::firehose_compression`]) and named as AWS names it
//! ([`super::firehose_keys`]: the prefix's expressions, `CustomTimeZone`, the extension or `FileExtension`).
//! What the pump does not implement (a Lambda processor, format conversion, dynamic partitioning, ZIP, ...) is
//! refused when the delivery stream is created (`gateway/validate/firehose.rs`), and again here for a delivery
//! stream made past the gateway: it is not delivered, and the data plane's log says why.
//!
//! Firehose checkpoints what it has delivered from each shard of its source and continues from there, so that a
//! record reaches S3 once (barring a failure between the write and the checkpoint: Firehose promises at least once).
//! The local pump does the same: once an object is written, each of its shards' last sequence number is saved
//! (`<checkpoints>/firehose/<delivery stream>/<shard>.json`), and a pump started again (a new `lab-cloud serve`, or
//! the delivery stream updated) reads each shard after its checkpoint, not from the delivery stream's creation.

use anyhow::{Context, Result, bail};
use aws_sdk_firehose::types::{DeliveryStreamDescription, ProcessingConfiguration, Processor, ProcessorType};
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::aws::error_chain;
use crate::runtime::faults::FaultPlan;
use crate::runtime::firehose_compression::Compression;
use crate::runtime::firehose_keys::{self, Civil, PrefixError};
use crate::runtime::metrics::{MetricBook, MetricId};
use crate::runtime::read_pacing::{ReadPacer, ShardCheckpoint, is_read_throttle};
use crate::runtime::shard_lineage::{self, Checkpoints, Following, ShardEnd, ShardStart, Source};

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
    pub compression: Compression,
    /// What ends every key: `FileExtension` when set, else the compression's extension.
    pub extension: String,
    /// `CustomTimeZone` (`None`: UTC).
    pub time_zone: Option<String>,
    /// Where reading starts: when the delivery stream was created (seconds since the epoch).
    pub start_at: f64,
    /// The role Firehose reads the source with, and the one it writes the destination with (the workshop gives both
    /// the same role).
    pub source_role: String,
    pub destination_role: String,
}

impl DeliverySettings {
    /// `None` for delivery streams the pump has nothing to do with (Direct PUT, other destinations); `Err` for one it
    /// cannot deliver as configured (the gateway refuses those at creation; this is for one made past it).
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
        let name = &description.delivery_stream_name;
        let compression = Compression::from_api(destination.compression_format.as_str()).map_err(anyhow::Error::msg)?;
        let prefix = destination.prefix.clone().unwrap_or_default();
        for text in [Some(&prefix), destination.error_output_prefix.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Err(PrefixError::Invalid(why) | PrefixError::Unsupported(why)) = firehose_keys::parse(text) {
                bail!("{name}: its prefix {text:?} cannot be evaluated: {why}");
            }
        }
        let time_zone = destination.custom_time_zone.clone().filter(|zone| !zone.is_empty());
        firehose_keys::time_zone(time_zone.as_deref()).map_err(anyhow::Error::msg)?;
        let processors = enabled_processors(destination.processing_configuration.as_ref());
        if let Some(other) = processors
            .iter()
            .find(|p| p.r#type != ProcessorType::AppendDelimiterToRecord)
        {
            bail!("{name}: the local pump runs no {} processor", other.r#type.as_str());
        }
        let converts = destination
            .data_format_conversion_configuration
            .as_ref()
            .is_some_and(|c| c.enabled != Some(false));
        let partitions = destination
            .dynamic_partitioning_configuration
            .as_ref()
            .is_some_and(|c| c.enabled == Some(true));
        if converts || partitions {
            bail!("{name}: the local pump neither converts formats nor partitions dynamically");
        }
        let hints = destination.buffering_hints.as_ref();
        Ok(Some(DeliverySettings {
            name: name.clone(),
            version_id: description.version_id.clone(),
            stream_arn: source
                .kinesis_stream_arn
                .clone()
                .context("the source has no stream ARN")?,
            bucket: destination.bucket_arn.trim_start_matches("arn:aws:s3:::").to_owned(),
            prefix,
            error_output_prefix: destination.error_output_prefix.clone(),
            // AWS's defaults: 5 MiB and 300 s.
            buffer_bytes: hints.and_then(|h| h.size_in_mbs).unwrap_or(5).max(1) as usize * 1024 * 1024,
            buffer_interval: Duration::from_secs(hints.and_then(|h| h.interval_in_seconds).unwrap_or(300).max(0) as u64),
            append_delimiter: !processors.is_empty(),
            extension: match destination.file_extension.as_deref() {
                Some(extension) if !extension.is_empty() => extension.to_owned(),
                _ => compression.extension().to_owned(),
            },
            compression,
            time_zone,
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

/// The processors that run: none when processing is disabled ("Enabled": false keeps them configured, unused).
fn enabled_processors(configuration: Option<&ProcessingConfiguration>) -> Vec<Processor> {
    configuration
        .filter(|configuration| configuration.enabled != Some(false))
        .and_then(|configuration| configuration.processors.clone())
        .unwrap_or_default()
}

/// What a pump has delivered.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub records: AtomicU64,
    pub objects: AtomicU64,
    /// The objects' sizes as stored (compressed).
    pub bytes: AtomicU64,
    /// The same objects before compression.
    pub raw_bytes: AtomicU64,
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

/// The object key of a delivery: the evaluated prefix, then AWS's object name, at the oldest record's arrival.
pub fn object_key(settings: &DeliverySettings, oldest_arrival: DateTime<Utc>) -> String {
    let zone = firehose_keys::time_zone(settings.time_zone.as_deref()).unwrap_or_default();
    let time = Civil::at(oldest_arrival.timestamp_millis(), zone.as_ref());
    // Checked when the settings were read: a prefix that does not parse never reaches a pump.
    let parts = firehose_keys::parse(&settings.prefix).unwrap_or_default();
    let name = firehose_keys::object_name(&settings.name, &settings.version_id, &time, &settings.extension);
    format!("{}{name}", firehose_keys::evaluate(&parts, &time, ""))
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
    /// How the pump follows the source's shards across a reshard (parent before child).
    pub following: Following,
    /// Where the delivery stream's CloudWatch metrics (`AWS/Firehose`) are counted.
    pub metrics: Arc<MetricBook>,
}

/// CloudWatch's namespace for Firehose's metrics.
pub const FIREHOSE_NAMESPACE: &str = "AWS/Firehose";

/// What a shard's reader hands the pump: its shard, records in the shard's order, and whether they are the
/// shard's last (it is closed and read to its end).
type FromShard = (String, Vec<Record>, bool);

impl Pump {
    /// Reads every shard (parents before children, see `shard_lineage`) and delivers until `stop` is set; what is
    /// buffered then is delivered too.
    pub async fn run(self) -> Result<()> {
        let (sender, mut receiver) = mpsc::channel::<FromShard>(64);
        self.start_readers(sender).await?;

        let mut buffer: Vec<Record> = vec![];
        // Each shard's last record in the buffer: its checkpoint once the buffer is written; and the closed shards
        // whose last records are in it, checkpointed as finished then.
        let mut buffered_through: BTreeMap<String, String> = BTreeMap::new();
        let mut finishing: BTreeSet<String> = BTreeSet::new();
        let mut buffered_bytes = 0usize;
        let mut first_buffered: Option<Instant> = None;
        loop {
            let wait = match first_buffered {
                Some(at) => self.settings.buffer_interval.saturating_sub(at.elapsed()),
                None => self.poll_interval,
            };
            let received = tokio::time::timeout(wait, receiver.recv()).await;
            match received {
                Ok(Some((shard_id, records, last_of_shard))) => {
                    let bytes = records.iter().map(|r| r.data.as_ref().len()).sum::<usize>();
                    self.count("DataReadFromKinesisStream.Records", records.len() as f64);
                    self.count("DataReadFromKinesisStream.Bytes", bytes as f64);
                    if let Some(last) = records.last() {
                        buffered_through.insert(shard_id.clone(), last.sequence_number.clone());
                    }
                    if last_of_shard {
                        self.finished(shard_id, &buffered_through, &mut finishing);
                    }
                    if first_buffered.is_none() && !records.is_empty() {
                        first_buffered = Some(Instant::now());
                    }
                    buffered_bytes += records.iter().map(|r| r.data.as_ref().len() + 1).sum::<usize>();
                    buffer.extend(records);
                }
                // Every reader has stopped.
                Ok(None) => {
                    self.flush(&mut buffer, &mut buffered_through, &mut finishing).await;
                    return Ok(());
                }
                Err(_elapsed) => {}
            }
            let interval_over = first_buffered.is_some_and(|at| at.elapsed() >= self.settings.buffer_interval);
            if !buffer.is_empty() && (buffered_bytes >= self.settings.buffer_bytes || interval_over) {
                self.flush(&mut buffer, &mut buffered_through, &mut finishing).await;
                buffered_bytes = 0;
                first_buffered = None;
            }
            let opened = first_buffered.map_or(0, |at| {
                Utc::now().timestamp_millis() - i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX)
            });
            *self.stats.buffer.lock().expect("not poisoned") = (buffered_bytes as u64, opened);
        }
    }

    /// Starts the task that follows the source's shards and runs a reader for each; it holds the last sender, so
    /// that the channel closes once every reader has stopped.
    async fn start_readers(&self, sender: mpsc::Sender<FromShard>) -> Result<()> {
        let stream_name = self.settings.stream_name().to_owned();
        let shards = shard_lineage::list_shards(&self.kinesis, &stream_name).await?;
        let reader = ShardReader {
            kinesis: self.kinesis.clone(),
            stream_name: stream_name.clone(),
            shard_id: String::new(),
            checkpoint: self.checkpoint(""),
            start_at: self.settings.start_at,
            poll_interval: self.poll_interval,
            stop: self.stop.clone(),
        };
        let checkpoints = PumpCheckpoints(self.checkpoint(""));
        let owner = self.checkpoint("");
        let source = Source {
            kinesis: self.kinesis.clone(),
            stream_name,
            initial: shards,
        };
        tokio::spawn(shard_lineage::follow(
            source,
            self.following.clone(),
            self.stop.clone(),
            checkpoints,
            |_, _| {},
            move |start: ShardStart| {
                let reader = ShardReader {
                    checkpoint: owner.sibling(&start.shard_id),
                    shard_id: start.shard_id,
                    ..reader.clone()
                };
                reader.run(sender.clone())
            },
        ));
        Ok(())
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

    /// A closed shard's last records have come in: it is checkpointed as finished once they are written (at once
    /// when none of its records wait in the buffer).
    fn finished(
        &self,
        shard_id: String,
        buffered_through: &BTreeMap<String, String>,
        finishing: &mut BTreeSet<String>,
    ) {
        if buffered_through.contains_key(&shard_id) {
            finishing.insert(shard_id);
        } else {
            self.checkpoint(&shard_id).finish_or_warn();
        }
    }

    /// Writes the buffer as one object (retrying while S3 refuses, as Firehose does for up to a day), then
    /// checkpoints each shard at its last record in the object, and as finished the closed shards it ends.
    async fn flush(
        &self,
        buffer: &mut Vec<Record>,
        buffered_through: &mut BTreeMap<String, String>,
        finishing: &mut BTreeSet<String>,
    ) {
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
        let raw_size = body.len();
        let body = self.settings.compression.compress(&body);
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
        for shard_id in std::mem::take(finishing) {
            self.checkpoint(&shard_id).finish_or_warn();
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
        self.stats.raw_bytes.fetch_add(raw_size as u64, Ordering::Relaxed);
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
                let put = put
                    .content_type("application/octet-stream")
                    .set_content_encoding(self.settings.compression.content_encoding().map(str::to_owned));
                put.body(body.clone().into()).send().await.err().map(|error| {
                    let code = error.as_service_error().and_then(|e| e.meta().code()).unwrap_or("");
                    format!("{}: {}", delivery_error(code), error_chain(&error))
                })
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

/// Firehose's error log entry for a failed S3 write: its code and message ("Amazon S3 data delivery errors" in
/// <https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-logs.html>), from S3's error code.
pub fn delivery_error(s3_code: &str) -> &'static str {
    match s3_code {
        "AccessDenied" => {
            "S3.AccessDenied: Access was denied. Ensure that the trust policy for the provided IAM role allows Firehose \
             to assume the role, and the access policy allows access to the S3 bucket."
        }
        "NoSuchBucket" => {
            "S3.NoSuchBucket: The specified bucket does not exist. Create the bucket or use a different bucket that \
             does exist."
        }
        _ => {
            "InternalError: An internal error occurred while attempting to deliver data. Delivery will be retried; if \
             the error persists, then it will be reported to AWS for resolution."
        }
    }
}

/// The pump's checkpoints, as `shard_lineage::follow` asks for them.
struct PumpCheckpoints(ShardCheckpoint);

impl Checkpoints for PumpCheckpoints {
    fn exists(&self, shard_id: &str) -> bool {
        self.0.sibling(shard_id).exists()
    }

    fn finished(&self, shard_id: &str) -> bool {
        self.0.sibling(shard_id).is_finished()
    }
}

#[derive(Clone)]
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
    /// The shard's first iterator: after its checkpoint, or else at the delivery stream's creation (for a child
    /// shard too: its records are all after the reshard, and those after the creation are the ones to deliver).
    async fn first_iterator(&self) -> Result<Option<String>> {
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
        let output = request
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("firehose: reading {} failed: {}", self.shard_id, error_chain(&error)))?;
        Ok(output.shard_iterator)
    }

    /// Reads the shard into the pump until `stop` is set, or to its end when it is closed: its last records are
    /// sent marked as such, and its children named to the caller.
    async fn run(self, sender: mpsc::Sender<FromShard>) -> Result<ShardEnd> {
        let mut iterator = self.first_iterator().await?;
        // One call per poll interval (Firehose, like Lambda, polls each shard about once a second), longer after a
        // read throttle.
        let mut pacer = ReadPacer::new(self.poll_interval);
        while let Some(current) = iterator.take() {
            tokio::time::sleep(pacer.until_next_call()).await;
            if self.stop.load(Ordering::Relaxed) {
                return Ok(ShardEnd::Stopped);
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
                    let last_of_shard = iterator.is_none();
                    if (last_of_shard || !output.records.is_empty())
                        && sender
                            .send((self.shard_id.clone(), output.records, last_of_shard))
                            .await
                            .is_err()
                    {
                        return Ok(ShardEnd::Stopped);
                    }
                    if last_of_shard {
                        let children = output.child_shards.unwrap_or_default();
                        return Ok(ShardEnd::Finished { children });
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
        // No iterator at all: a shard closed before the position asked for.
        let _ = sender.send((self.shard_id.clone(), vec![], true)).await;
        Ok(ShardEnd::Finished { children: vec![] })
    }
}
