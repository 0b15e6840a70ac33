//! What of a learner's exists, and what flows: records in the stream, objects in the bucket.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use crate::aws::{ErrorContext, s3_client};
use crate::control::guard::parse_time;
use crate::control::inventory::{Found, discover};
use crate::control::plan::{IDLE_COST_PER_HOUR, SHARD_HOUR_USD};
use crate::naming::{ANALYTICS_PREFIX, Naming};
use crate::readback::{DeliveryLayout, stream_ids};
use crate::stages::ResourceKind;
use chrono::{DateTime, Utc};

/// What exists and what flows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub resources: Vec<Found>,
    /// Each resource's age and cost so far, and whether it has expired, in the order of `resources`.
    pub meter: Vec<Meter>,
    /// What the deployment has cost so far by list prices, in US dollars (what costs by existing: the stream).
    pub cost_so_far_usd: f64,
    /// What it costs per hour while it stays, idle or not.
    pub cost_per_hour_usd: f64,
    /// Records in the stream now (within its retention), counted up to `RECORDS_COUNTED_AT_MOST`.
    pub records_in_stream: Option<u64>,
    /// Objects and bytes in the bucket, by top-level prefix (`telemetry/`, `analytics/`, `aws/` for failed batches).
    pub objects: BTreeMap<String, (u64, u64)>,
    /// Where and how the delivery stream writes (its prefix, compression, buffering), as Firehose describes it.
    pub delivery: Option<DeliveryLayout>,
}

pub const RECORDS_COUNTED_AT_MOST: usize = 100_000;

/// One resource's meter: how long it has existed, what that has cost, and how its deadline stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meter {
    /// Seconds since it was made (`None`: its service does not say when).
    pub age_seconds: Option<i64>,
    /// What existing has cost so far: a stream's shard-hours; `0` for what costs only when used.
    pub cost_usd: f64,
    /// What it costs per hour while it exists.
    pub per_hour_usd: f64,
    /// Seconds until its `expires-at` (negative: expired that long ago).
    pub expires_in_seconds: Option<i64>,
    /// One of the clean-up guard's own (its function, roles, schedule): the guard leaves them, `destroy` removes them.
    pub guards_own: bool,
}

/// The meter of `resource` at `now`: a stream costs its open shards' hours since it was made (a shard-hour is billed
/// whole or in part: <https://aws.amazon.com/kinesis/data-streams/pricing/>, read here as time elapsed), everything
/// else nothing while idle (requests, data and storage are billed by use, and `status` shows the use).
pub fn meter(resource: &Found, now: DateTime<Utc>) -> Meter {
    let since = |time: &Option<String>| time.as_deref().and_then(parse_time).map(|t| (now - t).num_seconds());
    let age_seconds = since(&resource.created).map(|s| s.max(0));
    let per_hour_usd = match (resource.kind, resource.shards) {
        (ResourceKind::Stream, Some(shards)) => f64::from(shards) * SHARD_HOUR_USD,
        _ => 0.0,
    };
    Meter {
        age_seconds,
        cost_usd: per_hour_usd * age_seconds.unwrap_or(0) as f64 / 3600.0,
        per_hour_usd,
        expires_in_seconds: since(&resource.expires_at).map(|s| -s),
        guards_own: false,
    }
}

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
    let now = Utc::now();
    let meter: Vec<Meter> = resources
        .iter()
        .map(|r| Meter {
            guards_own: super::guard::is_guards_own(naming, r.kind, &r.name),
            ..meter(r, now)
        })
        .collect();
    Ok(Status {
        cost_so_far_usd: meter.iter().map(|m| m.cost_usd).sum(),
        cost_per_hour_usd: meter.iter().map(|m| m.per_hour_usd).sum(),
        meter,
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
        for (resource, meter) in self.resources.iter().zip(&self.meter) {
            writeln!(
                f,
                "  {:<25} {:<50} {:<32} {:>8} {:>8}  {}",
                resource.kind.to_string(),
                resource.name,
                resource.state,
                meter.age_seconds.map_or_else(|| "age ?".to_owned(), duration),
                format!("${:.4}", meter.cost_usd),
                match meter.expires_in_seconds {
                    Some(s) if s <= 0 => format!("EXPIRED {} ago", duration(-s)),
                    Some(s) => format!("expires in {}", duration(s)),
                    None => String::new(),
                }
            )?;
        }
        let expired = |guards_own: bool| {
            self.meter
                .iter()
                .filter(|m| m.guards_own == guards_own && m.expires_in_seconds.is_some_and(|s| s <= 0))
                .count()
        };
        match (expired(false), expired(true)) {
            (0, 0) => {}
            (0, _) => writeln!(
                f,
                "Only the clean-up guard's own are left past their expiry (it leaves itself; idle, they cost \
                 nothing): `cargo xtask destroy` removes them."
            )?,
            (n, _) => writeln!(
                f,
                "{n} resource(s) past their expiry: the clean-up guard removes them; `cargo xtask destroy` now."
            )?,
        }
        writeln!(
            f,
            "Cost so far: ${:.4} by list prices ({:.4} $/hour while it stays; requests and data billed by use come on \
             top)",
            self.cost_so_far_usd, self.cost_per_hour_usd
        )?;
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
        if self.cost_per_hour_usd > 0.0 {
            write!(f, "Cost: {IDLE_COST_PER_HOUR}.")
        } else {
            write!(
                f,
                "Cost: nothing by existing (no stream left); `cargo xtask destroy` removes the rest."
            )
        }
    }
}

/// `3h 05m`, `12m 30s`, `45s`.
fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: ResourceKind, created: &str, expires_at: Option<&str>, shards: Option<i32>) -> Found {
        let mut found = Found::new(kind, "x".to_owned(), "ACTIVE");
        found.created = Some(created.to_owned());
        found.expires_at = expires_at.map(str::to_owned);
        found.shards = shards;
        found
    }

    #[test]
    fn a_stream_costs_its_shard_hours_since_it_was_made_and_says_when_it_expired() {
        let now = parse_time("2026-12-06T16:00:00Z").unwrap();
        let stream = found(
            ResourceKind::Stream,
            "2026-12-06T13:30:00Z",
            Some("2026-12-06T15:30:00Z"),
            Some(2),
        );
        let meter = meter(&stream, now);
        assert_eq!(meter.age_seconds, Some(9000));
        // 2 shards for 2.5 hours at $0.015.
        assert!((meter.cost_usd - 0.075).abs() < 1e-9, "{meter:?}");
        assert_eq!(meter.expires_in_seconds, Some(-1800));
        let role = found(
            ResourceKind::Role,
            "2026-12-06T13:30:00Z",
            Some("2026-12-06T17:00:00Z"),
            None,
        );
        let role = super::meter(&role, now);
        assert_eq!((role.cost_usd, role.expires_in_seconds), (0.0, Some(3600)));
        assert_eq!(duration(9000), "2h 30m");
        assert_eq!(duration(750), "12m 30s");
    }

    /// After the guard has run only its own are left: `status` must not say the guard will remove them, nor price a
    /// stream that is gone.
    #[test]
    fn after_the_guard_ran_status_says_only_destroy_removes_what_is_left() {
        let now = parse_time("2026-12-06T16:00:00Z").unwrap();
        let role = found(
            ResourceKind::Role,
            "2026-12-06T13:30:00Z",
            Some("2026-12-06T15:30:00Z"),
            None,
        );
        let status = |guards_own: bool| Status {
            meter: vec![Meter {
                guards_own,
                ..meter(&role, now)
            }],
            resources: vec![role.clone()],
            cost_so_far_usd: 0.0,
            cost_per_hour_usd: 0.0,
            records_in_stream: None,
            objects: BTreeMap::new(),
            delivery: None,
        };
        let left = status(true).to_string();
        assert!(left.contains("Only the clean-up guard's own are left"), "{left}");
        assert!(left.contains("Cost: nothing by existing"), "{left}");
        let expired = status(false).to_string();
        assert!(
            expired.contains("1 resource(s) past their expiry: the clean-up guard removes them"),
            "{expired}"
        );
    }
}
