//! Stage 6's watching resources: the SNS topic the learner's alarms notify, the scaler subscribed to it with
//! Lambda's permission for SNS to invoke it, and the alarms themselves, put by the learner's own `ensure-alarms`
//! (run as a process, as every step's tool); each tagged with `Naming::tags`, so that `destroy` and the clean-up
//! guard find them. Idempotent: a second deploy reports each as unchanged.
//!
//! AWS's pages: the pattern ("Invoking Lambda functions with Amazon SNS notifications",
//! <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>: `Subscribe` with protocol `lambda`, and
//! `AddPermission` for `sns.amazonaws.com` with the topic as `SourceArn`); `CreateTopic` returns the topic of that
//! name if it exists, but refuses one with other tags
//! (<https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html>), hence the tags added afterwards.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::change::{Action, Change};
use super::deploy::Deployed;
use super::tools;
use crate::aws::ErrorContext;
use crate::naming::{Naming, missing_tags};
use crate::stages::{ALARMS, FunctionStage, ResourceKind, SCALING_TOPIC};

/// The id of the statement in the scaler's resource policy that lets the topic invoke it.
const SNS_PERMISSION: &str = "InvokeFromTheScalingTopic";

/// The topic, its subscription and permission, then the alarms.
pub async fn ensure_watch(
    config: &SdkConfig,
    naming: &Naming,
    deployed: &Deployed,
    scaler: &FunctionStage,
    alarms_tool: &Path,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Change>> {
    let (topic_arn, topic) = ensure_topic(config, naming, deployed, tags).await?;
    let function = naming.function(scaler.name);
    let subscribed = ensure_subscription(config, &topic_arn, &function, deployed).await?;
    let topic = Change {
        action: match (topic.action, subscribed) {
            (Action::Unchanged, true) => Action::Updated,
            (action, _) => action,
        },
        ..topic
    };
    let mut changes = vec![topic];
    changes.extend(ensure_alarms(config, naming, &topic_arn, alarms_tool, tags).await?);
    Ok(changes)
}

/// The topic, made if missing, with the learner's tags.
async fn ensure_topic(
    config: &SdkConfig,
    naming: &Naming,
    deployed: &Deployed,
    tags: &BTreeMap<String, String>,
) -> Result<(String, Change)> {
    let sns = aws_sdk_sns::Client::new(config);
    let name = naming.watch(SCALING_TOPIC);
    let arn = format!("arn:aws:sns:{}:{}:{name}", deployed.region, deployed.account_id);
    let existed = sns.get_topic_attributes().topic_arn(&arn).send().await.is_ok();
    let sns_tags = |pairs: &BTreeMap<String, String>| -> Result<Vec<aws_sdk_sns::types::Tag>> {
        pairs
            .iter()
            .map(|(key, value)| aws_sdk_sns::types::Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .context("a tag")
    };
    if !existed {
        let made = sns
            .create_topic()
            .name(&name)
            .set_tags(Some(sns_tags(tags)?))
            .send()
            .await
            .context_chain(format!("creating the topic {name}"))?;
        let arn = made.topic_arn.unwrap_or(arn);
        return Ok((arn, change(ResourceKind::Topic, name, Action::Created)));
    }
    let present: HashMap<String, String> = sns
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .context_chain(format!("reading the tags of {name}"))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect();
    let missing = missing_tags(tags, &present);
    if missing.is_empty() {
        return Ok((arn, change(ResourceKind::Topic, name, Action::Unchanged)));
    }
    sns.tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(sns_tags(&missing.into_iter().collect())?))
        .send()
        .await
        .context_chain(format!("tagging the topic {name}"))?;
    Ok((arn, change(ResourceKind::Topic, name, Action::Updated)))
}

fn change(kind: ResourceKind, name: String, action: Action) -> Change {
    Change { kind, name, action }
}

/// The scaler subscribed to the topic, and allowed to be invoked by it; whether either had to be made.
async fn ensure_subscription(config: &SdkConfig, topic_arn: &str, function: &str, deployed: &Deployed) -> Result<bool> {
    let function_arn = format!(
        "arn:aws:lambda:{}:{}:function:{function}",
        deployed.region, deployed.account_id
    );
    let sns = aws_sdk_sns::Client::new(config);
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .send()
        .await
        .context_chain("listing the topic's subscriptions")?
        .subscriptions
        .unwrap_or_default();
    let subscribed = subscriptions
        .iter()
        .any(|s| s.protocol() == Some("lambda") && s.endpoint() == Some(function_arn.as_str()));
    if !subscribed {
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("lambda")
            .endpoint(&function_arn)
            .send()
            .await
            .context_chain(format!("subscribing {function} to the topic"))?;
    }
    let lambda = aws_sdk_lambda::Client::new(config);
    let policy = lambda.get_policy().function_name(function).send().await;
    let allowed = policy.is_ok_and(|p| p.policy.unwrap_or_default().contains(SNS_PERMISSION));
    if !allowed {
        lambda
            .add_permission()
            .function_name(function)
            .statement_id(SNS_PERMISSION)
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com")
            .source_arn(topic_arn)
            .send()
            .await
            .context_chain(format!("letting the topic invoke {function}"))?;
    }
    Ok(!subscribed || !allowed)
}

/// What of an alarm a deploy compares, to say whether the learner's definition changed it.
fn alarm_settings(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        alarm.metric_name(),
        alarm.namespace(),
        alarm.dimensions(),
        alarm.statistic(),
        alarm.period(),
        alarm.evaluation_periods(),
        alarm.datapoints_to_alarm(),
        alarm.threshold(),
        alarm.comparison_operator(),
        alarm.treat_missing_data(),
        alarm.alarm_actions(),
    )
}

/// The learner's alarms as CloudWatch has them now, by name: each one's settings and ARN.
async fn described(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    naming: &Naming,
) -> Result<HashMap<String, (String, String)>> {
    let names: Vec<String> = ALARMS.iter().map(|alarm| naming.watch(alarm)).collect();
    let alarms = cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names))
        .send()
        .await
        .context_chain("describing the alarms")?;
    Ok(alarms
        .metric_alarms
        .unwrap_or_default()
        .iter()
        .map(|alarm| {
            let name = alarm.alarm_name().unwrap_or_default().to_owned();
            (
                name,
                (alarm_settings(alarm), alarm.alarm_arn().unwrap_or_default().to_owned()),
            )
        })
        .collect())
}

/// The learner's alarms put by their own tool, then tagged; created, updated (its definition changed) or unchanged.
async fn ensure_alarms(
    config: &SdkConfig,
    naming: &Naming,
    topic_arn: &str,
    tool: &Path,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Change>> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    let before = described(&cloudwatch, naming).await?;
    tools::ensure_alarms(tool, naming, topic_arn, config.endpoint_url())?;
    let after = described(&cloudwatch, naming).await?;
    let mut changes = vec![];
    for alarm in ALARMS {
        let name = naming.watch(alarm);
        let Some((settings, arn)) = after.get(&name) else {
            bail!("step 6's `ensure-alarms` ran, but CloudWatch has no alarm {name}: the deploy looks for {ALARMS:?}");
        };
        let present: HashMap<String, String> = cloudwatch
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .context_chain(format!("reading the tags of {name}"))?
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|tag| (tag.key.unwrap_or_default(), tag.value.unwrap_or_default()))
            .collect();
        let missing = missing_tags(tags, &present);
        if !missing.is_empty() {
            let tags = missing
                .iter()
                .map(|(key, value)| aws_sdk_cloudwatch::types::Tag::builder().key(key).value(value).build())
                .collect();
            cloudwatch
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .context_chain(format!("tagging {name}"))?;
        }
        let action = match before.get(&name) {
            None => Action::Created,
            Some((old, _)) if old != settings || !missing.is_empty() => Action::Updated,
            Some(_) => Action::Unchanged,
        };
        changes.push(change(ResourceKind::Alarm, name, action));
    }
    Ok(changes)
}
