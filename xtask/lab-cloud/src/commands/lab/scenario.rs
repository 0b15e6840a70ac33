//! What the lab's scenarios do beside the producer:
//! - `poison`: malformed records, written by the lab itself beside the producer's, and where they end up: the
//!   consumer rejects each (step 3 reports it as a batch item failure), its mapping retries, and once the retries
//!   are used up gives the rest of the batch up to the on-failure destination;
//! - `reshard`: a third of the way in, the lab doubles the stream's shards as an operator would
//!   (`UpdateShardCount`, `UNIFORM_SCALING`), and measures the stream's throughput before and after.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_kinesis::primitives::Blob;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::gateway::TrafficMeter;
use crate::runtime::event_source::{MappingSettings, kinesis_event};
use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome};

/// What a consumer must refuse: not JSON, JSON of the wrong shape, and readings with a field out of range.
const MALFORMED: [&str; 6] = [
    "this is not JSON",
    r#"{"vehicle":"vehicle-00001"}"#,
    r#"{"id":"poison-3","vehicle":"vehicle-00001","timestamp":"2026-12-02T00:00:00.000Z","latitude":123.0,"longitude":0.0}"#,
    r#"{"id":"poison-4","vehicle":"","timestamp":"2026-12-02T00:00:00.000Z","latitude":1.0,"longitude":1.0}"#,
    r#"{"id":"poison-5","vehicle":"vehicle-00002","timestamp":"yesterday","latitude":1.0,"longitude":1.0}"#,
    r#"{"id":"poison-6","vehicle":"vehicle-00003","timestamp":"2026-12-02T00:00:00.000Z","latitude":1.0,"longitude":-181.0}"#,
];

/// The malformed records written: each one's shard and sequence number, and the ids the lab's read-back gives them
/// (`unparsable:<sequence number>` for a record without one).
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub records: Vec<(String, String)>,
    pub ids: HashSet<String>,
}

/// The poison's fate, in the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Poison {
    /// Malformed records the lab wrote.
    pub written: u64,
    /// Of them, those inside a batch the consumer's mapping gave up (its on-failure records).
    pub at_on_failure_destination: u64,
    /// Valid records given up with them (the rest of their batches).
    pub valid_given_up: u64,
    /// The on-failure records, in `<state>/failures/`.
    pub on_failure_records: Vec<String>,
    /// The given-up batches sent to the consumer again, read back from the stream by their sequence ranges.
    pub redrive: Option<Redrive>,
}

/// A redrive of the on-failure records' batches, as an operator makes one once the cause is understood: each batch
/// read back from the stream by the range its on-failure record names (while the stream still holds it) and handed
/// to the consumer once more. The malformed records are rejected again; the valid ones behind them are consumed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Redrive {
    /// On-failure records redriven.
    pub batches: u64,
    /// Records read back from their ranges.
    pub records: u64,
    /// Of them, those the consumer took this time.
    pub consumed: u64,
    /// Those it reported as failures again (the malformed ones).
    pub rejected_again: u64,
}

/// The records of `shard` from `first` to `last` (sequence numbers, both included), read back from the stream.
pub async fn read_range(
    kinesis: &aws_sdk_kinesis::Client,
    stream_arn: &str,
    shard: &str,
    first: &str,
    last: &str,
) -> Result<Vec<aws_sdk_kinesis::types::Record>> {
    let mut iterator = kinesis
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(first)
        .send()
        .await
        .context("GetShardIterator at an on-failure record's first sequence number")?
        .shard_iterator;
    let mut records = vec![];
    while let Some(current) = iterator {
        let page = kinesis
            .get_records()
            .stream_arn(stream_arn)
            .shard_iterator(current)
            .send()
            .await
            .context("GetRecords of an on-failure record's range")?;
        if page.records.is_empty() {
            break;
        }
        for record in page.records {
            if within(&record.sequence_number, first, last) {
                records.push(record);
            } else {
                return Ok(records);
            }
        }
        iterator = page.next_shard_iterator;
    }
    Ok(records)
}

/// Redrives every on-failure record in `files` to the consumer `function` (its mapping's `settings` shape the event).
pub async fn redrive(
    kinesis: &aws_sdk_kinesis::Client,
    host: &LambdaHost,
    function: &FunctionSpec,
    settings: &MappingSettings,
    role_arn: &str,
    files: &[PathBuf],
) -> Result<Redrive> {
    let mut redrive = Redrive::default();
    for (_, record) in batches(files) {
        let info = &record["KinesisBatchInfo"];
        let text = |field: &str| info[field].as_str().unwrap_or_default().to_owned();
        let shard = text("shardId");
        let records = read_range(
            kinesis,
            &settings.stream_arn,
            &shard,
            &text("startSequenceNumber"),
            &text("endSequenceNumber"),
        )
        .await?;
        let event = kinesis_event(settings, &shard, role_arn, &records);
        let rejected = match host.invoke(function, &event).await {
            Outcome::Response(answer) => answer["batchItemFailures"].as_array().map_or(0, Vec::len) as u64,
            other => anyhow::bail!("the consumer failed on a redriven batch: {:?}", other.error()),
        };
        redrive.batches += 1;
        redrive.records += records.len() as u64;
        redrive.rejected_again += rejected;
        redrive.consumed += (records.len() as u64).saturating_sub(rejected);
    }
    Ok(redrive)
}

/// Writes the malformed records one by one while the producer runs (straight to the emulator with the SDK, each
/// under a key of its own), a second apart from the run's second second on.
pub fn write_poison(config: &SdkConfig, stream_arn: &str) -> tokio::task::JoinHandle<Result<Written>> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let stream_arn = stream_arn.to_owned();
    tokio::spawn(async move {
        let mut written = Written::default();
        for (index, data) in MALFORMED.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let put = kinesis
                .put_record()
                .stream_arn(&stream_arn)
                .partition_key(format!("poison-{}", index + 1))
                .data(Blob::new(data.as_bytes()))
                .send()
                .await
                .context("writing a malformed record")?;
            let id = serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("unparsable:{}", put.sequence_number));
            written.ids.insert(id);
            written.records.push((put.shard_id, put.sequence_number));
        }
        Ok(written)
    })
}

/// The on-failure records' `KinesisBatchInfo`: shard, first and last sequence number, batch size, condition.
fn batches(files: &[PathBuf]) -> Vec<(PathBuf, Value)> {
    files
        .iter()
        .filter_map(|path| {
            let record: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            Some((path.clone(), record))
        })
        .filter(|(_, record)| record.get("KinesisBatchInfo").is_some())
        .collect()
}

/// Records given up, by the condition of the on-failure record that names them.
pub fn given_up_by_condition(files: &[PathBuf]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (_, record) in batches(files) {
        let condition = record["requestContext"]["condition"].as_str().unwrap_or("?").to_owned();
        *counts.entry(condition).or_default() += record["KinesisBatchInfo"]["batchSize"].as_u64().unwrap_or(0);
    }
    counts
}

/// Sequence numbers are decimal integers of up to 128 bits (opaque strings to a consumer, but ordered within a
/// shard); an on-failure record names its batch's first and last.
fn within(sequence: &str, first: &str, last: &str) -> bool {
    match (sequence.parse::<u128>(), first.parse::<u128>(), last.parse::<u128>()) {
        (Ok(n), Ok(first), Ok(last)) => first <= n && n <= last,
        _ => false,
    }
}

impl Written {
    /// Where the malformed records ended up, from the on-failure records in `files`.
    pub fn found(&self, files: &[PathBuf]) -> Poison {
        let batches = batches(files);
        let mut found = 0;
        let mut given_up = 0;
        let mut paths = vec![];
        for (path, record) in &batches {
            let info = &record["KinesisBatchInfo"];
            let text = |field: &str| info[field].as_str().unwrap_or_default().to_owned();
            let (shard, first, last) = (text("shardId"), text("startSequenceNumber"), text("endSequenceNumber"));
            let inside = self
                .records
                .iter()
                .filter(|(s, sequence)| *s == shard && within(sequence, &first, &last))
                .count() as u64;
            found += inside;
            given_up += info["batchSize"].as_u64().unwrap_or(0).saturating_sub(inside);
            paths.push(path.display().to_string());
        }
        Poison {
            written: self.records.len() as u64,
            at_on_failure_destination: found,
            valid_given_up: given_up,
            on_failure_records: paths,
            redrive: None,
        }
    }
}

/// The `reshard` scenario's figures, in the summary: the stream's writes before the reshard (from the producer's
/// start to the `UpdateShardCount` call) and after it (from the stream's return to ACTIVE with its new shards to
/// the producer's end).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reshard {
    /// Open shards before and after.
    pub shards_before: u64,
    pub shards_after: u64,
    /// Seconds into the producer's run when the lab called `UpdateShardCount`, and when the stream was ACTIVE again.
    pub requested_at_s: f64,
    pub active_at_s: f64,
    /// Records the stream accepted per second, and write entries it refused per second.
    pub produce_records_per_s_before: f64,
    pub produce_records_per_s_after: Option<f64>,
    pub refusals_per_s_before: f64,
    pub refusals_per_s_after: Option<f64>,
}

/// A stream's writes as the front door counted them: records accepted, entries refused.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Writes {
    pub accepted: u64,
    pub refused: u64,
}

impl Writes {
    pub fn of(meter: &TrafficMeter, stream: &str) -> Writes {
        let mut writes = Writes::default();
        for (shard, traffic) in meter.traffic() {
            if shard.stream == stream {
                writes.accepted += traffic.records_accepted;
                writes.refused += traffic.writes_throttled;
            }
        }
        writes
    }
}

/// What the reshard did and when (seconds into the producer's run), before the producer's end is known.
#[derive(Debug, Clone, Default)]
pub struct Resharded {
    pub shards_before: u64,
    pub shards_after: u64,
    pub requested_at_s: f64,
    pub at_request: Writes,
    pub active_at_s: f64,
    pub at_active: Writes,
}

impl Resharded {
    /// The figures, given the stream's writes at the producer's end, `produce_seconds` into its run. No "after"
    /// when the producer was done before the new shards were.
    pub fn figures(&self, at_end: Writes, produce_seconds: f64) -> Reshard {
        let per_second = |count: u64, seconds: f64| (count as f64 / seconds * 10.0).round() / 10.0;
        let before = self.requested_at_s.max(f64::EPSILON);
        let after = produce_seconds - self.active_at_s;
        let after_rate = |count: u64| (after > 0.0).then(|| per_second(count, after));
        Reshard {
            shards_before: self.shards_before,
            shards_after: self.shards_after,
            requested_at_s: (self.requested_at_s * 10.0).round() / 10.0,
            active_at_s: (self.active_at_s * 10.0).round() / 10.0,
            produce_records_per_s_before: per_second(self.at_request.accepted, before),
            produce_records_per_s_after: after_rate(at_end.accepted.saturating_sub(self.at_active.accepted)),
            refusals_per_s_before: per_second(self.at_request.refused, before),
            refusals_per_s_after: after_rate(at_end.refused.saturating_sub(self.at_active.refused)),
        }
    }
}

/// Open shards and whether the stream is ACTIVE.
async fn open_shards(kinesis: &aws_sdk_kinesis::Client, stream_arn: &str) -> Result<(u64, bool)> {
    let summary = kinesis
        .describe_stream_summary()
        .stream_arn(stream_arn)
        .send()
        .await
        .context("DescribeStreamSummary")?
        .stream_description_summary
        .context("no stream description")?;
    let active = summary.stream_status == aws_sdk_kinesis::types::StreamStatus::Active;
    Ok((summary.open_shard_count.max(0) as u64, active))
}

/// Once the stream has accepted `after_records`, doubles its open shards as an operator would (`UpdateShardCount`
/// with `UNIFORM_SCALING`, <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html>),
/// waits until it is ACTIVE again with them, and says when each happened, counted from `started`.
pub fn reshard_midway(
    config: &SdkConfig,
    meter: TrafficMeter,
    stream_arn: &str,
    after_records: u64,
    started: std::time::Instant,
) -> tokio::task::JoinHandle<Result<Resharded>> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let stream_arn = stream_arn.to_owned();
    let stream = stream_arn
        .rsplit_once(":stream/")
        .map_or("", |(_, name)| name)
        .to_owned();
    tokio::spawn(async move {
        while Writes::of(&meter, &stream).accepted < after_records {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (shards_before, _) = open_shards(&kinesis, &stream_arn).await?;
        let at_request = Writes::of(&meter, &stream);
        let requested_at_s = started.elapsed().as_secs_f64();
        let target = shards_before * 2;
        eprintln!("\nlab: resharding {stream}: {shards_before} -> {target} shards (UpdateShardCount, UNIFORM_SCALING)");
        kinesis
            .update_shard_count()
            .stream_arn(&stream_arn)
            .target_shard_count(i32::try_from(target).context("too many shards")?)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await
            .context("UpdateShardCount")?;
        // "The stream status is UPDATING" until the reshard is done; then ACTIVE with the new shards.
        loop {
            let (open, active) = open_shards(&kinesis, &stream_arn).await?;
            if active && open == target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let resharded = Resharded {
            shards_before,
            shards_after: target,
            requested_at_s,
            at_request,
            active_at_s: started.elapsed().as_secs_f64(),
            at_active: Writes::of(&meter, &stream),
        };
        eprintln!("lab: {stream} is ACTIVE with {target} shards");
        Ok(resharded)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// On-failure records as the mapping writes them (only the fields read here), in a folder of their own.
    fn on_failure_records(batches: &[(&str, &str, &str, u64)]) -> (PathBuf, Vec<PathBuf>) {
        let folder = std::env::temp_dir().join(format!("lab-poison-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let files = batches
            .iter()
            .enumerate()
            .map(|(index, (shard, first, last, size))| {
                let record = json!({
                    "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4 },
                    "KinesisBatchInfo": { "shardId": shard, "startSequenceNumber": first,
                                          "endSequenceNumber": last, "batchSize": size },
                });
                let path = folder.join(format!("{index}.json"));
                std::fs::write(&path, record.to_string()).unwrap();
                path
            })
            .collect();
        (folder, files)
    }

    #[test]
    fn the_reshards_rates_are_over_the_time_before_the_request_and_after_the_new_shards() {
        let resharded = Resharded {
            shards_before: 2,
            shards_after: 4,
            requested_at_s: 5.0,
            at_request: Writes {
                accepted: 10_000,
                refused: 10_000,
            },
            active_at_s: 7.0,
            at_active: Writes {
                accepted: 14_000,
                refused: 14_000,
            },
        };
        let at_end = Writes {
            accepted: 30_000,
            refused: 15_000,
        };
        let figures = resharded.figures(at_end, 11.0);
        assert_eq!(figures.produce_records_per_s_before, 2000.0);
        assert_eq!(figures.refusals_per_s_before, 2000.0);
        assert_eq!(figures.produce_records_per_s_after, Some(4000.0));
        assert_eq!(figures.refusals_per_s_after, Some(250.0));
        let too_soon = resharded.figures(at_end, 6.0);
        assert_eq!(
            too_soon.produce_records_per_s_after, None,
            "the producer was done before the new shards"
        );
    }

    #[test]
    fn malformed_records_are_found_by_shard_and_sequence_range() {
        let written = Written {
            records: vec![
                ("shard-0".into(), "105".into()),
                ("shard-1".into(), "105".into()),
                ("shard-0".into(), "900".into()),
            ],
            ids: HashSet::new(),
        };
        // Shard 0's batch holds its first bad record and 9 valid ones; shard 1's range misses its bad record.
        let (folder, files) = on_failure_records(&[("shard-0", "105", "114", 10), ("shard-1", "200", "201", 2)]);

        let poison = written.found(&files);

        assert_eq!(poison.written, 3);
        assert_eq!(poison.at_on_failure_destination, 1);
        assert_eq!(poison.valid_given_up, 9 + 2);
        assert_eq!(poison.on_failure_records.len(), 2);
        assert_eq!(
            given_up_by_condition(&files),
            BTreeMap::from([("RetryAttemptsExhausted".to_owned(), 12)])
        );
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn sequence_numbers_compare_as_numbers_not_text() {
        assert!(within("99", "98", "100"));
        assert!(!within("1000", "98", "100"), "\"1000\" < \"98\" as text");
        assert!(!within("not a number", "1", "2"));
    }
}
