//! The analysis panel's figures and picture, made by step 5's own tools run as processes: `merge-window` adds a
//! window's shard results up into the stream's window (its JSON gives the panel's figures), and `heatmap` draws that
//! window as the step's heat map (the SVG the page shows as it is). The dashboard keeps no grid of its own, so that
//! the picture is the one the learner's step draws, rows, colours and all (`--mine`: the learner's own tools).
//! Without the tools (a cloud kept up with `cloud up`) the panel says so and draws nothing.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::analysis::Closed;

/// Anomalies listed in `/api/metrics` at most (a window of a faulty fleet may have thousands; the picture has all).
const MAX_ANOMALIES: usize = 200;
/// How long a tool may take: a learner's tool that hangs must not hold the panel forever.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Step 5's tools, and a folder of the dashboard's own for their input and output files.
#[derive(Debug, Clone)]
pub struct StepTools {
    pub merge_window: PathBuf,
    pub heatmap: PathBuf,
    pub folder: PathBuf,
}

/// What the panel shows of a window: the figures (`/api/metrics`' `analysis`) and the picture.
#[derive(Debug, Clone)]
pub struct Drawing {
    /// [`Closed::key`] of the window drawn.
    pub key: String,
    pub analysis: Value,
    pub svg: Option<Arc<String>>,
}

/// Where the page finds the picture; `serial` changes with each picture, so that the page fetches a new one.
pub fn heatmap_url(serial: u64) -> String {
    format!("/api/heatmap.svg?picture={serial}")
}

/// Runs the tools over a window's results. Any failure is said on the panel, in the tool's own words.
pub async fn draw(tools: Option<&StepTools>, closed: &Closed, serial: u64) -> Drawing {
    let mut analysis = json!({
        "window": closed.window,
        "shards": closed.shards(),
        "results_read": closed.results_read,
        "heatmap": null,
        "not_drawn": null,
    });
    let mut svg = None;
    match tools {
        None => {
            analysis["not_drawn"] = json!(
                "No picture: the panel shows step 5's own heat map, drawn by its merge-window and heatmap tools, \
                 and this local cloud was started without them (`cargo xtask lab` runs them; by hand: `cargo run \
                 -p step-5 --bin heatmap -- s3://BUCKET/KEY...`)."
            );
        }
        Some(tools) => match merged(tools, closed).await {
            Err(error) => analysis["not_drawn"] = json!(format!("{error:#}")),
            Ok(window) => {
                add_figures(&mut analysis, &window.1);
                match picture(tools, &window.0).await {
                    Ok(picture) => {
                        analysis["heatmap"] = json!(heatmap_url(serial));
                        svg = Some(Arc::new(picture));
                    }
                    Err(error) => analysis["not_drawn"] = json!(format!("{error:#}")),
                }
            }
        },
    }
    Drawing {
        key: closed.key(),
        analysis,
        svg,
    }
}

/// `merge-window` over the window's results: the stream's window it printed, saved for `heatmap`, and as JSON.
async fn merged(tools: &StepTools, closed: &Closed) -> Result<(PathBuf, Value)> {
    // A fresh folder: the last window's results must not be merged into this one.
    let _ = std::fs::remove_dir_all(&tools.folder);
    std::fs::create_dir_all(&tools.folder).with_context(|| format!("creating {}", tools.folder.display()))?;
    let mut inputs = vec![];
    for (index, body) in closed.results.values().enumerate() {
        let path = tools.folder.join(format!("result-{index}.json"));
        std::fs::write(&path, body)?;
        inputs.push(path);
    }
    let printed = run("merge-window", &tools.merge_window, &inputs).await?;
    let windows: Value = serde_json::from_slice(&printed).context("merge-window printed something else than JSON")?;
    let [window] = windows.as_array().map(Vec::as_slice).unwrap_or_default() else {
        bail!(
            "merge-window printed {} windows for the results of one",
            windows.as_array().map_or(0, Vec::len)
        );
    };
    let path = tools.folder.join("window.json");
    std::fs::write(&path, serde_json::to_vec_pretty(window)?)?;
    Ok((path, window.clone()))
}

/// `heatmap` over the stream's window: the SVG it wrote.
async fn picture(tools: &StepTools, window: &Path) -> Result<String> {
    let svg = tools.folder.join("heatmap.svg");
    run("heatmap", &tools.heatmap, &[window.to_owned(), svg.clone()]).await?;
    std::fs::read_to_string(&svg).with_context(|| format!("heatmap wrote no {}", svg.display()))
}

/// A tool's standard output; its error output in the error when it fails.
async fn run(name: &str, tool: &Path, args: &[PathBuf]) -> Result<Vec<u8>> {
    let mut command = tokio::process::Command::new(tool);
    command.args(args).kill_on_drop(true).stdin(std::process::Stdio::null());
    let output = tokio::time::timeout(TOOL_TIMEOUT, command.output())
        .await
        .with_context(|| format!("step 5's {name} did not finish within {} s", TOOL_TIMEOUT.as_secs()))?
        .with_context(|| format!("running step 5's {name} ({})", tool.display()))?;
    if !output.status.success() {
        bail!(
            "step 5's {name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// The figures of the stream's window, as `merge-window` printed it (step 5's `StreamWindow`): taken as they are,
/// never recomputed, so that the panel's numbers are the step's.
fn add_figures(analysis: &mut Value, window: &Value) {
    let anomalies = window["anomalies"].as_array().cloned().unwrap_or_default();
    let dropped = window["anomalies_dropped"].as_u64().unwrap_or(0);
    analysis["shards"] = window["shards"].clone();
    analysis["count"] = window["count"].clone();
    analysis["cells"] = window["cells"].clone();
    analysis["busiest"] = window["busiest"].clone();
    analysis["anomaly_count"] = json!(anomalies.len() as u64 + dropped);
    analysis["anomalies"] = anomalies
        .iter()
        .take(MAX_ANOMALIES)
        .map(|a| {
            json!({
                "id": a["id"], "vehicle": a["vehicle"], "latitude": a["latitude"], "longitude": a["longitude"],
                "kmh": a["kmh"],
            })
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn closed() -> Closed {
        Closed {
            window: json!({"start": "s", "end": "e"}),
            results: BTreeMap::from([("shard-a".to_owned(), b"{}".to_vec())]),
            results_read: 3,
        }
    }

    #[tokio::test]
    async fn without_the_tools_the_panel_says_so_and_has_no_figures_of_its_own() {
        let drawing = draw(None, &closed(), 1).await;
        assert!(drawing.svg.is_none());
        let analysis = &drawing.analysis;
        assert!(
            analysis["not_drawn"]
                .as_str()
                .unwrap()
                .contains("merge-window and heatmap"),
            "{analysis}"
        );
        assert_eq!(analysis["heatmap"], Value::Null);
        assert_eq!(analysis["shards"], json!(["shard-a"]));
        assert_eq!(analysis["results_read"], 3);
        for field in ["count", "cells", "busiest", "anomalies"] {
            assert_eq!(analysis[field], Value::Null, "{field} would be the dashboard's own sum");
        }
    }

    #[test]
    fn the_figures_are_merge_windows_as_printed() {
        let anomaly = |n: u64| json!({"id": n, "vehicle": "v", "latitude": 35.6, "longitude": 139.6, "kmh": 900.0, "timestamp": "t"});
        let window = json!({
            "shards": ["a", "b"], "count": 7, "cells": [{"row": 12, "column": 31, "count": 7}],
            "busiest": [{"row": 12, "column": 31, "count": 7}],
            "anomalies": (0..250).map(anomaly).collect::<Vec<_>>(), "anomalies_dropped": 5,
        });
        let mut analysis = json!({});
        add_figures(&mut analysis, &window);
        assert_eq!(analysis["count"], 7);
        assert_eq!(analysis["shards"], json!(["a", "b"]));
        assert_eq!(analysis["cells"], window["cells"]);
        assert_eq!(analysis["busiest"], window["busiest"]);
        assert_eq!(analysis["anomaly_count"], 255, "the listed ones and those dropped");
        assert_eq!(analysis["anomalies"].as_array().unwrap().len(), MAX_ANOMALIES);
        assert_eq!(
            analysis["anomalies"][0],
            json!({"id": 0, "vehicle": "v", "latitude": 35.6, "longitude": 139.6, "kmh": 900.0})
        );
    }
}
