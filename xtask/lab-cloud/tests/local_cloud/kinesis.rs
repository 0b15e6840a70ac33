//! The gateway's Kinesis engine with the real SDK: AWS's semantics where moto's differ (sequence numbers, routing,
//! validation and its errors, lifecycle, resharding, retention, iterators' expiry), each test on a gateway of its
//! own with a `ManualClock`, so that time passes only when the test says (no test waits for AWS's minutes), in
//! front of the emulator the run's `AWS_ENDPOINT_URL` names (the streams' twins for Lambda are made there).

use aws_config::SdkConfig;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ScalingType, ShardFilter, ShardFilterType, ShardIteratorType, StreamStatus,
};
use lab_cloud::gateway::{Gateway, GatewayOptions, Limits, ManualClock, ShardKey};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";

struct Engine {
    gateway: Gateway,
    clock: Arc<ManualClock>,
    kinesis: Client,
    /// Straight to the emulator.
    emulator: SdkConfig,
}

async fn engine(lifecycle: Duration) -> Engine {
    let emulator = lab_testkit::local_aws().await;
    let clock = Arc::new(ManualClock::default());
    let options = GatewayOptions {
        clock: clock.clone(),
        stream_lifecycle: lifecycle,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(emulator.endpoint_url().unwrap(), options)
        .await
        .unwrap();
    let config = emulator
        .to_builder()
        .endpoint_url(gateway.endpoint())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    Engine {
        kinesis: Client::new(&config),
        gateway,
        clock,
        emulator,
    }
}

impl Engine {
    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    async fn stream(&self, prefix: &str, shards: i32) -> String {
        let name = lab_testkit::unique_name(prefix);
        self.kinesis
            .create_stream()
            .stream_name(&name)
            .shard_count(shards)
            .send()
            .await
            .unwrap();
        name
    }

    async fn status(&self, name: &str) -> StreamStatus {
        let summary = self
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        summary.stream_description_summary.unwrap().stream_status
    }

    async fn put(&self, name: &str, key: &str, data: &str) -> (String, String) {
        let put = self
            .kinesis
            .put_record()
            .stream_name(name)
            .partition_key(key)
            .data(Blob::new(data));
        let written = put.send().await.unwrap();
        (written.shard_id, written.sequence_number)
    }

    async fn put_hash(&self, name: &str, hash_key: &str) -> Result<String, (String, String)> {
        let put = self
            .kinesis
            .put_record()
            .stream_name(name)
            .partition_key("k")
            .explicit_hash_key(hash_key);
        match put.data(Blob::new("x")).send().await {
            Ok(written) => Ok(written.shard_id),
            Err(error) => Err(code_and_message(error)),
        }
    }

    async fn iterator(&self, name: &str, shard: &str, kind: ShardIteratorType, sequence: Option<&str>) -> String {
        let request = self
            .kinesis
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard)
            .shard_iterator_type(kind);
        request
            .set_starting_sequence_number(sequence.map(str::to_owned))
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap()
    }

    async fn shards(&self, name: &str) -> Vec<aws_sdk_kinesis::types::Shard> {
        self.kinesis
            .list_shards()
            .stream_name(name)
            .send()
            .await
            .unwrap()
            .shards
            .unwrap_or_default()
    }
}

fn code_and_message<E: ProvideErrorMetadata, R>(error: aws_sdk_kinesis::error::SdkError<E, R>) -> (String, String) {
    let code = error.code().unwrap_or_default().to_owned();
    (code, error.message().unwrap_or_default().to_owned())
}

// ---------------------------------------------------------------------------------------------------------------
// Sequence numbers and routing

#[tokio::test]
async fn sequence_numbers_are_56_digits_increasing_and_no_u64() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("sequence", 1).await;
    let (_, first) = engine.put(&name, "a", "1").await;
    let (_, second) = engine.put(&name, "b", "2").await;
    assert_eq!(first.len(), 56, "{first}");
    assert!(first.bytes().all(|b| b.is_ascii_digit()));
    assert!(first < second);
    assert!(
        first.parse::<u64>().is_err(),
        "a learner's u64 parse fails here as on AWS"
    );
}

#[tokio::test]
async fn a_sequence_number_of_another_shard_is_refused_in_awss_words() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("other-shard", 2).await;
    let (shard, sequence) = engine.put(&name, "k", "x").await;
    let other = engine
        .shards(&name)
        .await
        .into_iter()
        .find(|s| s.shard_id != shard)
        .unwrap()
        .shard_id;
    let request = engine.kinesis.get_shard_iterator().stream_name(&name).shard_id(&other);
    let error = request
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&sequence)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "InvalidArgumentException".to_owned(),
            format!(
                "Invalid StartingSequenceNumber. It encodes {shard}, while it was used in a call to a shard with {other}"
            )
        )
    );
    // On its own shard, AT_SEQUENCE_NUMBER reads the record itself.
    let at = engine
        .iterator(&name, &shard, ShardIteratorType::AtSequenceNumber, Some(&sequence))
        .await;
    let page = engine.kinesis.get_records().shard_iterator(at).send().await.unwrap();
    assert_eq!(page.records[0].sequence_number, sequence);
}

#[tokio::test]
async fn explicit_hash_keys_route_inclusively_and_follow_awss_pattern() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("hash-keys", 2).await;
    let shards = engine.shards(&name).await;
    let first_end = shards[0].hash_key_range.as_ref().unwrap().ending_hash_key.clone();
    let second_start = shards[1].hash_key_range.as_ref().unwrap().starting_hash_key.clone();
    assert_eq!(
        engine.put_hash(&name, &first_end).await,
        Ok(shards[0].shard_id.clone()),
        "an ending key is inside"
    );
    assert_eq!(
        engine.put_hash(&name, &second_start).await,
        Ok(shards[1].shard_id.clone())
    );
    let max = u128::MAX.to_string();
    assert_eq!(
        engine.put_hash(&name, &max).await,
        Ok(shards[1].shard_id.clone()),
        "2^128-1 is the last key"
    );
    for bad in ["-1", "007", "+1"] {
        let (code, message) = engine.put_hash(&name, bad).await.unwrap_err();
        assert_eq!(code, "ValidationException", "{bad}");
        assert_eq!(
            message,
            format!(
                "1 validation error detected: Value '{bad}' at 'explicitHashKey' failed to satisfy constraint: Member \
                 must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})"
            )
        );
    }
    let too_big = "340282366920938463463374607431768211456";
    assert_eq!(
        engine.put_hash(&name, too_big).await,
        Err((
            "InvalidArgumentException".to_owned(),
            format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {too_big}"
            )
        ))
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

#[tokio::test]
async fn requests_are_refused_with_awss_errors() {
    let engine = engine(Duration::ZERO).await;
    let k = &engine.kinesis;
    let error = k
        .create_stream()
        .stream_name("no spaces")
        .shard_count(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "ValidationException".to_owned(),
            "2 validation errors detected: Value 'no spaces' at 'streamName' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'shardCount' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
                .to_owned()
        )
    );
    let missing = lab_testkit::unique_name("missing");
    let error = k
        .describe_stream_summary()
        .stream_name(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "ResourceNotFoundException".to_owned(),
            format!("Stream {missing} under account {ACCOUNT} not found.")
        )
    );
    let name = engine.stream("validation", 1).await;
    let error = k
        .put_record()
        .stream_name(&name)
        .partition_key("")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    let (code, message) = code_and_message(error);
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains(
            "at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ),
        "{message}"
    );
    let big = vec![0u8; 1024 * 1024 + 1];
    let error = k
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new(big))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error).1,
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed \
         to satisfy constraint: Member must have length less than or equal to 1048576"
    );
    let entries: Vec<_> = (0..501)
        .map(|n| {
            PutRecordsRequestEntry::builder()
                .partition_key(n.to_string())
                .data(Blob::new("x"))
                .build()
                .unwrap()
        })
        .collect();
    let error = k
        .put_records()
        .stream_name(&name)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap_err();
    assert!(
        code_and_message(error)
            .1
            .contains("at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
    );
    let error = k
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "ResourceInUseException".to_owned(),
            format!("Stream {name} under account {ACCOUNT} already exists.")
        )
    );
}

#[tokio::test]
async fn operations_the_local_cloud_does_not_implement_are_refused_by_name() {
    let engine = engine(Duration::ZERO).await;
    let arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s");
    let error = engine
        .kinesis
        .list_stream_consumers()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap_err();
    let (code, message) = code_and_message(error);
    assert_eq!(code, "UnsupportedOperationException");
    assert!(
        message.starts_with("the local cloud does not implement ListStreamConsumers"),
        "{message}"
    );
    let error = engine
        .kinesis
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(
        code_and_message(error)
            .1
            .contains("does not implement GetResourcePolicy")
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle

#[tokio::test]
async fn a_stream_is_creating_then_active_updating_then_deleting_and_each_says_so() {
    let engine = engine(Duration::from_secs(2)).await;
    let k = &engine.kinesis;
    let name = engine.stream("lifecycle", 2).await;
    assert_eq!(engine.status(&name).await, StreamStatus::Creating);
    let error = k
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error).0,
        "ResourceNotFoundException",
        "no writes while CREATING"
    );
    engine.advance(Duration::from_secs(2));
    assert_eq!(engine.status(&name).await, StreamStatus::Active);

    let scale = || {
        k.update_shard_count()
            .stream_name(&name)
            .target_shard_count(3)
            .scaling_type(ScalingType::UniformScaling)
            .send()
    };
    scale().await.unwrap();
    assert_eq!(engine.status(&name).await, StreamStatus::Updating);
    engine.put(&name, "k", "writes go on while UPDATING").await;
    let error = scale().await.unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "ResourceInUseException".to_owned(),
            format!("Stream {name} under account {ACCOUNT} not ACTIVE, instead in state UPDATING")
        )
    );
    engine.advance(Duration::from_secs(2));
    assert_eq!(engine.status(&name).await, StreamStatus::Active);
    let open = engine.shards(&name).await.into_iter().filter(|s| {
        s.sequence_number_range
            .as_ref()
            .unwrap()
            .ending_sequence_number
            .is_none()
    });
    assert_eq!(open.count(), 3);

    k.delete_stream().stream_name(&name).send().await.unwrap();
    assert_eq!(engine.status(&name).await, StreamStatus::Deleting);
    let error = k
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error).0,
        "ResourceInUseException",
        "a name being deleted is not free yet"
    );
    engine.advance(Duration::from_secs(2));
    let error = k.describe_stream_summary().stream_name(&name).send().await.unwrap_err();
    assert_eq!(code_and_message(error).0, "ResourceNotFoundException");
    k.create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn update_shard_count_keeps_to_awss_limits() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("scaling-limits", 2).await;
    let scale = |target| {
        engine
            .kinesis
            .update_shard_count()
            .stream_name(&name)
            .target_shard_count(target)
            .scaling_type(ScalingType::UniformScaling)
            .send()
    };
    let error = scale(5).await.unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "LimitExceededException".to_owned(),
            "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 2 \
             Target shard count: 5"
                .to_owned()
        )
    );
    scale(4).await.unwrap();
    let error = scale(1).await.unwrap_err();
    assert!(code_and_message(error).1.contains("cannot scale down below half"));
    for target in [2, 3, 2, 3, 2, 3, 2, 3, 2] {
        scale(target).await.unwrap();
    }
    let error = scale(3).await.unwrap_err();
    assert_eq!(
        code_and_message(error).0,
        "LimitExceededException",
        "the eleventh scaling in 24 hours"
    );
    engine.advance(Duration::from_secs(24 * 3600));
    scale(3).await.unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Resharding

async fn read_all(
    engine: &Engine,
    mut iterator: String,
) -> (Vec<String>, aws_sdk_kinesis::operation::get_records::GetRecordsOutput) {
    let mut data = vec![];
    loop {
        let page = engine
            .kinesis
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .unwrap();
        data.extend(
            page.records
                .iter()
                .map(|r| String::from_utf8(r.data.as_ref().to_vec()).unwrap()),
        );
        match page.next_shard_iterator.clone() {
            Some(next) if !page.records.is_empty() => iterator = next,
            _ => return (data, page),
        }
    }
}

#[tokio::test]
async fn a_split_closes_the_parent_which_reads_to_its_end_then_names_its_children() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("split", 1).await;
    let parent = engine.shards(&name).await[0].shard_id.clone();
    engine.put(&name, "k", "before").await;
    let half = (1u128 << 127).to_string();
    let split = engine
        .kinesis
        .split_shard()
        .stream_name(&name)
        .shard_to_split(&parent)
        .new_starting_hash_key(&half);
    split.send().await.unwrap();
    let (child, _) = engine.put(&name, "k", "after").await;
    assert_ne!(child, parent, "writes never go to a closed shard");

    let shards = engine.shards(&name).await;
    assert_eq!(shards.len(), 3, "the closed parent is still listed");
    let ending = shards[0]
        .sequence_number_range
        .as_ref()
        .unwrap()
        .ending_sequence_number
        .clone();
    assert!(ending.is_some(), "the parent has its EndingSequenceNumber");
    assert_eq!(shards[1].shard_id, "shardId-000000000001", "numbering continues");
    assert_eq!(shards[1].parent_shard_id.as_deref(), Some(parent.as_str()));
    assert_eq!(shards[2].hash_key_range.as_ref().unwrap().starting_hash_key, half);

    let start = engine
        .iterator(&name, &parent, ShardIteratorType::TrimHorizon, None)
        .await;
    let (data, end) = read_all(&engine, start).await;
    assert_eq!(data, ["before"]);
    assert_eq!(end.next_shard_iterator, None, "the end of a closed shard");
    let children: Vec<_> = end.child_shards().iter().map(|c| c.shard_id.clone()).collect();
    assert_eq!(children, ["shardId-000000000001", "shardId-000000000002"]);
    assert_eq!(end.child_shards()[0].parent_shards, std::slice::from_ref(&parent));
    let child_start = engine
        .iterator(&name, &child, ShardIteratorType::TrimHorizon, None)
        .await;
    assert_eq!(read_all(&engine, child_start).await.0, ["after"]);
    let open = ShardFilter::builder()
        .r#type(ShardFilterType::AtLatest)
        .build()
        .unwrap();
    let listed = engine
        .kinesis
        .list_shards()
        .stream_name(&name)
        .shard_filter(open)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.shards().len(), 2, "AT_LATEST: the open shards only");
}

#[tokio::test]
async fn merging_needs_adjacent_shards_and_the_child_has_both_parents() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("merge", 3).await;
    let merge = |a: &str, b: &str| {
        engine
            .kinesis
            .merge_shards()
            .stream_name(&name)
            .shard_to_merge(a)
            .adjacent_shard_to_merge(b)
            .send()
    };
    let error = merge("shardId-000000000000", "shardId-000000000002").await.unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "InvalidArgumentException".to_owned(),
            format!(
                "Shards shardId-000000000000 and shardId-000000000002 in stream {name} under account {ACCOUNT} are not \
                 an adjacent pair of shards eligible for merging"
            )
        )
    );
    merge("shardId-000000000001", "shardId-000000000000").await.unwrap();
    let child = engine.shards(&name).await.pop().unwrap();
    assert_eq!(child.shard_id, "shardId-000000000003");
    assert_eq!(child.parent_shard_id.as_deref(), Some("shardId-000000000001"));
    assert_eq!(child.adjacent_parent_shard_id.as_deref(), Some("shardId-000000000000"));
    let error = merge("shardId-000000000000", "shardId-000000000003").await.unwrap_err();
    assert!(code_and_message(error).1.contains("has already been merged or split"));
}

#[tokio::test]
async fn the_write_limit_follows_the_new_open_shards() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("limit-follows", 1).await;
    let put_many = |key: &'static str| {
        let entries: Vec<_> = (0..500)
            .map(|n| {
                PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(n.to_string()))
                    .build()
                    .unwrap()
            })
            .collect();
        engine
            .kinesis
            .put_records()
            .stream_name(&name)
            .set_records(Some(entries))
            .send()
    };
    assert_eq!(put_many("k").await.unwrap().failed_record_count, Some(0));
    assert_eq!(put_many("k").await.unwrap().failed_record_count, Some(0));
    assert_eq!(
        put_many("k").await.unwrap().failed_record_count,
        Some(500),
        "the parent's second is full"
    );
    let scale = engine
        .kinesis
        .update_shard_count()
        .stream_name(&name)
        .target_shard_count(2);
    scale.scaling_type(ScalingType::UniformScaling).send().await.unwrap();
    // Within the same second: the key's new shard has its own allowance.
    assert_eq!(put_many("k").await.unwrap().failed_record_count, Some(0));
    let traffic = engine.gateway.traffic();
    let region = "us-east-1".to_owned();
    let key = |shard: &str| ShardKey {
        region: region.clone(),
        stream: name.clone(),
        shard_id: shard.into(),
    };
    assert_eq!(traffic[&key("shardId-000000000000")].writes_throttled, 500);
    let child_accepted: u64 = ["shardId-000000000001", "shardId-000000000002"]
        .iter()
        .filter_map(|id| traffic.get(&key(id)))
        .map(|t| t.records_accepted)
        .sum();
    assert_eq!(child_accepted, 500);
}

// ---------------------------------------------------------------------------------------------------------------
// Time: retention and iterators

#[tokio::test]
async fn records_older_than_the_retention_period_are_gone_and_the_trim_horizon_moves() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("retention", 1).await;
    let shard = engine.shards(&name).await[0].shard_id.clone();
    engine.put(&name, "k", "old").await;
    engine.advance(Duration::from_secs(23 * 3600));
    engine.put(&name, "k", "new").await;
    engine.advance(Duration::from_secs(3600 + 1));
    let start = engine
        .iterator(&name, &shard, ShardIteratorType::TrimHorizon, None)
        .await;
    assert_eq!(read_all(&engine, start).await.0, ["new"]);
    let at = DateTime::from_secs(0);
    let request = engine.kinesis.get_shard_iterator().stream_name(&name).shard_id(&shard);
    let iterator = request
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(at)
        .send()
        .await
        .unwrap();
    assert_eq!(read_all(&engine, iterator.shard_iterator.unwrap()).await.0, ["new"]);
}

#[tokio::test]
async fn an_iterator_expires_after_five_minutes_with_awss_message_and_names_its_stream() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("expiry", 1).await;
    let shard = engine.shards(&name).await[0].shard_id.clone();
    let iterator = engine.iterator(&name, &shard, ShardIteratorType::Latest, None).await;
    assert_eq!(
        lab_cloud::gateway::kinesis::stream_arn_of_iterator(&iterator),
        Some(format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"))
    );
    engine.advance(Duration::from_millis(300_001));
    let error = engine
        .kinesis
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap_err();
    let (code, message) = code_and_message(error);
    assert_eq!(code, "ExpiredIteratorException");
    assert!(
        message.starts_with("Iterator expired. The iterator was created at time "),
        "{message}"
    );
    assert!(message.ends_with("which is further in the future than the tolerated delay of 300000 milliseconds."));
    let error = engine
        .kinesis
        .get_records()
        .shard_iterator("bm90IGFuIGl0ZXJhdG9y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "InvalidArgumentException".to_owned(),
            "Invalid ShardIterator.".to_owned()
        )
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Listing

#[tokio::test]
async fn listings_page_as_awss_do() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("listing", 3).await;
    let page = engine
        .kinesis
        .list_shards()
        .stream_name(&name)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.shards().len(), 2);
    let token = page.next_token.unwrap();
    let error = engine
        .kinesis
        .list_shards()
        .stream_name(&name)
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(error),
        (
            "InvalidArgumentException".to_owned(),
            "NextToken and StreamName cannot be provided together.".to_owned()
        )
    );
    let rest = engine.kinesis.list_shards().next_token(&token).send().await.unwrap();
    assert_eq!(rest.shards()[0].shard_id, "shardId-000000000002");
    assert_eq!(rest.next_token, None);

    let other = engine.stream("listing", 1).await;
    let first = engine.kinesis.list_streams().limit(1).send().await.unwrap();
    assert!(first.has_more_streams);
    assert_eq!(first.stream_summaries().len(), 1);
    let second = engine
        .kinesis
        .list_streams()
        .next_token(first.next_token.unwrap())
        .send()
        .await
        .unwrap();
    let mut names = first.stream_names;
    names.extend(second.stream_names);
    let mut expected = vec![name, other];
    expected.sort();
    assert_eq!(names, expected);
}

// ---------------------------------------------------------------------------------------------------------------
// Concurrency, the emulator's twin, metrics

#[tokio::test]
async fn concurrent_writers_to_one_shard_lose_nothing_and_share_no_sequence_number() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("concurrent", 1).await;
    let writers = (0..4).map(|writer| {
        let kinesis = engine.kinesis.clone();
        let name = name.clone();
        tokio::spawn(async move {
            let mut sequences = vec![];
            for call in 0..2 {
                let entries: Vec<_> = (0..100)
                    .map(|n| {
                        PutRecordsRequestEntry::builder()
                            .partition_key(format!("{writer}-{call}-{n}"))
                            .data(Blob::new("x"))
                            .build()
                            .unwrap()
                    })
                    .collect();
                let answer = kinesis
                    .put_records()
                    .stream_name(&name)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .unwrap();
                sequences.extend(answer.records.into_iter().filter_map(|r| r.sequence_number));
            }
            sequences
        })
    });
    let mut sequences = vec![];
    for writer in writers.collect::<Vec<_>>() {
        sequences.extend(writer.await.unwrap());
    }
    assert_eq!(sequences.len(), 800);
    sequences.sort();
    sequences.dedup();
    assert_eq!(sequences.len(), 800, "no sequence number given twice");
    let shard = engine.shards(&name).await[0].shard_id.clone();
    let start = engine
        .iterator(&name, &shard, ShardIteratorType::TrimHorizon, None)
        .await;
    assert_eq!(
        read_all(&engine, start).await.0.len(),
        800,
        "every acknowledged record is stored"
    );
}

#[tokio::test]
async fn each_stream_has_a_twin_in_the_emulator_for_lambda_while_it_exists() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("twin", 2).await;
    let moto = Client::new(&engine.emulator);
    let twin = moto.describe_stream_summary().stream_name(&name).send().await.unwrap();
    assert_eq!(twin.stream_description_summary.unwrap().open_shard_count, 1);
    engine.put(&name, "k", "x").await;
    let moto_shard = moto
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap()[0]
        .shard_id
        .clone();
    let request = moto.get_shard_iterator().stream_name(&name).shard_id(moto_shard);
    let iterator = request
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let page = moto
        .get_records()
        .shard_iterator(iterator.shard_iterator.unwrap())
        .send()
        .await
        .unwrap();
    assert!(page.records.is_empty(), "no record reaches moto's Kinesis");
    engine.kinesis.delete_stream().stream_name(&name).send().await.unwrap();
    let gone = moto
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_and_message(gone).0, "ResourceNotFoundException");
}

#[tokio::test]
async fn cloudwatch_figures_accumulate_per_stream_and_minute() {
    let engine = engine(Duration::ZERO).await;
    let name = engine.stream("metrics", 1).await;
    engine.put(&name, "key", "12345").await;
    let shard = engine.shards(&name).await[0].shard_id.clone();
    let start = engine
        .iterator(&name, &shard, ShardIteratorType::TrimHorizon, None)
        .await;
    engine.kinesis.get_records().shard_iterator(start).send().await.unwrap();
    let minutes: Vec<_> = engine
        .gateway
        .kinesis_metrics()
        .into_iter()
        .filter(|m| m.stream.name == name)
        .collect();
    assert_eq!(minutes.len(), 1);
    let figures = &minutes[0].metrics;
    assert_eq!(figures["IncomingRecords"].value, 1.0);
    assert_eq!(figures["IncomingBytes"].value, 8.0, "data and partition key");
    assert_eq!(figures["PutRecord.Success"].value, 1.0);
    assert_eq!(figures["GetRecords.Records"].value, 1.0);
    assert_eq!(figures["GetRecords.Success"].value, 1.0);
    assert!(figures.contains_key("GetRecords.IteratorAgeMilliseconds"));
    let _ = Limits::default();
}
