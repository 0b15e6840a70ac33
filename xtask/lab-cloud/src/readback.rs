//! Reading back what the pipeline wrote: the records in a stream, and the objects under a prefix of a bucket. The
//! lab's summary, `status` and the deployed checks all count with these, so they count alike.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_kinesis::types::ShardIteratorType;
use serde::Serialize;
use serde_json::Value;

use crate::runtime::firehose_compression::Compression;
use std::collections::HashSet;
use std::time::Duration;

/// The `id` of every record in the stream (all shards, from the start or from `since`), at most about `cap` of them.
pub async fn stream_ids(
    config: &SdkConfig,
    stream_arn: &str,
    since: Option<std::time::SystemTime>,
    cap: usize,
) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    for_each_record(config, stream_arn, since, |record| {
        let id = serde_json::from_slice::<Value>(record.data.as_ref())
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        ids.insert(id.unwrap_or_else(|| format!("unparsable:{}", record.sequence_number)));
        ids.len() < cap
    })
    .await?;
    Ok(ids)
}

/// Every record's data in the stream (all shards, from the start), shard by shard in order.
pub async fn stream_data(config: &SdkConfig, stream_arn: &str) -> Result<Vec<Vec<u8>>> {
    let mut data = vec![];
    for_each_record(config, stream_arn, None, |record| {
        data.push(record.data.as_ref().to_vec());
        true
    })
    .await?;
    Ok(data)
}

/// Reads every shard of the stream from the start (or from `since`) and hands each record to `each`, until it says
/// `false` or the shards are read to their tip.
async fn for_each_record(
    config: &SdkConfig,
    stream_arn: &str,
    since: Option<std::time::SystemTime>,
    mut each: impl FnMut(&aws_sdk_kinesis::types::Record) -> bool,
) -> Result<()> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let name = stream_arn.rsplit_once(":stream/").map_or(stream_arn, |(_, name)| name);
    let mut more = true;
    let shards = kinesis
        .list_shards()
        .stream_name(name)
        .send()
        .await?
        .shards
        .unwrap_or_default();
    for shard in shards {
        if !more {
            break;
        }
        let request = kinesis.get_shard_iterator().stream_name(name).shard_id(&shard.shard_id);
        let request = match since {
            Some(time) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from(time)),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request.send().await?.shard_iterator;
        while let Some(current) = iterator.take() {
            let output = kinesis
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await?;
            // An empty page is not the end while the shard has more behind it (AWS returns empty pages before
            // the tip, and allows 5 reads a second per shard).
            let behind = output.millis_behind_latest.unwrap_or(0) > 0;
            if !more || (output.records.is_empty() && !behind) {
                break;
            }
            if output.records.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            for record in &output.records {
                more = more && each(record);
            }
            iterator = output.next_shard_iterator;
        }
    }
    Ok(())
}

/// The lines of an NDJSON object Firehose delivered: the `id` of each position, or the line that is not one.
/// (Blank lines are skipped: records that end in a newline, delivered with AppendDelimiterToRecord, leave them.)
pub fn positions(body: &str) -> impl Iterator<Item = Result<String, &str>> {
    body.lines().filter(|line| !line.trim().is_empty()).map(|line| {
        serde_json::from_str::<Value>(line)
            .ok()
            .filter(|v| v["latitude"].is_number() && v["longitude"].is_number())
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .ok_or(line)
    })
}

pub async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<(String, String)>> {
    let found = object_bytes(s3, bucket, prefix).await?;
    Ok(found
        .into_iter()
        .map(|(key, body)| (key, String::from_utf8_lossy(&body).into_owned()))
        .collect())
}

/// Every object under the prefix, as stored.
pub async fn object_bytes(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut found = vec![];
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.context("listing objects")?.contents.unwrap_or_default() {
            let key = object.key.unwrap_or_default();
            let body = s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await?
                .body
                .collect()
                .await?
                .into_bytes();
            found.push((key, body.to_vec()));
        }
    }
    Ok(found)
}

/// Where and how a delivery stream writes, as Firehose describes it: what a reader of its objects needs, whatever
/// layout and compression the learner chose (step 4's definition).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryLayout {
    pub bucket: String,
    /// The prefix as configured, expressions and all.
    pub prefix: String,
    /// Its fixed start, before the first expression: what to list.
    pub listing_prefix: String,
    /// `CompressionFormat`, as the API names it.
    pub compression: String,
    pub interval_seconds: i32,
    pub size_mib: i32,
}

impl DeliveryLayout {
    /// The delivery stream's layout, `None` when it does not exist or writes nowhere the readers know.
    pub async fn describe(config: &SdkConfig, name: &str) -> Result<Option<DeliveryLayout>> {
        let described = aws_sdk_firehose::Client::new(config)
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await;
        let Ok(described) = described else {
            return Ok(None);
        };
        let Some(s3) = described
            .delivery_stream_description
            .and_then(|d| d.destinations.into_iter().next())
            .and_then(|d| d.extended_s3_destination_description)
        else {
            return Ok(None);
        };
        let prefix = s3.prefix.unwrap_or_default();
        let hints = s3
            .buffering_hints
            .unwrap_or_else(|| aws_sdk_firehose::types::BufferingHints::builder().build());
        Ok(Some(DeliveryLayout {
            bucket: s3.bucket_arn.rsplit(":::").next().unwrap_or_default().to_owned(),
            listing_prefix: crate::runtime::firehose_keys::listing_prefix(&prefix).to_owned(),
            prefix,
            compression: s3.compression_format.as_str().to_owned(),
            interval_seconds: hints.interval_in_seconds.unwrap_or(300),
            size_mib: hints.size_in_mbs.unwrap_or(5),
        }))
    }

    /// Every object the delivery stream wrote (under its listing prefix): its key, its size as stored, and its text
    /// once decompressed (or why it would not decompress).
    pub async fn objects(&self, s3: &aws_sdk_s3::Client) -> Result<Vec<DeliveredObject>> {
        let compression = Compression::from_api(&self.compression).map_err(anyhow::Error::msg)?;
        let mut found = vec![];
        for (key, body) in object_bytes(s3, &self.bucket, &self.listing_prefix).await? {
            let text = compression
                .decompress(&body)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            found.push(DeliveredObject {
                key,
                stored_bytes: body.len() as u64,
                text,
            });
        }
        Ok(found)
    }
}

/// One object a delivery stream wrote.
#[derive(Debug, Clone)]
pub struct DeliveredObject {
    pub key: String,
    pub stored_bytes: u64,
    pub text: Result<String, String>,
}
