//! The analysis' windows as step 5's function writes them. Lambda's tumbling windows are per shard, so the function
//! writes one result per shard and window to S3. This module only finds those results and sorts them by the window
//! and shard each one names. Adding them up and drawing them is step 5's own work, done by its tools
//! ([`super::picture`]): lab-cloud never links a step, and a second copy of step 5's grid here once drew the map
//! upside down (issue #26).

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Windows kept in memory: a long `cloud up` writes one result per shard every few seconds.
const KEPT_WINDOWS: usize = 4;

/// One window's shard results, as read from S3 (each the JSON document step 5's `emit` wrote), by shard id.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// The window's time range, as the results give it (`start`, `end`).
    pub window: Value,
    pub results: BTreeMap<String, Vec<u8>>,
    /// Results read so far, of every window.
    pub results_read: usize,
}

impl Closed {
    pub fn shards(&self) -> Vec<&str> {
        self.results.keys().map(String::as_str).collect()
    }

    /// What tells two states of a window apart: its start and the shards in it (a late shard's result changes it).
    pub fn key(&self) -> String {
        format!("{}|{}", self.window["start"], self.shards().join(","))
    }
}

/// Where the results are, and the windows read so far (by start time, which sorts as RFC 3339 text does).
pub struct Windows {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    seen: HashSet<String>,
    windows: BTreeMap<String, (Value, BTreeMap<String, Vec<u8>>)>,
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
                self.add(body.to_vec());
            }
        }
        Ok(())
    }

    /// One shard's result of a window: filed under the window's start and the shard it names; anything that names
    /// neither is not a result, and is left out.
    fn add(&mut self, body: Vec<u8>) {
        let Ok(result) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        let (Some(start), Some(shard_id)) = (result["window"]["start"].as_str(), result["shard_id"].as_str()) else {
            return;
        };
        let (_, results) = self
            .windows
            .entry(start.to_owned())
            .or_insert_with(|| (result["window"].clone(), BTreeMap::new()));
        results.insert(shard_id.to_owned(), body);
        self.most_shards = self.most_shards.max(results.len());
        while self.windows.len() > KEPT_WINDOWS {
            self.windows.pop_first();
        }
    }

    /// The latest window every shard has written (or the latest at all, when none has all yet).
    pub fn latest(&self) -> Option<Closed> {
        let complete = self
            .windows
            .values()
            .rev()
            .find(|(_, results)| results.len() >= self.most_shards);
        let (window, results) = complete.or_else(|| self.windows.values().next_back())?;
        Some(Closed {
            window: window.clone(),
            results: results.clone(),
            results_read: self.seen.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn windows() -> Windows {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Windows::new(aws_sdk_s3::Client::from_conf(config), "b", "analytics/")
    }

    fn result(start: &str, shard: &str) -> Vec<u8> {
        let result = json!({"window": {"start": start, "end": "e"}, "shard_id": shard, "count": 3, "cells": []});
        serde_json::to_vec(&result).unwrap()
    }

    #[test]
    fn the_latest_window_is_the_latest_that_every_shard_has_written() {
        let mut windows = windows();
        windows.add(result("1", "a"));
        windows.add(result("1", "b"));
        // Window 2 has one shard's result so far: the panel keeps showing window 1.
        windows.add(result("2", "a"));
        windows.add(b"not a result".to_vec());
        windows.add(serde_json::to_vec(&json!({"shard_id": "c"})).unwrap());
        let latest = windows.latest().expect("a window");
        assert_eq!(latest.window["start"], "1");
        assert_eq!(latest.shards(), ["a", "b"]);
        assert_eq!(latest.results["b"], result("1", "b"), "the result as written");
        windows.add(result("2", "b"));
        let latest = windows.latest().expect("a window");
        assert_eq!(latest.window["start"], "2");
        assert_ne!(latest.key(), {
            let mut one_shard = latest.clone();
            one_shard.results.remove("b");
            one_shard.key()
        });
    }

    #[test]
    fn before_any_window_has_every_shard_the_latest_is_shown_and_old_windows_are_let_go() {
        let mut windows = windows();
        assert_eq!(windows.latest(), None);
        windows.add(result("1", "a"));
        assert_eq!(windows.latest().expect("a window").window["start"], "1");
        for start in ["2", "3", "4", "5", "6"] {
            windows.add(result(start, "a"));
        }
        assert_eq!(windows.windows.len(), KEPT_WINDOWS);
        assert_eq!(windows.latest().expect("a window").window["start"], "6");
    }
}
