//! Finding a learner's resources in an account: by their names and by their tags, so that a deploy that failed
//! half-way is found as well as a whole one, and another learner's resources never are.

use anyhow::Result;
use aws_config::SdkConfig;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

use crate::aws::{ErrorContext, region_of, s3_client};
use crate::control::guard::EXPIRES_AT_TAG;
use crate::naming::Naming;
use crate::stages::{GUARD, ResourceKind};

/// One resource of the learner's, as found in the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub kind: ResourceKind,
    pub name: String,
    /// What deletes it: a mapping's UUID; otherwise the name.
    pub id: String,
    pub state: String,
    /// When it was made (RFC 3339), where its service says (Lambda keeps only when a function or mapping was last
    /// modified: `None` for those).
    pub created: Option<String>,
    /// Its `expires-at` tag, if it carries one (log groups, made by Lambda, carry none).
    pub expires_at: Option<String>,
    /// Open shards, for a stream (what its price is per hour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<i32>,
}

impl Found {
    pub fn new(kind: ResourceKind, name: String, state: impl Into<String>) -> Found {
        Found {
            kind,
            id: name.clone(),
            name,
            state: state.into(),
            created: None,
            expires_at: None,
            shards: None,
        }
    }
}

/// The `expires-at` tag among a resource's tags.
fn expiry_of(tags: &HashMap<String, String>) -> Option<String> {
    tags.get(EXPIRES_AT_TAG).cloned()
}

/// A time from the SDK as RFC 3339.
fn rfc3339(time: &aws_sdk_kinesis::primitives::DateTime) -> Option<String> {
    time.fmt(aws_sdk_kinesis::primitives::DateTimeFormat::DateTime).ok()
}

pub fn tags_map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// Every resource of the learner's in the account and region: by its names (`Naming::owns_name`), and by tags. IAM
/// roles are found by name and by being a found function's role (checking every role's tags in a shared account
/// would take hundreds of calls).
pub async fn discover(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let mut found = discover_streams(config, naming).await?;
    let functions = discover_functions(config, naming).await?;
    found.extend(discover_mappings(config, naming, &functions.arns).await?);
    found.extend(discover_delivery_streams(config, naming).await?);
    found.extend(discover_roles(config, naming, &functions.roles).await?);
    found.extend(functions.found);
    found.extend(discover_buckets(config, naming).await?);
    found.extend(discover_log_groups(config, naming).await?);
    found.extend(discover_schedules(config, naming).await?);
    found.extend(discover_alarms(config, naming).await?);
    found.extend(discover_topics(config, naming).await?);
    found.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(found)
}

async fn discover_streams(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    for name in stream_names(&kinesis).await? {
        let tags = kinesis
            .list_tags_for_stream()
            .stream_name(&name)
            .send()
            .await
            .map(|t| tags_map(t.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default()))))
            .ok();
        let owned = by_name(&name) || tags.as_ref().is_some_and(|tags| naming.owns(&name, tags));
        if owned {
            let summary = kinesis
                .describe_stream_summary()
                .stream_name(&name)
                .send()
                .await
                .ok()
                .and_then(|s| s.stream_description_summary);
            let state = summary.as_ref().map_or("unknown".to_owned(), |s| {
                format!("{}, {} open shards", s.stream_status, s.open_shard_count)
            });
            let mut stream = Found::new(ResourceKind::Stream, name, state);
            stream.created = summary.as_ref().and_then(|s| rfc3339(&s.stream_creation_timestamp));
            stream.shards = summary.as_ref().map(|s| s.open_shard_count);
            stream.expires_at = tags.as_ref().and_then(expiry_of);
            found.push(stream);
        }
    }

    Ok(found)
}

/// Every stream's name. Paged by the last name seen (`ExclusiveStartStreamName`), not by `NextToken`: moto answers
/// `HasMoreStreams` with no token, and the SDK's paginator would stop after the first page (AWS accepts both).
async fn stream_names(kinesis: &aws_sdk_kinesis::Client) -> Result<Vec<String>> {
    let mut names: Vec<String> = vec![];
    loop {
        let page = kinesis
            .list_streams()
            .set_exclusive_start_stream_name(names.last().cloned())
            .send()
            .await
            .context_chain("listing streams")?;
        let more = page.has_more_streams && !page.stream_names.is_empty();
        names.extend(page.stream_names);
        if !more {
            return Ok(names);
        }
    }
}

/// The learner's functions, with their roles and ARNs (what finds the roles and the mappings).
struct Functions {
    found: Vec<Found>,
    roles: HashSet<String>,
    arns: HashSet<String>,
}

async fn discover_functions(config: &SdkConfig, naming: &Naming) -> Result<Functions> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    let functions: Vec<_> = lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context_chain("listing functions")?;
    let mut function_roles = HashSet::new();
    let mut function_arns = HashSet::new();
    for function in functions {
        let name = function.function_name().unwrap_or_default().to_owned();
        let arn = function.function_arn().unwrap_or_default().to_owned();
        let tags = lambda
            .list_tags()
            .resource(&arn)
            .send()
            .await
            .ok()
            .map(|t| t.tags.unwrap_or_default());
        let owned = by_name(&name) || tags.as_ref().is_some_and(|tags| naming.owns(&name, tags));
        if owned {
            if let Some(role) = function.role() {
                function_roles.insert(role.rsplit('/').next().unwrap_or(role).to_owned());
            }
            function_arns.insert(arn);
            // ListFunctions leaves the state out; GetFunctionConfiguration has it.
            let state = lambda
                .get_function_configuration()
                .function_name(&name)
                .send()
                .await
                .ok()
                .and_then(|c| c.state().map(|s| s.as_str().to_owned()))
                .unwrap_or_else(|| "unknown".to_owned());
            let mut function = Found::new(ResourceKind::Function, name, state);
            function.expires_at = tags.as_ref().and_then(expiry_of);
            found.push(function);
        }
    }
    Ok(Functions {
        found,
        roles: function_roles,
        arns: function_arns,
    })
}

async fn discover_mappings(config: &SdkConfig, naming: &Naming, function_arns: &HashSet<String>) -> Result<Vec<Found>> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    let mappings: Vec<_> = lambda
        .list_event_source_mappings()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context_chain("listing event source mappings")?;
    for mapping in mappings {
        let function_arn = mapping.function_arn().unwrap_or_default();
        let function = function_arn.rsplit(':').next().unwrap_or_default();
        if function_arns.contains(function_arn) || by_name(function) {
            let source = mapping.event_source_arn().unwrap_or_default();
            let name = format!("{} -> {function}", source.rsplit('/').next().unwrap_or(source));
            let state = format!(
                "{}{}",
                mapping.state().unwrap_or("unknown"),
                mapping
                    .last_processing_result()
                    .map_or_else(String::new, |r| format!(", last batch: {r}"))
            );
            let mut found_mapping = Found::new(ResourceKind::Mapping, name, state);
            found_mapping.id = mapping.uuid().unwrap_or_default().to_owned();
            if let Some(arn) = mapping.event_source_mapping_arn() {
                let tags = lambda.list_tags().resource(arn).send().await.ok();
                found_mapping.expires_at = tags.and_then(|t| expiry_of(&t.tags.unwrap_or_default()));
            }
            found.push(found_mapping);
        }
    }

    Ok(found)
}

async fn discover_delivery_streams(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let firehose = aws_sdk_firehose::Client::new(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    let mut delivery_streams = vec![];
    let mut start: Option<String> = None;
    loop {
        let page = firehose
            .list_delivery_streams()
            .set_exclusive_start_delivery_stream_name(start.clone())
            .send()
            .await
            .context_chain("listing delivery streams")?;
        start = page.delivery_stream_names.last().cloned();
        delivery_streams.extend(page.delivery_stream_names);
        if !page.has_more_delivery_streams || start.is_none() {
            break;
        }
    }
    for name in delivery_streams {
        let tags = firehose
            .list_tags_for_delivery_stream()
            .delivery_stream_name(&name)
            .send()
            .await
            .ok()
            .map(|t| tags_map(t.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default()))));
        let owned = by_name(&name) || tags.as_ref().is_some_and(|tags| naming.owns(&name, tags));
        if owned {
            let description = firehose
                .describe_delivery_stream()
                .delivery_stream_name(&name)
                .send()
                .await
                .ok()
                .and_then(|d| d.delivery_stream_description);
            let state = description
                .as_ref()
                .map_or("unknown".to_owned(), |d| d.delivery_stream_status.as_str().to_owned());
            let mut delivery = Found::new(ResourceKind::DeliveryStream, name, state);
            delivery.created = description
                .as_ref()
                .and_then(|d| d.create_timestamp.as_ref().and_then(rfc3339));
            delivery.expires_at = tags.as_ref().and_then(expiry_of);
            found.push(delivery);
        }
    }

    Ok(found)
}

async fn discover_roles(config: &SdkConfig, naming: &Naming, function_roles: &HashSet<String>) -> Result<Vec<Found>> {
    let iam = aws_sdk_iam::Client::new(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    let roles: Vec<_> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context_chain("listing roles")?;
    for role in roles {
        let name = role.role_name;
        let candidate = by_name(&name) || function_roles.contains(&name);
        if !candidate {
            continue;
        }
        let tags = iam
            .list_role_tags()
            .role_name(&name)
            .send()
            .await
            .ok()
            .map(|t| tags_map(t.tags.into_iter().map(|t| (t.key, t.value))));
        if by_name(&name) || tags.as_ref().is_some_and(|tags| naming.owns(&name, tags)) {
            let mut found_role = Found::new(ResourceKind::Role, name, "exists");
            found_role.created = rfc3339(&role.create_date);
            found_role.expires_at = tags.as_ref().and_then(expiry_of);
            found.push(found_role);
        }
    }

    Ok(found)
}

async fn discover_buckets(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let s3 = s3_client(config);
    let mut found = vec![];
    let by_name = |name: &str| naming.owns_name(name);
    // Buckets of this region only: the rest of the deployment is regional, and a bucket elsewhere is deleted there.
    let buckets = s3
        .list_buckets()
        .bucket_region(region_of(config))
        .send()
        .await
        .context_chain("listing buckets")?
        .buckets
        .unwrap_or_default();
    for bucket in buckets {
        let name = bucket.name.unwrap_or_default();
        let tags = s3
            .get_bucket_tagging()
            .bucket(&name)
            .send()
            .await
            .ok()
            .map(|t| tags_map(t.tag_set.into_iter().map(|t| (t.key, t.value))));
        if by_name(&name) || tags.as_ref().is_some_and(|tags| naming.owns(&name, tags)) {
            let mut found_bucket = Found::new(ResourceKind::Bucket, name, "exists");
            found_bucket.created = bucket.creation_date.as_ref().and_then(rfc3339);
            found_bucket.expires_at = tags.as_ref().and_then(expiry_of);
            found.push(found_bucket);
        }
    }
    Ok(found)
}

/// Where Lambda writes a function's logs: <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html>
pub const LAMBDA_LOG_GROUP_PREFIX: &str = "/aws/lambda/";

/// The log groups of the learner's functions, by their names (`/aws/lambda/<function>`): Lambda makes them
/// untagged, and they outlive their functions, so the names are what finds them.
async fn discover_log_groups(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    if naming.learner().is_none() {
        return Ok(vec![]);
    }
    let groups = crate::logs::Logs::new(config)
        .describe_log_groups(&format!("{LAMBDA_LOG_GROUP_PREFIX}{}", naming.prefix()))
        .await
        .context_chain("listing log groups")?;
    Ok(groups
        .into_iter()
        .map(|group| (group.name, group.created))
        .filter(|(name, _)| {
            name.strip_prefix(LAMBDA_LOG_GROUP_PREFIX)
                .is_some_and(|function| naming.owns_name(function))
        })
        .map(|(name, created)| {
            let mut group = Found::new(ResourceKind::LogGroup, name, "exists");
            group.created = created
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            group
        })
        .collect())
}

/// The learner's clean-up schedule, by its name (EventBridge Scheduler's schedules carry no tags).
async fn discover_schedules(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    if naming.learner().is_none() {
        return Ok(vec![]);
    }
    let scheduler = aws_sdk_scheduler::Client::new(config);
    let name = naming.function(GUARD);
    match scheduler.get_schedule().name(&name).send().await {
        Ok(schedule) => {
            let state = format!(
                "{}, {}",
                schedule.state().map_or("unknown", |s| s.as_str()),
                schedule.schedule_expression().unwrap_or_default()
            );
            let mut found = Found::new(ResourceKind::Schedule, name, state);
            found.created = schedule.creation_date().and_then(rfc3339);
            found.expires_at = schedule.schedule_expression().and_then(expiry_of_expression);
            Ok(vec![found])
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(vec![])
        }
        Err(error) => Err(error).context_chain("reading the clean-up schedule"),
    }
}

/// `at(2026-12-06T16:41:00)` (UTC) as `2026-12-06T16:41:00Z`.
fn expiry_of_expression(expression: &str) -> Option<String> {
    let time = expression.strip_prefix("at(")?.strip_suffix(')')?;
    Some(format!("{time}Z"))
}

/// The learner's CloudWatch alarms (step 6), by name or by tags.
async fn discover_alarms(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    let alarms: Vec<_> = cloudwatch
        .describe_alarms()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .context_chain("listing alarms")?;
    let mut found = vec![];
    for alarm in alarms
        .into_iter()
        .flat_map(|page| page.metric_alarms.unwrap_or_default())
    {
        let name = alarm.alarm_name().unwrap_or_default().to_owned();
        let owned = naming.owns_name(&name) || {
            let arn = alarm.alarm_arn().unwrap_or_default();
            let tags = cloudwatch.list_tags_for_resource().resource_arn(arn).send().await;
            tags.is_ok_and(|t| {
                let pairs = t
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()));
                naming.owns(&name, &tags_map(pairs))
            })
        };
        if owned {
            let state = alarm.state_value().map_or("unknown", |s| s.as_str()).to_owned();
            found.push(Found::new(ResourceKind::Alarm, name, state));
        }
    }
    Ok(found)
}

/// The learner's SNS topics (step 6), by name or by tags; each with its subscriptions' count.
async fn discover_topics(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let sns = aws_sdk_sns::Client::new(config);
    let topics: Vec<_> = sns
        .list_topics()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context_chain("listing topics")?;
    let mut found = vec![];
    for arn in topics.into_iter().filter_map(|topic| topic.topic_arn) {
        let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
        let owned = naming.owns_name(&name) || {
            let tags = sns.list_tags_for_resource().resource_arn(&arn).send().await;
            tags.is_ok_and(|t| {
                naming.owns(
                    &name,
                    &tags_map(t.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value))),
                )
            })
        };
        if owned {
            let subscriptions = sns.list_subscriptions_by_topic().topic_arn(&arn).send().await;
            let state = subscriptions.map_or("unknown".to_owned(), |s| {
                format!("{} subscriptions", s.subscriptions.unwrap_or_default().len())
            });
            let mut topic = Found::new(ResourceKind::Topic, name, state);
            // A topic is deleted by its ARN.
            topic.id = arn;
            found.push(topic);
        }
    }
    Ok(found)
}
