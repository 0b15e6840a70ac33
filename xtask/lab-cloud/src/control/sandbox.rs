//! A learner's own deployment, in a sandbox AWS account or on the local cloud (the same code; the endpoint
//! decides): what a deploy will make and roughly cost, what exists and what flows, checking a deployed stage for
//! real, invoking the deployed producer, and removing everything a learner made.
//!
//! Resources are found by their learner's name prefix and by their tags, so a deploy that failed half-way is
//! found and removed as well as a whole one; another learner's resources in the same account are never touched.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::aws::{account, error_chain, region_of, s3_client, wait_for};
use crate::control::deploy::MappingSpec;
use crate::naming::{ANALYTICS_PREFIX, FIREHOSE_PREFIX, Naming};
use crate::readback::{objects, positions, stream_ids};
use crate::runtime::lambda_host::{LambdaHost, Outcome, function_spec};
use crate::stages::{
    self, ANALYTICS, CONSUMER, FIREHOSE_ROLE, FunctionStage, PRODUCER, PRODUCER_TIMEOUT_SECONDS, ResourceKind,
};

/// One resource of the learner's, as found in the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub kind: ResourceKind,
    pub name: String,
    /// What deletes it: a mapping's UUID; otherwise the name.
    pub id: String,
    pub state: String,
}

/// One resource a deploy of some stage makes, whether it exists already, and what it costs.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub stage: u8,
    pub kind: ResourceKind,
    pub name: String,
    pub exists: bool,
    pub cost: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub account_id: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub learner: String,
    pub resources: Vec<Planned>,
}

/// Rough prices, us-east-1 on-demand list prices (late 2026). Only the stream costs anything while idle.
const STREAM_COST: &str = "$0.015 per shard-hour (step 1 asks for 2: $0.03/hour, $0.72/day) + $0.014 per million puts";
const FUNCTION_COST: &str = "nothing idle; $0.20 per million requests + $0.0000133 per GB-second";
const FREE: &str = "nothing";
const BUCKET_COST: &str = "$0.023 per GB-month stored (a lab run stores under 1 MB)";
const FIREHOSE_COST: &str = "nothing idle; $0.029 per GB delivered";
/// What the whole workshop costs per hour while it sits deployed and idle: the stream's two shards.
pub const IDLE_COST_PER_HOUR: &str =
    "about $0.03 an hour in AWS (the stream's 2 shards), data flowing or not; `cargo xtask destroy` removes it all";

/// What `deploy` of stages 1..=stage will make (by [`STAGES`], in the deploy's order), and which of it exists.
pub async fn plan(config: &SdkConfig, naming: &Naming, stage: u8) -> Result<Plan> {
    let (account_id, region) = account(config).await?;
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let mut resources = vec![];
    let stream = naming.stream();
    let exists = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .is_ok();
    resources.push(planned(1, ResourceKind::Stream, stream, exists, STREAM_COST));
    if let Some(first) = stages::up_to(stage).find(|s| s.bucket) {
        let bucket = naming.bucket(&account_id, &region);
        let exists = s3_client(config).head_bucket().bucket(&bucket).send().await.is_ok();
        resources.push(planned(first.number, ResourceKind::Bucket, bucket, exists, BUCKET_COST));
    }
    for planned_stage in stages::up_to(stage).filter(|s| s.number > 1) {
        match &planned_stage.function {
            Some(function) => resources.extend(plan_function(config, naming, planned_stage.number, function).await),
            None => resources.extend(plan_delivery(config, naming, planned_stage.number).await),
        }
    }
    Ok(Plan {
        account_id,
        region,
        endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
        learner: naming.learner().unwrap_or("-").to_owned(),
        resources,
    })
}

/// A function's role, the function, and its mapping.
async fn plan_function(config: &SdkConfig, naming: &Naming, stage: u8, function: &FunctionStage) -> Vec<Planned> {
    let iam = aws_sdk_iam::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let role = naming.role(function.role);
    let exists = iam.get_role().role_name(&role).send().await.is_ok();
    let mut resources = vec![planned(stage, ResourceKind::Role, role, exists, FREE)];
    let name = naming.function(function.name);
    let exists = lambda.get_function().function_name(&name).send().await.is_ok();
    resources.push(planned(
        stage,
        ResourceKind::Function,
        name.clone(),
        exists,
        FUNCTION_COST,
    ));
    if function.mapping.is_some() {
        let mapped = exists
            && lambda
                .list_event_source_mappings()
                .function_name(&name)
                .send()
                .await
                .is_ok_and(|m| !m.event_source_mappings().is_empty());
        let mapping = format!("{} -> {name}", naming.stream());
        resources.push(planned(stage, ResourceKind::Mapping, mapping, mapped, FREE));
    }
    resources
}

/// Firehose's role and the delivery stream.
async fn plan_delivery(config: &SdkConfig, naming: &Naming, stage: u8) -> Vec<Planned> {
    let role = naming.role(FIREHOSE_ROLE);
    let exists = aws_sdk_iam::Client::new(config)
        .get_role()
        .role_name(&role)
        .send()
        .await
        .is_ok();
    let delivery = naming.delivery_stream();
    let delivery_exists = aws_sdk_firehose::Client::new(config)
        .describe_delivery_stream()
        .delivery_stream_name(&delivery)
        .send()
        .await
        .is_ok();
    vec![
        planned(stage, ResourceKind::Role, role, exists, FREE),
        planned(
            stage,
            ResourceKind::DeliveryStream,
            delivery,
            delivery_exists,
            FIREHOSE_COST,
        ),
    ]
}

fn planned(stage: u8, kind: ResourceKind, name: String, exists: bool, cost: &'static str) -> Planned {
    Planned {
        stage,
        kind,
        name,
        exists,
        cost,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Account {}, region {}, learner {}",
            self.account_id, self.region, self.learner
        )?;
        if let Some(endpoint) = &self.endpoint {
            writeln!(f, "Endpoint {endpoint} (from AWS_ENDPOINT_URL)")?;
        }
        for resource in &self.resources {
            writeln!(
                f,
                "  {:<6} {:<25} {:<45} {}",
                if resource.exists { "keep" } else { "create" },
                resource.kind.to_string(),
                resource.name,
                resource.cost
            )?;
        }
        write!(f, "Cost: {IDLE_COST_PER_HOUR}.")
    }
}

/// Asks a yes/no question on the terminal; refuses to guess when nobody is there to answer.
pub fn confirm(question: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("{question} — nobody can answer on this input; pass --yes to go ahead without asking");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn tags_map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// Every resource of the learner's in the account and region: by its names (`Naming::owns_name`), and by tags. IAM
/// roles are found by name and by being a found function's role (checking every role's tags in a shared account
/// would take hundreds of calls).
pub async fn discover(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    let mut found = vec![];
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let firehose = aws_sdk_firehose::Client::new(config);
    let s3 = s3_client(config);
    let by_name = |name: &str| naming.owns_name(name);

    let pages: Vec<_> = kinesis
        .list_streams()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing streams: {}", error_chain(&e)))?;
    let streams: Vec<String> = pages.into_iter().flat_map(|page| page.stream_names).collect();
    for name in streams {
        let owned = by_name(&name) || {
            let tags = kinesis.list_tags_for_stream().stream_name(&name).send().await;
            tags.is_ok_and(|t| {
                naming.owns(
                    &name,
                    &tags_map(t.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default()))),
                )
            })
        };
        if owned {
            let state = kinesis
                .describe_stream_summary()
                .stream_name(&name)
                .send()
                .await
                .ok()
                .and_then(|s| s.stream_description_summary)
                .map_or("unknown".to_owned(), |s| {
                    format!("{}, {} open shards", s.stream_status, s.open_shard_count)
                });
            found.push(Found {
                kind: ResourceKind::Stream,
                id: name.clone(),
                name,
                state,
            });
        }
    }

    let functions: Vec<_> = lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing functions: {}", error_chain(&e)))?;
    let mut function_roles = HashSet::new();
    let mut function_arns = HashSet::new();
    for function in functions {
        let name = function.function_name().unwrap_or_default().to_owned();
        let arn = function.function_arn().unwrap_or_default().to_owned();
        let owned = by_name(&name) || {
            let tags = lambda.list_tags().resource(&arn).send().await;
            tags.is_ok_and(|t| naming.owns(&name, &t.tags.unwrap_or_default()))
        };
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
            found.push(Found {
                kind: ResourceKind::Function,
                id: name.clone(),
                name,
                state,
            });
        }
    }
    let mappings: Vec<_> = lambda
        .list_event_source_mappings()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing event source mappings: {}", error_chain(&e)))?;
    for mapping in mappings {
        let function_arn = mapping.function_arn().unwrap_or_default();
        let function = function_arn.rsplit(':').next().unwrap_or_default();
        if function_arns.contains(function_arn) || by_name(function) {
            let source = mapping.event_source_arn().unwrap_or_default();
            found.push(Found {
                kind: ResourceKind::Mapping,
                name: format!("{} -> {function}", source.rsplit('/').next().unwrap_or(source)),
                id: mapping.uuid().unwrap_or_default().to_owned(),
                state: format!(
                    "{}{}",
                    mapping.state().unwrap_or("unknown"),
                    mapping
                        .last_processing_result()
                        .map_or_else(String::new, |r| format!(", last batch: {r}"))
                ),
            });
        }
    }

    let mut delivery_streams = vec![];
    let mut start: Option<String> = None;
    loop {
        let page = firehose
            .list_delivery_streams()
            .set_exclusive_start_delivery_stream_name(start.clone())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("listing delivery streams: {}", error_chain(&e)))?;
        start = page.delivery_stream_names.last().cloned();
        delivery_streams.extend(page.delivery_stream_names);
        if !page.has_more_delivery_streams || start.is_none() {
            break;
        }
    }
    for name in delivery_streams {
        let owned = by_name(&name) || {
            let tags = firehose
                .list_tags_for_delivery_stream()
                .delivery_stream_name(&name)
                .send()
                .await;
            tags.is_ok_and(|t| {
                naming.owns(
                    &name,
                    &tags_map(t.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default()))),
                )
            })
        };
        if owned {
            let state = firehose
                .describe_delivery_stream()
                .delivery_stream_name(&name)
                .send()
                .await
                .ok()
                .and_then(|d| d.delivery_stream_description)
                .map_or("unknown".to_owned(), |d| d.delivery_stream_status.as_str().to_owned());
            found.push(Found {
                kind: ResourceKind::DeliveryStream,
                id: name.clone(),
                name,
                state,
            });
        }
    }

    let roles: Vec<_> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing roles: {}", error_chain(&e)))?;
    for role in roles {
        let name = role.role_name;
        let owned = by_name(&name)
            || (function_roles.contains(&name) && {
                let tags = iam.list_role_tags().role_name(&name).send().await;
                tags.is_ok_and(|t| naming.owns(&name, &tags_map(t.tags.into_iter().map(|t| (t.key, t.value)))))
            });
        if owned {
            found.push(Found {
                kind: ResourceKind::Role,
                id: name.clone(),
                name,
                state: "exists".to_owned(),
            });
        }
    }

    // Buckets of this region only: the rest of the deployment is regional, and a bucket elsewhere is deleted there.
    let buckets = s3
        .list_buckets()
        .bucket_region(region_of(config))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("listing buckets: {}", error_chain(&e)))?
        .buckets
        .unwrap_or_default();
    for bucket in buckets {
        let name = bucket.name.unwrap_or_default();
        let owned = by_name(&name) || {
            let tags = s3.get_bucket_tagging().bucket(&name).send().await;
            tags.is_ok_and(|t| naming.owns(&name, &tags_map(t.tag_set.into_iter().map(|t| (t.key, t.value)))))
        };
        if owned {
            found.push(Found {
                kind: ResourceKind::Bucket,
                id: name.clone(),
                name,
                state: "exists".to_owned(),
            });
        }
    }
    found.extend(discover_log_groups(config, naming).await?);
    found.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(found)
}

/// Where Lambda writes a function's logs: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
pub const LAMBDA_LOG_GROUP_PREFIX: &str = "/aws/lambda/";

/// The log groups of the learner's functions, by their names (`/aws/lambda/<function>`): Lambda makes them
/// untagged, and they outlive their functions, so the names are what finds them.
async fn discover_log_groups(config: &SdkConfig, naming: &Naming) -> Result<Vec<Found>> {
    if naming.learner().is_none() {
        return Ok(vec![]);
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let groups: Vec<_> = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("{LAMBDA_LOG_GROUP_PREFIX}{}", naming.prefix()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing log groups: {}", error_chain(&e)))?;
    Ok(groups
        .into_iter()
        .filter_map(|group| group.log_group_name)
        .filter(|name| {
            name.strip_prefix(LAMBDA_LOG_GROUP_PREFIX)
                .is_some_and(|function| naming.owns_name(function))
        })
        .map(|name| Found {
            kind: ResourceKind::LogGroup,
            id: name.clone(),
            name,
            state: "exists".to_owned(),
        })
        .collect())
}

/// Removes every resource of the learner's (`discover`), users before what they use, and returns what remains.
pub async fn destroy(config: &SdkConfig, naming: &Naming, found: &[Found]) -> Result<Vec<Found>> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let firehose = aws_sdk_firehose::Client::new(config);
    let s3 = s3_client(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    for resource in found {
        let outcome: Result<()> = match resource.kind {
            ResourceKind::Mapping => lambda
                .delete_event_source_mapping()
                .uuid(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::Function => lambda
                .delete_function()
                .function_name(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::DeliveryStream => {
                let deleted = firehose
                    .delete_delivery_stream()
                    .delivery_stream_name(&resource.id)
                    .allow_force_delete(true)
                    .send()
                    .await;
                match deleted {
                    // Firehose may still write an object while it shuts down: wait, so the bucket is emptied last.
                    Ok(_) => wait_for(Duration::from_secs(180), || async {
                        firehose
                            .describe_delivery_stream()
                            .delivery_stream_name(&resource.id)
                            .send()
                            .await
                            .is_err_and(|e| {
                                e.as_service_error()
                                    .is_some_and(|e| e.is_resource_not_found_exception())
                            })
                    })
                    .await
                    .context("the delivery stream is still being deleted"),
                    Err(e) => Err(anyhow::anyhow!(error_chain(&e))),
                }
            }
            ResourceKind::Stream => kinesis
                .delete_stream()
                .stream_name(&resource.id)
                .enforce_consumer_deletion(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::LogGroup => logs
                .delete_log_group()
                .log_group_name(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::Role => delete_role(&iam, &resource.id).await,
            ResourceKind::Bucket => empty_and_delete_bucket(&s3, &resource.id).await,
        };
        match outcome {
            Ok(()) => println!("  deleted {} {}", resource.kind, resource.name),
            Err(error) => println!("  could not delete {} {}: {error:#}", resource.kind, resource.name),
        }
    }
    // Streams take a moment to go (DELETING); what remains is what is there once they have.
    for stream in found.iter().filter(|r| r.kind == ResourceKind::Stream) {
        let _ = wait_for(Duration::from_secs(120), || async {
            kinesis
                .describe_stream_summary()
                .stream_name(&stream.id)
                .send()
                .await
                .is_err_and(|e| {
                    e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception())
                })
        })
        .await;
    }
    discover(config, naming).await
}

async fn delete_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<()> {
    let inline = iam.list_role_policies().role_name(name).send().await?;
    for policy in inline.policy_names {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await?;
    }
    let attached = iam.list_attached_role_policies().role_name(name).send().await?;
    for policy in attached.attached_policies.unwrap_or_default() {
        if let Some(arn) = policy.policy_arn {
            iam.detach_role_policy().role_name(name).policy_arn(arn).send().await?;
        }
    }
    iam.delete_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    Ok(())
}

/// A bucket must be empty to be deleted: every object version and delete marker goes first.
async fn empty_and_delete_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    loop {
        let listing = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("listing {bucket}: {}", error_chain(&e)))?;
        let mut identifiers = vec![];
        for version in listing.versions.unwrap_or_default() {
            identifiers.push((version.key, version.version_id));
        }
        for marker in listing.delete_markers.unwrap_or_default() {
            identifiers.push((marker.key, marker.version_id));
        }
        if identifiers.is_empty() {
            break;
        }
        let objects = identifiers
            .into_iter()
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key)
                    .set_version_id(version.filter(|v| v != "null"))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let deleted = s3
            .delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(objects)).quiet(true).build()?)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("emptying {bucket}: {}", error_chain(&e)))?;
        // DeleteObjects answers 200 and lists the keys it could not delete; listing them again would loop forever.
        if let Some(error) = deleted.errors().first() {
            bail!(
                "emptying {bucket}: {} of its objects could not be deleted, {:?} first: {}",
                deleted.errors().len(),
                error.key().unwrap_or_default(),
                error.message().unwrap_or_default()
            );
        }
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    Ok(())
}

/// What exists and what flows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub resources: Vec<Found>,
    /// Records in the stream now (within its retention), counted up to `RECORDS_COUNTED_AT_MOST`.
    pub records_in_stream: Option<u64>,
    /// Objects and bytes in the bucket, by top-level prefix (`telemetry/`, `analytics/`, `aws/` for failed batches).
    pub objects: BTreeMap<String, (u64, u64)>,
}

pub const RECORDS_COUNTED_AT_MOST: usize = 100_000;

pub async fn status(config: &SdkConfig, naming: &Naming) -> Result<Status> {
    let resources = discover(config, naming).await?;
    let mut records_in_stream = None;
    if let Some(stream) = resources
        .iter()
        .find(|r| r.kind == ResourceKind::Stream && r.state.starts_with("ACTIVE"))
    {
        let arn = aws_sdk_kinesis::Client::new(config)
            .describe_stream_summary()
            .stream_name(&stream.name)
            .send()
            .await?
            .stream_description_summary
            .context("no summary")?
            .stream_arn;
        records_in_stream = Some(stream_ids(config, &arn, None, RECORDS_COUNTED_AT_MOST).await?.len() as u64);
    }
    let mut objects = BTreeMap::new();
    let s3 = s3_client(config);
    for bucket in resources.iter().filter(|r| r.kind == ResourceKind::Bucket) {
        let mut pages = s3.list_objects_v2().bucket(&bucket.name).into_paginator().send();
        while let Some(page) = pages.next().await {
            for object in page
                .map_err(|e| anyhow::anyhow!(error_chain(&e)))?
                .contents
                .unwrap_or_default()
            {
                let key = object.key.unwrap_or_default();
                let top = key.split_once('/').map_or(key.as_str(), |(top, _)| top);
                let entry: &mut (u64, u64) = objects.entry(format!("{top}/")).or_default();
                entry.0 += 1;
                entry.1 += object.size.unwrap_or(0).max(0) as u64;
            }
        }
    }
    Ok(Status {
        resources,
        records_in_stream,
        objects,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resources.is_empty() {
            return write!(f, "Nothing of yours is deployed here.");
        }
        for resource in &self.resources {
            writeln!(
                f,
                "  {:<25} {:<50} {}",
                resource.kind.to_string(),
                resource.name,
                resource.state
            )?;
        }
        match self.records_in_stream {
            Some(n) if n as usize >= RECORDS_COUNTED_AT_MOST => writeln!(f, "Records in the stream: {n} or more")?,
            Some(n) => writeln!(f, "Records in the stream: {n}")?,
            None => {}
        }
        for (prefix, (count, bytes)) in &self.objects {
            let what = match prefix.as_str() {
                FIREHOSE_PREFIX => "delivered by Firehose",
                ANALYTICS_PREFIX => "window results",
                "aws/" => "failed batches (on-failure destination)",
                _ => "other",
            };
            writeln!(f, "Objects under {prefix:<11} {count:>6} ({bytes} bytes; {what})")?;
        }
        write!(f, "Cost: {IDLE_COST_PER_HOUR}.")
    }
}

/// How a deployed function is invoked: by Lambda in AWS, or by the local Lambda host (moto keeps the function's
/// configuration; the executable the deploy installed runs here).
pub enum Invoker {
    Aws(aws_sdk_lambda::Client),
    Local {
        lambda: aws_sdk_lambda::Client,
        host: LambdaHost,
        functions: PathBuf,
        logs: PathBuf,
        environment: Vec<(String, String)>,
    },
}

impl Invoker {
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value> {
        match self {
            Invoker::Aws(lambda) => {
                let output = lambda
                    .invoke()
                    .function_name(function)
                    .payload(Blob::new(serde_json::to_vec(payload)?))
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("invoking {function}: {}", error_chain(&e)))?;
                let body: Value = output
                    .payload
                    .as_ref()
                    .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                    .unwrap_or(Value::Null);
                if let Some(error) = output.function_error {
                    bail!("{function} failed ({error}): {body}");
                }
                Ok(body)
            }
            Invoker::Local {
                lambda,
                host,
                functions,
                logs,
                environment,
            } => {
                let spec = function_spec(lambda, function, functions, logs, environment).await?;
                match host.invoke(&spec, payload).await {
                    Outcome::Response(body) => Ok(body),
                    other => {
                        let (error_type, message) = other.error().unwrap_or_default();
                        bail!(
                            "{function} failed ({error_type}): {message}; its log: {}",
                            spec.log_file.display()
                        )
                    }
                }
            }
        }
    }

    /// What shows that a mapped function processes its batches. Locally: its log was written since `since`. In AWS
    /// (whose logs are in CloudWatch): its mapping's LastProcessingResult, the result of its latest batch — a
    /// statement about the latest batch, which may or may not hold records put since `since`.
    async fn batches(&self, function: &str, since: SystemTime) -> Result<Batches> {
        match self {
            Invoker::Aws(lambda) => {
                let mappings = lambda
                    .list_event_source_mappings()
                    .function_name(function)
                    .send()
                    .await?;
                let results: Vec<Option<&str>> = mappings
                    .event_source_mappings()
                    .iter()
                    .map(|m| m.last_processing_result())
                    .collect();
                Ok(Batches::from_last_processing_results(&results))
            }
            Invoker::Local { logs, .. } => {
                let ran = std::fs::metadata(logs.join(format!("{function}.log")))
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified >= since);
                Ok(if ran {
                    Batches::Processed
                } else {
                    Batches::NotProcessed("no invocation since the records were put".into())
                })
            }
        }
    }
}

/// The producer's request (step 2's `Request`): `records` at `per_second`, with time to spare but within the
/// function's timeout (so it stops by itself, having made them all, rather than at its deadline).
pub fn producer_request(records: u64, per_second: u64) -> Value {
    let per_second = per_second.clamp(1, 500);
    let longest = PRODUCER_TIMEOUT_SECONDS as u64 - 20;
    json!({
        "records_per_second": per_second,
        "max_records": records,
        "max_seconds": (records / per_second + 30).min(longest),
    })
}

/// What a mapped function's batches show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batches {
    Processed,
    /// A new mapping in AWS that has not read a batch yet: "it may take several minutes to start polling events
    /// from the stream" (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html, "Polling and stream
    /// starting positions"). Not a failure; the check can be run again.
    NotPollingYet,
    NotProcessed(String),
}

impl Batches {
    /// From the LastProcessingResult of the function's mappings: `OK` for one is enough; none yet (absent, or
    /// Lambda's initial "No records processed") is a mapping that has not polled yet; anything else (`PROBLEM: ...`)
    /// is a batch that was not processed.
    pub fn from_last_processing_results(results: &[Option<&str>]) -> Batches {
        if results.contains(&Some("OK")) {
            return Batches::Processed;
        }
        match results.iter().flatten().find(|r| **r != "No records processed") {
            Some(problem) => Batches::NotProcessed((*problem).to_owned()),
            None => Batches::NotPollingYet,
        }
    }
}

/// The outcome of one check: a mapping that has not started polling yet is neither a pass nor a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    NotYet,
}

/// One check of a deployed stage.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub stage: u8,
    pub what: String,
    pub verdict: Verdict,
    pub detail: String,
}

/// The checks made so far, each printed as it is made.
#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn record(&mut self, stage: u8, what: &str, passed: bool, detail: String) {
        let verdict = if passed { Verdict::Passed } else { Verdict::Failed };
        self.add(stage, what, verdict, detail);
    }

    fn add(&mut self, stage: u8, what: &str, verdict: Verdict, detail: String) {
        let mark = match verdict {
            Verdict::Passed => "✓",
            Verdict::Failed => "✗",
            Verdict::NotYet => "…",
        };
        let detail_text = if detail.is_empty() {
            String::new()
        } else {
            format!(" — {detail}")
        };
        println!("{mark} stage {stage}: {what}{detail_text}");
        self.checks.push(Check {
            stage,
            what: what.to_owned(),
            verdict,
            detail,
        });
    }
}

/// How long `check --deployed` waits for Firehose and the windows (AWS buffers for a minute by default).
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// How long a new mapping may take to read its first batch (minutes in AWS, moments locally).
    pub first_poll: Duration,
    pub delivery: Duration,
    pub window: Duration,
    /// The tumbling window the deploy gave the analysis' mapping, in seconds.
    pub window_seconds: i32,
}

/// Checks stages 1..=stage of the learner's deployment for real: resources in the right state and settings, and
/// data through them — records produced and read back, consumed, delivered as NDJSON, analysed.
pub async fn check_deployed(
    config: &SdkConfig,
    naming: &Naming,
    stage: u8,
    invoker: &Invoker,
    patience: Patience,
) -> Result<Vec<Check>> {
    let mut report = Report::default();
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let (account_id, region) = account(config).await?;
    let bucket = naming.bucket(&account_id, &region);

    // Stage 1: the stream.
    let stream = naming.stream();
    let summary = kinesis.describe_stream_summary().stream_name(&stream).send().await;
    let Some(summary) = summary.ok().and_then(|s| s.stream_description_summary) else {
        report.record(
            1,
            &format!("the stream {stream} exists"),
            false,
            "not found: deploy step-1 first".into(),
        );
        return Ok(report.checks);
    };
    let stream_arn = summary.stream_arn.clone();
    report.record(
        1,
        "the stream is ACTIVE",
        summary.stream_status.as_str() == "ACTIVE",
        format!("{}, {} open shards", summary.stream_status, summary.open_shard_count),
    );
    let tags = kinesis.list_tags_for_stream().stream_name(&stream).send().await?;
    let tags = tags_map(tags.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default())));
    report.record(
        1,
        "the stream carries the workshop's tags",
        naming.owns("", &tags),
        format!("{tags:?}"),
    );
    if stage < 2 {
        return Ok(report.checks);
    }

    // Stage 2: the producer writes records that can be read back.
    let producer = naming.function(PRODUCER);
    let configuration = lambda
        .get_function_configuration()
        .function_name(&producer)
        .send()
        .await;
    let Ok(configuration) = configuration else {
        report.record(
            2,
            &format!("the function {producer} exists"),
            false,
            "not found: deploy step-2".into(),
        );
        return Ok(report.checks);
    };
    let target = configuration
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get("STREAM_NAME").cloned())
        .unwrap_or_default();
    report.record(
        2,
        "the producer writes to the stream",
        target == stream,
        format!("STREAM_NAME={target}"),
    );
    let since = SystemTime::now() - Duration::from_secs(2);
    let records = 50;
    let answer = invoker.invoke(&producer, &producer_request(records, records)).await;
    let sent = answer.as_ref().ok().and_then(|r| r["sent"].as_u64()).unwrap_or(0);
    report.record(
        2,
        &format!("the producer, invoked, sends {records} records"),
        sent == records,
        match &answer {
            Ok(answer) => answer.to_string(),
            Err(error) => format!("{error:#}"),
        },
    );
    let produced = stream_ids(config, &stream_arn, Some(since), usize::MAX).await?;
    report.record(
        2,
        "they are read back from the stream",
        produced.len() as u64 >= sent && sent > 0,
        format!("{} records since the invocation", produced.len()),
    );
    if stage < 3 {
        return Ok(report.checks);
    }

    // Stage 3: the consumer's mapping, enabled with the right settings, and the consumer running.
    let consumer = naming.function(CONSUMER);
    let expected = MappingSpec::consumer(&bucket);
    check_mapping(&lambda, &mut report, 3, &consumer, &stream_arn, &expected).await?;
    let batches = wait_for_batches(invoker, &consumer, since, patience.first_poll).await;
    let what = match invoker {
        Invoker::Aws(_) => "the consumer's latest batch was processed OK (its mapping's LastProcessingResult)",
        Invoker::Local { .. } => "the consumer ran on the new records",
    };
    match batches {
        Batches::Processed => report.record(3, what, true, String::new()),
        Batches::NotPollingYet => report.add(
            3,
            what,
            Verdict::NotYet,
            format!(
                "not polling yet after {} s: a new mapping may take several minutes to start; check again soon",
                patience.first_poll.as_secs()
            ),
        ),
        Batches::NotProcessed(why) => report.record(3, what, false, why),
    }
    if stage < 4 {
        return Ok(report.checks);
    }

    // Stage 4: the delivery stream, and the records in S3 as NDJSON.
    let firehose = aws_sdk_firehose::Client::new(config);
    let delivery = firehose
        .describe_delivery_stream()
        .delivery_stream_name(naming.delivery_stream())
        .send()
        .await
        .ok()
        .and_then(|d| d.delivery_stream_description);
    let Some(delivery) = delivery else {
        report.record(
            4,
            "the delivery stream exists",
            false,
            "not found: deploy step-4".into(),
        );
        return Ok(report.checks);
    };
    let source = delivery
        .source
        .as_ref()
        .and_then(|s| s.kinesis_stream_source_description())
        .and_then(|k| k.kinesis_stream_arn())
        .unwrap_or_default()
        .to_owned();
    report.record(
        4,
        "the delivery stream is ACTIVE and reads the stream",
        delivery.delivery_stream_status.as_str() == "ACTIVE" && source == stream_arn,
        format!("{}, source {source}", delivery.delivery_stream_status.as_str()),
    );
    let s3 = s3_client(config);
    let mut delivered = HashSet::new();
    let mut bad_lines = vec![];
    let started = Instant::now();
    loop {
        delivered.clear();
        bad_lines.clear();
        for (key, body) in objects(&s3, &bucket, FIREHOSE_PREFIX).await.unwrap_or_default() {
            for position in positions(&body) {
                match position {
                    Ok(id) => {
                        delivered.insert(id);
                    }
                    Err(line) => bad_lines.push(format!("{key}: {line}")),
                }
            }
        }
        if produced.iter().all(|id| delivered.contains(id)) || started.elapsed() > patience.delivery {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let missing = produced.iter().filter(|id| !delivered.contains(*id)).count();
    report.record(
        4,
        "every record read back is in S3, one JSON object per line",
        !produced.is_empty() && missing == 0 && bad_lines.is_empty(),
        format!(
            "{} records found, {missing} missing, {} lines that are not a position",
            delivered.len(),
            bad_lines.len()
        ),
    );
    if stage < 5 {
        return Ok(report.checks);
    }

    // Stage 5: the analysis' windowed mapping and its results.
    let analytics = naming.function(ANALYTICS);
    let expected = MappingSpec::analytics(patience.window_seconds);
    check_mapping(&lambda, &mut report, 5, &analytics, &stream_arn, &expected).await?;
    let started = Instant::now();
    let results = loop {
        let listing = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(ANALYTICS_PREFIX)
            .send()
            .await;
        let results = listing.map_or(0, |o| {
            o.contents()
                .iter()
                .filter(|object| {
                    object
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok())
                        .is_some_and(|t| t >= since)
                })
                .count()
        });
        if results > 0 || started.elapsed() > patience.window {
            break results;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    report.record(
        5,
        "a window's result was written to S3",
        results > 0,
        format!("{results} new results"),
    );
    Ok(report.checks)
}

/// Waits up to `limit` for the function's batches to be processed; what they show then.
async fn wait_for_batches(invoker: &Invoker, function: &str, since: SystemTime, limit: Duration) -> Batches {
    let started = Instant::now();
    loop {
        let batches = invoker
            .batches(function, since)
            .await
            .unwrap_or_else(|error| Batches::NotProcessed(format!("{error:#}")));
        if batches == Batches::Processed || started.elapsed() > limit {
            return batches;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn check_mapping(
    lambda: &aws_sdk_lambda::Client,
    report: &mut Report,
    stage: u8,
    function: &str,
    stream_arn: &str,
    expected: &MappingSpec,
) -> Result<()> {
    let mut state = String::from("missing");
    let mut settings_match = false;
    // A new mapping is Creating for a moment, then Enabled.
    let started = Instant::now();
    while state != "Enabled" && started.elapsed() < Duration::from_secs(60) {
        let mapping = lambda
            .list_event_source_mappings()
            .function_name(function)
            .send()
            .await
            .ok()
            .and_then(|m| {
                m.event_source_mappings
                    .unwrap_or_default()
                    .into_iter()
                    .find(|m| m.event_source_arn() == Some(stream_arn))
            });
        if let Some(mapping) = mapping {
            state = mapping.state().unwrap_or("unknown").to_owned();
            settings_match = expected.matches(&mapping);
        }
        if state != "Enabled" {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    report.record(
        stage,
        &format!("the mapping of {function} is Enabled"),
        state == "Enabled",
        state,
    );
    report.record(
        stage,
        "the mapping has the settings of the chapter (item failures, bisect, finite retries and age)",
        settings_match,
        String::new(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_that_has_not_polled_yet_is_not_yet_rather_than_failed() {
        use Batches::*;
        assert_eq!(Batches::from_last_processing_results(&[]), NotPollingYet);
        assert_eq!(Batches::from_last_processing_results(&[None]), NotPollingYet);
        assert_eq!(
            Batches::from_last_processing_results(&[Some("No records processed")]),
            NotPollingYet
        );
        assert_eq!(
            Batches::from_last_processing_results(&[Some("No records processed"), Some("OK")]),
            Processed
        );
        let problem = "PROBLEM: Function call failed";
        assert_eq!(
            Batches::from_last_processing_results(&[Some(problem)]),
            NotProcessed(problem.to_owned())
        );
    }
}
