//! The tests of step 1. They run against your code in `steps/step-1` (`cargo xtask check step-1`) and, unchanged,
//! against the solution. The tests that create a stream talk to the local cloud that `cargo xtask check` starts.

use aws_sdk_kinesis::types::{StreamMode, StreamStatus};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use telemetric_stream::*;

mod grading;

fn resources() -> Resources {
    Resources {
        partition: "aws".to_owned(),
        region: "eu-west-1".to_owned(),
        account_id: "111122223333".to_owned(),
        stream_name: STREAM_NAME.to_owned(),
        bucket_name: "kinesis-lab-telemetry".to_owned(),
    }
}

const STREAM_ARN: &str = "arn:aws:kinesis:eu-west-1:111122223333:stream/TelemetricStream";
const BUCKET_ARN: &str = "arn:aws:s3:::kinesis-lab-telemetry";

fn all_policies() -> Vec<(&'static str, PolicyDocument)> {
    let resources = resources();
    vec![
        ("producer", producer_policy(&resources, "produceKinesisEvents")),
        ("consumer", consumer_policy(&resources, "consumeKinesisEvents")),
        ("firehose", firehose_policy(&resources)),
    ]
}

/// The statements of a policy as IAM will read them (JSON), so the checks see exactly what AWS sees.
fn statements(document: &PolicyDocument) -> Vec<Value> {
    let json: Value = serde_json::from_str(&document.to_json()).expect("to_json() must return valid JSON");
    json["Statement"].as_array().cloned().unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => vec![],
    }
}

/// The (action, resource) pairs a policy allows.
fn grants(document: &PolicyDocument) -> Vec<(String, String)> {
    let mut pairs = vec![];
    for statement in statements(document) {
        if statement["Effect"] != "Allow" {
            continue;
        }
        for action in strings(&statement["Action"]) {
            for resource in strings(&statement["Resource"]) {
                pairs.push((action.clone(), resource));
            }
        }
    }
    pairs
}

#[test]
fn telemetric_stream_is_defined() {
    let stream = telemetric_stream();
    assert_eq!(stream.name, "TelemetricStream");
    assert_eq!(
        stream.capacity,
        Capacity::Provisioned { shards: 2 },
        "two provisioned shards"
    );
    assert_eq!(
        stream.retention_hours, 24,
        "24 hours is the minimum retention, and the cheapest"
    );
    assert_eq!(
        stream.tags.get("workshop").map(String::as_str),
        Some("kinesis-lab"),
        "tag workshop = kinesis-lab"
    );
}

/// Graded against what the pipeline really calls: the test's failure lists every problem, one a line.
fn assert_graded(name: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{name}, graded against the calls the pipeline makes (tests/fixtures/reference-trace.json, from real runs of \
         `cargo xtask lab`) and what AWS documents as required:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn producer_policy_allows_what_the_producer_calls_and_nothing_more() {
    let resources = resources();
    let problems = grading::grade("producer_policy", "producer", &resources, |function| {
        producer_policy(&resources, function)
    });
    assert_graded("producer_policy", problems);
}

#[test]
fn consumer_policy_allows_what_the_mapping_and_lambda_call_and_nothing_more() {
    let resources = resources();
    let problems = grading::grade("consumer_policy", "consumer", &resources, |function| {
        consumer_policy(&resources, function)
    });
    assert_graded("consumer_policy", problems);
}

#[test]
fn firehose_policy_allows_what_firehose_calls_and_nothing_more() {
    let resources = resources();
    let problems = grading::grade("firehose_policy", "firehose", &resources, |_| {
        firehose_policy(&resources)
    });
    assert_graded("firehose_policy", problems);
}

#[test]
fn grading_names_what_a_policy_lacks_and_what_it_grants_beyond_use() {
    // The grading itself, on documents a newcomer might write: the call's name in the singular, and a wildcard.
    let resources = resources();
    let statement = |sid: &str, actions: &[&str], resource: Vec<String>| Statement {
        sid: sid.to_owned(),
        effect: Effect::Allow,
        action: actions.iter().map(|action| (*action).to_owned()).collect(),
        resource,
    };
    let logs = |function: &str| {
        let group = resources.log_group_arn(function);
        let actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"];
        statement("Logs", &actions, vec![group.clone(), format!("{group}:*")])
    };
    let singular = grading::grade("producer_policy", "producer", &resources, |function| PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            statement("Write", &["kinesis:PutRecord"], vec![resources.stream_arn()]),
            logs(function),
        ],
    });
    assert_eq!(
        singular,
        [
            format!(
                "producer_policy does not allow kinesis:PutRecords on {STREAM_ARN}, which the producer calls: AWS \
                 would refuse it because no identity-based policy allows the kinesis:PutRecords action"
            ),
            "producer_policy grants kinesis:PutRecord, which the producer never calls (statement 1 (\"Write\") of \
             policy \"producer_policy\")"
                .to_owned(),
        ]
    );
    let everything = grading::grade("consumer_policy", "consumer", &resources, |function| PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![
            statement("Read", &["kinesis:*"], vec![resources.stream_arn()]),
            logs(function),
        ],
    });
    assert_eq!(
        everything,
        [
            "consumer_policy grants kinesis:*, more than the consumer and the analysis need (kinesis:DescribeStream, \
          kinesis:DescribeStreamSummary, kinesis:GetRecords, kinesis:GetShardIterator, kinesis:ListShards): name the \
          actions (statement 1 (\"Read\") of policy \"consumer_policy\")"
        ]
    );
}

#[test]
fn every_policy_has_the_shape_iam_expects() {
    for (name, policy) in all_policies() {
        let json: Value = serde_json::from_str(&policy.to_json()).unwrap();
        assert_eq!(json["Version"], "2012-10-17", "{name}: Version must be 2012-10-17");
        let statements = statements(&policy);
        assert!(!statements.is_empty(), "{name}: a policy needs at least one Statement");
        for statement in statements {
            for key in ["Effect", "Action", "Resource"] {
                assert!(
                    statement.get(key).is_some(),
                    "{name}: every statement needs {key}: {statement}"
                );
            }
            assert!(
                statement["Effect"] == "Allow" || statement["Effect"] == "Deny",
                "{name}: Effect is Allow or Deny"
            );
            assert!(
                !strings(&statement["Action"]).is_empty(),
                "{name}: empty Action in {statement}"
            );
            assert!(
                !strings(&statement["Resource"]).is_empty(),
                "{name}: empty Resource in {statement}"
            );
        }
    }
}

/// Actions that change something. Only these matter for the "no write on `*`" rule.
fn is_write(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or(action);
    [
        "Put", "Create", "Delete", "Update", "Abort", "Merge", "Split", "Increase", "Decrease", "Add", "Remove",
    ]
    .iter()
    .any(|prefix| verb.starts_with(prefix))
}

#[test]
fn every_policy_is_least_privilege() {
    for (name, policy) in all_policies() {
        for (action, resource) in grants(&policy) {
            assert!(action != "*", "{name}: Action \"*\" allows everything in the account");
            assert!(
                !action.ends_with(":*"),
                "{name}: {action} allows every action of a service; name the actions"
            );
            assert!(
                !(resource == "*" && is_write(&action)),
                "{name}: {action} on Resource \"*\" would let the function write anything"
            );
            assert!(
                resource.starts_with("arn:aws:"),
                "{name}: resources are ARNs, not {resource:?}"
            );
            let scoped = resource == STREAM_ARN
                || resource.starts_with(BUCKET_ARN)
                || resource.starts_with("arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/");
            assert!(
                scoped,
                "{name}: {action} on {resource} reaches beyond the stream, the bucket and its own logs"
            );
        }
    }
}

#[tokio::test]
async fn iam_accepts_every_policy() {
    let config = lab_testkit::local_aws().await;
    let iam = aws_sdk_iam::Client::new(&config);
    for (name, policy) in all_policies() {
        let created = iam
            .create_policy()
            .policy_name(lab_testkit::unique_name(name))
            .policy_document(policy.to_json())
            .send()
            .await;
        if let Err(error) = created {
            panic!(
                "IAM rejects the {name} policy: {:?}\n{}",
                error.into_service_error(),
                policy.to_json()
            );
        }
    }
}

/// Runs one of the step's tools; its standard output, or a panic with what it printed on failure (on the starter:
/// the `todo!()` it reached).
fn run_tool(mut command: std::process::Command) -> String {
    let output = command.output().expect("the tool starts");
    let program = std::path::Path::new(command.get_program())
        .file_name()
        .unwrap_or_default();
    assert!(
        output.status.success(),
        "the {} tool failed ({}):\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
    String::from_utf8(output.stdout).expect("the tool prints UTF-8")
}

#[test]
fn policies_tool_prints_every_policy_for_the_names_it_is_given() {
    // What the deploy attaches to the roles: `policies --json ACCOUNT REGION BUCKET`, names from the environment.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_policies"));
    command
        .args(["--json", "111122223333", "eu-west-1", "kinesis-lab-telemetry"])
        .env("STREAM_NAME", "TelemetricStream")
        .env("PRODUCER_FUNCTION", "alice-producer")
        .env("CONSUMER_FUNCTION", "alice-consumer");
    let printed: Value = serde_json::from_str(&run_tool(command)).expect("--json prints one JSON object");
    let resources = resources();
    let expected = [
        ("producer", producer_policy(&resources, "alice-producer")),
        ("consumer", consumer_policy(&resources, "alice-consumer")),
        ("firehose", firehose_policy(&resources)),
    ];
    for (role, document) in expected {
        let document: Value = serde_json::from_str(&document.to_json()).unwrap();
        assert_eq!(
            printed[role], document,
            "the {role} role's document, for the account, region, bucket and names given"
        );
    }
}

fn test_stream(capacity: Capacity) -> StreamDefinition {
    StreamDefinition {
        name: lab_testkit::unique_name("TelemetricStream"),
        capacity,
        retention_hours: 24,
        tags: BTreeMap::from([("workshop".to_owned(), "kinesis-lab".to_owned())]),
    }
}

/// Every stream's name. ListStreams returns one page (100 names in AWS, 10 in the local cloud) and `HasMoreStreams`;
/// the next page starts after the last name returned (`ExclusiveStartStreamName`), which AWS and the local cloud both
/// accept: <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListStreams.html>. Reading one page would
/// miss a stream on a cloud that already holds others.
async fn all_stream_names(kinesis: &aws_sdk_kinesis::Client) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    loop {
        let page = kinesis
            .list_streams()
            .set_exclusive_start_stream_name(names.last().cloned())
            .send()
            .await
            .expect("ListStreams");
        let more = page.has_more_streams && !page.stream_names.is_empty();
        names.extend(page.stream_names);
        if !more {
            return names;
        }
    }
}

/// Tests share one local cloud for the whole run (and `cloud up` keeps it for longer): each removes its streams.
async fn delete_stream(kinesis: &aws_sdk_kinesis::Client, name: &str) {
    kinesis
        .delete_stream()
        .stream_name(name)
        .send()
        .await
        .unwrap_or_else(|error| panic!("DeleteStream {name}: {:?}", error.into_service_error()));
}

#[tokio::test]
async fn ensure_stream_creates_an_active_stream() {
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);

    let definition = test_stream(Capacity::Provisioned { shards: 3 });
    let on_demand = StreamDefinition {
        retention_hours: 48,
        ..test_stream(Capacity::OnDemand)
    };
    // Both at once: each is CREATING for a moment, and the test need not wait for one, then the other.
    let (provisioned, made_on_demand) = tokio::join!(
        ensure_stream(&kinesis, &definition),
        ensure_stream(&kinesis, &on_demand)
    );
    let summary = provisioned.expect("ensure_stream should create the stream");
    assert_eq!(summary.stream_name, definition.name);
    assert_eq!(
        summary.stream_status,
        StreamStatus::Active,
        "ensure_stream returns once the stream is ACTIVE"
    );
    assert_eq!(summary.open_shard_count, 3, "the stream has the shard count asked for");

    let tags = kinesis
        .list_tags_for_stream()
        .stream_name(&definition.name)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags
            .iter()
            .any(|tag| tag.key == "workshop" && tag.value.as_deref() == Some("kinesis-lab")),
        "the stream carries the definition's tags"
    );

    assert_eq!(summary.retention_period_hours, 24);

    let summary = made_on_demand.expect("ensure_stream should create an on-demand stream");
    let mode = summary.stream_mode_details.map(|details| details.stream_mode);
    assert_eq!(
        mode,
        Some(StreamMode::OnDemand),
        "Capacity::OnDemand makes an on-demand stream"
    );
    // A new stream keeps its data 24 hours whatever was asked; ensure_stream must raise it to the definition's.
    assert_eq!(
        summary.retention_period_hours, 48,
        "the stream keeps its records as long as the definition says (retention_hours: 48)"
    );

    delete_stream(&kinesis, &definition.name).await;
    delete_stream(&kinesis, &on_demand.name).await;
}

#[tokio::test]
async fn ensure_stream_twice_changes_nothing() {
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);

    let definition = test_stream(Capacity::Provisioned { shards: 2 });
    let first = ensure_stream(&kinesis, &definition)
        .await
        .expect("the first ensure_stream creates the stream");
    let second = ensure_stream(&kinesis, &definition)
        .await
        .expect("a second ensure_stream must succeed too");
    assert_eq!(first.stream_arn, second.stream_arn);
    assert_eq!(
        first.stream_creation_timestamp, second.stream_creation_timestamp,
        "the stream was not recreated"
    );
    assert_eq!(second.open_shard_count, 2);

    let named = all_stream_names(&kinesis).await;
    assert_eq!(
        named.iter().filter(|name| **name == definition.name).count(),
        1,
        "exactly one stream of that name"
    );

    delete_stream(&kinesis, &definition.name).await;
}

#[tokio::test]
async fn ensure_stream_brings_an_existing_streams_retention_in_line() {
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);

    let longer = StreamDefinition {
        retention_hours: 72,
        ..test_stream(Capacity::Provisioned { shards: 1 })
    };
    let first = ensure_stream(&kinesis, &longer)
        .await
        .expect("ensure_stream creates the stream");
    assert_eq!(first.retention_period_hours, 72);
    let shorter = StreamDefinition {
        retention_hours: 24,
        ..longer.clone()
    };
    let second = ensure_stream(&kinesis, &shorter)
        .await
        .expect("ensure_stream on the existing stream");
    assert_eq!(
        second.retention_period_hours, 24,
        "an existing stream's retention is brought down to the definition's"
    );
    assert_eq!(first.stream_creation_timestamp, second.stream_creation_timestamp);

    delete_stream(&kinesis, &longer.name).await;
}

#[tokio::test]
async fn ensure_stream_waits_for_a_stream_that_is_still_creating() {
    // Another deploy's CreateStream has just gone through: the stream exists, but it is CREATING for a moment (about
    // 2 s on the local cloud, up to a minute on AWS) and refuses tags and retention changes until it is ACTIVE.
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let definition = StreamDefinition {
        retention_hours: 48,
        ..test_stream(Capacity::Provisioned { shards: 1 })
    };
    kinesis
        .create_stream()
        .stream_name(&definition.name)
        .shard_count(1)
        .send()
        .await
        .expect("CreateStream");
    let status = |summary: aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryOutput| {
        summary.stream_description_summary.map(|summary| summary.stream_status)
    };
    let first = kinesis
        .describe_stream_summary()
        .stream_name(&definition.name)
        .send()
        .await;
    assert_eq!(
        first.map(status).expect("DescribeStreamSummary"),
        Some(StreamStatus::Creating),
        "the local cloud makes a new stream CREATING first, as AWS does (else this test would test nothing)"
    );

    let summary = ensure_stream(&kinesis, &definition)
        .await
        .expect("ensure_stream waits until a stream it finds CREATING is ACTIVE, then aligns it");
    assert_eq!(summary.stream_status, StreamStatus::Active);
    assert_eq!(
        summary.retention_period_hours, 48,
        "once ACTIVE, its retention is brought in line with the definition"
    );
    delete_stream(&kinesis, &definition.name).await;
}

#[tokio::test]
async fn ensure_stream_tool_creates_the_stream_named_in_its_environment() {
    // The deploy's first stage runs this tool with the cloud's AWS_* variables (this test's own) and STREAM_NAME.
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let name = lab_testkit::unique_name("TelemetricStream");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ensure-stream"));
    command.env("STREAM_NAME", &name);
    let printed = run_tool(command);
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .expect("the tool made the stream")
        .stream_description_summary
        .expect("a summary");
    assert_eq!(summary.stream_status, StreamStatus::Active);
    assert!(
        printed.contains(&summary.stream_arn),
        "the tool says which stream it made: {printed}"
    );
    delete_stream(&kinesis, &name).await;
}

// ---------------------------------------------------------------------------------------------------------------
// What the local cloud does not do as AWS does: a fake Kinesis behind the real SDK client

/// A Kinesis client whose calls `fake` answers (the SDK's own retries off, so each call is one request).
fn fake_client(fake: &lab_testkit::fake::FakeAws) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&lab_testkit::fake::config(fake))
}

/// What Kinesis answers about an ACTIVE stream of two shards kept 24 hours, for DescribeStream or
/// DescribeStreamSummary.
fn active_stream(call: &lab_testkit::fake::Call) -> lab_testkit::fake::Reply {
    let about = json!({
        "StreamName": "TelemetricStream",
        "StreamARN": STREAM_ARN,
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": 1_795_774_500.0,
        "EnhancedMonitoring": [],
        "OpenShardCount": 2,
        "Shards": [],
        "HasMoreShards": false,
    });
    match call.operation.as_str() {
        "DescribeStream" => lab_testkit::fake::Reply::Output(json!({"StreamDescription": about})),
        "DescribeStreamSummary" => lab_testkit::fake::Reply::Output(json!({"StreamDescriptionSummary": about})),
        "AddTagsToStream" => lab_testkit::fake::Reply::Output(json!({})),
        other => lab_testkit::fake::Reply::client_error("InvalidArgumentException", &format!("unexpected {other}")),
    }
}

fn operations(fake: &lab_testkit::fake::FakeAws) -> Vec<String> {
    fake.calls().into_iter().map(|call| call.operation).collect()
}

#[tokio::test]
async fn ensure_stream_leaves_a_stream_already_in_line_alone() {
    // AWS refuses to "change" the retention to what it already is: IncreaseStreamRetentionPeriod's hours must be
    // more than the current ones, DecreaseStreamRetentionPeriod's less
    // (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DecreaseStreamRetentionPeriod.html). The local
    // cloud accepts it, so this fake answers as AWS does: a second deploy must not ask.
    let fake = lab_testkit::fake::FakeAws::new(active_stream);
    let summary = ensure_stream(&fake_client(&fake), &telemetric_stream())
        .await
        .expect("ensure_stream on a stream already as defined");
    assert_eq!(summary.retention_period_hours, 24);
    let asked = operations(&fake);
    assert!(
        !asked
            .iter()
            .any(|operation| operation.contains("Retention") || operation == "CreateStream"),
        "nothing to create or change, so no CreateStream nor retention change: {asked:?}"
    );
}

#[tokio::test]
async fn ensure_stream_accepts_a_stream_created_between_its_describe_and_its_create() {
    // Two deploys at once: both see no stream, one creates it, the other's CreateStream is ResourceInUseException.
    let described = std::sync::atomic::AtomicBool::new(false);
    let fake = lab_testkit::fake::FakeAws::new(move |call| match call.operation.as_str() {
        "DescribeStreamSummary" if !described.swap(true, std::sync::atomic::Ordering::SeqCst) => {
            lab_testkit::fake::Reply::client_error("ResourceNotFoundException", "Stream TelemetricStream not found.")
        }
        "CreateStream" => lab_testkit::fake::Reply::client_error(
            "ResourceInUseException",
            "Stream TelemetricStream under account 111122223333 already exists.",
        ),
        _ => active_stream(call),
    });
    let summary = ensure_stream(&fake_client(&fake), &telemetric_stream())
        .await
        .expect("a stream someone else just created is the stream wanted");
    assert_eq!(summary.stream_status, StreamStatus::Active);
    assert!(operations(&fake).contains(&"CreateStream".to_owned()));
}

#[tokio::test]
async fn ensure_stream_reports_a_create_that_fails() {
    let described = std::sync::atomic::AtomicBool::new(false);
    let fake = lab_testkit::fake::FakeAws::new(move |call| match call.operation.as_str() {
        "DescribeStreamSummary" if !described.swap(true, std::sync::atomic::Ordering::SeqCst) => {
            lab_testkit::fake::Reply::client_error("ResourceNotFoundException", "Stream TelemetricStream not found.")
        }
        "CreateStream" => lab_testkit::fake::Reply::client_error(
            "LimitExceededException",
            "This request would exceed the shard limit for the account 111122223333 in us-east-1.",
        ),
        _ => active_stream(call),
    });
    let error = ensure_stream(&fake_client(&fake), &telemetric_stream())
        .await
        .expect_err("a CreateStream that fails is an error, not a stream");
    assert!(error.to_string().contains("shard limit"), "the error says why: {error}");
    assert_eq!(
        operations(&fake).last().map(String::as_str),
        Some("CreateStream"),
        "nothing is tried after the failed create"
    );
}
