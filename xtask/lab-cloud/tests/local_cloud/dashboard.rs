//! The dashboard against the real SDK and the local emulator: records written through a Kinesis front door of the
//! test's own (on a clock that never moves, so that one window holds every write and the shard's limit refuses a
//! known number), then the page and `/api/metrics` read over HTTP as a browser would.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use lab_cloud::dashboard::Dashboard;
use lab_cloud::dashboard::picture::StepTools;
use lab_cloud::gateway::{Gateway, GatewayOptions, Limits, ManualClock};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One `GET` on the dashboard: the status line and the body.
async fn get(url: &str, path: &str) -> (String, String) {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

async fn metrics(url: &str) -> Value {
    let (status, body) = get(url, "/api/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    serde_json::from_str(&body).unwrap_or_else(|error| panic!("/api/metrics is not JSON ({error}): {body}"))
}

/// 1,500 records at one shard within one second: AWS takes 1,000 and refuses 500
/// (<https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>), and the dashboard says so.
#[tokio::test]
async fn the_dashboard_shows_a_shards_writes_and_refusals_against_its_limit() {
    let config = lab_testkit::local_aws().await;
    let emulator = config.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        clock: Arc::new(ManualClock::default()),
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let through_door = config.to_builder().endpoint_url(gateway.endpoint()).build();
    let stream_arn = lab_cloud::testing::one_shard_stream(&through_door, "dashboard")
        .await
        .unwrap();
    let stream = stream_arn.rsplit('/').next().unwrap().to_owned();
    let dashboard = Dashboard::start(0, Limits::default()).await.unwrap();
    assert!(dashboard.url().starts_with("http://127.0.0.1:"), "{}", dashboard.url());
    let feed = dashboard.feed();
    feed.watch_gateway(gateway.meter());
    feed.set_context(serde_json::json!({ "scenario": "test" }));
    feed.sample();

    let kinesis = aws_sdk_kinesis::Client::new(&through_door);
    let (mut accepted, mut refused) = (0, 0);
    for batch in 0..3 {
        let entries = (0..500).map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("key-{batch}-{i}"))
                .data(Blob::new(format!("{{\"n\":{i}}}")))
                .build()
                .unwrap()
        });
        let answer = kinesis
            .put_records()
            .stream_arn(&stream_arn)
            .set_records(Some(entries.collect()))
            .send()
            .await
            .unwrap();
        refused += answer.failed_record_count().unwrap_or(0) as u64;
        accepted += answer.records().iter().filter(|r| r.error_code().is_none()).count() as u64;
    }
    assert_eq!((accepted, refused), (1000, 500));
    // A rate compares two readings at least a second apart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    feed.sample();

    let metrics = metrics(&dashboard.url()).await;
    let shard = metrics["shards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|shard| shard["stream"] == stream.as_str())
        .unwrap_or_else(|| panic!("no shard of {stream} in {metrics}"));
    assert_eq!(shard["records_accepted"], 1000, "{shard}");
    assert_eq!(shard["writes_throttled"], 500, "{shard}");
    let rate = shard["records_per_s"].as_f64().unwrap();
    assert!(rate > 0.0 && rate <= 1000.0, "{shard}");
    assert_eq!(metrics["totals"]["produced"], 1000);
    assert_eq!(metrics["totals"]["throttled"], 500);
    assert_eq!(metrics["limits"]["write_records_per_s"], 1000);
    assert_eq!(metrics["limits"]["write_bytes_per_s"], 1024 * 1024);
    assert_eq!(metrics["context"]["scenario"], "test");
    assert_eq!(metrics["phase"], "running");

    feed.finish(serde_json::json!({ "produced": 1000 })).await;
    let metrics = self::metrics(&dashboard.url()).await;
    assert_eq!(metrics["phase"], "done");
    assert_eq!(metrics["summary"]["produced"], 1000);
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_page_and_its_script_come_from_the_dashboard_itself() {
    let dashboard = Dashboard::start(0, Limits::default()).await.unwrap();
    let url = dashboard.url();
    let (status, page) = get(&url, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("<script src=\"/app.js\">"), "{page}");
    // Self-contained: nothing is fetched from another host.
    for asset in ["/", "/app.js", "/style.css"] {
        let (status, body) = get(&url, asset).await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{asset}");
        // (The SVG namespace is a name, not an address: nothing is fetched from it.)
        let body = body.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !body.contains("https://") && !body.contains("http://"),
            "{asset} names another host"
        );
    }
    // No picture before step 5's tools have drawn one: the page draws none of its own.
    let (status, _) = get(&url, "/api/heatmap.svg").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _) = get(&url, "/nothing-here").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    // A second dashboard on the same port is refused with a line that names the flags.
    let port: u16 = url.trim_end_matches('/').rsplit(':').next().unwrap().parse().unwrap();
    let error = Dashboard::start(port, Limits::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("--dashboard-port") && error.contains("--no-dashboard"),
        "{error}"
    );
}

/// One shard's result of a window, as step 5's function writes it to S3: `cells` (row, column, count; rows from the
/// south, as step 5 counts them) and anomalies at (latitude, longitude).
fn shard_result((start, end): (&str, &str), shard: &str, cells: &[(u64, u64, u64)], anomalies: &[(f64, f64)]) -> Value {
    let cell = |&(row, column, count): &(u64, u64, u64)| json!({"row": row, "column": column, "count": count});
    let anomaly = |(n, &(latitude, longitude)): (usize, &(f64, f64))| {
        json!({
            "vehicle": format!("vehicle-{n:05}"), "id": format!("00000000-0000-4000-8000-{n:012}"),
            "timestamp": start, "latitude": latitude, "longitude": longitude, "kmh": 9000.0,
        })
    };
    json!({
        "window": {"start": start, "end": end}, "shard_id": shard,
        "count": cells.iter().map(|c| c.2).sum::<u64>(), "skipped": 0, "out_of_order": 0,
        "cells": cells.iter().map(cell).collect::<Vec<_>>(), "busiest": cells.iter().map(cell).collect::<Vec<_>>(),
        "vehicles": {}, "anomalies": anomalies.iter().enumerate().map(anomaly).collect::<Vec<_>>(),
        "anomalies_dropped": 0, "withdrawn": [], "terminated_early": false, "carry": {},
    })
}

const FIRST: (&str, &str) = ("2026-12-02T01:24:20Z", "2026-12-02T01:24:25Z");
const SECOND: (&str, &str) = ("2026-12-02T01:24:25Z", "2026-12-02T01:24:30Z");
const TOKYO: (f64, f64) = (35.676, 139.650);

/// A bucket holding the analysis' results: the first window from both shards (Tokyo's cell, row 12 column 31, in
/// both; London's, row 14 column 17, in one), the second from one shard so far.
async fn results_in_s3(config: &aws_config::SdkConfig) -> (aws_sdk_s3::Client, String) {
    let s3 = lab_testkit::local_s3(config);
    let bucket = lab_testkit::unique_name("dashboard-analysis");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let results = [
        shard_result(FIRST, "shardId-000000000000", &[(12, 31, 3)], &[TOKYO]),
        shard_result(FIRST, "shardId-000000000001", &[(12, 31, 2), (14, 17, 4)], &[]),
        shard_result(SECOND, "shardId-000000000000", &[(12, 31, 1)], &[]),
    ];
    for (n, result) in results.iter().enumerate() {
        put_result(&s3, &bucket, n, result).await;
    }
    (s3, bucket)
}

async fn put_result(s3: &aws_sdk_s3::Client, bucket: &str, n: usize, result: &Value) {
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(format!("analytics/result-{n}.json"))
        .body(serde_json::to_vec(result).unwrap().into());
    put.send().await.unwrap();
}

fn step_5_tools(folder: &str) -> StepTools {
    let binaries = lab_cloud::testing::step_binaries("step-5-solution").expect("step 5's solution builds");
    StepTools {
        merge_window: binaries["merge-window"].clone(),
        heatmap: binaries["heatmap"].clone(),
        folder: std::env::temp_dir().join(lab_testkit::unique_name(folder)),
    }
}

/// The panel shows what step 5's own tools make of the latest window every shard has closed: `merge-window`'s sums
/// as its figures, and the SVG `heatmap` drew as its picture (issue #26: the dashboard's own copy of step 5's grid drew
/// the map upside down).
#[tokio::test]
async fn the_analysis_panel_shows_step_5s_own_heat_map_of_the_latest_closed_window() {
    let config = lab_testkit::local_aws().await;
    let (s3, bucket) = results_in_s3(&config).await;
    let dashboard = Dashboard::start(0, Limits::default()).await.unwrap();
    let feed = dashboard.feed();
    feed.watch_analysis(s3.clone(), &bucket, "analytics/").await;
    let tools = step_5_tools("dashboard-tools");
    feed.draw_with(tools.clone());
    feed.finish(json!({})).await;

    let analysis = metrics(&dashboard.url()).await["analysis"].clone();
    assert_eq!(analysis["not_drawn"], Value::Null, "{analysis}");
    // The second window has one shard's result so far: the first is the latest closed.
    assert_eq!(analysis["window"]["start"], FIRST.0, "{analysis}");
    assert_eq!(
        analysis["shards"],
        json!(["shardId-000000000000", "shardId-000000000001"])
    );
    assert_eq!(analysis["count"], 9);
    assert_eq!(
        analysis["busiest"],
        json!([{"row": 12, "column": 31, "count": 5}, {"row": 14, "column": 17, "count": 4}])
    );
    assert_eq!(analysis["anomaly_count"], 1);
    assert_eq!(analysis["anomalies"][0]["latitude"], TOKYO.0);
    let (status, svg) = get(&dashboard.url(), analysis["heatmap"].as_str().unwrap()).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    // The picture is the one step 5's heatmap wrote, cell by cell.
    let drawn = std::fs::read_to_string(tools.folder.join("heatmap.svg")).unwrap();
    assert_eq!(svg, drawn);
    assert!(
        svg.contains(r#"data-row="12" data-column="31" data-count="5""#),
        "{svg}"
    );
    assert!(svg.contains(r#"class="anomaly""#), "{svg}");

    // The second window's other shard: now it is the latest closed, and a new picture.
    put_result(
        &s3,
        &bucket,
        3,
        &shard_result(SECOND, "shardId-000000000001", &[(14, 17, 2)], &[]),
    )
    .await;
    feed.finish(json!({})).await;
    let second = metrics(&dashboard.url()).await["analysis"].clone();
    assert_eq!(second["window"]["start"], SECOND.0, "{second}");
    assert_eq!(second["count"], 3);
    assert_ne!(
        second["heatmap"], analysis["heatmap"],
        "the page must fetch the new picture"
    );
    let _ = std::fs::remove_dir_all(&tools.folder);
}

/// A cloud kept up (`cloud up`) has no step 5 tools: the panel says so and draws nothing, rather than a map of its
/// own; and a tool that fails (a learner's, with `--mine`) is named, with its error.
#[tokio::test]
async fn without_step_5s_tools_or_when_one_fails_the_panel_says_so_and_draws_nothing() {
    let config = lab_testkit::local_aws().await;
    let (s3, bucket) = results_in_s3(&config).await;
    let dashboard = Dashboard::start(0, Limits::default()).await.unwrap();
    let feed = dashboard.feed();
    feed.watch_analysis(s3, &bucket, "analytics/").await;
    feed.finish(json!({})).await;
    let analysis = metrics(&dashboard.url()).await["analysis"].clone();
    assert!(
        analysis["not_drawn"].as_str().unwrap().contains("started without them"),
        "{analysis}"
    );
    assert_eq!(analysis["window"]["start"], FIRST.0);
    assert_eq!((&analysis["heatmap"], &analysis["count"]), (&Value::Null, &Value::Null));
    assert_eq!(
        get(&dashboard.url(), "/api/heatmap.svg").await.0,
        "HTTP/1.1 404 Not Found"
    );

    // A heatmap that stops at a todo!(), as a learner's may.
    let mut tools = step_5_tools("dashboard-failing");
    std::fs::create_dir_all(&tools.folder).unwrap();
    let failing = tools.folder.with_extension("sh");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho \"not yet implemented: heat\" >&2\nexit 101\n",
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    tools.heatmap = failing.clone();
    feed.draw_with(tools.clone());
    feed.finish(json!({})).await;
    let analysis = metrics(&dashboard.url()).await["analysis"].clone();
    let said = analysis["not_drawn"].as_str().unwrap_or_default();
    assert!(
        said.contains("step 5's heatmap failed") && said.contains("not yet implemented: heat"),
        "{analysis}"
    );
    assert_eq!(analysis["count"], 9, "merge-window's figures are shown all the same");
    assert_eq!(analysis["heatmap"], Value::Null);
    let _ = std::fs::remove_dir_all(&tools.folder);
    let _ = std::fs::remove_file(failing);
}

/// A client that stops waiting (its SDK's timeout) may find its records stored all the same, in AWS as here; the
/// front door's books, and so the dashboard's `produced`, must count what the stream holds. (Under load, a lab run's
/// dashboard once showed 6,100 records produced for 13,296 in the stream.)
#[tokio::test]
async fn records_stored_after_their_client_gave_up_are_counted() {
    let config = lab_testkit::local_aws().await;
    let emulator = config.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        clock: Arc::new(ManualClock::default()),
        limits: Limits::none(),
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let through_door = config.to_builder().endpoint_url(gateway.endpoint()).build();
    let stream_arn = lab_cloud::testing::one_shard_stream(&through_door, "gave-up")
        .await
        .unwrap();
    let entries = |n: usize| {
        (0..n)
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .partition_key(format!("key-{i}"))
                    .data(Blob::new(vec![b'x'; 200]))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    // One call that waits, so that the front door knows the stream's shards before the impatient ones.
    let patient = aws_sdk_kinesis::Client::new(&through_door);
    let put = patient
        .put_records()
        .stream_arn(&stream_arn)
        .set_records(Some(entries(1)));
    put.send().await.unwrap();
    // Timeouts from "before the request is out" to "after moto answered": some call gives up while moto stores.
    let (mut gave_up, mut acknowledged) = (0, 1);
    for timeout_ms in [5, 10, 20, 40, 80, 160] {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(Duration::from_millis(timeout_ms))
            .build();
        let impatient = aws_sdk_kinesis::Client::from_conf(
            aws_sdk_kinesis::config::Builder::from(&through_door)
                .timeout_config(timeouts)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        );
        for _ in 0..2 {
            let put = impatient
                .put_records()
                .stream_arn(&stream_arn)
                .set_records(Some(entries(500)));
            match put.send().await {
                Ok(answer) => acknowledged += 500 - answer.failed_record_count().unwrap_or(0) as u64,
                Err(_) => {
                    gave_up += 1;
                    // Let the gateway finish the call the client gave up on before the count.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    }
    // The stream and the books must agree.
    let operator = config.to_builder().endpoint_url(gateway.operator_endpoint()).build();
    let stored = records_in(&operator, &stream_arn).await;
    let counted: u64 = gateway
        .meter()
        .traffic()
        .iter()
        .filter(|(shard, _)| stream_arn.ends_with(&format!("/{}", shard.stream)))
        .map(|(_, traffic)| traffic.records_accepted)
        .sum();
    assert!(
        stored > acknowledged,
        "no record was stored unacknowledged ({gave_up} calls gave up): the test proves nothing"
    );
    assert_eq!(counted, stored, "{gave_up} calls gave up");
    gateway.shutdown().await;
}

/// Every record in a one-shard stream, counted (not de-duplicated by id).
async fn records_in(config: &aws_config::SdkConfig, stream_arn: &str) -> u64 {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    // By name: moto's shard iterators of a stream named by its ARN name no stream.
    let name = stream_arn.rsplit('/').next().unwrap();
    let shard = kinesis
        .list_shards()
        .stream_name(name)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap()[0]
        .shard_id
        .clone();
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(name)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let mut iterator = iterator.shard_iterator;
    let mut count = 0;
    while let Some(current) = iterator.take() {
        let page = kinesis.get_records().shard_iterator(current).send().await.unwrap();
        if page.records.is_empty() && page.millis_behind_latest.unwrap_or(0) == 0 {
            break;
        }
        count += page.records.len() as u64;
        iterator = page.next_shard_iterator;
    }
    count
}

/// Writers whose calls overlap (a producer resending after a timeout while its first call is still being stored, or
/// two producers): every record the stream acknowledged is in it, and the dashboard's `produced` is what it holds.
/// (moto 5.2.5 stores overlapping `PutRecords` on one shard under the same sequence numbers, and keeps one of each:
/// seen as 7,944 records kept of 8,000 acknowledged.)
#[tokio::test]
async fn overlapping_writes_keep_every_record_they_acknowledge() {
    let config = lab_testkit::local_aws().await;
    let emulator = config.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        limits: Limits::none(),
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let through_door = config.to_builder().endpoint_url(gateway.endpoint()).build();
    let stream_arn = lab_cloud::testing::one_shard_stream(&through_door, "overlap")
        .await
        .unwrap();
    let writers = (0..4).map(|writer| {
        let kinesis = aws_sdk_kinesis::Client::new(&through_door);
        let stream_arn = stream_arn.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for call in 0..4 {
                let entries = (0..500).map(|i| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(format!("{writer}-{call}-{i}"))
                        .data(Blob::new(vec![b'x'; 100]))
                        .build()
                        .unwrap()
                });
                let put = kinesis
                    .put_records()
                    .stream_arn(&stream_arn)
                    .set_records(Some(entries.collect()));
                let answer = put.send().await.unwrap();
                acknowledged += 500 - answer.failed_record_count().unwrap_or(0) as u64;
            }
            acknowledged
        })
    });
    let mut acknowledged = 0;
    for writer in writers.collect::<Vec<_>>() {
        acknowledged += writer.await.unwrap();
    }
    assert_eq!(acknowledged, 8000);
    let counted: u64 = gateway
        .meter()
        .traffic()
        .values()
        .map(|traffic| traffic.records_accepted)
        .sum();
    let operator = config.to_builder().endpoint_url(gateway.operator_endpoint()).build();
    assert_eq!(records_in(&operator, &stream_arn).await, acknowledged);
    assert_eq!(counted, acknowledged);
    gateway.shutdown().await;
}

/// After a split the parent is marked closed (it takes no more writes; its readers finish it) and its children are
/// listed as they take writes.
#[tokio::test]
async fn a_reshards_closed_parent_is_marked_and_its_children_appear() {
    let config = lab_testkit::local_aws().await;
    let emulator = config.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        clock: Arc::new(ManualClock::default()),
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let through_door = config.to_builder().endpoint_url(gateway.endpoint()).build();
    let stream_arn = lab_cloud::testing::one_shard_stream(&through_door, "dashboard-reshard")
        .await
        .unwrap();
    let stream = stream_arn.rsplit('/').next().unwrap().to_owned();
    let dashboard = Dashboard::start(0, Limits::default()).await.unwrap();
    let feed = dashboard.feed();
    feed.watch_gateway(gateway.meter());
    let kinesis = aws_sdk_kinesis::Client::new(&through_door);
    let put = |key: &'static str| {
        kinesis
            .put_record()
            .stream_arn(&stream_arn)
            .partition_key(key)
            .data(Blob::new("{}"))
            .send()
    };
    for key in ["a", "b", "c", "d"] {
        put(key).await.unwrap();
    }
    let split = kinesis
        .split_shard()
        .stream_arn(&stream_arn)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string());
    split.send().await.unwrap();
    for key in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        put(key).await.unwrap();
    }
    feed.sample();

    let metrics = metrics(&dashboard.url()).await;
    let shards: Vec<(String, bool)> = metrics["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|shard| shard["stream"] == stream.as_str())
        .map(|shard| (shard["shard_id"].as_str().unwrap().to_owned(), shard["closed"] == true))
        .collect();
    assert_eq!(
        shards,
        [
            ("shardId-000000000000".to_owned(), true),
            ("shardId-000000000001".to_owned(), false),
            ("shardId-000000000002".to_owned(), false),
        ],
        "{metrics}"
    );
    gateway.shutdown().await;
}
