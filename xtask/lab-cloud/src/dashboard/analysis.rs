//! The analysis' latest window for the map. Lambda's tumbling windows are per shard, so step 5's function writes one
//! result per shard and window to S3; the stream's view of a window is their sum, as step 5's `merge` does it
//! (`solutions/step-5/src/merge.rs`: cells added up, anomalies put together). lab-cloud runs the steps' code as
//! processes and never links it, so the few lines of that sum that the map needs are here, over the results' JSON.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

/// Anomalies drawn on the map at most (a window of a faulty fleet may have thousands).
const MAX_ANOMALIES: usize = 200;
/// Windows kept in memory: a long `cloud up` writes one result per shard every few seconds.
const KEPT_WINDOWS: usize = 4;

/// What the map needs of one shard's result.
#[derive(Debug, Clone)]
struct Part {
    shard_id: String,
    count: u64,
    cells: Vec<(u64, u64, u64)>,
    anomalies: Vec<Value>,
}

/// Where the results are, and the windows read so far (by start time, which sorts as RFC 3339 text does).
pub struct Windows {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    seen: HashSet<String>,
    windows: BTreeMap<String, (Value, Vec<Part>)>,
    most_shards: usize,
}

impl Windows {
    pub fn new(s3: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Windows {
        Windows {
            s3,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            seen: HashSet::new(),
            windows: BTreeMap::new(),
            most_shards: 0,
        }
    }

    /// Reads the results written since the last call. A bucket that does not exist yet is nothing to read.
    pub async fn refresh(&mut self) -> Result<()> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        for page in listed {
            let Ok(page) = page else { return Ok(()) };
            for object in page.contents.unwrap_or_default() {
                let Some(key) = object.key else { continue };
                if self.seen.contains(&key) {
                    continue;
                }
                let body = self.s3.get_object().bucket(&self.bucket).key(&key).send().await;
                let body = body
                    .context("reading a window result")?
                    .body
                    .collect()
                    .await?
                    .into_bytes();
                self.seen.insert(key);
                if let Ok(result) = serde_json::from_slice::<Value>(&body) {
                    self.add(&result);
                }
            }
        }
        Ok(())
    }

    /// One shard's result of a window (step 5's `WindowResult` as JSON); anything else is ignored.
    fn add(&mut self, result: &Value) {
        let (Some(start), Some(shard_id)) = (result["window"]["start"].as_str(), result["shard_id"].as_str()) else {
            return;
        };
        let cells = result["cells"].as_array().into_iter().flatten();
        let part = Part {
            shard_id: shard_id.to_owned(),
            count: result["count"].as_u64().unwrap_or(0),
            cells: cells
                .filter_map(|c| Some((c["row"].as_u64()?, c["column"].as_u64()?, c["count"].as_u64()?)))
                .collect(),
            anomalies: result["anomalies"].as_array().cloned().unwrap_or_default(),
        };
        let (_, parts) = self
            .windows
            .entry(start.to_owned())
            .or_insert_with(|| (result["window"].clone(), vec![]));
        parts.retain(|p| p.shard_id != part.shard_id);
        parts.push(part);
        self.most_shards = self.most_shards.max(parts.len());
        while self.windows.len() > KEPT_WINDOWS {
            self.windows.pop_first();
        }
    }

    /// The latest window every shard has written (or the latest at all, when none has all), merged.
    pub fn latest(&self) -> Option<Value> {
        let complete = self
            .windows
            .values()
            .rev()
            .find(|(_, parts)| parts.len() >= self.most_shards);
        let (window, parts) = complete.or_else(|| self.windows.values().next_back())?;
        Some(merge(window, parts, self.seen.len()))
    }
}

fn merge(window: &Value, parts: &[Part], results_read: usize) -> Value {
    let mut cells: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for part in parts {
        for &(row, column, count) in &part.cells {
            *cells.entry((row, column)).or_default() += count;
        }
    }
    let mut shards: Vec<&str> = parts.iter().map(|p| p.shard_id.as_str()).collect();
    shards.sort();
    let mut anomalies: Vec<&Value> = parts.iter().flat_map(|p| &p.anomalies).collect();
    anomalies.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
    let anomaly_count = anomalies.len();
    let mut busiest: Vec<((u64, u64), u64)> = cells.iter().map(|(&cell, &count)| (cell, count)).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    json!({
        "window": window,
        "shards": shards,
        "count": parts.iter().map(|p| p.count).sum::<u64>(),
        "max": cells.values().max().copied().unwrap_or(0),
        "cells": cells.iter().map(|(&(row, column), &count)| json!({"row": row, "column": column, "count": count}))
            .collect::<Vec<_>>(),
        "busiest": busiest.iter().take(3).map(|&((row, column), count)| json!({"row": row, "column": column, "count": count}))
            .collect::<Vec<_>>(),
        "anomaly_count": anomaly_count,
        "anomalies": anomalies.into_iter().take(MAX_ANOMALIES).map(|a| json!({
            "vehicle": a["vehicle"], "latitude": a["latitude"], "longitude": a["longitude"], "kmh": a["kmh"]
        })).collect::<Vec<_>>(),
        "results_read": results_read,
    })
}

/// The world's land as one SVG path (x = longitude + 180, y = 90 - latitude), from step 5's coastline data (Natural
/// Earth, public domain), which is Rust source: its string literals, joined.
pub fn land_path() -> String {
    const SOURCE: &str = include_str!("../../../../solutions/step-5/src/coastline.rs");
    SOURCE
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("\"M"))
        .filter_map(|line| line.split_once('"').map(|(path, _)| format!("M{path}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Windows {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Windows::new(aws_sdk_s3::Client::from_conf(config), "b", "analytics/")
    }

    fn result(start: &str, shard: &str, cells: Value) -> Value {
        json!({"window": {"start": start, "end": "e"}, "shard_id": shard, "count": 3, "cells": cells, "anomalies": []})
    }

    #[test]
    fn a_window_is_its_shards_added_up_and_an_incomplete_one_waits() {
        let mut windows = windows();
        windows.add(&result("1", "a", json!([{"row": 1, "column": 2, "count": 2}])));
        windows.add(&result(
            "1",
            "b",
            json!([{"row": 1, "column": 2, "count": 1}, {"row": 0, "column": 0, "count": 5}]),
        ));
        // Window 2 has one shard's result so far: the map keeps showing window 1.
        windows.add(&result("2", "a", json!([])));
        let latest = windows.latest().expect("a window");
        assert_eq!(latest["window"]["start"], "1");
        assert_eq!(latest["shards"], json!(["a", "b"]));
        assert_eq!(latest["count"], 6);
        assert_eq!(latest["max"], 5);
        assert_eq!(
            latest["cells"],
            json!([{"row": 0, "column": 0, "count": 5}, {"row": 1, "column": 2, "count": 3}])
        );
    }

    #[test]
    fn the_land_is_read_from_step_5s_coastline() {
        let path = land_path();
        assert!(
            path.starts_with('M') && path.len() > 10_000,
            "{}",
            &path[..path.len().min(80)]
        );
        assert!(!path.contains('"'));
    }
}
