//! The `poison` scenario's malformed records, written by the lab itself beside the producer's, and where they end
//! up: the consumer rejects each (step 3 reports it as a batch item failure), its mapping retries, and once the
//! retries are used up gives the rest of the batch up to the on-failure destination.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_kinesis::primitives::Blob;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

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
        }
    }
}
