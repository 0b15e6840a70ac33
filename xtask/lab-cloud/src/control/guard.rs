//! The clean-up guard: what removes a learner's deployment when it expires, even with the learner's laptop closed.
//! A stream costs money by existing (public workshop reports: 9,515 forgotten shard-hours, $142.74), so every
//! deployed resource carries an `expires-at` tag and the first stage deploys, beside the stream:
//!
//! - the guard, a small Lambda function (`xtask/guard`, binary `expiry-guard`) whose role may delete **only**
//!   resources tagged `workshop=kinesis-lab` and `learner=<learner>` (`aws:ResourceTag/…` conditions), and the
//!   learner's bucket by its exact name (S3's general purpose buckets do not evaluate `aws:ResourceTag` unless ABAC
//!   is turned on for the bucket: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/buckets-tagging.html>), and
//!   the functions' log groups by their exact names (Lambda makes them, untagged);
//! - a one-time EventBridge Scheduler schedule, `at(<expires-at>)`, that invokes the guard with a role of its own
//!   (trusting `scheduler.amazonaws.com`, allowed `lambda:InvokeFunction` on the guard alone) and deletes itself
//!   after it has run (`ActionAfterCompletion: DELETE`):
//!   <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#one-time>.
//!
//! A deploy again keeps the deadline; `--for` sets a new one (the schedule moves with it).

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

use super::change::{Action, Change};
use super::function::{Code, FunctionSettings, ensure_function};
use super::iam::{ensure_role, lambda_trust_policy};
use crate::aws::ErrorContext;
use crate::naming::{LEARNER_TAG_KEY, Naming, TAG_KEY, TAG_VALUE};
use crate::stages::{self, GUARD, GUARD_ROLE, GUARD_TIMEOUT_SECONDS, ResourceKind, SCHEDULER_ROLE};

/// The tag that says when a resource expires (ISO 8601, UTC, to the second).
pub const EXPIRES_AT_TAG: &str = "expires-at";
/// How long a deployment lives unless `--for` says otherwise: a workshop's afternoon.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// `expires-at`'s form: `2026-12-06T16:41:00Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An `expires-at` value read back; `None` when it is not one.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// A lifetime as `--for` takes it: `90m`, `2h`, `1d`, `45s` (a whole number and a unit).
pub fn parse_lifetime(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .with_context(|| format!("--for {text:?}: a whole number and a unit, like 90m or 2h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("--for {text:?}: the unit is s, m, h or d (90m, 2h)"),
    };
    anyhow::ensure!(number > 0, "--for {text:?}: a deployment lives for some time");
    Ok(Duration::from_secs(number * seconds))
}

/// An IAM policy document, typed as step 1 types its own, with conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

/// One `Allow` statement; `condition` is operator -> key -> value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: &'static str,
    pub effect: &'static str,
    pub action: Vec<&'static str>,
    pub resource: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<&'static str, BTreeMap<String, String>>,
}

fn allow(sid: &'static str, action: &[&'static str], resource: Vec<String>) -> Statement {
    Statement {
        sid,
        effect: "Allow",
        action: action.to_vec(),
        resource,
        condition: BTreeMap::new(),
    }
}

/// Where the guard acts: the account, region and the learner's bucket.
pub struct Place<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub bucket: &'a str,
}

/// The guard's role: find the workshop's resources (the list actions have no resource: `*`), then read and delete
/// only those tagged as this learner's. The Service Authorization Reference gives each action's resource and its
/// condition keys (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>).
pub fn guard_policy(naming: &Naming, place: &Place) -> PolicyDocument {
    let Place {
        account,
        region,
        bucket,
    } = place;
    PolicyDocument {
        version: "2012-10-17",
        statement: [
            allow(
                "FindTheWorkshopsResources",
                &[
                    "kinesis:ListStreams",
                    "lambda:ListFunctions",
                    "lambda:ListEventSourceMappings",
                    "firehose:ListDeliveryStreams",
                    "iam:ListRoles",
                    "s3:ListAllMyBuckets",
                    "logs:DescribeLogGroups",
                    "cloudwatch:DescribeAlarms",
                    "sns:ListTopics",
                    "sns:Unsubscribe",
                ],
                vec!["*".to_owned()],
            ),
            this_learners_tagged_resources(naming, place),
            // Read-only, by name: a deleted resource has no tags left to match, and the guard waits for the stream
            // and the delivery stream to be gone.
            allow(
                "SeeThisLearnersStreamsGo",
                &["kinesis:DescribeStreamSummary", "firehose:DescribeDeliveryStream"],
                vec![
                    format!("arn:aws:kinesis:{region}:{account}:stream/{}", naming.stream()),
                    format!(
                        "arn:aws:firehose:{region}:{account}:deliverystream/{}",
                        naming.delivery_stream()
                    ),
                ],
            ),
            allow(
                "EmptyAndDeleteThisLearnersBucket",
                &[
                    "s3:ListBucket",
                    "s3:ListBucketVersions",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:DeleteBucket",
                ],
                vec![format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            ),
            allow(
                "DeleteThisLearnersFunctionLogs",
                &["logs:DeleteLogGroup"],
                function_log_groups(naming, place),
            ),
        ]
        .into_iter()
        .chain(this_learners_alarms_and_topic(naming, place))
        .chain(the_guards_schedule_and_logs(naming, place))
        .collect(),
    }
}

/// Step 6's alarms and topic, by their exact names: the guard deletes them before what they watch.
fn this_learners_alarms_and_topic(naming: &Naming, place: &Place) -> [Statement; 2] {
    let Place { account, region, .. } = place;
    [
        allow(
            "DeleteThisLearnersAlarms",
            &["cloudwatch:ListTagsForResource", "cloudwatch:DeleteAlarms"],
            stages::ALARMS
                .iter()
                .map(|alarm| format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", naming.watch(alarm)))
                .collect(),
        ),
        allow(
            "DeleteThisLearnersTopic",
            &[
                "sns:ListTagsForResource",
                "sns:ListSubscriptionsByTopic",
                "sns:DeleteTopic",
            ],
            vec![format!(
                "arn:aws:sns:{region}:{account}:{}",
                naming.watch(stages::SCALING_TOPIC)
            )],
        ),
    ]
}

/// The guard's own schedule (read-only: schedules carry no tags) and the logs Lambda writes for it.
fn the_guards_schedule_and_logs(naming: &Naming, place: &Place) -> [Statement; 2] {
    let Place { account, region, .. } = place;
    [
        // Read-only, by name: schedules carry no tags, and the guard lists its own among the learner's.
        allow(
            "SeeTheGuardsSchedule",
            &["scheduler:GetSchedule"],
            vec![format!(
                "arn:aws:scheduler:{region}:{account}:schedule/default/{}",
                naming.function(GUARD)
            )],
        ),
        // What Lambda writes the guard's own logs with (`AWSLambdaBasicExecutionRole`, narrowed to its group).
        allow(
            "WriteTheGuardsOwnLogs",
            &["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            vec![
                format!(
                    "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{}",
                    naming.function(GUARD)
                ),
                format!(
                    "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{}:*",
                    naming.function(GUARD)
                ),
            ],
        ),
    ]
}

/// Delete (and read the tags of) only what is tagged as the workshop's and this learner's.
fn this_learners_tagged_resources(naming: &Naming, place: &Place) -> Statement {
    let Place { account, region, .. } = place;
    let learner = naming.learner().unwrap_or_default();
    let mut tagged = allow(
        "DeleteOnlyThisLearnersTaggedResources",
        &[
            "kinesis:ListTagsForStream",
            "kinesis:DeleteStream",
            "lambda:ListTags",
            "lambda:GetFunctionConfiguration",
            "lambda:DeleteFunction",
            "lambda:DeleteEventSourceMapping",
            "firehose:ListTagsForDeliveryStream",
            "firehose:DeleteDeliveryStream",
            "iam:ListRoleTags",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:DeleteRole",
        ],
        vec![
            format!("arn:aws:kinesis:{region}:{account}:stream/*"),
            format!("arn:aws:lambda:{region}:{account}:function:*"),
            format!("arn:aws:lambda:{region}:{account}:event-source-mapping:*"),
            format!("arn:aws:firehose:{region}:{account}:deliverystream/*"),
            format!("arn:aws:iam::{account}:role/*"),
        ],
    );
    tagged.condition.insert(
        "StringEquals",
        BTreeMap::from([
            (format!("aws:ResourceTag/{TAG_KEY}"), TAG_VALUE.to_owned()),
            (format!("aws:ResourceTag/{LEARNER_TAG_KEY}"), learner.to_owned()),
        ]),
    );
    tagged
}

/// The log groups Lambda makes (untagged) for the workshop's functions and the guard, by their exact names.
fn function_log_groups(naming: &Naming, place: &Place) -> Vec<String> {
    let Place { account, region, .. } = place;
    stages::STAGES
        .iter()
        .filter_map(|stage| stage.function.as_ref())
        .map(|f| naming.function(f.name))
        .chain([naming.function(GUARD)])
        .flat_map(|function| {
            let group = format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}");
            [format!("{group}:*"), group]
        })
        .collect()
}

/// Who may act with the scheduler's role: EventBridge Scheduler
/// (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role>).
pub fn scheduler_trust_policy() -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "scheduler.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The scheduler's role may invoke the guard, and nothing else.
pub fn scheduler_policy(guard_arn: &str) -> PolicyDocument {
    PolicyDocument {
        version: "2012-10-17",
        statement: vec![allow(
            "InvokeTheGuard",
            &["lambda:InvokeFunction"],
            vec![guard_arn.to_owned()],
        )],
    }
}

/// What the guard's deploy needs.
pub(crate) struct GuardDeploy<'a> {
    pub(crate) naming: &'a Naming,
    pub(crate) place: Place<'a>,
    pub(crate) code: Code<'a>,
    pub(crate) tags: &'a BTreeMap<String, String>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) functions_dir: &'a std::path::Path,
}

/// The guard's role, function, the scheduler's role and the schedule, made or brought in line.
pub(crate) async fn ensure_guard(config: &SdkConfig, guard: GuardDeploy<'_>) -> Result<Vec<Change>> {
    let naming = guard.naming;
    let iam = aws_sdk_iam::Client::new(config);
    let document = serde_json::to_value(guard_policy(naming, &guard.place))?;
    let guard_role = naming.role(GUARD_ROLE);
    let (role_arn, role_change) = ensure_role(&iam, &guard_role, &lambda_trust_policy(), &document, guard.tags).await?;
    let name = naming.function(GUARD);
    let environment = BTreeMap::from([(
        "KINESIS_LAB_LEARNER".to_owned(),
        naming.learner().unwrap_or_default().to_owned(),
    )]);
    let spec = FunctionSettings {
        name: &name,
        role: &role_arn,
        timeout: GUARD_TIMEOUT_SECONDS,
        environment,
        tags: guard.tags,
    };
    let lambda = aws_sdk_lambda::Client::new(config);
    let function_change = ensure_function(&lambda, guard.functions_dir, &spec, &guard.code).await?;
    let guard_arn = format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        guard.place.region, guard.place.account
    );
    let invoke = serde_json::to_value(scheduler_policy(&guard_arn))?;
    let (scheduler_role, scheduler_change) = ensure_role(
        &iam,
        &naming.role(SCHEDULER_ROLE),
        &scheduler_trust_policy(),
        &invoke,
        guard.tags,
    )
    .await?;
    let target = Target::builder()
        .arn(&guard_arn)
        .role_arn(&scheduler_role)
        .input(
            serde_json::json!({ "learner": naming.learner(), "expires_at": format_time(guard.expires_at) }).to_string(),
        )
        .build()?;
    let schedule_change = ensure_schedule(config, &name, guard.expires_at, target).await?;
    Ok(vec![role_change, function_change, scheduler_change, schedule_change])
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC: a one-time schedule.
pub fn at_expression(time: DateTime<Utc>) -> String {
    format!("at({})", time.format("%Y-%m-%dT%H:%M:%S"))
}

/// The one-time schedule at `expires_at`, invoking `target`; deleted by the scheduler after it has run.
async fn ensure_schedule(config: &SdkConfig, name: &str, expires_at: DateTime<Utc>, target: Target) -> Result<Change> {
    let scheduler = aws_sdk_scheduler::Client::new(config);
    let expression = at_expression(expires_at);
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()?;
    let existing = scheduler.get_schedule().name(name).send().await.ok();
    let action = match existing {
        Some(schedule)
            if schedule.schedule_expression() == Some(expression.as_str())
                && schedule.target().map(Target::arn) == Some(target.arn())
                && schedule.target().map(Target::role_arn) == Some(target.role_arn()) =>
        {
            Action::Unchanged
        }
        Some(_) => {
            scheduler
                .update_schedule()
                .name(name)
                .schedule_expression(&expression)
                .schedule_expression_timezone("UTC")
                .flexible_time_window(window)
                .target(target)
                .action_after_completion(ActionAfterCompletion::Delete)
                .send()
                .await
                .context_chain(format!("updating schedule {name}"))?;
            Action::Updated
        }
        None => {
            scheduler
                .create_schedule()
                .name(name)
                .schedule_expression(&expression)
                .schedule_expression_timezone("UTC")
                .flexible_time_window(window)
                .target(target)
                .action_after_completion(ActionAfterCompletion::Delete)
                .send()
                .await
                .context_chain(format!("creating schedule {name}"))?;
            Action::Created
        }
    };
    Ok(Change {
        kind: ResourceKind::Schedule,
        name: name.to_owned(),
        action,
    })
}

/// Whether a found resource is one of the guard's own, which it leaves (its function, its role) or the scheduler
/// removes (the schedule): `destroy` removes them last.
pub fn is_guards_own(naming: &Naming, kind: ResourceKind, name: &str) -> bool {
    match kind {
        ResourceKind::Function | ResourceKind::Schedule => name == naming.function(GUARD),
        ResourceKind::Role => name == naming.role(GUARD_ROLE) || name == naming.role(SCHEDULER_ROLE),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_times_read_as_the_chapter_writes_them() {
        assert_eq!(parse_lifetime("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_lifetime("90m").unwrap(), Duration::from_secs(5400));
        assert!(parse_lifetime("2 hours").is_err());
        assert!(parse_lifetime("0h").is_err());
        let time = parse_time("2026-12-06T16:41:00Z").unwrap();
        assert_eq!(format_time(time), "2026-12-06T16:41:00Z");
        assert_eq!(at_expression(time), "at(2026-12-06T16:41:00)");
    }

    #[test]
    fn the_guard_may_delete_only_resources_tagged_as_this_learners() {
        let naming = Naming::for_learner("ada").unwrap();
        let place = Place {
            account: "123456789012",
            region: "us-east-1",
            bucket: "kinesis-lab-ada-123456789012-us-east-1",
        };
        let document = serde_json::to_value(guard_policy(&naming, &place)).unwrap();
        let tagged = &document["Statement"][1];
        assert_eq!(tagged["Condition"]["StringEquals"]["aws:ResourceTag/learner"], "ada");
        assert_eq!(
            tagged["Condition"]["StringEquals"]["aws:ResourceTag/workshop"],
            "kinesis-lab"
        );
        // Every delete but the bucket's and the log groups' (by exact name) is under the tag condition.
        for statement in document["Statement"].as_array().unwrap() {
            let actions = statement["Action"].as_array().unwrap();
            let deletes = actions.iter().any(|a| a.as_str().unwrap().contains(":Delete"));
            let by_name = statement["Resource"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.as_str().unwrap().contains("kinesis-lab-ada-"));
            assert!(
                !deletes || statement.get("Condition").is_some() || by_name,
                "{statement}"
            );
        }
        let parsed = policy::Policy::parse(&document.to_string());
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
