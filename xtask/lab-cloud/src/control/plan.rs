//! What a deploy of some stages will make, which of it exists already, and roughly what it costs.

use anyhow::Result;
use aws_config::SdkConfig;
use serde::Serialize;
use std::fmt;

use crate::aws::{account, s3_client};
use crate::naming::Naming;
use crate::stages::{self, FIREHOSE_ROLE, FunctionStage, GUARD, GUARD_ROLE, ResourceKind, SCHEDULER_ROLE};

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
    /// Whether the endpoint is the local cloud that `cargo xtask` started (and set AWS_ENDPOINT_URL for), rather
    /// than a learner's own AWS_ENDPOINT_URL with `--aws`.
    pub local: bool,
    pub learner: String,
    pub resources: Vec<Planned>,
}

/// A provisioned shard's hour, us-east-1's list price (what `status` meters a stream's cost so far with).
pub const SHARD_HOUR_USD: f64 = 0.015;

/// Rough prices, us-east-1 on-demand list prices (late 2026). Only the stream costs anything while idle.
const STREAM_COST: &str = "$0.015 per shard-hour (step 1 asks for 2: $0.03/hour, $0.72/day) + $0.014 per million puts";
const FUNCTION_COST: &str = "nothing idle; $0.20 per million requests + $0.0000133 per GB-second";
const FREE: &str = "nothing";
const BUCKET_COST: &str = "$0.023 per GB-month stored (a lab run stores under 1 MB)";
const FIREHOSE_COST: &str = "nothing idle; $0.029 per GB delivered";
/// The clean-up guard runs once, when the deployment expires: well within Lambda's free tier.
const GUARD_COST: &str = "the clean-up guard: one invocation at expiry, under $0.0001";
/// EventBridge Scheduler: 14 million invocations a month free, then $1.00 per million.
const SCHEDULE_COST: &str = "one invocation at expiry: free (14 million a month are)";
/// A standard-resolution metric alarm (a period of 60 s or more); the AWS/Kinesis, AWS/Lambda and AWS/Firehose
/// metrics it watches are free.
const ALARM_COST: &str = "$0.10 per alarm-month ($0.30 with a 10, 20 or 30 s period)";
/// SNS: deliveries to Lambda cost nothing; publishes past the first million a month, $0.50 per million.
const TOPIC_COST: &str = "nothing for a few notifications: the first million publishes a month are free";
/// What the whole workshop costs per hour while it sits deployed and idle: the stream's two shards.
pub const IDLE_COST_PER_HOUR: &str =
    "about $0.03 an hour in AWS (the stream's 2 shards), data flowing or not; `cargo xtask destroy` removes it all";

/// What `deploy` of stages 1..=stage will make (by [`STAGES`](crate::stages::STAGES), in the deploy's order), and which of it exists.
pub async fn plan(config: &SdkConfig, naming: &Naming, stage: u8, local: bool) -> Result<Plan> {
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
    if naming.learner().is_some() {
        resources.extend(plan_guard(config, naming).await);
    }
    if let Some(first) = stages::up_to(stage).find(|s| s.bucket) {
        let bucket = naming.bucket(&account_id, &region);
        let exists = s3_client(config).head_bucket().bucket(&bucket).send().await.is_ok();
        resources.push(planned(first.number, ResourceKind::Bucket, bucket, exists, BUCKET_COST));
    }
    for planned_stage in stages::up_to(stage).filter(|s| s.number > 1) {
        match &planned_stage.function {
            Some(function) => resources.extend(plan_function(config, naming, planned_stage.number, function).await),
            None if planned_stage.tool.is_some() => {
                resources.extend(plan_delivery(config, naming, planned_stage.number).await);
            }
            None => {}
        }
        if planned_stage.watch {
            resources.extend(plan_watch(config, naming, planned_stage.number).await);
        }
    }
    Ok(Plan {
        account_id,
        region,
        endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
        local,
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

/// The clean-up guard, deployed with the first stage: its role, function, the scheduler's role and the schedule.
async fn plan_guard(config: &SdkConfig, naming: &Naming) -> Vec<Planned> {
    let iam = aws_sdk_iam::Client::new(config);
    let mut resources = vec![];
    for piece in [GUARD_ROLE, SCHEDULER_ROLE] {
        let role = naming.role(piece);
        let exists = iam.get_role().role_name(&role).send().await.is_ok();
        resources.push(planned(1, ResourceKind::Role, role, exists, FREE));
    }
    let name = naming.function(GUARD);
    let exists = aws_sdk_lambda::Client::new(config)
        .get_function()
        .function_name(&name)
        .send()
        .await
        .is_ok();
    resources.push(planned(1, ResourceKind::Function, name.clone(), exists, GUARD_COST));
    let scheduled = aws_sdk_scheduler::Client::new(config)
        .get_schedule()
        .name(&name)
        .send()
        .await
        .is_ok();
    resources.push(planned(1, ResourceKind::Schedule, name, scheduled, SCHEDULE_COST));
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

/// Step 6's alarms and topic (the stage that watches the stream), and whether each exists.
async fn plan_watch(config: &SdkConfig, naming: &Naming, stage: u8) -> Vec<Planned> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    let mut resources = vec![];
    for alarm in stages::ALARMS {
        let name = naming.watch(alarm);
        let described = cloudwatch.describe_alarms().alarm_names(&name).send().await;
        let exists = described.is_ok_and(|d| !d.metric_alarms().is_empty());
        resources.push(planned(stage, ResourceKind::Alarm, name, exists, ALARM_COST));
    }
    let topic = naming.watch(stages::SCALING_TOPIC);
    let topics = aws_sdk_sns::Client::new(config).list_topics().send().await;
    let suffix = format!(":{topic}");
    let exists = topics.is_ok_and(|t| {
        t.topics()
            .iter()
            .any(|t| t.topic_arn().is_some_and(|a| a.ends_with(&suffix)))
    });
    resources.push(planned(stage, ResourceKind::Topic, topic, exists, TOPIC_COST));
    resources
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
        match (&self.endpoint, self.local) {
            (Some(endpoint), true) => writeln!(
                f,
                "Endpoint {endpoint}: the local cloud `cargo xtask` runs (it stays up after the deploy; `cargo xtask \
                 cloud down` stops it)"
            )?,
            (Some(endpoint), false) => writeln!(f, "Endpoint {endpoint} (from your AWS_ENDPOINT_URL)")?,
            (None, _) => {}
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

#[cfg(test)]
mod tests {
    use super::Plan;

    fn plan(local: bool) -> Plan {
        Plan {
            account_id: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            endpoint: Some("http://127.0.0.1:4566".to_owned()),
            local,
            learner: "ada".to_owned(),
            resources: vec![],
        }
    }

    #[test]
    fn the_plan_says_where_its_endpoint_came_from() {
        let local = plan(true).to_string();
        assert!(
            local.contains("Endpoint http://127.0.0.1:4566: the local cloud `cargo xtask` runs"),
            "{local}"
        );
        assert!(
            local.contains("cargo xtask cloud down") && !local.contains("AWS_ENDPOINT_URL"),
            "{local}"
        );
        let own = plan(false).to_string();
        assert!(
            own.contains("Endpoint http://127.0.0.1:4566 (from your AWS_ENDPOINT_URL)"),
            "{own}"
        );
    }
}
