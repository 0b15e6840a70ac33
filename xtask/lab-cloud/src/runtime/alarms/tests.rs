use super::*;
use std::time::Duration;

/// An alarm on the hot stream's throttled writes: Sum > 0 in M of N one-minute periods.
fn alarm(m: u64, n: u64, treat_missing: TreatMissing) -> Alarm {
    Alarm {
        name: "throttled".into(),
        metric: MetricId::new("AWS/Kinesis", "WriteProvisionedThroughputExceeded", ("StreamName", "s")),
        statistic: "Sum".into(),
        period_s: 60,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        threshold: 0.0,
        operator: "GreaterThanThreshold".into(),
        treat_missing,
        state: State::InsufficientData,
    }
}

const MINUTE: u64 = 60_000;
/// 2026-12-06 12:30:00 UTC: the evaluations below happen just after it.
const NOW: u64 = 1_796_560_200_000;

/// The evaluation of `alarm` just after NOW, with `values` in the minutes before it, newest first (`None`: no
/// data that minute).
fn verdict(alarm: &Alarm, values: &[Option<f64>]) -> Verdict {
    let book = MetricBook::new(Duration::from_millis(MINUTE));
    for (back, value) in values.iter().enumerate() {
        if let Some(value) = value {
            book.sample(alarm.metric.clone(), *value, NOW - (back as u64 + 1) * MINUTE + 5);
        }
    }
    let range = datapoints(alarm, &book, NOW + 1_000);
    evaluate(alarm, &range, NOW + 1_000)
}

#[test]
fn m_of_n_breaching_datapoints_is_an_alarm_and_fewer_is_ok() {
    let two_of_three = alarm(2, 3, TreatMissing::Missing);
    let fired = verdict(&two_of_three, &[Some(5.0), Some(0.0), Some(3.0)]);
    assert_eq!(fired.state, Some(State::Alarm));
    assert_eq!(
        fired.reason,
        "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (06/12/26 12:29:00), 3.0 (06/12/26 12:27:00)] were \
         greater than the threshold (0.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    let calm = verdict(&two_of_three, &[Some(5.0), Some(0.0), Some(0.0)]);
    assert_eq!(calm.state, Some(State::Ok));
    assert_eq!(
        calm.reason,
        "Threshold Crossed: 2 out of the last 3 datapoints [0.0 (06/12/26 12:28:00), 0.0 (06/12/26 12:27:00)] were \
         not greater than the threshold (0.0) (minimum 2 datapoints for ALARM -> OK transition)."
    );
    let one = verdict(&alarm(1, 1, TreatMissing::Missing), &[Some(1234.0)]);
    assert!(
        one.reason
            .contains("1 out of the last 1 datapoints [1234.0 (06/12/26 12:29:00)] was greater")
    );
    assert!(
        one.reason
            .ends_with("(minimum 1 datapoint for OK -> ALARM transition).")
    );
}

#[test]
fn the_reason_data_is_cloudwatchs_json() {
    let fired = verdict(&alarm(2, 2, TreatMissing::Missing), &[Some(5.0), Some(3.0)]);
    let data = &fired.reason_data;
    assert_eq!(data["version"], "1.0");
    assert_eq!(data["statistic"], "Sum");
    assert_eq!(data["period"], 60);
    assert_eq!(data["startDate"], "2026-12-06T12:28:00.000+0000");
    assert_eq!(data["recentDatapoints"], json!([3.0, 5.0]));
    assert_eq!(
        data["evaluatedDatapoints"][0]["timestamp"],
        "2026-12-06T12:29:00.000+0000"
    );
    assert_eq!(data["evaluatedDatapoints"][0]["value"], 5.0);
}

#[test]
fn with_no_data_missing_is_insufficient_and_ignore_keeps_the_state() {
    let nothing = verdict(&alarm(1, 2, TreatMissing::Missing), &[None, None]);
    assert_eq!(nothing.state, Some(State::InsufficientData));
    assert_eq!(nothing.reason, "Insufficient Data: 2 datapoints were unknown.");
    let ignored = verdict(&alarm(1, 2, TreatMissing::Ignore), &[None, None]);
    assert_eq!(ignored.state, None, "ignore keeps the current state");
}

#[test]
fn with_no_data_breaching_and_not_breaching_fill_every_period() {
    let breaching = verdict(&alarm(2, 2, TreatMissing::Breaching), &[]);
    assert_eq!(breaching.state, Some(State::Alarm));
    assert_eq!(
        breaching.reason,
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as \
         [Breaching]."
    );
    let calm = verdict(&alarm(2, 2, TreatMissing::NotBreaching), &[]);
    assert_eq!(calm.state, Some(State::Ok));
    assert!(calm.reason.ends_with("treated as [NonBreaching]."), "{}", calm.reason);
}

#[test]
fn enough_real_datapoints_in_the_range_make_missing_data_irrelevant() {
    // 3 of 3, the newest missing: the range reaches back for a third real datapoint, all breaching.
    let reach_back = verdict(
        &alarm(3, 3, TreatMissing::NotBreaching),
        &[None, Some(1.0), Some(1.0), Some(1.0)],
    );
    assert_eq!(reach_back.state, Some(State::Alarm));
}

#[test]
fn fewer_real_datapoints_are_completed_as_missing_data_says() {
    let values = [Some(1.0), None, None, None, None];
    assert_eq!(
        verdict(&alarm(2, 2, TreatMissing::Breaching), &values).state,
        Some(State::Alarm)
    );
    assert_eq!(
        verdict(&alarm(2, 2, TreatMissing::NotBreaching), &values).state,
        Some(State::Ok)
    );
    // One breaching datapoint, one unknown: neither settled, the state is kept.
    assert_eq!(verdict(&alarm(2, 2, TreatMissing::Missing), &values).state, None);
    assert_eq!(verdict(&alarm(2, 2, TreatMissing::Ignore), &values).state, None);
    // One datapoint under the threshold: 2 of 2 can no longer breach, so OK.
    let calm = [Some(0.0), None, None, None, None];
    assert_eq!(
        verdict(&alarm(2, 2, TreatMissing::Missing), &calm).state,
        Some(State::Ok)
    );
}

#[test]
fn each_operator_compares_as_its_name_says() {
    let mut below = alarm(1, 1, TreatMissing::Missing);
    below.operator = "LessThanThreshold".into();
    below.threshold = 10.0;
    assert_eq!(verdict(&below, &[Some(9.5)]).state, Some(State::Alarm));
    assert!(
        verdict(&below, &[Some(9.5)])
            .reason
            .contains("[9.5 (06/12/26 12:29:00)] was less than the threshold (10.0)")
    );
    below.operator = "LessThanOrEqualToThreshold".into();
    assert_eq!(verdict(&below, &[Some(10.0)]).state, Some(State::Alarm));
    below.operator = "GreaterThanOrEqualToThreshold".into();
    assert_eq!(verdict(&below, &[Some(10.0)]).state, Some(State::Alarm));
    assert_eq!(verdict(&below, &[Some(9.0)]).state, Some(State::Ok));
}

#[test]
fn the_statistic_is_taken_over_the_whole_period() {
    let mut average = alarm(1, 1, TreatMissing::Missing);
    average.statistic = "Average".into();
    average.threshold = 4.0;
    let book = MetricBook::new(Duration::from_millis(MINUTE));
    for value in [2.0, 8.0] {
        book.sample(average.metric.clone(), value, NOW - MINUTE + 10);
    }
    let range = datapoints(&average, &book, NOW + 1);
    let verdict = evaluate(&average, &range, NOW + 1);
    assert_eq!(verdict.state, Some(State::Alarm), "(2 + 8) / 2 > 4");
    // A five-minute period spans five minutes' samples.
    let mut five = alarm(1, 1, TreatMissing::Missing);
    five.period_s = 300;
    let book = MetricBook::new(Duration::from_millis(MINUTE));
    book.sample(five.metric.clone(), 1.0, NOW - 4 * MINUTE);
    let range = datapoints(&five, &book, NOW + 1);
    assert_eq!(range[0].1.map(|p| p.value), Some(1.0));
}

#[test]
fn a_described_alarm_reads_its_settings() {
    let described = json!({
        "AlarmName": "a", "Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords",
        "Dimensions": [{"Name": "StreamName", "Value": "s"}], "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 3, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold",
        "StateValue": "OK", "TreatMissingData": "breaching"
    });
    let alarm = Alarm::from_description(&described).unwrap();
    assert_eq!(alarm.datapoints_to_alarm, 3, "M defaults to N");
    assert_eq!(alarm.state, State::Ok);
    assert_eq!(alarm.treat_missing, TreatMissing::Breaching);
    assert_eq!(alarm.metric.dimensions, vec![("StreamName".to_owned(), "s".to_owned())]);
}
