//! Amazon EventBridge Scheduler: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html>.
//! REST-JSON: a schedule's operations act on `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>` (the
//! group from `groupName`, `default` when absent), a group's on `…:schedule-group/<name>`, listing on `*`; creating or
//! updating a schedule passes its target's role (`iam:PassRole` on `Target.RoleArn`).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let segments: Vec<String> = call
        .path()
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = call.method().as_str();
    let region = call.region();
    let group = call
        .query_value("groupName")
        .or_else(|| {
            call.json()
                .and_then(|b| b.get("GroupName"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "default".to_owned());
    let schedule = |name: &str| arn("scheduler", region, &format!("schedule/{group}/{name}"));
    let passed_role = || {
        call.json()
            .and_then(|b| b.pointer("/Target/RoleArn"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let with_role = |action: &str, name: &str| {
        let mut requests = vec![(action.to_owned(), schedule(name))];
        requests.extend(passed_role().map(|role| ("iam:PassRole".to_owned(), role)));
        Needs::Requests(requests)
    };
    match (method, segments.as_slice()) {
        ("GET", ["schedules"]) => Needs::one("scheduler:ListSchedules", "*"),
        ("GET", ["schedules", name]) => Needs::one("scheduler:GetSchedule", schedule(name)),
        ("POST", ["schedules", name]) => with_role("scheduler:CreateSchedule", name),
        ("PUT", ["schedules", name]) => with_role("scheduler:UpdateSchedule", name),
        ("DELETE", ["schedules", name]) => Needs::one("scheduler:DeleteSchedule", schedule(name)),
        ("GET", ["schedule-groups"]) => Needs::one("scheduler:ListScheduleGroups", "*"),
        (_, ["schedule-groups", name]) => {
            let action = match method {
                "GET" => "scheduler:GetScheduleGroup",
                "POST" => "scheduler:CreateScheduleGroup",
                _ => "scheduler:DeleteScheduleGroup",
            };
            Needs::one(action, arn("scheduler", region, &format!("schedule-group/{name}")))
        }
        (_, ["tags", resource @ ..]) => {
            let action = match method {
                "GET" => "scheduler:ListTagsForResource",
                "POST" => "scheduler:TagResource",
                _ => "scheduler:UntagResource",
            };
            Needs::one(action, resource.join("/"))
        }
        _ => unknown(call),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    #[test]
    fn a_schedule_is_named_in_its_group_and_creating_one_passes_its_role() {
        let get = needs(&call("scheduler", "GET", "/schedules/guard?groupName=team", None, ""));
        assert_eq!(
            get,
            Needs::one(
                "scheduler:GetSchedule",
                "arn:aws:scheduler:us-east-1:123456789012:schedule/team/guard"
            )
        );
        let body = r#"{"ScheduleExpression":"at(2026-12-06T16:41:00)","Target":{"Arn":"arn:aws:lambda:us-east-1:123456789012:function:g","RoleArn":"arn:aws:iam::123456789012:role/s"}}"#;
        let create = needs(&call("scheduler", "POST", "/schedules/guard", None, body));
        assert_eq!(
            create,
            Needs::Requests(vec![
                (
                    "scheduler:CreateSchedule".into(),
                    "arn:aws:scheduler:us-east-1:123456789012:schedule/default/guard".into()
                ),
                ("iam:PassRole".into(), "arn:aws:iam::123456789012:role/s".into()),
            ])
        );
        assert_eq!(
            needs(&call("scheduler", "GET", "/schedules", None, "")),
            Needs::one("scheduler:ListSchedules", "*")
        );
    }
}
