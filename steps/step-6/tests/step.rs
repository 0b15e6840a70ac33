//! The tests of step 6. They run against your code in `steps/step-6` (`cargo xtask check step-6`) and, unchanged,
//! against the solution. Your alarms are judged twice: against the rules `PutMetricAlarm` checks, and on minutes of
//! a stream's life, evaluated as CloudWatch evaluates them (the local cloud's own evaluation); your rule is judged
//! on alarm changes and stream states; the last tests put your alarms into the local cloud and let your scaler
//! reshard a real stream there.

use chrono::{DateTime, Duration, Utc};
use lab_cloud::runtime::alarms::{self, Alarm, State};
use lab_cloud::runtime::metrics::{MetricBook, MetricId};
use scaling::*;
use serde_json::{Value, json};

const STREAM: &str = "TelemetricStream";

// ---------------------------------------------------------------------------------------------------------------
// The rules PutMetricAlarm checks, and what a sensible alarm on a Kinesis stream is.

/// The metrics Kinesis publishes per stream, once a minute ("Basic Stream-level Metrics").
const KINESIS_STREAM_METRICS: [&str; 8] = [
    "GetRecords.IteratorAgeMilliseconds",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "PutRecords.ThrottledRecords",
    "IncomingRecords",
    "IncomingBytes",
    "GetRecords.Records",
    "GetRecords.Bytes",
];

/// What CloudWatch refuses (`PutMetricAlarm`'s API reference), and what would make an alarm on a stream's one-minute
/// metric never evaluate: each broken rule, in words.
fn broken_rules(alarm: &AlarmDefinition, stream: &str) -> Vec<String> {
    let mut broken = vec![];
    let mut rule = |holds: bool, what: &str| {
        if !holds {
            broken.push(what.to_owned());
        }
    };
    rule(
        (1..=255).contains(&alarm.name.chars().count()),
        "AlarmName: 1 to 255 characters",
    );
    rule(
        alarm.description.chars().count() <= 1024 && !alarm.description.trim().is_empty(),
        "AlarmDescription: say what it means and what to do, in at most 1,024 characters",
    );
    rule(
        alarm.namespace == KINESIS_NAMESPACE,
        "Namespace: Kinesis publishes in AWS/Kinesis",
    );
    rule(
        KINESIS_STREAM_METRICS.contains(&alarm.metric.as_str()),
        "MetricName: one of the stream-level metrics Kinesis publishes",
    );
    rule(
        alarm.dimensions == [(STREAM_DIMENSION.to_owned(), stream.to_owned())],
        "Dimensions: exactly StreamName = the stream (another dimension picks a series that does not exist)",
    );
    rule(
        alarm.period_seconds >= 60 && alarm.period_seconds % 60 == 0,
        "Period: a multiple of 60 (Kinesis publishes once a minute: a shorter period has no data)",
    );
    rule(alarm.evaluation_periods >= 1, "EvaluationPeriods: at least 1");
    rule(
        (1..=alarm.evaluation_periods).contains(&alarm.datapoints_to_alarm),
        "DatapointsToAlarm: at least 1 and at most EvaluationPeriods",
    );
    rule(
        i64::from(alarm.period_seconds) * i64::from(alarm.evaluation_periods) <= 86_400,
        "Period × EvaluationPeriods: at most a day",
    );
    rule(alarm.threshold.is_finite(), "Threshold: a number");
    broken
}

fn assert_meets_the_rules(alarm: &AlarmDefinition) {
    let broken = broken_rules(alarm, STREAM);
    assert!(broken.is_empty(), "{alarm:#?}\nbreaks: {broken:#?}");
}

/// A minute of a stream's life: the calls made, and each call's sample of the metric.
#[derive(Debug, Clone, Copy)]
struct Minute {
    calls: u32,
    sample: f64,
}

const fn minute(calls: u32, sample: f64) -> Minute {
    Minute { calls, sample }
}

/// A minute without any call: no datapoint at all.
const NOTHING: Minute = minute(0, 0.0);

/// The alarm's state at the end of each minute, its metric sampled as the local cloud's Kinesis engine samples it
/// (one sample per call) and the alarm evaluated as CloudWatch does, from INSUFFICIENT_DATA.
fn states_over(definition: &AlarmDefinition, minutes: &[Minute]) -> Vec<State> {
    let description = json!({
        "AlarmName": definition.name,
        "Namespace": definition.namespace,
        "MetricName": definition.metric,
        "Dimensions": definition.dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
        "Statistic": definition.statistic.as_str(),
        "Period": definition.period_seconds,
        "EvaluationPeriods": definition.evaluation_periods,
        "DatapointsToAlarm": definition.datapoints_to_alarm,
        "Threshold": definition.threshold,
        "ComparisonOperator": definition.comparison.as_str(),
        "TreatMissingData": definition.missing_data.as_str(),
        "StateValue": "INSUFFICIENT_DATA",
    });
    let mut alarm = Alarm::from_description(&description).expect("an alarm CloudWatch can describe");
    let book = MetricBook::default();
    let start: u64 = 1_800_000_000_000;
    let metric = MetricId::new(&definition.namespace, &definition.metric, (STREAM_DIMENSION, STREAM));
    let mut states = vec![];
    for (index, minute) in minutes.iter().enumerate() {
        let begins = start + index as u64 * 60_000;
        for call in 0..minute.calls {
            book.sample(metric.clone(), minute.sample, begins + u64::from(call) % 59_000);
        }
        let now = begins + 60_000 + 500;
        let verdict = alarms::evaluate(&alarm, &alarms::datapoints(&alarm, &book, now), now);
        if let Some(state) = verdict.state {
            alarm.state = state;
        }
        states.push(alarm.state);
    }
    states
}

fn first_alarm(states: &[State]) -> Option<usize> {
    states.iter().position(|state| *state == State::Alarm)
}

// A stream of two shards (2,000 records a second) whose producer puts 500-record batches.
/// Producers at twice the capacity: 480 calls a minute, half their records refused.
const TOO_SMALL: Minute = minute(480, 250.0);
/// Producers at 90% of capacity: 216 calls a minute, none refused.
const HEALTHY: Minute = minute(216, 0.0);
/// A busy second in a healthy minute: a few calls lose a few records, which the producer's retries put again.
const RETRIED: Minute = minute(216, 0.2);
/// One burst: a minute at three times the capacity, then back.
const BURST: Minute = minute(720, 330.0);

// learner tests: write_throttled_alarm

#[test]
fn write_throttled_alarm_meets_the_rules_put_metric_alarm_checks() {
    let alarm = write_throttled_alarm(STREAM);
    assert_meets_the_rules(&alarm);
    assert_eq!(alarm.name, WRITE_THROTTLED);
    assert!(
        alarm.metric == "WriteProvisionedThroughputExceeded" || alarm.metric == "PutRecords.ThrottledRecords",
        "the alarm watches the records the stream refuses for its shards' limits, not {}",
        alarm.metric
    );
}

#[test]
fn write_throttled_alarm_fires_within_minutes_on_a_stream_too_small() {
    let alarm = write_throttled_alarm(STREAM);
    let mut life = vec![HEALTHY; 5];
    life.extend([TOO_SMALL; 10]);
    let states = states_over(&alarm, &life);
    let fired = first_alarm(&states).unwrap_or_else(|| {
        panic!("ten minutes of half the writes refused never set the alarm off: {states:?}\n{alarm:#?}")
    });
    assert!(
        fired >= 5,
        "it fired at minute {fired}, before the trouble began: {states:?}"
    );
    assert!(
        fired <= 5 + 4,
        "it fired {} minutes after the trouble began: a late alarm means data refused all that time; {states:?}",
        fired - 5 + 1
    );
}

#[test]
fn write_throttled_alarm_ignores_one_burst_retries_and_a_quiet_stream() {
    let alarm = write_throttled_alarm(STREAM);
    let lives: [(&str, Vec<Minute>); 3] = [
        ("one minute's burst among healthy ones", {
            let mut life = vec![HEALTHY; 5];
            life.push(BURST);
            life.extend([HEALTHY; 6]);
            life
        }),
        ("a few records retried every minute", vec![RETRIED; 12]),
        ("a stream nobody writes to", {
            let mut life = vec![HEALTHY; 3];
            life.extend([NOTHING; 9]);
            life
        }),
    ];
    for (what, life) in lives {
        let states = states_over(&alarm, &life);
        assert_eq!(
            first_alarm(&states),
            None,
            "{what}: the alarm fired, and each false alarm is a reshard you pay for (and one of ten a day): \
             {states:?}\n{alarm:#?}"
        );
    }
}

// learner tests: iterator_age_alarm

/// A reader keeping up: each call reads records a second or two old.
const KEEPING_UP: Minute = minute(300, 1_500.0);

/// A reader falling further behind each minute: its records are `minutes` × 40 s old.
fn behind(minutes: u32) -> Minute {
    minute(300, f64::from(minutes) * 40_000.0)
}

#[test]
fn iterator_age_alarm_meets_the_rules_put_metric_alarm_checks() {
    let alarm = iterator_age_alarm(STREAM);
    assert_meets_the_rules(&alarm);
    assert_eq!(alarm.name, ITERATOR_AGE);
    assert_eq!(alarm.metric, "GetRecords.IteratorAgeMilliseconds");
    assert_eq!(
        alarm.statistic,
        Statistic::Maximum,
        "the age of the reader furthest behind: an average over every call hides the one shard minutes late"
    );
}

#[test]
fn iterator_age_alarm_fires_when_a_reader_falls_behind() {
    let alarm = iterator_age_alarm(STREAM);
    let mut life = vec![KEEPING_UP; 5];
    life.extend((1..=10).map(behind));
    let states = states_over(&alarm, &life);
    let fired = first_alarm(&states)
        .unwrap_or_else(|| panic!("a reader 400 s behind never set the alarm off: {states:?}\n{alarm:#?}"));
    assert!(
        fired >= 5,
        "it fired at minute {fired}, while the reader kept up: {states:?}"
    );
    assert!(
        fired <= 5 + 5,
        "it fired when the reader was {} s behind: its data was late all that time; {states:?}",
        (fired - 4) * 40
    );
}

#[test]
fn iterator_age_alarm_ignores_a_reader_that_keeps_up_or_catches_up() {
    let alarm = iterator_age_alarm(STREAM);
    let lives: [(&str, Vec<Minute>); 3] = [
        ("a reader a second or two behind", vec![KEEPING_UP; 12]),
        ("one slow minute (a cold start), then caught up", {
            let mut life = vec![KEEPING_UP; 5];
            life.push(behind(2));
            life.extend([KEEPING_UP; 6]);
            life
        }),
        (
            "a stream nobody writes to any more (the reader reads nothing, its age 0)",
            {
                let mut life = vec![KEEPING_UP; 3];
                life.extend([minute(300, 0.0); 9]);
                life
            },
        ),
    ];
    for (what, life) in lives {
        let states = states_over(&alarm, &life);
        assert_eq!(
            first_alarm(&states),
            None,
            "{what}: the alarm fired: {states:?}\n{alarm:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The scaler's rule.

fn quota(limit: u32, open_in_account: u32) -> ShardQuota {
    ShardQuota { limit, open_in_account }
}

// learner tests: within_limits

#[test]
fn within_limits_keeps_update_shard_count_between_half_and_double() {
    let room = quota(500, 4);
    assert_eq!(within_limits(4, 8, &room), 8, "doubling is allowed");
    assert_eq!(within_limits(4, 6, &room), 6, "anything up to double is allowed");
    assert_eq!(
        within_limits(4, 20, &room),
        8,
        "more than double is refused: at most double"
    );
    assert_eq!(
        within_limits(4, 1, &room),
        2,
        "less than half is refused: at least half"
    );
    assert_eq!(within_limits(4, 3, &room), 3);
    assert_eq!(
        within_limits(5, 1, &room),
        3,
        "half of 5 rounds up: 2 would be less than half"
    );
    assert_eq!(within_limits(1, 0, &room), 1, "a stream has at least one shard");
    assert_eq!(
        within_limits(6_000, 20_000, &quota(100_000, 6_000)),
        10_000,
        "10,000 shards a stream at most"
    );
}

#[test]
fn within_limits_stays_within_the_account_quota() {
    assert_eq!(
        within_limits(4, 8, &quota(10, 4)),
        8,
        "this stream's 4 are the account's only shards: 8 fit in 10"
    );
    assert_eq!(
        within_limits(4, 8, &quota(10, 7)),
        7,
        "3 shards belong to other streams: this one may grow to 7, no further"
    );
    assert_eq!(within_limits(4, 8, &quota(10, 10)), 4, "no room at all: it stays at 4");
    assert_eq!(
        within_limits(4, 2, &quota(10, 12)),
        2,
        "scaling down needs no room, even over a quota someone lowered"
    );
}

// learner tests: decide

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The alarm change of the fixture (ALARM at 10:15, on TelemetricStream, 3 periods of 60 s).
fn alarm() -> AlarmChange {
    let event: Value = serde_json::from_str(include_str!("fixtures/sns-alarm-event.json")).unwrap();
    alarm_changes(&event).unwrap().remove(0)
}

fn stream(open_shards: u32) -> StreamState {
    StreamState {
        name: STREAM.to_owned(),
        status: StreamStatus::Active,
        open_shards,
        scaled_at: vec![],
        quota: quota(500, open_shards),
    }
}

fn now() -> DateTime<Utc> {
    at("2026-12-02T10:15:02Z")
}

#[test]
fn decide_doubles_an_active_stream_on_its_alarm() {
    assert_eq!(decide(&alarm(), &stream(2), now()), Decision::Scale { from: 2, to: 4 });
    assert_eq!(decide(&alarm(), &stream(1), now()), Decision::Scale { from: 1, to: 2 });
    let mut crowded = stream(4);
    crowded.quota = quota(10, 9);
    assert_eq!(
        decide(&alarm(), &crowded, now()),
        Decision::Scale { from: 4, to: 5 },
        "within the account's quota: 5 other shards leave this stream 5"
    );
}

#[test]
fn decide_holds_when_there_is_nothing_to_answer() {
    let mut ok = alarm();
    ok.state = AlarmState::Ok;
    assert_eq!(
        decide(&ok, &stream(2), now()),
        Decision::Hold(Hold::NotAnAlarm(AlarmState::Ok))
    );
    let mut unknown = alarm();
    unknown.state = AlarmState::InsufficientData;
    assert_eq!(
        decide(&unknown, &stream(2), now()),
        Decision::Hold(Hold::NotAnAlarm(AlarmState::InsufficientData))
    );
    let mut other = alarm();
    other.stream = Some("SomeoneElsesStream".to_owned());
    assert_eq!(
        decide(&other, &stream(2), now()),
        Decision::Hold(Hold::AnotherStream(Some("SomeoneElsesStream".to_owned())))
    );
}

#[test]
fn decide_never_scales_a_stream_that_is_not_active() {
    for status in [StreamStatus::Updating, StreamStatus::Creating, StreamStatus::Deleting] {
        let mut busy = stream(2);
        busy.status = status.clone();
        assert_eq!(
            decide(&alarm(), &busy, now()),
            Decision::Hold(Hold::NotActive(status)),
            "UpdateShardCount on a stream that is not ACTIVE is refused (ResourceInUseException)"
        );
    }
}

#[test]
fn decide_cools_down_while_the_last_scaling_cannot_show_yet() {
    // The alarm's data: 10:12 to 10:15. A scaling at 10:13 is inside it; one at 10:11 is not.
    let mut recent = stream(4);
    recent.scaled_at = vec![at("2026-12-02T10:13:00Z")];
    assert_eq!(
        decide(&alarm(), &recent, now()),
        Decision::Hold(Hold::CoolingDown {
            last: at("2026-12-02T10:13:00Z")
        })
    );
    let mut earlier = stream(4);
    earlier.scaled_at = vec![at("2026-12-02T10:11:00Z")];
    assert_eq!(
        decide(&alarm(), &earlier, now()),
        Decision::Scale { from: 4, to: 8 },
        "a scaling before this alarm's data began has had its chance: the alarm says it was not enough"
    );
}

#[test]
fn decide_keeps_to_ten_scalings_a_rolling_day() {
    let mut busy = stream(4);
    // Ten in the last day, every two hours from 10:30 yesterday: the oldest leaves the window at 10:30 today.
    busy.scaled_at = (0..10)
        .map(|n| at("2026-12-01T10:30:00Z") + Duration::hours(2 * n))
        .collect();
    assert_eq!(
        decide(&alarm(), &busy, now()),
        Decision::Hold(Hold::DailyLimit {
            next: at("2026-12-02T10:30:00Z")
        })
    );
    // The same ten, an hour earlier: the oldest is more than a day old and no longer counts.
    busy.scaled_at = busy.scaled_at.iter().map(|t| *t - Duration::hours(1)).collect();
    assert_eq!(decide(&alarm(), &busy, now()), Decision::Scale { from: 4, to: 8 });
}

#[test]
fn decide_holds_when_the_quota_leaves_no_room() {
    let mut full = stream(4);
    full.quota = quota(10, 10);
    assert_eq!(
        decide(&alarm(), &full, now()),
        Decision::Hold(Hold::NoRoom { limit: 10 })
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Given code: SNS's event and CloudWatch's alarm message read.

#[test]
fn an_sns_event_of_a_cloudwatch_alarm_is_read_as_its_change() {
    let change = alarm();
    assert_eq!(change.alarm, "write-throttled");
    assert_eq!((change.state, change.previous), (AlarmState::Alarm, AlarmState::Ok));
    assert_eq!(change.changed_at, at("2026-12-02T10:15:00.612Z"));
    assert_eq!(change.stream.as_deref(), Some(STREAM));
    assert_eq!(change.metric, "WriteProvisionedThroughputExceeded");
    assert_eq!((change.period_seconds, change.evaluation_periods), (60, 3));
    assert_eq!(change.evidence_since(), at("2026-12-02T10:12:00.612Z"));
    assert!(change.reason.starts_with("Threshold Crossed"), "{}", change.reason);
}

#[test]
fn the_local_clouds_notification_reads_as_aws_s() {
    let described = json!({
        "AlarmName": "iterator-age",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:iterator-age",
        "AlarmDescription": null,
        "MetricName": "GetRecords.IteratorAgeMilliseconds",
        "Namespace": "AWS/Kinesis",
        "Statistic": "Maximum",
        "Dimensions": [{"Name": "StreamName", "Value": STREAM}],
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 60000.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": null,
    });
    let message = lab_cloud::runtime::cloudwatch::alarm_message(
        &described,
        "us-east-1",
        State::Ok,
        State::Alarm,
        "Threshold Crossed",
        1_800_000_000_000,
    );
    let event = lab_cloud::runtime::notifications::sns_event(
        "us-east-1",
        "arn:aws:sns:us-east-1:123456789012:scaling",
        "arn:aws:sns:us-east-1:123456789012:scaling:1",
        "ALARM",
        &message.to_string(),
    );
    let change = alarm_changes(&event).unwrap().remove(0);
    assert_eq!(
        (change.alarm.as_str(), change.state, change.stream.as_deref()),
        ("iterator-age", AlarmState::Alarm, Some(STREAM))
    );
}

#[test]
fn an_event_that_is_not_an_alarm_notification_is_refused_saying_why() {
    let kinesis_event = json!({"Records": [{"kinesis": {"data": "e30="}, "eventSource": "aws:kinesis"}]});
    let error = alarm_changes(&kinesis_event).unwrap_err().to_string();
    assert!(error.contains("not an SNS event"), "{error}");
    let error = alarm_change("hello").unwrap_err().to_string();
    assert!(error.contains("not JSON"), "{error}");
    let error = alarm_change(r#"{"Event": "autoscaling:TEST_NOTIFICATION"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a CloudWatch alarm's message"), "{error}");
}

// ---------------------------------------------------------------------------------------------------------------
// In the local cloud: your alarms put into CloudWatch, your scaler resharding a real stream.

#[tokio::test]
async fn ensure_alarms_puts_your_alarms_into_cloudwatch_notifying_the_topic() {
    let config = lab_testkit::local_aws().await;
    let prefix = format!("{}-", lab_testkit::unique_name("step6"));
    let topic = "arn:aws:sns:us-east-1:123456789012:kinesis-lab-scaling";
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ensure-alarms"))
        .env("STREAM_NAME", STREAM)
        .env("TOPIC_ARN", topic)
        .env("ALARM_NAME_PREFIX", &prefix)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    let complaint = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ensure-alarms failed:\n{said}\n{complaint}");
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    for definition in [write_throttled_alarm(STREAM), iterator_age_alarm(STREAM)] {
        let name = format!("{prefix}{}", definition.name);
        let alarm = cloudwatch::describe_alarm(&cloudwatch, &name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} is not in CloudWatch; the tool said:\n{said}"));
        assert_eq!(alarm.metric_name(), Some(definition.metric.as_str()));
        assert_eq!(alarm.threshold(), Some(definition.threshold));
        assert_eq!(alarm.evaluation_periods(), Some(definition.evaluation_periods));
        assert_eq!(alarm.datapoints_to_alarm(), Some(definition.datapoints_to_alarm));
        assert_eq!(alarm.alarm_actions(), [topic.to_owned()], "ALARM notifies the topic");
        assert_eq!(alarm.ok_actions(), [topic.to_owned()], "so does the return to OK");
        assert!(said.contains(&name), "the tool names each alarm it put: {said}");
        cloudwatch.delete_alarms().alarm_names(&name).send().await.unwrap();
    }
}

/// SNS's event of one alarm change of `stream`, now, as the local cloud's CloudWatch and SNS make it.
fn notification(stream: &str, to: State) -> Value {
    let described = json!({
        "AlarmName": WRITE_THROTTLED,
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:write-throttled",
        "MetricName": "WriteProvisionedThroughputExceeded",
        "Namespace": "AWS/Kinesis",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "StreamName", "Value": stream}],
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 1000.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    });
    let now = Utc::now().timestamp_millis() as u64;
    let message = lab_cloud::runtime::cloudwatch::alarm_message(&described, "us-east-1", State::Ok, to, "test", now);
    lab_cloud::runtime::notifications::sns_event(
        "us-east-1",
        "arn:aws:sns:us-east-1:123456789012:scaling",
        "arn:aws:sns:us-east-1:123456789012:scaling:1",
        to.as_str(),
        &message.to_string(),
    )
}

#[tokio::test]
async fn the_scaler_reshards_the_stream_on_its_alarm_then_waits() {
    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let name = lab_testkit::unique_name("TelemetricStream");
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    lab_testkit::wait_until_active(&kinesis, &name).await;
    let scaler = handler::Scaler::new(&config, |key| (key == "STREAM_NAME").then(|| name.clone()));

    let answer = scaler.answer(&notification(&name, State::Alarm)).await.unwrap();
    assert_eq!(answer["decisions"][0]["decision"], "scale", "{answer:#}");
    assert_eq!(answer["decisions"][0]["target_shards"], 2, "{answer:#}");
    let again = scaler.answer(&notification(&name, State::Alarm)).await.unwrap();
    assert_eq!(
        again["decisions"][0]["decision"], "hold",
        "a second alarm while UPDATING: {again:#}"
    );
    assert_eq!(again["decisions"][0]["status"], "UPDATING", "{again:#}");

    let summary = lab_testkit::wait_until_active(&kinesis, &name).await;
    assert_eq!(
        summary.open_shard_count(),
        2,
        "the stream was resharded to 2 open shards"
    );
    let cooling = scaler.answer(&notification(&name, State::Alarm)).await.unwrap();
    let because = cooling["decisions"][0]["because"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        cooling["decisions"][0]["decision"] == "hold" && because.contains("cooling down"),
        "an alarm whose data began before the scaling cannot show its effect yet: {cooling:#}"
    );
    let ok = scaler.answer(&notification(&name, State::Ok)).await.unwrap();
    assert_eq!(ok["decisions"][0]["decision"], "hold", "{ok:#}");
    kinesis.delete_stream().stream_name(&name).send().await.unwrap();
}
