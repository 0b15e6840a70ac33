//! Resharding end to end in the data plane: an event source mapping and a Firehose pump reading a stream served by
//! the gateway's engine while its shards are split and merged. Every record is delivered once, each partition key's
//! records in the order the stream accepted them, a parent's before its children's (after a reshard "data records
//! that were flowing to the parent shards are rerouted to flow to the child shards",
//! <https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-after-resharding.html>). With
//! parent-before-child switched off, a test built for it shows the order broken.

use aws_config::SdkConfig;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor, ProcessorType,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_lambda::types::EventSourcePosition;
use lab_cloud::gateway::{Gateway, GatewayOptions, Limits};
use lab_cloud::supervisor::{Folders, Supervisor};
use lab_cloud::testing::{LocalFunction, test_pacing};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A gateway (the Kinesis engine, which reshards as AWS does) in front of the run's emulator, and a stream of
/// `shards` shards made through it.
struct Door {
    _gateway: Gateway,
    config: SdkConfig,
    kinesis: aws_sdk_kinesis::Client,
    stream: String,
    stream_arn: String,
}

async fn door(prefix: &str, shards: i32) -> Door {
    let emulator = lab_testkit::local_aws().await;
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        limits: Limits::none(),
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(emulator.endpoint_url().unwrap(), options)
        .await
        .unwrap();
    let config = emulator.to_builder().endpoint_url(gateway.endpoint()).build();
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let stream = lab_testkit::unique_name(prefix);
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    let stream_arn = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap()
        .stream_arn;
    Door {
        _gateway: gateway,
        config,
        kinesis,
        stream,
        stream_arn,
    }
}

/// A record as the tests write it: `ok:<key>:<n>`, each key's `n` counting up in the order they are put.
struct Put {
    key: String,
    n: usize,
    shard: String,
    sequence: String,
}

impl Door {
    /// Puts `count` records for each key, numbered from `from`, one by one (keys interleaved).
    async fn put(&self, keys: &[&str], from: usize, count: usize, into: &mut Vec<Put>) {
        for n in from..from + count {
            for key in keys {
                let put = self
                    .kinesis
                    .put_record()
                    .stream_name(&self.stream)
                    .partition_key(*key)
                    .data(Blob::new(format!("ok:{key}:{n}")))
                    .send()
                    .await
                    .unwrap();
                into.push(Put {
                    key: (*key).to_owned(),
                    n,
                    shard: put.shard_id,
                    sequence: put.sequence_number,
                });
            }
        }
    }

    async fn put_data(&self, key: &str, data: &str) -> (String, String) {
        let put = self
            .kinesis
            .put_record()
            .stream_name(&self.stream)
            .partition_key(key)
            .data(Blob::new(data.to_owned()))
            .send()
            .await
            .unwrap();
        (put.shard_id, put.sequence_number)
    }

    /// Splits `shard` at the hash key `at`.
    async fn split_at(&self, shard: &str, at: u128) {
        let split = self
            .kinesis
            .split_shard()
            .stream_name(&self.stream)
            .shard_to_split(shard)
            .new_starting_hash_key(at.to_string());
        split.send().await.unwrap();
    }

    /// Splits the one shard of a one-shard stream in halves.
    async fn split(&self, shard: &str) {
        self.split_at(shard, 1u128 << 127).await;
    }

    async fn merge(&self, shard: &str, adjacent: &str) {
        let merge = self
            .kinesis
            .merge_shards()
            .stream_name(&self.stream)
            .shard_to_merge(shard)
            .adjacent_shard_to_merge(adjacent);
        merge.send().await.unwrap();
    }

    /// Each shard's parents, as `ListShards` says.
    async fn lineage(&self) -> BTreeMap<String, Vec<String>> {
        let listed = self
            .kinesis
            .list_shards()
            .stream_name(&self.stream)
            .send()
            .await
            .unwrap();
        listed
            .shards()
            .iter()
            .map(|shard| {
                let parents = [&shard.parent_shard_id, &shard.adjacent_parent_shard_id];
                let parents = parents.into_iter().flatten().cloned().collect();
                (shard.shard_id.clone(), parents)
            })
            .collect()
    }
}

/// The scripted function, mapped to the stream (TRIM_HORIZON, batches of `batch_size`), recording what it receives.
struct Mapped {
    function: LocalFunction,
    record_file: PathBuf,
}

impl Drop for Mapped {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.record_file);
    }
}

async fn mapped(door: &Door, batch_size: i32) -> Mapped {
    let record_file = std::env::temp_dir()
        .join(lab_testkit::unique_name("reshard-invocations"))
        .with_extension("jsonl");
    let binary = Path::new(env!("CARGO_BIN_EXE_scripted-function"));
    let environment = [("RECORD_FILE", record_file.to_str().unwrap())];
    let function = LocalFunction::register(&door.config, "reshard", binary, &environment)
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&door.config)
        .create_event_source_mapping()
        .function_name(&function.name)
        .event_source_arn(&door.stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(batch_size)
        .maximum_retry_attempts(-1)
        .send()
        .await
        .unwrap();
    Mapped { function, record_file }
}

impl Mapped {
    async fn supervisor(&self, door: &Door, parents_first: bool) -> Supervisor {
        let mut pacing = test_pacing();
        pacing.following.parents_first = parents_first;
        self.function.supervisor_pacing(&door.config, pacing).await.unwrap()
    }

    /// The records the function received, in the order it received them: (sequence number, data).
    fn received(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.record_file).unwrap_or_default();
        let mut received = vec![];
        for line in text.lines() {
            let line: Value = serde_json::from_str(line).unwrap();
            let strings = |field: &str| -> Vec<String> {
                line[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            };
            received.extend(strings("sequences").into_iter().zip(strings("data")));
        }
        received
    }

    /// Waits (at most 30 s) until every one of `sequences` has been received.
    async fn wait_for(&self, sequences: &BTreeSet<String>) -> Vec<(String, String)> {
        let started = Instant::now();
        loop {
            let received = self.received();
            let seen: BTreeSet<&String> = received.iter().map(|(sequence, _)| sequence).collect();
            if sequences.iter().all(|s| seen.contains(s)) || started.elapsed() > Duration::from_secs(30) {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The mapping's figures: records delivered out of the stream's order, closed shards finished.
fn order_figures(supervisor: &Supervisor) -> (u64, u64, Vec<String>) {
    let (_, stats) = supervisor.all_stats().pop().expect("the mapping runs");
    let order = stats.order.lock().unwrap();
    (
        order.violations,
        stats.shards_finished.load(Ordering::Relaxed),
        order.examples.clone(),
    )
}

/// Every record put was received exactly once, each key's `n` in increasing order, and every record of a parent
/// before any record of its children.
fn assert_once_in_order_parents_first(
    puts: &[Put],
    received: &[(String, String)],
    lineage: &BTreeMap<String, Vec<String>>,
) {
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for (sequence, _) in received {
        *times.entry(sequence.as_str()).or_default() += 1;
    }
    for put in puts {
        assert_eq!(
            times.get(put.sequence.as_str()).copied(),
            Some(1),
            "record {}:{} of {} received once: {received:?}",
            put.key,
            put.n,
            put.shard
        );
    }
    assert_eq!(received.len(), puts.len(), "nothing else was received");
    let mut last_n: BTreeMap<String, usize> = BTreeMap::new();
    for (_, data) in received {
        let mut parts = data.split(':').skip(1);
        let (key, n) = (parts.next().unwrap(), parts.next().unwrap().parse::<usize>().unwrap());
        if let Some(previous) = last_n.insert(key.to_owned(), n) {
            assert!(previous < n, "key {key}: {n} after {previous}: {received:?}");
        }
    }
    let position = |sequence: &str| received.iter().position(|(s, _)| s == sequence).unwrap();
    for (child, parents) in lineage {
        let first_of_child = puts
            .iter()
            .filter(|p| &p.shard == child)
            .map(|p| position(&p.sequence))
            .min();
        for parent in parents {
            let last_of_parent = puts
                .iter()
                .filter(|p| &p.shard == parent)
                .map(|p| position(&p.sequence))
                .max();
            if let (Some(last), Some(first)) = (last_of_parent, first_of_child) {
                assert!(
                    last < first,
                    "{parent}'s last record ({last}) before {child}'s first ({first})"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_mapping_reads_across_a_split_each_record_once_each_key_in_order_parent_first() {
    let door = door("reshard-split", 1).await;
    let mapped = mapped(&door, 10).await;
    let supervisor = mapped.supervisor(&door, true).await;
    let keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut puts = vec![];
    door.put(&keys, 0, 10, &mut puts).await;
    // Split while the parent's records are being delivered: the children are found through the parent's end.
    door.split("shardId-000000000000").await;
    door.put(&keys, 10, 10, &mut puts).await;
    let children: BTreeSet<&str> = puts[60..].iter().map(|p| p.shard.as_str()).collect();
    assert_eq!(children.len(), 2, "the keys spread over both children: {children:?}");

    let sequences = puts.iter().map(|p| p.sequence.clone()).collect();
    let received = mapped.wait_for(&sequences).await;

    assert_once_in_order_parents_first(&puts, &received, &door.lineage().await);
    let (violations, finished, examples) = order_figures(&supervisor);
    assert_eq!(violations, 0, "{examples:?}");
    assert_eq!(finished, 1, "the parent was read to its end");
}

#[tokio::test]
async fn a_mapping_reads_across_a_merge_after_both_parents() {
    let door = door("reshard-merge", 2).await;
    let mapped = mapped(&door, 10).await;
    let supervisor = mapped.supervisor(&door, true).await;
    let keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut puts = vec![];
    door.put(&keys, 0, 10, &mut puts).await;
    let parents: BTreeSet<&str> = puts.iter().map(|p| p.shard.as_str()).collect();
    assert_eq!(parents.len(), 2, "the keys spread over both shards: {parents:?}");
    door.merge("shardId-000000000000", "shardId-000000000001").await;
    door.put(&keys, 10, 10, &mut puts).await;
    assert!(
        puts[60..].iter().all(|p| p.shard == "shardId-000000000002"),
        "one child"
    );

    let sequences = puts.iter().map(|p| p.sequence.clone()).collect();
    let received = mapped.wait_for(&sequences).await;

    let lineage = door.lineage().await;
    assert_eq!(
        lineage["shardId-000000000002"].len(),
        2,
        "the merged child has two parents"
    );
    assert_once_in_order_parents_first(&puts, &received, &lineage);
    let (violations, finished, examples) = order_figures(&supervisor);
    assert_eq!((violations, finished), (0, 2), "{examples:?}");
}

/// The parent's records wait behind a slow one (`sleep:1500`, a batch of its own) while the child's are already in
/// the stream: a reader that starts the child at once delivers the child's record before the parent's second.
async fn slow_parent_then_child(parents_first: bool) -> (u64, Vec<String>, Vec<(String, String)>) {
    let door = door("reshard-order", 1).await;
    let mapped = mapped(&door, 1).await;
    let parent = "shardId-000000000000";
    door.put_data("vehicle", "sleep:1500").await;
    door.put_data("vehicle", "ok:vehicle:1").await;
    door.split(parent).await;
    let (child, child_sequence) = door.put_data("vehicle", "ok:vehicle:2").await;
    assert_ne!(child, parent);

    let supervisor = mapped.supervisor(&door, parents_first).await;
    mapped.wait_for(&BTreeSet::from([child_sequence])).await;
    // And the parent's, whenever they come, until the last batch is done.
    let started = Instant::now();
    let done = || supervisor.all_stats()[0].1.records_done.load(Ordering::Relaxed);
    while done() < 3 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (violations, _, examples) = order_figures(&supervisor);
    (violations, examples, mapped.received())
}

#[tokio::test]
async fn without_parent_before_child_a_childs_record_overtakes_its_parents_and_the_check_says_so() {
    let (violations, examples, received) = slow_parent_then_child(false).await;
    let data: Vec<&str> = received.iter().map(|(_, data)| data.as_str()).collect();
    let at = |wanted: &str| data.iter().position(|d| *d == wanted).unwrap();
    assert_eq!(data.len(), 3, "{data:?}");
    assert!(
        at("ok:vehicle:2") < at("ok:vehicle:1"),
        "the child's record overtakes the parent's second: {data:?}"
    );
    assert_eq!(
        violations, 2,
        "both parent records done after the child's: {examples:?}"
    );

    let (violations, examples, received) = slow_parent_then_child(true).await;
    let data: Vec<&str> = received.iter().map(|(_, data)| data.as_str()).collect();
    assert_eq!(data, ["sleep:1500", "ok:vehicle:1", "ok:vehicle:2"]);
    assert_eq!(violations, 0, "{examples:?}");
}

/// The mapping's checkpoints across a restart: a finished parent is not read again, its children go on.
#[tokio::test]
async fn a_restarted_mapping_skips_a_finished_parent_and_resumes_its_children() {
    let door = door("reshard-restart", 1).await;
    let mapped = mapped(&door, 10).await;
    let keys = ["alpha", "bravo", "charlie"];
    let mut puts = vec![];
    door.put(&keys, 0, 5, &mut puts).await;
    door.split("shardId-000000000000").await;
    door.put(&keys, 5, 5, &mut puts).await;
    let supervisor = mapped.supervisor(&door, true).await;
    let sequences: BTreeSet<String> = puts.iter().map(|p| p.sequence.clone()).collect();
    mapped.wait_for(&sequences).await;
    // The count follows the checkpoint: wait until the last batch is checkpointed before stopping.
    let started = Instant::now();
    while supervisor.all_stats()[0].1.records_done.load(Ordering::Relaxed) < puts.len() as u64
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(supervisor);

    let mut more = vec![];
    door.put(&keys, 10, 5, &mut more).await;
    let supervisor = mapped.supervisor(&door, true).await;
    let sequences: BTreeSet<String> = more.iter().map(|p| p.sequence.clone()).collect();
    let received = mapped.wait_for(&sequences).await;
    puts.extend(more);
    assert_once_in_order_parents_first(&puts, &received, &door.lineage().await);
    let (violations, finished, _) = order_figures(&supervisor);
    assert_eq!((violations, finished), (0, 0), "the finished parent is not read again");
}

/// A role Firehose may assume, allowed to read any stream and write any bucket.
async fn firehose_role(config: &SdkConfig) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let name = lab_testkit::unique_name("reshard-firehose");
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kinesis:*","s3:*"],"Resource":"*"}]}"#;
    let put = iam
        .put_role_policy()
        .role_name(&name)
        .policy_name("pump")
        .policy_document(policy);
    put.send().await.unwrap();
    role.role.unwrap().arn
}

/// A Firehose delivery stream with this stream as its source, its objects written after 1 s.
async fn delivery_stream(door: &Door) -> (String, String) {
    let s3 = lab_testkit::local_s3(&door.config);
    let bucket = lab_testkit::unique_name("reshard-bucket").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let role = firehose_role(&door.config).await;
    let role = role.as_str();
    let delivery = lab_testkit::unique_name("reshard-delivery");
    let delimiter = Processor::builder()
        .r#type(ProcessorType::AppendDelimiterToRecord)
        .build()
        .unwrap();
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(role)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .prefix("telemetry/")
        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(1).build())
        .compression_format(CompressionFormat::Uncompressed)
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(delimiter)
                .build(),
        )
        .build()
        .unwrap();
    let source = KinesisStreamSourceConfiguration::builder()
        .kinesis_stream_arn(&door.stream_arn)
        .role_arn(role)
        .build()
        .unwrap();
    aws_sdk_firehose::Client::new(&door.config)
        .create_delivery_stream()
        .delivery_stream_name(&delivery)
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(source)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
    (delivery, bucket)
}

#[tokio::test]
async fn the_firehose_pump_delivers_across_a_split_and_a_merge_each_key_in_order() {
    let door = door("reshard-pump", 2).await;
    let (delivery, bucket) = delivery_stream(&door).await;
    let state = std::env::temp_dir().join(lab_testkit::unique_name("reshard-pump"));
    let folders = Folders {
        functions: state.join("functions"),
        logs: state.join("logs"),
        failures: state.join("failures"),
        checkpoints: state.join("checkpoints"),
    };
    let mut supervisor =
        Supervisor::new(door.config.clone(), vec![], folders, test_pacing()).only_delivery_streams([delivery.clone()]);
    supervisor.sync().await.unwrap();
    let keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut puts = vec![];
    door.put(&keys, 0, 10, &mut puts).await;
    door.split_at("shardId-000000000000", 1u128 << 126).await;
    door.put(&keys, 10, 10, &mut puts).await;
    // The split's children are 2 and 3; 3 and 1 are adjacent (the upper half of 0's range meets 1's).
    door.merge("shardId-000000000003", "shardId-000000000001").await;
    door.put(&keys, 20, 10, &mut puts).await;

    let (_, stats) = supervisor.delivery_stats().pop().expect("the pump runs");
    let started = Instant::now();
    while stats.records.load(Ordering::Relaxed) < puts.len() as u64 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The objects in the order the pump wrote them, each one's lines in order.
    let s3 = lab_testkit::local_s3(&door.config);
    let keys_written = stats.written_keys.lock().unwrap().clone();
    let mut lines = vec![];
    for key in &keys_written {
        let object = s3.get_object().bucket(&bucket).key(key).send().await.unwrap();
        let body = object.body.collect().await.unwrap().into_bytes();
        lines.extend(String::from_utf8(body.to_vec()).unwrap().lines().map(str::to_owned));
    }
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for line in &lines {
        let mut parts = line.split(':').skip(1);
        let key = parts.next().unwrap().to_owned();
        seen.entry(key)
            .or_default()
            .push(parts.next().unwrap().parse().unwrap());
    }
    assert_eq!(lines.len(), puts.len(), "each record once: {lines:?}");
    for (key, ns) in &seen {
        assert_eq!(*ns, (0..30).collect::<Vec<_>>(), "key {key} in the order it was put");
    }
    let checkpoints = state.join("checkpoints").join("firehose").join(&delivery);
    for closed in ["shardId-000000000000", "shardId-000000000001", "shardId-000000000003"] {
        let text = std::fs::read_to_string(checkpoints.join(format!("{closed}.json"))).unwrap();
        assert!(text.contains("\"finished\":true"), "{closed}: {text}");
    }
    supervisor.shutdown();
    let _ = aws_sdk_firehose::Client::new(&door.config)
        .delete_delivery_stream()
        .delivery_stream_name(&delivery)
        .send()
        .await;
    let _ = std::fs::remove_dir_all(state);
}
