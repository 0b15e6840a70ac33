//! EventBridge Scheduler's one-time schedules, fired: the control plane (moto) holds the schedules; this runs them
//! as the service does (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#one-time>):
//!
//! - a schedule `at(yyyy-mm-ddThh:mm:ss)` (in its `ScheduleExpressionTimezone`, UTC here), `ENABLED`, is due once
//!   its time has come (`FlexibleTimeWindow` `OFF`);
//! - the scheduler assumes the target's role as `scheduler.amazonaws.com` (the role's trust policy decides, in the
//!   gateway's STS) and invokes the Lambda target with it, asynchronously, the schedule's `Input` as the event: the
//!   gateway authorises `lambda:InvokeFunction` on the function for that role (an `Invoke` with `InvocationType
//!   DryRun`, which Lambda checks and runs nothing for), then the local Lambda host runs it;
//! - `ActionAfterCompletion: DELETE` deletes the schedule once it has invoked its target.
//!
//! What it cannot run as AWS would it refuses, saying so once: recurring schedules (`rate()`, `cron()`), a time zone
//! other than UTC, a target that is not a Lambda function of this cloud. A denied invocation is said too, in AWS's
//! words, and the schedule stays (AWS retries, then drops the event: `RetryPolicy`).

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::types::InvocationType;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::aws::error_chain;
use crate::runtime::credentials;
use crate::runtime::lambda_host::{LambdaHost, Outcome, function_spec};

/// One schedule's settings, as `GetSchedule` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTime {
    pub name: String,
    pub group: String,
    pub at: DateTime<Utc>,
    pub function_arn: String,
    pub role_arn: String,
    pub input: String,
    pub delete_after: bool,
}

/// The time of `at(yyyy-mm-ddThh:mm:ss)` in UTC; an error for any other expression or time zone.
pub fn one_time_at(expression: &str, timezone: Option<&str>) -> Result<DateTime<Utc>> {
    let Some(time) = expression.strip_prefix("at(").and_then(|rest| rest.strip_suffix(')')) else {
        bail!("{expression:?} is a recurring schedule; the local cloud runs one-time schedules (at(...)) only");
    };
    if !matches!(timezone, None | Some("UTC") | Some("Etc/UTC")) {
        bail!("time zone {timezone:?}: the local cloud runs one-time schedules in UTC only");
    }
    let time = NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S")
        .with_context(|| format!("{expression:?} is not at(yyyy-mm-ddThh:mm:ss)"))?;
    Ok(time.and_utc())
}

/// Fires due one-time schedules against the local Lambda host.
pub struct Scheduler {
    /// The local cloud's endpoint, as its administrator (reads and deletes schedules).
    config: SdkConfig,
    host: Arc<LambdaHost>,
    functions: PathBuf,
    logs: PathBuf,
    environment: Vec<(String, String)>,
    /// Schedules fired and not yet deleted, and those refused (each said once).
    fired: HashSet<String>,
    refused: HashMap<String, String>,
}

impl Scheduler {
    pub fn new(
        config: SdkConfig,
        host: Arc<LambdaHost>,
        folders: &super::supervisor::Folders,
        environment: Vec<(String, String)>,
    ) -> Self {
        Scheduler {
            config,
            host,
            functions: folders.functions.clone(),
            logs: folders.logs.clone(),
            environment,
            fired: HashSet::new(),
            refused: HashMap::new(),
        }
    }

    /// Fires every schedule due at `now`; the names of those fired.
    pub async fn fire_due(&mut self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let scheduler = aws_sdk_scheduler::Client::new(&self.config);
        let listed = scheduler.list_schedules().send().await.context("listing schedules")?;
        let mut fired = vec![];
        for summary in listed.schedules() {
            let (Some(name), group) = (summary.name(), summary.group_name().unwrap_or("default")) else {
                continue;
            };
            if self.fired.contains(name) || summary.state().is_some_and(|s| s.as_str() != "ENABLED") {
                continue;
            }
            let schedule = match self.read(name, group).await {
                Ok(schedule) => schedule,
                Err(error) => {
                    self.refuse(name, format!("{error:#}"));
                    continue;
                }
            };
            if schedule.at > now {
                continue;
            }
            match self.fire(&schedule).await {
                Ok(()) => fired.push(schedule.name),
                Err(error) => self.refuse(name, format!("{error:#}")),
            }
        }
        Ok(fired)
    }

    fn refuse(&mut self, name: &str, why: String) {
        if self.refused.get(name) != Some(&why) {
            eprintln!("scheduler: schedule {name} not run: {why}");
            self.refused.insert(name.to_owned(), why);
        }
    }

    async fn read(&self, name: &str, group: &str) -> Result<OneTime> {
        let scheduler = aws_sdk_scheduler::Client::new(&self.config);
        let schedule = scheduler
            .get_schedule()
            .name(name)
            .group_name(group)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("GetSchedule: {}", error_chain(&e)))?;
        let at = one_time_at(
            schedule.schedule_expression().unwrap_or_default(),
            schedule.schedule_expression_timezone(),
        )?;
        let target = schedule.target().context("the schedule has no target")?;
        if !target.arn().starts_with("arn:aws:lambda:") {
            bail!(
                "its target {} is not a Lambda function; the local cloud invokes functions only",
                target.arn()
            );
        }
        Ok(OneTime {
            name: name.to_owned(),
            group: group.to_owned(),
            at,
            function_arn: target.arn().to_owned(),
            role_arn: target.role_arn().to_owned(),
            input: target.input().unwrap_or("{}").to_owned(),
            delete_after: schedule
                .action_after_completion()
                .is_some_and(|a| a.as_str() == "DELETE"),
        })
    }

    /// Invokes the schedule's function with its role, as the scheduler does, then honours `ActionAfterCompletion`.
    async fn fire(&mut self, schedule: &OneTime) -> Result<()> {
        let function = schedule.function_arn.rsplit(':').next().unwrap_or_default().to_owned();
        if !self.functions.join(&function).join("bootstrap").exists() {
            bail!("function {function} has no local code here");
        }
        let session = credentials::session_name(&format!("scheduler-{}", schedule.name));
        let acting = credentials::acting_as(
            &self.config,
            "scheduler.amazonaws.com",
            &schedule.role_arn,
            &session,
            None,
        )
        .await?;
        aws_sdk_lambda::Client::new(&acting)
            .invoke()
            .function_name(&schedule.function_arn)
            .invocation_type(InvocationType::DryRun)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("the scheduler may not invoke {function}: {}", error_chain(&e)))?;
        let lambda = aws_sdk_lambda::Client::new(&self.config);
        let spec = function_spec(&lambda, &function, &self.functions, &self.logs, &self.environment).await?;
        let payload: serde_json::Value = serde_json::from_str(&schedule.input).unwrap_or(serde_json::Value::Null);
        let host = self.host.clone();
        let name = schedule.name.clone();
        // Asynchronously, as the scheduler invokes Lambda: the function's outcome is its own (its log says it).
        tokio::spawn(async move {
            match host.invoke(&spec, &payload).await {
                Outcome::Response(body) => eprintln!("scheduler: schedule {name} ran {function}: {body}"),
                other => eprintln!("scheduler: schedule {name}: {function} failed: {other:?}"),
            }
        });
        self.fired.insert(schedule.name.clone());
        eprintln!("scheduler: schedule {} fired (due {})", schedule.name, schedule.at);
        if schedule.delete_after {
            aws_sdk_scheduler::Client::new(&self.config)
                .delete_schedule()
                .name(&schedule.name)
                .group_name(&schedule.group)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("deleting schedule {}: {}", schedule.name, error_chain(&e)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_time_schedules_in_utc_are_run() {
        let at = one_time_at("at(2026-12-06T16:41:00)", Some("UTC")).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T16:41:00+00:00");
        assert!(one_time_at("rate(5 minutes)", None).is_err());
        assert!(one_time_at("at(2026-12-06T16:41:00)", Some("Europe/Paris")).is_err());
        assert!(one_time_at("at(tomorrow)", None).is_err());
    }
}
