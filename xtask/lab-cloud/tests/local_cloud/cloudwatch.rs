//! CloudWatch on the local cloud, with the real SDK (aws-sdk-cloudwatch speaks CBOR, bridged by the front door to
//! moto): the metrics AWS publishes, read back with `GetMetricStatistics`; alarms evaluated as CloudWatch evaluates
//! them, minute after minute; their SNS actions delivered to Lambda subscribers with SNS's event, if the function's
//! resource policy lets SNS invoke it.
//!
//! Each test has its own gateway on a `ManualClock` and calls the watcher's minute itself (`Watcher::tick`): a
//! CloudWatch minute, AWS's 60 s, passes when the test advances the clock, so no test waits for one.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use lab_cloud::commands::front_door::config_at;
use lab_cloud::gateway::{Gateway, GatewayOptions, Limits, ManualClock};
use lab_cloud::lambda_host::LambdaHost;
use lab_cloud::runtime::alarms::State;
use lab_cloud::runtime::cloudwatch::{Transition, Watcher};
use lab_cloud::runtime::metrics::{MINUTE, MetricBook};
use lab_cloud::runtime::notifications::{Delivery, FunctionInvoker};
use lab_cloud::testing::LocalFunction;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const MINUTE_MS: u64 = 60_000;

/// A gateway in front of the test's moto, on a manual clock, with AWS's one-minute CloudWatch minute.
struct Cloud {
    gateway: Gateway,
    clock: Arc<ManualClock>,
    /// Through the front door, as the administrator (the SDK's CBOR, bridged).
    config: aws_config::SdkConfig,
    /// The emulator itself, for what the test sets up.
    admin: aws_config::SdkConfig,
    kinesis: aws_sdk_kinesis::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Cloud {
    async fn start() -> Cloud {
        let admin = lab_testkit::local_aws().await;
        let clock = Arc::new(ManualClock::default());
        let options = GatewayOptions {
            clock: clock.clone(),
            stream_lifecycle: Duration::ZERO,
            metric_book: Arc::new(MetricBook::new(MINUTE)),
            ..GatewayOptions::default()
        };
        let gateway = Gateway::start_with(admin.endpoint_url().unwrap(), options)
            .await
            .unwrap();
        let config = config_at(&admin, &gateway.endpoint()).await;
        let cloud = Cloud {
            kinesis: aws_sdk_kinesis::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            config,
            admin,
            clock,
            gateway,
        };
        // A few seconds into a minute, so that what a test does next is counted in that minute.
        let into_minute = cloud.gateway.now_ms() % MINUTE_MS;
        cloud
            .clock
            .advance(Duration::from_millis(MINUTE_MS - into_minute + 5_000));
        cloud
    }

    /// The next minute, 5 s in: the previous one has ended.
    fn next_minute(&self) {
        self.clock.advance(Duration::from_millis(MINUTE_MS));
    }

    /// A watcher of the alarms named `prefix...` (the other tests' alarms are in the same emulator).
    async fn watcher(&self, invoker: FunctionInvoker, prefix: &str) -> Watcher {
        let operator = config_at(&self.admin, &self.gateway.operator_endpoint()).await;
        Watcher::new(&operator, self.gateway.metric_book(), invoker).only_alarms_prefixed(prefix)
    }

    async fn stream(&self, prefix: &str) -> String {
        let name = lab_testkit::unique_name(prefix);
        self.kinesis
            .create_stream()
            .stream_name(&name)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        name
    }

    /// `records` records put in one `PutRecords` call, all for one shard: its accepted and throttled counts.
    async fn put(&self, stream: &str, records: usize) -> (usize, usize) {
        let entries = (0..records)
            .map(|i| {
                let data = Blob::new(format!("reading {i}"));
                PutRecordsRequestEntry::builder()
                    .data(data)
                    .partition_key("geolocation")
                    .build()
                    .unwrap()
            })
            .collect();
        let answer = self
            .kinesis
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        let throttled = answer.failed_record_count.unwrap_or_default() as usize;
        (records - throttled, throttled)
    }

    /// An alarm on the stream's `IncomingRecords` Sum above 5, M of N one-minute periods.
    async fn alarm(&self, name: &str, stream: &str, m: i32, n: i32, treat_missing: &str, topic: Option<&str>) {
        let put = self
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/Kinesis")
            .metric_name("IncomingRecords")
            .dimensions(Dimension::builder().name("StreamName").value(stream).build())
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(n)
            .datapoints_to_alarm(m)
            .threshold(5.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(treat_missing)
            .set_alarm_actions(topic.map(|topic| vec![topic.to_owned()]));
        put.send().await.unwrap();
    }

    async fn state(&self, alarm: &str) -> (String, String) {
        let described = self
            .cloudwatch
            .describe_alarms()
            .alarm_names(alarm)
            .send()
            .await
            .unwrap();
        let alarm = &described.metric_alarms()[0];
        (
            alarm.state_value().unwrap().as_str().to_owned(),
            alarm.state_reason().unwrap_or_default().to_owned(),
        )
    }
}

/// An invoker for a test whose alarms notify no one.
fn no_functions(cloud: &Cloud) -> FunctionInvoker {
    let folder = std::env::temp_dir().join(lab_testkit::unique_name("no-functions"));
    FunctionInvoker {
        lambda: aws_sdk_lambda::Client::new(&cloud.admin),
        functions: folder.join("functions"),
        logs: folder.join("logs"),
        cloud_environment: vec![],
        host: Arc::new(LambdaHost::new()),
    }
}

#[tokio::test]
async fn the_metrics_of_a_hot_key_minute_read_back_with_get_metric_statistics() {
    let cloud = Cloud::start().await;
    let stream = cloud.stream("hot-key").await;
    let mut watcher = cloud.watcher(no_functions(&cloud), "none-").await;
    // A hot key: 2,500 records for one shard within one second, which takes 1,000.
    let mut throttled = 0;
    let mut accepted = 0;
    for _ in 0..5 {
        let (stored, refused) = cloud.put(&stream, 500).await;
        accepted += stored;
        throttled += refused;
    }
    assert_eq!((accepted, throttled), (1000, 1500));
    let minute_start = cloud.gateway.now_ms() - cloud.gateway.now_ms() % MINUTE_MS;
    cloud.next_minute();
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();

    let dimension = Dimension::builder().name("StreamName").value(&stream).build();
    let read = |metric: &str, statistics: Vec<Statistic>| {
        cloud
            .cloudwatch
            .get_metric_statistics()
            .namespace("AWS/Kinesis")
            .metric_name(metric)
            .dimensions(dimension.clone())
            .start_time(DateTime::from_millis((minute_start - 10 * MINUTE_MS) as i64))
            .end_time(DateTime::from_millis((minute_start + 10 * MINUTE_MS) as i64))
            .period(60)
            .set_statistics(Some(statistics))
            .send()
    };
    let refused = read(
        "WriteProvisionedThroughputExceeded",
        vec![Statistic::Sum, Statistic::Maximum],
    )
    .await
    .unwrap();
    let points = refused.datapoints();
    assert_eq!(points.len(), 1, "one minute, one datapoint: {points:?}");
    let counted: u64 = cloud
        .gateway
        .traffic()
        .values()
        .map(|shard| shard.writes_throttled)
        .sum();
    assert_eq!(
        points[0].sum(),
        Some(counted as f64),
        "the refusals the gateway counted"
    );
    assert_eq!(points[0].maximum(), Some(500.0), "the most refused by one call");
    assert_eq!(
        points[0].timestamp().unwrap().to_millis().unwrap() as u64,
        minute_start,
        "the minute's start"
    );
    assert_eq!(points[0].unit().map(|u| u.as_str()), Some("Count"));
    let incoming = read("IncomingRecords", vec![Statistic::Sum, Statistic::SampleCount])
        .await
        .unwrap();
    assert_eq!(incoming.datapoints()[0].sum(), Some(1000.0));
    assert_eq!(
        incoming.datapoints()[0].sample_count(),
        Some(5.0),
        "one sample per PutRecords call"
    );
    // GetMetricData reads the same minute (its timestamps and values in CBOR, through the front door).
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
    let metric = Metric::builder()
        .namespace("AWS/Kinesis")
        .metric_name("WriteProvisionedThroughputExceeded")
        .dimensions(dimension.clone())
        .build();
    let stat = MetricStat::builder().metric(metric).period(60).stat("Sum").build();
    let query = MetricDataQuery::builder().id("refused").metric_stat(stat).build();
    let data = cloud
        .cloudwatch
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from_millis((minute_start - 10 * MINUTE_MS) as i64))
        .end_time(DateTime::from_millis((minute_start + 10 * MINUTE_MS) as i64))
        .send()
        .await
        .unwrap();
    let result = &data.metric_data_results()[0];
    assert_eq!(result.values(), [counted as f64]);
    assert_eq!(result.timestamps()[0].to_millis().unwrap() as u64, minute_start);
    let throttled_entries = read("PutRecords.ThrottledRecords", vec![Statistic::Sum]).await.unwrap();
    assert_eq!(throttled_entries.datapoints()[0].sum(), Some(1500.0));
    let _ = Limits::default();
}

/// Each alarm's state after each minute, as `DescribeAlarms` shows it.
async fn states(cloud: &Cloud, alarms: &[&str]) -> Vec<String> {
    let mut states = Vec::new();
    for alarm in alarms {
        states.push(cloud.state(alarm).await.0);
    }
    states
}

#[tokio::test]
async fn alarms_go_from_insufficient_data_to_alarm_to_ok_as_m_of_n_and_treat_missing_data_say() {
    let cloud = Cloud::start().await;
    let stream = cloud.stream("alarmed").await;
    let prefix = lab_testkit::unique_name("alarm");
    let names: Vec<String> = ["missing", "ignore", "breaching", "notBreaching", "two-of-three"]
        .iter()
        .map(|n| format!("{prefix}-{n}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for (name, treat) in names.iter().zip(["missing", "ignore", "breaching", "notBreaching"]) {
        cloud.alarm(name, &stream, 2, 2, treat, None).await;
    }
    cloud.alarm(names[4], &stream, 2, 3, "missing", None).await;
    let (state, reason) = cloud.state(names[0]).await;
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    );
    let mut watcher = cloud.watcher(no_functions(&cloud), &prefix).await;

    // Minute 1, nothing: missing data, treated four ways.
    cloud.next_minute();
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();
    let expected = [
        "INSUFFICIENT_DATA",
        "INSUFFICIENT_DATA",
        "ALARM",
        "OK",
        "INSUFFICIENT_DATA",
    ];
    assert_eq!(states(&cloud, &names).await, expected, "after a minute without data");

    // Minutes 2 and 3, ten records each (above 5): two breaching datapoints of two.
    for _ in 0..2 {
        cloud.put(&stream, 10).await;
        cloud.next_minute();
    }
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();
    assert_eq!(
        states(&cloud, &names).await,
        ["ALARM"; 5],
        "after two breaching minutes"
    );
    let (_, reason) = cloud.state(names[0]).await;
    assert!(
        reason.starts_with("Threshold Crossed: 2 out of the last 2 datapoints [10.0 ("),
        "AWS's reason: {reason}"
    );
    assert!(
        reason.ends_with("were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).")
    );
    // Updating an alarm leaves its state as it is (moto would start it again at OK).
    cloud.alarm(names[0], &stream, 2, 2, "missing", None).await;
    let updated = cloud.state(names[0]).await;
    assert_eq!(
        updated,
        ("ALARM".to_owned(), reason),
        "an updated alarm keeps its state"
    );

    // Minute 4, one record: 2 of 2 can no longer be breaching; 2 of 3 still are (10, 10 and 1).
    cloud.put(&stream, 1).await;
    cloud.next_minute();
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();
    assert_eq!(
        states(&cloud, &names).await,
        ["OK", "OK", "OK", "OK", "ALARM"],
        "after a calm minute"
    );

    // Minutes 5 to 9 without data: the evaluation range (N + 2 periods) holds none.
    for _ in 0..5 {
        cloud.next_minute();
    }
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();
    let expected = ["INSUFFICIENT_DATA", "OK", "ALARM", "OK", "INSUFFICIENT_DATA"];
    assert_eq!(
        states(&cloud, &names).await,
        expected,
        "after five minutes without data"
    );
    let (_, reason) = cloud.state(names[0]).await;
    assert_eq!(reason, "Insufficient Data: 2 datapoints were unknown.");
    let transitions: Vec<(String, State, State)> = watcher
        .transitions()
        .lock()
        .unwrap()
        .iter()
        .filter(|t: &&Transition| t.alarm == names[0])
        .map(|t| (t.alarm.clone(), t.from, t.to))
        .collect();
    let missing = names[0].to_owned();
    assert_eq!(
        transitions,
        [
            (missing.clone(), State::InsufficientData, State::Alarm),
            (missing.clone(), State::Alarm, State::Ok),
            (missing, State::Ok, State::InsufficientData),
        ]
    );
}

#[tokio::test]
async fn put_metric_alarm_is_validated_as_cloudwatch_validates_it() {
    let cloud = Cloud::start().await;
    let refused = cloud
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(lab_testkit::unique_name("bad-period"))
        .namespace("AWS/Kinesis")
        .metric_name("IncomingRecords")
        .statistic(Statistic::Sum)
        .period(45)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap_err();
    let error = refused
        .as_service_error()
        .map(|e| (e.meta().code(), e.meta().message()));
    assert_eq!(
        error,
        Some((
            Some("ValidationError"),
            Some("Period must be 10, 20, 30 or a multiple of 60")
        )),
        "{refused:?}"
    );
    let name = lab_testkit::unique_name("never-stored");
    let listed = cloud
        .cloudwatch
        .describe_alarms()
        .alarm_names(&name)
        .send()
        .await
        .unwrap();
    assert!(listed.metric_alarms().is_empty());
}

/// A scripted function subscribed to `topic`, allowed to be invoked by SNS for it or not; its record file.
async fn subscriber(cloud: &Cloud, topic: &str, allowed: bool) -> (LocalFunction, std::path::PathBuf) {
    let record = std::env::temp_dir().join(lab_testkit::unique_name("sns-records"));
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_scripted-function"));
    let record_text = record.to_string_lossy().into_owned();
    let function = LocalFunction::register(&cloud.admin, "scaler", binary, &[("RECORD_FILE", &record_text)])
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&cloud.admin);
    let arn = lambda
        .get_function()
        .function_name(&function.name)
        .send()
        .await
        .unwrap();
    let arn = arn.configuration().unwrap().function_arn().unwrap().to_owned();
    if allowed {
        let permission = lambda
            .add_permission()
            .function_name(&function.name)
            .statement_id("sns");
        let permission = permission
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com");
        permission.source_arn(topic).send().await.unwrap();
    }
    let sns = aws_sdk_sns::Client::new(&cloud.config);
    sns.subscribe()
        .topic_arn(topic)
        .protocol("lambda")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    (function, record)
}

#[tokio::test]
async fn an_alarm_notifies_its_topic_and_sns_invokes_only_the_functions_allowed_with_snss_event() {
    let cloud = Cloud::start().await;
    let stream = cloud.stream("scaled").await;
    let sns = aws_sdk_sns::Client::new(&cloud.config);
    let topic = sns
        .create_topic()
        .name(lab_testkit::unique_name("alarms"))
        .send()
        .await
        .unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let (allowed, allowed_records) = subscriber(&cloud, &topic, true).await;
    let (refused, refused_records) = subscriber(&cloud, &topic, false).await;
    let alarm = lab_testkit::unique_name("hot");
    cloud.alarm(&alarm, &stream, 1, 1, "notBreaching", Some(&topic)).await;

    let environment: Vec<(String, String)> = std::env::vars().filter(|(key, _)| key.starts_with("AWS_")).collect();
    // The host counts its invocations in the local cloud's book, as `serve` and `lab` set it.
    let host = Arc::new(LambdaHost::new());
    host.set_metrics(cloud.gateway.metric_book());
    let invoker = FunctionInvoker {
        lambda: aws_sdk_lambda::Client::new(&cloud.admin),
        functions: allowed.folders.functions.clone(),
        logs: allowed.folders.logs.clone(),
        cloud_environment: environment,
        host,
    };
    let mut watcher = cloud.watcher(invoker, &alarm).await;
    cloud.put(&stream, 10).await;
    cloud.next_minute();
    watcher.tick(cloud.gateway.now_ms()).await.unwrap();

    let transitions = watcher.transitions().lock().unwrap().clone();
    let fired = transitions
        .iter()
        .find(|t| t.alarm == alarm)
        .expect("the alarm changed state");
    assert_eq!((fired.from, fired.to), (State::InsufficientData, State::Alarm));
    let deliveries = &fired.deliveries[0].1;
    assert!(
        deliveries
            .iter()
            .any(|d| matches!(d, Delivery::Denied { function, reason }
            if *function == refused.name && reason.contains("sns.amazonaws.com"))),
        "{deliveries:?}"
    );
    assert!(
        deliveries
            .iter()
            .any(|d| matches!(d, Delivery::Invoked { function, outcome }
            if *function == allowed.name && !outcome.is_error())),
        "{deliveries:?}"
    );
    assert!(
        !refused_records.exists(),
        "the function without SNS's permission was not invoked"
    );
    // Lambda counted the invocation SNS made, as AWS/Lambda metrics of the invoked function only.
    let lambda_metrics: Vec<(String, String, f64)> = cloud
        .gateway
        .metric_book()
        .snapshot()
        .into_iter()
        .filter(|datum| datum.metric.namespace == "AWS/Lambda")
        .map(|datum| {
            (
                datum.metric.dimensions[0].1.clone(),
                datum.metric.name,
                datum.statistics.sum,
            )
        })
        .filter(|(function, _, _)| *function == allowed.name || *function == refused.name)
        .collect();
    let invocations = |name: &str| {
        lambda_metrics
            .iter()
            .find(|(f, m, _)| f == name && m == "Invocations")
            .map(|m| m.2)
    };
    assert_eq!(invocations(&allowed.name), Some(1.0), "{lambda_metrics:?}");
    assert_eq!(invocations(&refused.name), None, "{lambda_metrics:?}");
    let line = std::fs::read_to_string(&allowed_records).unwrap();
    let event: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let record = &event["sns_event"]["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["EventVersion"], "1.0");
    assert!(
        record["EventSubscriptionArn"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{topic}:"))
    );
    let notification = &record["Sns"];
    assert_eq!(notification["Type"], "Notification");
    assert_eq!(notification["TopicArn"], topic.as_str());
    assert_eq!(
        notification["Subject"],
        format!("ALARM: \"{alarm}\" in US East (N. Virginia)").as_str()
    );
    let message: Value = serde_json::from_str(notification["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["AlarmName"], alarm.as_str());
    assert_eq!(message["NewStateValue"], "ALARM");
    assert_eq!(message["OldStateValue"], "INSUFFICIENT_DATA");
    assert_eq!(message["AWSAccountId"], "123456789012");
    assert_eq!(message["Region"], "US East (N. Virginia)");
    assert!(
        message["NewStateReason"]
            .as_str()
            .unwrap()
            .starts_with("Threshold Crossed: 1 out of the last 1")
    );
    let trigger = &message["Trigger"];
    assert_eq!(trigger["MetricName"], "IncomingRecords");
    assert_eq!(trigger["Namespace"], "AWS/Kinesis");
    assert_eq!(trigger["Statistic"], "SUM");
    assert_eq!(trigger["Dimensions"][0]["name"], "StreamName");
    assert_eq!(trigger["Dimensions"][0]["value"], stream.as_str());
    assert_eq!(trigger["Period"], 60);
    assert_eq!(trigger["Threshold"], 5.0);
    let _ = StateValue::Alarm;
}

/// A learner name no other test run uses (short: it goes into every resource name).
fn learner(tag: &str) -> String {
    let unique = lab_testkit::unique_name(tag).replace('-', "");
    unique.chars().take(14).collect()
}

#[tokio::test]
async fn a_learners_alarms_and_topic_are_found_by_name_and_tags_and_destroyed_before_the_rest() {
    use aws_sdk_cloudwatch::types::Tag as AlarmTag;
    use lab_cloud::control::{destroy, inventory};
    use lab_cloud::naming::Naming;
    use lab_cloud::stages::{ALARMS, ResourceKind, SCALING_TOPIC};

    let cloud = Cloud::start().await;
    let me = learner("w");
    let naming = Naming::for_learner(&me).unwrap();
    let neighbour = Naming::for_learner(&format!("{me}-x")).unwrap();
    let stream = naming.stream();
    let tags: Vec<AlarmTag> = naming
        .tags()
        .into_iter()
        .map(|(k, v)| AlarmTag::builder().key(k).value(v).build())
        .collect();
    // Step 6's alarm by its name; another by its tags alone; the neighbour's, whose name starts with this prefix.
    cloud
        .alarm(&naming.watch(ALARMS[0]), &stream, 1, 1, "notBreaching", None)
        .await;
    let stray = format!("stray-{me}");
    cloud.alarm(&stray, &stream, 1, 1, "notBreaching", None).await;
    let arn = format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{stray}");
    cloud
        .cloudwatch
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    cloud
        .alarm(
            &neighbour.watch(ALARMS[1]),
            &neighbour.stream(),
            1,
            1,
            "notBreaching",
            None,
        )
        .await;
    let sns = aws_sdk_sns::Client::new(&cloud.config);
    let topic = sns
        .create_topic()
        .name(naming.watch(SCALING_TOPIC))
        .send()
        .await
        .unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let scaler = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        naming.function("scaler")
    );
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("lambda")
        .endpoint(scaler)
        .send()
        .await
        .unwrap();

    let found = inventory::discover(&cloud.config, &naming).await.unwrap();
    let kinds: Vec<(ResourceKind, &str)> = found.iter().map(|f| (f.kind, f.name.as_str())).collect();
    let mut alarms = [naming.watch(ALARMS[0]), stray.clone()];
    alarms.sort();
    assert_eq!(
        kinds,
        [
            (ResourceKind::Alarm, alarms[0].as_str()),
            (ResourceKind::Alarm, alarms[1].as_str()),
            (ResourceKind::Topic, naming.watch(SCALING_TOPIC).as_str()),
        ],
        "alarms first, then the topic: destroy's order"
    );
    assert_eq!(found[2].state, "1 subscriptions");
    let remaining = destroy::destroy(&cloud.config, &naming, &found).await.unwrap();
    assert!(remaining.is_empty(), "left behind: {remaining:#?}");
    let subscriptions = sns.list_subscriptions().send().await.unwrap();
    assert!(
        !subscriptions
            .subscriptions()
            .iter()
            .any(|s| s.topic_arn() == Some(topic.as_str())),
        "unsubscribed"
    );
    let theirs = inventory::discover(&cloud.config, &neighbour).await.unwrap();
    assert_eq!(theirs.len(), 1, "the neighbour's alarm is spared: {theirs:#?}");
    destroy::destroy(&cloud.config, &neighbour, &theirs).await.unwrap();
}

#[tokio::test]
async fn a_roles_cloudwatch_and_sns_calls_are_authorised_as_aws_authorises_them() {
    let cloud = Cloud::start().await;
    let iam = aws_sdk_iam::Client::new(&cloud.admin);
    let role = lab_testkit::unique_name("scaler-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let arn = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let arn = arn.role.unwrap().arn;
    let alarm = lab_testkit::unique_name("watched");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*"}},
        {{"Effect":"Allow","Action":"cloudwatch:DescribeAlarms","Resource":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"}}]}}"#
    );
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("scaler")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let session =
        lab_cloud::runtime::credentials::acting_as(&cloud.config, "lambda.amazonaws.com", &arn, "scaler", None)
            .await
            .unwrap();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&session);

    let datum = aws_sdk_cloudwatch::types::MetricDatum::builder()
        .metric_name("Scaled")
        .value(1.0)
        .build();
    cloudwatch
        .put_metric_data()
        .namespace("Workshop")
        .metric_data(datum)
        .send()
        .await
        .unwrap();
    cloudwatch.describe_alarms().alarm_names(&alarm).send().await.unwrap();
    let other = cloudwatch
        .describe_alarms()
        .alarm_names("someone-elses")
        .send()
        .await
        .unwrap_err();
    let other = other.into_service_error();
    assert_eq!(
        aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&other),
        Some("AccessDenied")
    );
    let message = aws_sdk_cloudwatch::error::ProvideErrorMetadata::message(&other)
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!(
            "assumed-role/{role}/scaler is not authorized to perform: cloudwatch:DescribeAlarms on resource: \
             arn:aws:cloudwatch:us-east-1:123456789012:alarm:someone-elses because no identity-based policy allows"
        )),
        "{message}"
    );
    let sns = aws_sdk_sns::Client::new(&session);
    let publish = sns
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:123456789012:alarms")
        .message("m")
        .send()
        .await;
    let refused = publish.unwrap_err().into_service_error();
    assert_eq!(
        aws_sdk_sns::error::ProvideErrorMetadata::code(&refused),
        Some("AccessDenied")
    );
}
