//! Amazon CloudWatch: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>.
//! Each operation is the action of the same name (`cloudwatch:PutMetricAlarm`). The metric operations
//! (`PutMetricData`, `GetMetricStatistics`, `GetMetricData`, `ListMetrics`, `DescribeAlarmsForMetric`) have no
//! resource (`*`); the alarm operations act on each alarm they name, `arn:aws:cloudwatch:<region>:<account>:alarm:
//! <name>` (`DescribeAlarms` and `DescribeAlarmHistory` without names: on every alarm, `alarm:*`); tagging on its
//! `ResourceARN`. The parameters are read whatever protocol the call came in (CBOR, JSON 1.0, query).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;
use crate::gateway::cloudwatch::parameters;
use serde_json::Value;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("cloudwatch:{operation}");
    let body = parameters(call).unwrap_or(Value::Null);
    let alarm = |name: &str| arn("cloudwatch", call.region(), &format!("alarm:{name}"));
    let names = |field: &str| -> Vec<String> {
        match &body[field] {
            Value::Array(names) => names.iter().filter_map(Value::as_str).map(alarm).collect(),
            Value::String(one) => vec![alarm(one)],
            _ => Vec::new(),
        }
    };
    let resources = match operation {
        "PutMetricData"
        | "GetMetricStatistics"
        | "GetMetricData"
        | "ListMetrics"
        | "DescribeAlarmsForMetric"
        | "GetMetricWidgetImage"
        | "ListDashboards" => vec!["*".to_owned()],
        "PutMetricAlarm" | "SetAlarmState" | "PutCompositeAlarm" => names("AlarmName"),
        "DeleteAlarms" | "EnableAlarmActions" | "DisableAlarmActions" => names("AlarmNames"),
        "DescribeAlarms" => {
            let named = names("AlarmNames");
            if named.is_empty() { vec![alarm("*")] } else { named }
        }
        "DescribeAlarmHistory" => {
            let named = names("AlarmName");
            if named.is_empty() { vec![alarm("*")] } else { named }
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            body["ResourceARN"].as_str().map(str::to_owned).into_iter().collect()
        }
        _ => return unknown(call),
    };
    if resources.is_empty() {
        // A request without its alarm is refused by CloudWatch itself (a validation error); authorised as on every
        // alarm, so that the learner sees CloudWatch's own error.
        return Needs::one(&action, "*");
    }
    Needs::Requests(
        resources
            .into_iter()
            .map(|resource| (action.clone(), resource))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    fn query(body: &str) -> Needs {
        needs(&call("monitoring", "POST", "/", None, body))
    }

    #[test]
    fn metric_operations_act_on_everything_and_alarm_operations_on_each_alarm() {
        assert_eq!(
            query("Action=PutMetricData&Namespace=AWS%2FKinesis"),
            Needs::one("cloudwatch:PutMetricData", "*")
        );
        let alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:throttled";
        assert_eq!(
            query("Action=PutMetricAlarm&AlarmName=throttled&Period=60"),
            Needs::one("cloudwatch:PutMetricAlarm", alarm)
        );
        assert_eq!(
            query("Action=DeleteAlarms&AlarmNames.member.1=throttled&AlarmNames.member.2=b"),
            Needs::Requests(vec![
                ("cloudwatch:DeleteAlarms".into(), alarm.into()),
                ("cloudwatch:DeleteAlarms".into(), alarm.replace("throttled", "b")),
            ])
        );
        let every = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*";
        assert_eq!(
            query("Action=DescribeAlarms"),
            Needs::one("cloudwatch:DescribeAlarms", every)
        );
        let json = call(
            "monitoring",
            "POST",
            "/",
            Some("GraniteServiceVersion20100801.SetAlarmState"),
            r#"{"AlarmName":"throttled","StateValue":"OK","StateReason":"r"}"#,
        );
        assert_eq!(needs(&json), Needs::one("cloudwatch:SetAlarmState", alarm));
        assert!(matches!(query("Action=PutAnomalyDetector"), Needs::Unknown(_)));
    }
}
