//! The Kinesis front door with the real SDK, in front of a moto started through the project's launcher
//! (`xtask/cloud/moto_server.py`). Each test has its own gateway on a `ManualClock`: a window passes when the test
//! advances it, so no test waits for a real second and none measures a speed.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, PutRecordsResultEntry, ShardIteratorType};
use lab_cloud::gateway::{Gateway, GatewayOptions, Limits, ManualClock, ShardKey};
use lab_cloud::runtime::faults::{FaultPlan, unit};
use lab_contract::FaultKind;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";

// ---------------------------------------------------------------------------------------------------------------
// The emulator: one moto per test binary, started by the first test that needs it, stopped by the last one done.

struct Emulator {
    child: Child,
    port: u16,
    users: usize,
}

static EMULATOR: Mutex<Option<Emulator>> = Mutex::new(None);

/// A test's hold on the shared emulator.
struct Lease {
    port: u16,
}

impl Lease {
    fn take() -> Lease {
        let mut emulator = EMULATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let running = emulator.get_or_insert_with(|| {
            let (child, port) = start_moto(&[&launcher().to_string_lossy()]);
            Emulator { child, port, users: 0 }
        });
        running.users += 1;
        Lease { port: running.port }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut emulator = EMULATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(running) = emulator.as_mut() {
            running.users -= 1;
            if running.users == 0 {
                stop(&mut running.child);
                *emulator = None;
            }
        }
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn launcher() -> PathBuf {
    repository().join("xtask/cloud/moto_server.py")
}

/// Starts `python <arguments> -H 127.0.0.1 -p <free port>` from the project's virtualenv, without Docker for Lambda.
fn start_moto(arguments: &[&str]) -> (Child, u16) {
    let python = repository().join(".lab/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `cargo xtask cloud up` installs the emulator (then `cargo xtask cloud down`)",
        python.display()
    );
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(python);
    // moto's botocore reads AWS_PROFILE and the like; `cargo xtask verify` runs these tests with `AWS_PROFILE=""`
    // (an emulator's client environment), which would make every request an HTTP 500.
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("AWS_")) {
        command.env_remove(key);
    }
    let mut child = command
        .args(arguments)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto");
    let started = Instant::now();
    while http(port, "GET", "/moto-api/", "") != Some(200) {
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            stop(&mut child);
            panic!("moto ({arguments:?}) did not answer on port {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    http(port, "POST", "/moto-api/config", r#"{"lambda": {"use_docker": false}}"#);
    (child, port)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A minimal HTTP/1.0 request; the status code.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let length = body.len();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n{body}"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------------------------
// A test's cloud: a gateway with its own clock in front of the shared emulator.

struct Cloud {
    gateway: Gateway,
    clock: Arc<ManualClock>,
    /// Clients through the gateway.
    config: SdkConfig,
    /// Clients through the gateway's operator door, to see what it stored without using a shard's reads.
    direct: SdkConfig,
    _emulator: Lease,
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(lab_testkit::admin_credentials())
        // A throttle is what the tests look at: the SDK would otherwise retry it.
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

async fn cloud(limits: Limits) -> Cloud {
    cloud_with_faults(limits, FaultPlan::none()).await
}

async fn cloud_with_faults(limits: Limits, faults: Arc<FaultPlan>) -> Cloud {
    let emulator = Lease::take();
    let clock = Arc::new(ManualClock::default());
    let options = GatewayOptions {
        limits,
        clock: clock.clone(),
        faults,
        // The clock stands still unless a test moves it: streams are ACTIVE at once.
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator.endpoint(), options).await.unwrap();
    Cloud {
        config: sdk_config(&gateway.endpoint()).await,
        direct: sdk_config(&gateway.operator_endpoint()).await,
        gateway,
        clock,
        _emulator: emulator,
    }
}

impl Cloud {
    fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.config)
    }

    /// The next one-second window.
    fn next_second(&self) {
        self.clock.advance(Duration::from_secs(1));
    }

    fn traffic(&self, stream: &Stream, shard_id: &str) -> lab_cloud::gateway::ShardTraffic {
        let key = ShardKey {
            region: "us-east-1".into(),
            stream: stream.name.clone(),
            shard_id: shard_id.into(),
        };
        self.gateway.traffic().get(&key).cloned().unwrap_or_default()
    }

    /// Every record's data on a shard, read through the operator door (not limited, not counted).
    async fn stored(&self, stream: &Stream, shard_id: &str) -> Vec<Vec<u8>> {
        let kinesis = aws_sdk_kinesis::Client::new(&self.direct);
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(&stream.name)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        let mut data = Vec::new();
        while let Some(current) = iterator {
            let page = kinesis
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await
                .unwrap();
            if page.records.is_empty() {
                break;
            }
            data.extend(page.records.into_iter().map(|record| record.data.into_inner()));
            iterator = page.next_shard_iterator;
        }
        data
    }
}

/// A two-shard stream, with a partition key for each shard found by MD5 as AWS routes, independently of the
/// gateway's own routing.
struct Stream {
    name: String,
    hot_shard: String,
    cold_shard: String,
    hot_key: String,
    cold_key: String,
    /// An `ExplicitHashKey` inside the cold shard's range.
    cold_hash_key: String,
}

async fn two_shard_stream(cloud: &Cloud, prefix: &str) -> Stream {
    let kinesis = cloud.kinesis();
    let name = lab_testkit::unique_name(prefix);
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let shards = kinesis
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap();
    let range = |index: usize| {
        let range = shards[index].hash_key_range.as_ref().unwrap();
        let first: u128 = range.starting_hash_key.parse().unwrap();
        let last: u128 = range.ending_hash_key.parse().unwrap();
        first..=last
    };
    let key_in = |index: usize| {
        (0..)
            .map(|n| format!("sensor-{n}"))
            .find(|key| range(index).contains(&u128::from_be_bytes(Md5::digest(key.as_bytes()).into())))
            .unwrap()
    };
    Stream {
        hot_shard: shards[0].shard_id.clone(),
        cold_shard: shards[1].shard_id.clone(),
        hot_key: key_in(0),
        cold_key: key_in(1),
        cold_hash_key: (range(1).start() + 12_345).to_string(),
        name,
    }
}

fn entry(key: &str, data: Vec<u8>) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(Blob::new(data))
        .build()
        .unwrap()
}

async fn put(
    cloud: &Cloud,
    stream: &Stream,
    entries: Vec<PutRecordsRequestEntry>,
) -> (i32, Vec<PutRecordsResultEntry>) {
    let output = cloud
        .kinesis()
        .put_records()
        .stream_name(&stream.name)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    (output.failed_record_count.unwrap_or(0), output.records)
}

/// `count` small records under one key.
async fn put_many(cloud: &Cloud, stream: &Stream, key: &str, count: usize) -> i32 {
    let entries = (0..count).map(|n| entry(key, n.to_string().into_bytes())).collect();
    put(cloud, stream, entries).await.0
}

fn rate_exceeded(stream: &Stream, shard_id: &str) -> String {
    format!(
        "Rate exceeded for shard {shard_id} in stream {} under account {ACCOUNT}.",
        stream.name
    )
}

fn throttled(result: &PutRecordsResultEntry) -> bool {
    result.error_code.as_deref() == Some("ProvisionedThroughputExceededException")
}

// ---------------------------------------------------------------------------------------------------------------
// Writes

fn faults(spec: &str, seed: u64) -> Arc<FaultPlan> {
    Arc::new(FaultPlan::new(spec.parse().unwrap(), seed, Duration::from_secs(1)))
}

/// A seed whose first chance of `kind` at `rate` strikes and whose second does not.
fn seed_striking_once(kind: FaultKind, rate: f64) -> u64 {
    (0..)
        .find(|&seed| unit(seed, kind, 0) < rate && unit(seed, kind, 1) >= rate)
        .unwrap()
}

#[tokio::test]
async fn put_internal_refuses_the_seeds_entries_in_place_and_stores_none_of_them() {
    let (seed, rate) = (5, 0.3);
    let cloud = cloud_with_faults(Limits::default(), faults(&format!("put-internal={rate}"), seed)).await;
    let stream = two_shard_stream(&cloud, "put-internal").await;
    let entries = (0..100)
        .map(|n| entry(&stream.cold_key, format!("r{n}").into_bytes()))
        .collect();

    let (failed, results) = put(&cloud, &stream, entries).await;

    let struck: Vec<usize> = (0..100)
        .filter(|&n| unit(seed, FaultKind::PutInternal, n as u64) < rate)
        .collect();
    assert!(!struck.is_empty() && struck.len() < 100);
    assert_eq!(failed as usize, struck.len());
    for (index, result) in results.iter().enumerate() {
        if struck.contains(&index) {
            assert_eq!(result.error_code.as_deref(), Some("InternalFailure"), "entry {index}");
            assert_eq!(result.error_message.as_deref(), Some("Internal service failure."));
        } else {
            assert_eq!(result.error_code, None, "entry {index}");
        }
    }
    let stored = cloud.stored(&stream, &stream.cold_shard).await;
    let expected: Vec<Vec<u8>> = (0..100)
        .filter(|n| !struck.contains(n))
        .map(|n| format!("r{n}").into_bytes())
        .collect();
    assert_eq!(
        stored, expected,
        "the refused entries were not stored, the others in order"
    );
    let traffic = cloud.traffic(&stream, &stream.cold_shard);
    assert_eq!(traffic.records_accepted as usize, 100 - struck.len());
    assert_eq!(traffic.writes_throttled, 0, "a fault is not a throttle");
}

#[tokio::test]
async fn put_5xx_fails_the_whole_call_and_stores_nothing() {
    let seed = seed_striking_once(FaultKind::Put5xx, 0.5);
    let cloud = cloud_with_faults(Limits::default(), faults("put-5xx=0.5", seed)).await;
    let stream = two_shard_stream(&cloud, "put-5xx").await;
    let call = || {
        cloud
            .kinesis()
            .put_records()
            .stream_name(&stream.name)
            .records(entry(&stream.cold_key, b"once".to_vec()))
            .send()
    };

    let error = call().await.unwrap_err();

    // Chance 0 is even: a 500 InternalFailure (an odd one is a 503 ServiceUnavailable).
    assert_eq!(error.raw_response().map(|raw| raw.status().as_u16()), Some(500));
    assert_eq!(
        aws_sdk_kinesis::error::ProvideErrorMetadata::code(&error.into_service_error()),
        Some("InternalFailure")
    );
    assert!(cloud.stored(&stream, &stream.cold_shard).await.is_empty());
    assert_eq!(
        call().await.unwrap().failed_record_count,
        Some(0),
        "the next chance does not strike"
    );
    assert_eq!(cloud.stored(&stream, &stream.cold_shard).await.len(), 1);
}

#[tokio::test]
async fn the_sdk_retries_a_put_5xx_and_the_record_is_stored_once() {
    let seed = seed_striking_once(FaultKind::Put5xx, 0.5);
    let plan = faults("put-5xx=0.5", seed);
    let cloud = cloud_with_faults(Limits::default(), plan.clone()).await;
    let stream = two_shard_stream(&cloud, "put-5xx-retried").await;
    let retrying = cloud
        .config
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build();

    let written = aws_sdk_kinesis::Client::new(&retrying)
        .put_record()
        .stream_name(&stream.name)
        .partition_key(&stream.cold_key)
        .data(Blob::new("retried"))
        .send()
        .await
        .unwrap();

    assert_eq!(written.shard_id, stream.cold_shard);
    assert_eq!(
        plan.injected_of(FaultKind::Put5xx),
        1,
        "the first attempt met the fault"
    );
    assert_eq!(
        cloud.stored(&stream, &stream.cold_shard).await,
        vec![b"retried".to_vec()]
    );
}

#[tokio::test]
async fn a_hot_key_is_throttled_per_record_and_the_other_shard_is_not() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "hot-key").await;

    assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
    assert_eq!(
        put_many(&cloud, &stream, &stream.hot_key, 500).await,
        0,
        "1,000 records fill the shard's second"
    );
    let entries = (0..500)
        .map(|n| entry(&stream.hot_key, n.to_string().into_bytes()))
        .collect();
    let (failed, results) = put(&cloud, &stream, entries).await;
    assert_eq!(failed, 500);
    for result in &results {
        assert!(throttled(result), "{result:?}");
        assert_eq!(
            result.error_message.as_deref(),
            Some(rate_exceeded(&stream, &stream.hot_shard).as_str())
        );
        assert_eq!(result.sequence_number, None);
    }
    assert_eq!(
        put_many(&cloud, &stream, &stream.cold_key, 500).await,
        0,
        "the other shard has its own second"
    );

    cloud.next_second();
    assert_eq!(
        put_many(&cloud, &stream, &stream.hot_key, 500).await,
        0,
        "the next second takes records again"
    );

    assert_eq!(
        cloud.stored(&stream, &stream.hot_shard).await.len(),
        1_500,
        "refused records are not stored"
    );
    assert_eq!(cloud.stored(&stream, &stream.cold_shard).await.len(), 500);
    let hot = cloud.traffic(&stream, &stream.hot_shard);
    assert_eq!((hot.records_accepted, hot.writes_throttled), (1_500, 500));
}

#[tokio::test]
async fn a_shard_takes_one_mib_per_second_partition_keys_included() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "write-bytes").await;
    let key = &stream.hot_key;
    let key_bytes = key.len();
    // Ten records of 100,000 data bytes, then one that brings the second to exactly 1 MiB, then one byte more.
    let mut entries: Vec<_> = (0..10).map(|_| entry(key, vec![7; 100_000])).collect();
    let filled = 10 * (100_000 + key_bytes);
    entries.push(entry(key, vec![7; 1024 * 1024 - filled - key_bytes]));
    entries.push(entry(key, vec![7; 1]));
    entries.push(entry(&stream.cold_key, vec![7; 100_000]));

    let (failed, results) = put(&cloud, &stream, entries).await;

    assert_eq!(failed, 1);
    assert!(
        results[..11].iter().all(|result| result.error_code.is_none()),
        "{results:?}"
    );
    assert!(throttled(&results[11]));
    assert_eq!(results[12].shard_id.as_deref(), Some(stream.cold_shard.as_str()));
    assert_eq!(cloud.traffic(&stream, &stream.hot_shard).bytes_accepted, 1024 * 1024);
}

#[tokio::test]
async fn put_record_on_a_full_shard_is_an_http_400_throttle() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "put-record").await;
    assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
    assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
    let put_record = |key: &str| {
        cloud
            .kinesis()
            .put_record()
            .stream_name(&stream.name)
            .partition_key(key)
            .data(Blob::new("one more"))
            .send()
    };

    let error = put_record(&stream.hot_key).await.unwrap_err();

    assert_eq!(error.raw_response().map(|raw| raw.status().as_u16()), Some(400));
    let error = error.into_service_error();
    assert!(error.is_provisioned_throughput_exceeded_exception(), "{error:?}");
    assert_eq!(
        aws_sdk_kinesis::error::ProvideErrorMetadata::message(&error),
        Some(rate_exceeded(&stream, &stream.hot_shard).as_str())
    );
    let cold = put_record(&stream.cold_key).await.unwrap();
    assert_eq!(cold.shard_id, stream.cold_shard);
    assert_eq!(cloud.stored(&stream, &stream.hot_shard).await.len(), 1_000);
}

#[tokio::test]
async fn merged_put_records_results_keep_the_request_order() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "merge-order").await;
    assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
    assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 495).await, 0);
    // Twenty entries, hot and cold in turn (cold by ExplicitHashKey): room for five more on the hot shard.
    let entries = (0..20)
        .map(|n| {
            let data = n.to_string().into_bytes();
            if n % 2 == 0 {
                entry(&stream.hot_key, data)
            } else {
                let cold = PutRecordsRequestEntry::builder()
                    .partition_key("any")
                    .explicit_hash_key(&stream.cold_hash_key);
                cold.data(Blob::new(data)).build().unwrap()
            }
        })
        .collect();

    let (failed, results) = put(&cloud, &stream, entries).await;

    assert_eq!(failed, 5);
    for (n, result) in results.iter().enumerate() {
        match n {
            n if n % 2 == 1 => assert_eq!(result.shard_id.as_deref(), Some(stream.cold_shard.as_str()), "{n}"),
            n if n < 10 => assert_eq!(result.shard_id.as_deref(), Some(stream.hot_shard.as_str()), "{n}"),
            n => assert!(throttled(result), "entry {n}: {result:?}"),
        }
    }
    let data = |n: &[u32]| n.iter().map(|n| n.to_string().into_bytes()).collect::<Vec<_>>();
    let hot = cloud.stored(&stream, &stream.hot_shard).await;
    assert_eq!(hot[995..], data(&[0, 2, 4, 6, 8]));
    let cold = cloud.stored(&stream, &stream.cold_shard).await;
    assert_eq!(cold, data(&[1, 3, 5, 7, 9, 11, 13, 15, 17, 19]));
    // Sequence numbers are 56-digit strings (as AWS's): of one width, so they compare as their order.
    let hot_sequence = |n: usize| results[n].sequence_number.clone().unwrap();
    assert!(hot_sequence(0) < hot_sequence(2) && hot_sequence(2) < hot_sequence(8));
}

#[tokio::test]
async fn no_limits_refuse_no_write() {
    let cloud = cloud(Limits::none()).await;
    let stream = two_shard_stream(&cloud, "no-limits").await;
    for _ in 0..4 {
        assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
    }
    assert_eq!(cloud.traffic(&stream, &stream.hot_shard).records_accepted, 2_000);
}

// ---------------------------------------------------------------------------------------------------------------
// Reads

async fn iterator(cloud: &Cloud, stream: &Stream, shard_id: &str, kind: ShardIteratorType) -> String {
    let output = cloud
        .kinesis()
        .get_shard_iterator()
        .stream_name(&stream.name)
        .shard_id(shard_id)
        .shard_iterator_type(kind)
        .send()
        .await
        .unwrap();
    output.shard_iterator.unwrap()
}

/// One GetRecords call through the gateway: the records' count and the next iterator, or whether it was throttled.
async fn read(kinesis: &aws_sdk_kinesis::Client, iterator: &str, limit: Option<i32>) -> Result<(usize, String), bool> {
    match kinesis
        .get_records()
        .shard_iterator(iterator)
        .set_limit(limit)
        .send()
        .await
    {
        Ok(page) => Ok((page.records.len(), page.next_shard_iterator.unwrap())),
        Err(error) => {
            let status = error.raw_response().map(|raw| raw.status().as_u16());
            let error = error.into_service_error();
            Err(status == Some(400) && error.is_provisioned_throughput_exceeded_exception())
        }
    }
}

/// Ten records of 100,000 bytes per second for `seconds` seconds, on `key`'s shard.
async fn write_megabytes(cloud: &Cloud, stream: &Stream, key: &str, seconds: usize) {
    for _ in 0..seconds {
        let entries = (0..10).map(|_| entry(key, vec![1; 100_000])).collect();
        assert_eq!(put(cloud, stream, entries).await.0, 0);
        cloud.next_second();
    }
}

#[tokio::test]
async fn get_records_calls_are_shared_by_every_reader_of_a_shard() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "read-calls").await;
    // Two readers, each with its own client and its own position in the same shard.
    let (first, second) = (cloud.kinesis(), cloud.kinesis());
    let mut first_at = iterator(&cloud, &stream, &stream.hot_shard, ShardIteratorType::TrimHorizon).await;
    let mut second_at = iterator(&cloud, &stream, &stream.hot_shard, ShardIteratorType::Latest).await;
    for call in 0..5 {
        let (reader, at) = if call % 2 == 0 {
            (&first, &mut first_at)
        } else {
            (&second, &mut second_at)
        };
        *at = read(reader, at, None).await.unwrap().1;
    }

    assert_eq!(
        read(&second, &second_at, None).await,
        Err(true),
        "the sixth call in a second, whoever makes it"
    );
    assert_eq!(read(&first, &first_at, None).await, Err(true));
    let cold = iterator(&cloud, &stream, &stream.cold_shard, ShardIteratorType::TrimHorizon).await;
    assert!(
        read(&first, &cold, None).await.is_ok(),
        "the other shard has its own five calls"
    );
    cloud.next_second();
    assert!(read(&second, &second_at, None).await.is_ok());

    let hot = cloud.traffic(&stream, &stream.hot_shard);
    assert_eq!((hot.read_calls, hot.read_throttles), (6, 2));
}

#[tokio::test]
async fn a_shard_returns_two_mib_per_second_and_a_larger_read_is_paid_back() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "read-bytes").await;
    write_megabytes(&cloud, &stream, &stream.hot_key, 3).await;
    write_megabytes(&cloud, &stream, &stream.cold_key, 1).await;
    let kinesis = cloud.kinesis();
    let hot = iterator(&cloud, &stream, &stream.hot_shard, ShardIteratorType::TrimHorizon).await;
    let cold = iterator(&cloud, &stream, &stream.cold_shard, ShardIteratorType::TrimHorizon).await;

    let (records, after) = read(&kinesis, &hot, None).await.unwrap();
    assert_eq!(records, 30, "a call may return more than the shard's second (3 MB)");
    assert_eq!(
        read(&kinesis, &after, None).await,
        Err(true),
        "then the shard owes about 0.9 MB"
    );
    let (records, cold_after) = read(&kinesis, &cold, None).await.unwrap();
    assert_eq!(records, 10);
    assert!(
        read(&kinesis, &cold_after, None).await.is_ok(),
        "1 MB read leaves room in the second"
    );

    cloud.next_second();
    assert!(
        read(&kinesis, &after, None).await.is_ok(),
        "the next second pays the debt back"
    );
    assert_eq!(
        cloud.traffic(&stream, &stream.hot_shard).bytes_read,
        30 * (100_000 + stream.hot_key.len() as u64)
    );
}

#[tokio::test]
async fn one_get_records_call_returns_at_most_10_000_records() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "read-records").await;
    for batch in 0..21 {
        assert_eq!(put_many(&cloud, &stream, &stream.hot_key, 500).await, 0);
        if batch % 2 == 1 {
            cloud.next_second();
        }
    }
    let kinesis = cloud.kinesis();
    let start = iterator(&cloud, &stream, &stream.hot_shard, ShardIteratorType::TrimHorizon).await;

    let too_many = kinesis
        .get_records()
        .shard_iterator(&start)
        .limit(10_001)
        .send()
        .await
        .unwrap_err();
    // AWS checks Limit against the API model (1 to 10,000) before anything else: a ValidationException.
    assert_eq!(
        aws_sdk_kinesis::error::ProvideErrorMetadata::code(&too_many.into_service_error()),
        Some("ValidationException")
    );
    let (records, after) = read(&kinesis, &start, None).await.unwrap();
    assert_eq!(records, 10_000, "no Limit: AWS's default and maximum");
    assert_eq!(read(&kinesis, &after, None).await.unwrap().0, 500);
}

#[tokio::test]
async fn one_get_records_call_returns_at_most_10_mib_and_resumes_after_it() {
    let cloud = cloud(Limits::default()).await;
    let stream = two_shard_stream(&cloud, "read-10-mib").await;
    write_megabytes(&cloud, &stream, &stream.hot_key, 11).await;
    let kinesis = cloud.kinesis();
    let start = iterator(&cloud, &stream, &stream.hot_shard, ShardIteratorType::TrimHorizon).await;

    let (records, after) = read(&kinesis, &start, None).await.unwrap();

    let record_bytes = 100_000 + stream.hot_key.len();
    assert_eq!(
        records,
        10 * 1024 * 1024 / record_bytes,
        "as many records as fit in 10 MiB"
    );
    for second in 1..=3 {
        cloud.next_second();
        assert_eq!(
            read(&kinesis, &after, None).await,
            Err(true),
            "second {second} after a 10 MiB read"
        );
    }
    cloud.next_second();
    let (rest, _) = read(&kinesis, &after, None).await.unwrap();
    assert_eq!(
        records + rest,
        110,
        "the next call resumes after the last record returned"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Everything else

#[tokio::test]
async fn every_other_request_passes_through_untouched() {
    let cloud = cloud(Limits::default()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cloud.config)
            .force_path_style(true)
            .build(),
    );
    let bucket = lab_testkit::unique_name("gateway").to_lowercase();
    // Three megabytes of every byte value: nothing may be re-encoded on the way.
    let body: Vec<u8> = (0..3 * 1024 * 1024).map(|n| (n % 251) as u8).collect();

    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("dir/object.bin")
        .body(body.clone().into())
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("dir/object.bin")
        .send()
        .await
        .unwrap();
    let etag = got.e_tag.clone();
    let read_back = got.body.collect().await.unwrap().into_bytes();

    assert_eq!(read_back.as_ref(), body.as_slice());
    let md5: String = Md5::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(etag.as_deref(), Some(format!("\"{md5}\"").as_str()));
    assert_eq!(put.e_tag, etag);
    let lambda = aws_sdk_lambda::Client::new(&cloud.config);
    lambda.list_functions().send().await.unwrap();
    cloud.kinesis().list_streams().send().await.unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// The launcher

/// Registers a function and a Kinesis mapping for it, puts a record, and says whether moto tried to run the
/// function: its attempt (`LambdaFunction._invoke_lambda`) creates the function's log group before it fails.
async fn moto_pushed_to_lambda(endpoint: &str) -> bool {
    let config = sdk_config(endpoint).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let stream_arn = lab_cloud::testing::one_shard_stream(&config, "pushed").await.unwrap();
    let name = stream_arn
        .rsplit_once('/')
        .expect("a stream ARN ends /<name>")
        .1
        .to_owned();
    let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&config);
    lambda
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role.role.unwrap().arn)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(lab_cloud::control::function::EMPTY_ZIP.to_vec().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    lambda
        .create_event_source_mapping()
        .function_name(&name)
        .event_source_arn(stream_arn)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap();
    kinesis
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap();
    let groups = lab_cloud::logs::Logs::new(&config)
        .describe_log_groups(&format!("/aws/lambda/{name}"))
        .await;
    !groups.unwrap().is_empty()
}

#[tokio::test]
async fn moto_started_through_the_launcher_does_not_push_records_to_lambda() {
    // Against moto itself: through the gateway no record reaches moto's Kinesis at all.
    let emulator = Lease::take();
    assert!(
        !moto_pushed_to_lambda(&emulator.endpoint()).await,
        "the launcher's patch is not in effect"
    );

    // The same steps against moto started plainly: the push happens, so the check above can see it.
    let (mut plain, port) = start_moto(&["-m", "moto.server"]);
    let pushed = moto_pushed_to_lambda(&format!("http://127.0.0.1:{port}")).await;
    stop(&mut plain);
    assert!(
        pushed,
        "plain moto no longer creates the log group: the check above proves nothing"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The data plane behind the gateway

#[tokio::test]
async fn a_mapping_backs_off_on_a_read_throttle_and_still_delivers_every_record() {
    let cloud = cloud(Limits::default()).await;
    let stream_arn = lab_cloud::testing::one_shard_stream(&cloud.config, "backoff")
        .await
        .unwrap();
    let stream_name = stream_arn.rsplit('/').next().unwrap().to_owned();
    let kinesis = cloud.kinesis();
    let data: Vec<String> = (0..20).map(|_| "ok".to_owned()).collect();
    let entries = data.iter().map(|text| entry("k", text.clone().into_bytes())).collect();
    kinesis
        .put_records()
        .stream_arn(&stream_arn)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    // Another reader takes the shard's five reads of this second; the clock stands still until the poller has
    // been refused, so it must be.
    let shard_id = "shardId-000000000000";
    let stream = Stream {
        name: stream_name.clone(),
        hot_shard: shard_id.into(),
        cold_shard: String::new(),
        hot_key: "k".into(),
        cold_key: String::new(),
        cold_hash_key: String::new(),
    };
    let mut at = iterator(&cloud, &stream, shard_id, ShardIteratorType::Latest).await;
    for _ in 0..5 {
        at = read(&kinesis, &at, None).await.unwrap().1;
    }
    let record_file = std::env::temp_dir()
        .join(lab_testkit::unique_name("backoff"))
        .with_extension("jsonl");
    let binary = Path::new(env!("CARGO_BIN_EXE_scripted-function"));
    let environment = [("RECORD_FILE", record_file.to_str().unwrap())];
    let function = lab_cloud::testing::LocalFunction::register(&cloud.config, "scripted", binary, &environment)
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&cloud.config)
        .create_event_source_mapping()
        .function_name(&function.name)
        .event_source_arn(&stream_arn)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .batch_size(100)
        .send()
        .await
        .unwrap();
    let mut supervisor = function.supervisor(&cloud.config).await.unwrap();

    let refused = wait_until(|| cloud.traffic(&stream, shard_id).read_throttles > 0, || {}).await;
    let delivered = || {
        let text = std::fs::read_to_string(&record_file).unwrap_or_default();
        let lines = text
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap());
        lines
            .map(|line| line["data"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    // Time passes (a second per tick) until the poller, backing off, has delivered everything.
    let all = wait_until(|| delivered() >= data.len(), || cloud.next_second()).await;
    supervisor.shutdown();
    let delivered = delivered();
    let _ = std::fs::remove_file(&record_file);

    assert!(refused, "the poller was never refused a read");
    assert!(all, "delivered {delivered} of {} records", data.len());
    assert_eq!(delivered, data.len(), "each record once");
}

/// Polls `done` every 100 ms for up to 60 s, calling `tick` between polls; whether it came true.
async fn wait_until(done: impl Fn() -> bool, tick: impl Fn()) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if done() {
            return true;
        }
        tick();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

// ---------------------------------------------------------------------------------------------------------------
// The cloud `cargo xtask check` keeps warm: `serve --front-door-only --idle-exit-seconds N --emulator-pid P`.

/// Starts `lab-cloud serve --front-door-only` in front of the emulator on `port`, stopping itself after `idle`
/// seconds without a request, and `emulator_pid` with it; returns the process and its front door's port.
fn serve_idle(port: u16, idle: u64, emulator_pid: u32, state: &Path) -> (Child, u16) {
    let _ = std::fs::remove_dir_all(state);
    std::fs::create_dir_all(state).unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_lab-cloud"))
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .arg("--state")
        .arg(state)
        .args(["serve", "--front-door-only", "--idle-exit-seconds", &idle.to_string()])
        .args(["--emulator-pid", &emulator_pid.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .expect("starting lab-cloud serve");
    let started = Instant::now();
    loop {
        let written = std::fs::read_to_string(state.join("gateway-endpoint")).unwrap_or_default();
        if let Some(door) = written.rsplit(':').next().and_then(|port| port.trim().parse().ok()) {
            return (serve, door);
        }
        if started.elapsed() > Duration::from_secs(60) || serve.try_wait().unwrap().is_some() {
            stop(&mut serve);
            panic!("lab-cloud serve wrote no endpoint");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (up to a minute: a bound, not a measurement) for `child` to end; its status.
fn ended(child: &mut Child) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_front_door_called_stays_up_then_stops_itself_and_its_emulator_once_idle() {
    // An emulator of its own, started through the launcher as xtask starts it: the test expects it stopped.
    let (mut emulator, port) = start_moto(&[&launcher().to_string_lossy()]);
    let state = std::env::temp_dir().join(format!("lab-cloud-idle-{}", std::process::id()));
    let (mut serve, door) = serve_idle(port, 2, emulator.id(), &state);
    // Called every half second for twice its idle time: it keeps serving.
    for _ in 0..8 {
        assert_eq!(http(door, "GET", "/moto-api/", ""), Some(200), "the front door answers");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        serve.try_wait().unwrap().is_none(),
        "a front door called every half second is not idle"
    );
    // Then nobody calls: it stops, and its emulator with it.
    let status = ended(&mut serve);
    let emulator_status = ended(&mut emulator);
    let _ = std::fs::remove_dir_all(&state);
    assert!(
        status.is_some_and(|status| status.success()),
        "serve stops itself once idle: {status:?}"
    );
    assert!(emulator_status.is_some(), "the emulator is stopped with it");
}

#[test]
fn an_idle_front_door_leaves_a_pid_that_is_not_the_emulator_alone() {
    // The PID recorded for the emulator now belongs to another program (the system reused it): never stopped.
    let emulator = Lease::take();
    let mut stranger = Command::new("sleep").arg("120").spawn().expect("starting sleep");
    let state = std::env::temp_dir().join(format!("lab-cloud-idle-stranger-{}", std::process::id()));
    let (mut serve, _door) = serve_idle(emulator.port, 1, stranger.id(), &state);
    let status = ended(&mut serve);
    let _ = std::fs::remove_dir_all(&state);
    let stranger_alive = stranger.try_wait().unwrap().is_none();
    stop(&mut stranger);
    assert!(status.is_some(), "serve stops itself once idle");
    assert!(
        stranger_alive,
        "a process that is not the emulator's launcher is left running"
    );
}
