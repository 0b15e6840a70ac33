//! Tests of the given code in `lib.rs`: the learner's functions are tested by the step's shared tests (`tests/`);
//! these run on the solution and the starter alike.

use super::*;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};

#[test]
fn tallies_add_up_every_count_and_keep_the_last_call_error() {
    let mut total = Tally {
        sent: 10,
        retried: 4,
        failed: 2,
        calls: 3,
        errors: BTreeMap::from([("InternalFailure".to_owned(), 2)]),
        error: None,
    };
    total += Tally {
        sent: 5,
        retried: 1,
        failed: 3,
        calls: 2,
        errors: BTreeMap::from([
            ("InternalFailure".to_owned(), 1),
            ("ProvisionedThroughputExceededException".to_owned(), 2),
        ]),
        error: Some("PutRecords failed: no stream".to_owned()),
    };
    // A batch without a call error leaves the one already reported.
    total += Tally::default();
    let expected = Tally {
        sent: 15,
        retried: 5,
        failed: 5,
        calls: 5,
        errors: BTreeMap::from([
            ("InternalFailure".to_owned(), 3),
            ("ProvisionedThroughputExceededException".to_owned(), 2),
        ]),
        error: Some("PutRecords failed: no stream".to_owned()),
    };
    assert_eq!(total, expected);
}

#[test]
fn an_empty_partition_key_setting_means_each_records_own_key() {
    let producer = |key: Option<&str>| {
        let client = Client::from_conf(
            aws_sdk_kinesis::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        Producer::new(client, Stream::Name("TelemetricStream".to_owned())).with_partition_key(key.map(str::to_owned))
    };
    assert_eq!(
        producer(Some("geolocation")).partition_key.as_deref(),
        Some("geolocation")
    );
    assert_eq!(producer(Some("")).partition_key, None, "PARTITION_KEY set but empty");
    assert_eq!(producer(None).partition_key, None);
}

#[test]
fn entry_errors_say_what_kinesis_accepts() {
    assert_eq!(
        EntryError::KeyLength(300).to_string(),
        "a partition key has 1 to 256 characters, not 300"
    );
    assert_eq!(
        EntryError::TooLarge(2_000_000).to_string(),
        "a record is at most 1048576 bytes with its key, not 2000000"
    );
}

/// A producer whose client goes to `endpoint` with the producer's own timeouts and no retries.
fn producer_at(endpoint: &str, timeout: TimeoutConfig) -> Producer {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("fake", "fake", None, None, "step-2 unit tests"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeout)
        .build();
    Producer::new(Client::from_conf(config), Stream::Name("TelemetricStream".to_owned()))
}

fn one_entry() -> Vec<Entry> {
    vec![Entry::new("vehicle-00001", "{}\n").unwrap()]
}

#[tokio::test]
async fn a_call_that_reaches_no_server_fails_as_a_dispatch_failure() {
    // A port nobody listens on any more: the connection is refused before any request is sent.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let producer = producer_at(&format!("http://127.0.0.1:{port}"), sdk_timeout_config());
    let failed = producer.put_records(&one_entry()).await.unwrap_err();
    assert_eq!(failed.code, "DispatchFailure", "{failed:?}");
    assert!(!failed.message.is_empty());
}

#[tokio::test]
async fn a_call_left_unanswered_fails_as_a_timeout() {
    // A server that accepts the connection (the kernel does, from its backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let quick = TimeoutConfig::builder()
        .operation_timeout(Duration::from_millis(200))
        .build();
    let failed = producer_at(&endpoint, quick)
        .put_records(&one_entry())
        .await
        .unwrap_err();
    assert_eq!(failed.code, "Timeout", "{failed:?}");
    drop(silent);
}
