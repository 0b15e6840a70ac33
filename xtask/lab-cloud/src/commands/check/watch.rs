//! Stage 6 deployed: the learner's alarms on the stream, notifying the topic; the scaler subscribed to it and
//! allowed to be invoked by it (its resource policy, as SNS's delivery needs), its role allowed to reshard the stream;
//! and the scaler invoked with SNS's event of an alarm going back to OK, which it must read (the stream described
//! with its role) and answer with a hold — a check that reshards nothing, so that it costs nothing on AWS.

use anyhow::Result;
use policy::{NamedPolicy, Request, evaluate};

use super::{Deployment, Report};
use crate::aws::account;
use crate::control::iam::policy_value;
use crate::naming::TAG_VALUE;
use crate::runtime::alarms::State;
use crate::runtime::cloudwatch::alarm_message;
use crate::runtime::notifications::sns_event;
use crate::stages::{ALARMS, SCALER, SCALING_TOPIC, function};

const STAGE: u8 = 6;

/// The alarms, then the topic and the scaler.
pub(super) async fn check_watch(deployment: &Deployment<'_>, report: &mut Report, stream_arn: &str) -> Result<()> {
    let (account_id, region) = account(deployment.config).await?;
    let topic_arn = format!(
        "arn:aws:sns:{region}:{account_id}:{}",
        deployment.naming.watch(SCALING_TOPIC)
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(deployment.config);
    let mut described = None;
    for alarm in ALARMS {
        let name = deployment.naming.watch(alarm);
        let found = cloudwatch.describe_alarms().alarm_names(&name).send().await?;
        let Some(alarm) = found.metric_alarms.unwrap_or_default().into_iter().next() else {
            report.record(
                STAGE,
                &format!("the alarm {name} exists"),
                false,
                "not found: deploy step-6".into(),
            );
            continue;
        };
        let on_stream = alarm.namespace() == Some("AWS/Kinesis")
            && alarm
                .dimensions()
                .iter()
                .any(|d| d.name() == Some("StreamName") && d.value() == Some(deployment.naming.stream().as_str()));
        let notifies = alarm.actions_enabled() == Some(true) && alarm.alarm_actions().contains(&topic_arn);
        report.record(
            STAGE,
            &format!("the alarm {name} watches the stream and notifies the topic"),
            on_stream && notifies,
            format!(
                "{} of {} over {} of {} periods of {} s, now {}",
                alarm.statistic().map_or("?", |s| s.as_str()),
                alarm.metric_name().unwrap_or_default(),
                alarm
                    .datapoints_to_alarm()
                    .or(alarm.evaluation_periods())
                    .unwrap_or_default(),
                alarm.evaluation_periods().unwrap_or_default(),
                alarm.period().unwrap_or_default(),
                alarm.state_value().map_or("?", |s| s.as_str())
            ),
        );
        described.get_or_insert(alarm);
    }
    let scaler = deployment.naming.function(SCALER);
    check_subscription(deployment, report, &topic_arn, &scaler).await?;
    check_role(deployment, report, stream_arn).await?;
    let Some(alarm) = described else {
        return Ok(());
    };
    // The alarm's own description, as the local cloud's CloudWatch would notify it on a return to OK.
    let description = serde_json::json!({
        "AlarmName": alarm.alarm_name(),
        "AlarmArn": alarm.alarm_arn(),
        "MetricName": alarm.metric_name(),
        "Namespace": alarm.namespace(),
        "Statistic": alarm.statistic().map(|s| s.as_str()),
        "Dimensions": [{"Name": "StreamName", "Value": deployment.naming.stream()}],
        "Period": alarm.period(),
        "EvaluationPeriods": alarm.evaluation_periods(),
        "Threshold": alarm.threshold(),
        "ComparisonOperator": alarm.comparison_operator().map(|c| c.as_str()),
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let message = alarm_message(&description, &region, State::Alarm, State::Ok, "check --deployed", now);
    let event = sns_event(
        &region,
        &topic_arn,
        &format!("{topic_arn}:check"),
        "OK",
        &message.to_string(),
    );
    let answer = deployment.invoker.invoke(&scaler, &event).await;
    let decision = answer
        .as_ref()
        .ok()
        .map(|a| a["decisions"][0].clone())
        .unwrap_or_default();
    report.record(
        STAGE,
        "the scaler, sent an alarm's return to OK, reads the stream and holds",
        decision["decision"] == "hold" && decision["stream"] == deployment.naming.stream().as_str(),
        match &answer {
            Ok(_) => decision.to_string(),
            Err(error) => format!("{error:#}"),
        },
    );
    Ok(())
}

/// The scaler subscribed to the topic, and its resource policy letting SNS invoke it from that topic.
async fn check_subscription(
    deployment: &Deployment<'_>,
    report: &mut Report,
    topic_arn: &str,
    scaler: &str,
) -> Result<()> {
    let sns = aws_sdk_sns::Client::new(deployment.config);
    let subscriptions = sns.list_subscriptions_by_topic().topic_arn(topic_arn).send().await;
    let subscribed = subscriptions.as_ref().is_ok_and(|s| {
        s.subscriptions()
            .iter()
            .any(|s| s.protocol() == Some("lambda") && s.endpoint().is_some_and(|e| e.ends_with(&format!(":{scaler}"))))
    });
    report.record(
        STAGE,
        &format!("the scaler {scaler} is subscribed to the topic"),
        subscribed,
        match &subscriptions {
            Ok(_) => String::new(),
            Err(error) => format!("the topic: {error}"),
        },
    );
    let policy = deployment.lambda.get_policy().function_name(scaler).send().await;
    let text = policy.ok().and_then(|p| p.policy).unwrap_or_default();
    report.record(
        STAGE,
        "SNS may invoke the scaler, from the topic only",
        text.contains("sns.amazonaws.com") && text.contains(topic_arn),
        String::new(),
    );
    Ok(())
}

/// The scaler's role allows resharding the stream, as IAM would decide it.
async fn check_role(deployment: &Deployment<'_>, report: &mut Report, stream_arn: &str) -> Result<()> {
    let role = deployment.naming.role(function(SCALER).role);
    let iam = aws_sdk_iam::Client::new(deployment.config);
    let document = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(TAG_VALUE)
        .send()
        .await
        .ok()
        .and_then(|p| policy_value(&p.policy_document));
    let policies: Vec<NamedPolicy> = document
        .and_then(|d| NamedPolicy::parse("scaler", &d.to_string()).ok())
        .into_iter()
        .collect();
    let allowed = ["kinesis:DescribeStreamSummary", "kinesis:UpdateShardCount"]
        .iter()
        .all(|action| evaluate(&policies, &Request::new(*action, stream_arn)).is_allowed());
    report.record(
        STAGE,
        &format!("the role {role} may describe and reshard the stream"),
        allowed,
        String::new(),
    );
    Ok(())
}
