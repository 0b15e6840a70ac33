//! What of a learner's exists, and what flows: records in the stream, objects in the bucket.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use crate::aws::{ErrorContext, s3_client};
use crate::control::inventory::{Found, discover};
use crate::control::plan::IDLE_COST_PER_HOUR;
use crate::naming::{ANALYTICS_PREFIX, Naming};
use crate::readback::{DeliveryLayout, stream_ids};
use crate::stages::ResourceKind;

/// What exists and what flows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub resources: Vec<Found>,
    /// Records in the stream now (within its retention), counted up to `RECORDS_COUNTED_AT_MOST`.
    pub records_in_stream: Option<u64>,
    /// Objects and bytes in the bucket, by top-level prefix (`telemetry/`, `analytics/`, `aws/` for failed batches).
    pub objects: BTreeMap<String, (u64, u64)>,
    /// Where and how the delivery stream writes (its prefix, compression, buffering), as Firehose describes it.
    pub delivery: Option<DeliveryLayout>,
}

pub const RECORDS_COUNTED_AT_MOST: usize = 100_000;

pub async fn status(config: &SdkConfig, naming: &Naming) -> Result<Status> {
    let resources = discover(config, naming).await?;
    let mut records_in_stream = None;
    if let Some(stream) = resources
        .iter()
        .find(|r| r.kind == ResourceKind::Stream && r.state.starts_with("ACTIVE"))
    {
        let arn = aws_sdk_kinesis::Client::new(config)
            .describe_stream_summary()
            .stream_name(&stream.name)
            .send()
            .await?
            .stream_description_summary
            .context("no summary")?
            .stream_arn;
        records_in_stream = Some(stream_ids(config, &arn, None, RECORDS_COUNTED_AT_MOST).await?.len() as u64);
    }
    let mut objects = BTreeMap::new();
    let s3 = s3_client(config);
    for bucket in resources.iter().filter(|r| r.kind == ResourceKind::Bucket) {
        let mut pages = s3.list_objects_v2().bucket(&bucket.name).into_paginator().send();
        while let Some(page) = pages.next().await {
            for object in page.chained()?.contents.unwrap_or_default() {
                let key = object.key.unwrap_or_default();
                let top = key.split_once('/').map_or(key.as_str(), |(top, _)| top);
                let entry: &mut (u64, u64) = objects.entry(format!("{top}/")).or_default();
                entry.0 += 1;
                entry.1 += object.size.unwrap_or(0).max(0) as u64;
            }
        }
    }
    Ok(Status {
        resources,
        records_in_stream,
        objects,
        delivery: DeliveryLayout::describe(config, &naming.delivery_stream()).await?,
    })
}

/// A key's top-level folder, as the objects are counted: `telemetry/` for `telemetry/year=`.
fn top_folder(key: &str) -> String {
    format!("{}/", key.split_once('/').map_or(key, |(top, _)| top))
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resources.is_empty() {
            return write!(f, "Nothing of yours is deployed here.");
        }
        for resource in &self.resources {
            writeln!(
                f,
                "  {:<25} {:<50} {}",
                resource.kind.to_string(),
                resource.name,
                resource.state
            )?;
        }
        match self.records_in_stream {
            Some(n) if n as usize >= RECORDS_COUNTED_AT_MOST => writeln!(f, "Records in the stream: {n} or more")?,
            Some(n) => writeln!(f, "Records in the stream: {n}")?,
            None => {}
        }
        // The learner's layout decides where Firehose writes: the top folder of its prefix's fixed part.
        let delivered = self.delivery.as_ref().map(|d| top_folder(&d.listing_prefix));
        if let Some(delivery) = &self.delivery {
            writeln!(
                f,
                "Firehose writes under {} ({}, every {} s or {} MiB)",
                delivery.prefix, delivery.compression, delivery.interval_seconds, delivery.size_mib
            )?;
        }
        for (prefix, (count, bytes)) in &self.objects {
            let what = match prefix.as_str() {
                top if delivered.as_deref() == Some(top) => "delivered by Firehose",
                ANALYTICS_PREFIX => "window results",
                "aws/" => "failed batches (on-failure destination)",
                _ => "other",
            };
            writeln!(f, "Objects under {prefix:<11} {count:>6} ({bytes} bytes; {what})")?;
        }
        write!(f, "Cost: {IDLE_COST_PER_HOUR}.")
    }
}
