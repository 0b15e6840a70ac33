//! An alarm's SNS actions carried out as SNS carries them out for Lambda subscribers: CloudWatch publishes its
//! alarm message to the topic, and SNS invokes each function subscribed (protocol `lambda`) with SNS's event,
//! asynchronously, if the function's resource policy lets `sns.amazonaws.com` invoke it. moto 5.2.5 would try to
//! run the function in Docker; the local cloud invokes it through its own Lambda host.
//!
//! - The event is SNS's for Lambda ("Invoking Lambda functions with Amazon SNS notifications",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>): `Records[]` of `EventVersion`, `EventSource`
//!   (`aws:sns`), `EventSubscriptionArn`, `Sns` (`Type`, `MessageId`, `TopicArn`, `Subject`, `Message`,
//!   `Timestamp`, `SignatureVersion`, `Signature`, `SigningCertUrl`, `UnsubscribeUrl`, `MessageAttributes`). The
//!   local cloud cannot sign as SNS does: `Signature` says so.
//! - The message is CloudWatch's alarm JSON ("Amazon SNS notifications for alarms" in
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html>, and the
//!   example Lambda's `aws_lambda_events` carries): `AlarmName`, `AlarmDescription`, `AWSAccountId`,
//!   `AlarmConfigurationUpdatedTimestamp`, `NewStateValue`, `NewStateReason`, `StateChangeTime`, `Region` (its
//!   long name), `AlarmArn`, `OldStateValue`, `OKActions`, `AlarmActions`, `InsufficientDataActions`, `Trigger`
//!   (`MetricName`, `Namespace`, `StatisticType`, `Statistic` in capitals, `Unit`, `Dimensions` as `name`/`value`,
//!   `Period`, `EvaluationPeriods`, `DatapointsToAlarm`, `ComparisonOperator`, `Threshold`, `TreatMissingData`,
//!   `EvaluateLowSampleCountPercentile`); the subject `ALARM: "<name>" in <region's long name>`.
//! - The permission: "Amazon SNS ... needs permission to invoke the function": a statement of the function's
//!   resource policy (`lambda:AddPermission`) allowing `lambda:InvokeFunction` to the principal
//!   `sns.amazonaws.com`, its conditions on `AWS:SourceArn` (the topic) and `AWS:SourceAccount` evaluated by
//!   lab-policy; without one the function is not invoked and the refusal is said on the data plane's log and kept
//!   ([`Delivery::Denied`]), as SNS records a failed delivery.

use super::lambda_host::{LambdaHost, Outcome, function_spec};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// What the local cloud needs to invoke a deployed function: Lambda's API and the host.
#[derive(Clone)]
pub struct FunctionInvoker {
    pub lambda: aws_sdk_lambda::Client,
    pub functions: PathBuf,
    pub logs: PathBuf,
    pub cloud_environment: Vec<(String, String)>,
    pub host: Arc<LambdaHost>,
}

/// What became of one subscription's notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The function was invoked; its outcome.
    Invoked { function: String, outcome: Outcome },
    /// The function's resource policy does not let SNS invoke it: the reason.
    Denied { function: String, reason: String },
    /// A protocol the local cloud does not deliver (email, sqs, https...), or a failure: said, not silently dropped.
    NotDelivered { endpoint: String, reason: String },
}

/// The SNS event for a Lambda subscriber.
pub fn sns_event(region: &str, topic_arn: &str, subscription_arn: &str, subject: &str, message: &str) -> Value {
    json!({
        "Records": [{
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "EventSource": "aws:sns",
            "Sns": {
                "Type": "Notification",
                "MessageId": uuid::Uuid::new_v4().to_string(),
                "TopicArn": topic_arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "SignatureVersion": "1",
                "Signature": "NOT-SIGNED: the local cloud cannot sign as SNS does",
                "SigningCertUrl": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem"),
                "UnsubscribeUrl": format!(
                    "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                ),
                "MessageAttributes": {},
            }
        }]
    })
}

/// `us-east-1` → `US East (N. Virginia)`: the region as CloudWatch names it in alarm messages.
pub fn region_long_name(region: &str) -> String {
    let name = match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-north-1" => "EU (Stockholm)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        other => other,
    };
    name.to_owned()
}

/// Publishes `message` to the topic: each `lambda` subscriber invoked (on a task of its own, as SNS invokes
/// asynchronously); what became of each, once all are done.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    invoker: &FunctionInvoker,
    topic_arn: &str,
    subject: &str,
    message: &str,
) -> Result<Vec<Delivery>> {
    let region = topic_arn.split(':').nth(3).unwrap_or("us-east-1").to_owned();
    let mut subscriptions = Vec::new();
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("listing the subscriptions of {topic_arn}"))?;
        subscriptions.extend(page.subscriptions.unwrap_or_default());
    }
    let mut tasks = Vec::new();
    for subscription in subscriptions {
        let endpoint = subscription.endpoint.unwrap_or_default();
        if subscription.protocol.as_deref() != Some("lambda") {
            let reason = format!(
                "the local cloud delivers SNS notifications to Lambda subscribers only, not to {} endpoints",
                subscription.protocol.unwrap_or_default()
            );
            tasks.push(tokio::spawn(async move { Delivery::NotDelivered { endpoint, reason } }));
            continue;
        }
        let subscription_arn = subscription.subscription_arn.unwrap_or_default();
        let event = sns_event(&region, topic_arn, &subscription_arn, subject, message);
        let (invoker, topic) = (invoker.clone(), topic_arn.to_owned());
        tasks.push(tokio::spawn(async move {
            deliver(&invoker, &topic, &endpoint, &event).await
        }));
    }
    let mut deliveries = Vec::new();
    for task in tasks {
        deliveries.push(task.await.context("a delivery task")?);
    }
    Ok(deliveries)
}

/// One Lambda subscriber: its permission checked, then invoked.
async fn deliver(invoker: &FunctionInvoker, topic_arn: &str, function_arn: &str, event: &Value) -> Delivery {
    let function = function_arn.rsplit(':').next().unwrap_or(function_arn).to_owned();
    if let Err(reason) = sns_may_invoke(&invoker.lambda, &function, function_arn, topic_arn).await {
        eprintln!("sns: {topic_arn} could not invoke {function}: {reason}");
        return Delivery::Denied { function, reason };
    }
    let spec = function_spec(
        &invoker.lambda,
        &function,
        &invoker.functions,
        &invoker.logs,
        &invoker.cloud_environment,
    )
    .await;
    match spec {
        Ok(spec) => Delivery::Invoked {
            outcome: invoker.host.invoke(&spec, event).await,
            function,
        },
        Err(error) => Delivery::NotDelivered {
            endpoint: function_arn.to_owned(),
            reason: format!("{error:#}"),
        },
    }
}

/// Whether the function's resource policy lets SNS invoke it for this topic; why not, if it does not.
pub async fn sns_may_invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    function_arn: &str,
    topic_arn: &str,
) -> Result<(), String> {
    let policy = match lambda.get_policy().function_name(function).send().await {
        Ok(answer) => answer.policy.unwrap_or_default(),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Err(format!(
                "{function} has no resource-based policy: SNS may invoke it only once lambda:AddPermission has \
                 granted lambda:InvokeFunction to the principal sns.amazonaws.com"
            ));
        }
        Err(error) => {
            return Err(format!(
                "reading {function}'s policy: {}",
                crate::aws::error_chain(&error)
            ));
        }
    };
    decide(&policy, function_arn, topic_arn)
}

/// The resource policy's verdict for SNS invoking `function_arn` on behalf of `topic_arn`: its statements naming
/// the principal `sns.amazonaws.com` (or `*`), decided by lab-policy on the action, the resource and the
/// conditions (`AWS:SourceArn`, `AWS:SourceAccount`; any other key is unevaluable, so refused).
pub fn decide(policy: &str, function_arn: &str, topic_arn: &str) -> Result<(), String> {
    let document: Value = serde_json::from_str(policy).map_err(|error| format!("the policy is not JSON: {error}"))?;
    let statements = match &document["Statement"] {
        Value::Array(all) => all.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let for_sns: Vec<Value> = statements
        .into_iter()
        .filter(|statement| names_sns(&statement["Principal"]))
        .map(|mut statement| {
            if let Some(fields) = statement.as_object_mut() {
                fields.remove("Principal");
                // Lambda's statement ids allow `-` and `_` (AddPermission's `StatementId`, `([a-zA-Z0-9-_]+)`:
                // <https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html>); IAM's `Sid`, which
                // lab-policy holds identity policies to, does not. The id decides nothing: drop it.
                fields.remove("Sid");
            }
            statement
        })
        .collect();
    let denied = || {
        format!(
            "no statement of the function's resource-based policy allows sns.amazonaws.com to perform \
             lambda:InvokeFunction on {function_arn} for {topic_arn} (lambda:AddPermission with --principal \
             sns.amazonaws.com --source-arn {topic_arn})"
        )
    };
    if for_sns.is_empty() {
        return Err(denied());
    }
    let as_identity = json!({ "Version": "2012-10-17", "Statement": for_sns }).to_string();
    let named = policy::NamedPolicy::parse("resource-based policy", &as_identity)
        .map_err(|error| format!("the function's policy does not parse: {}", error.message()))?;
    let account = topic_arn.split(':').nth(4).unwrap_or_default();
    let mut context = policy::Context::new();
    context.insert("aws:SourceArn", topic_arn);
    context.insert("aws:SourceAccount", account);
    let request = policy::Request {
        action: "lambda:InvokeFunction".to_owned(),
        resource: function_arn.to_owned(),
        context: context.supplying(&["aws:SourceArn", "aws:SourceAccount"]),
    };
    let decision = policy::evaluate(&[named], &request);
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(decision_reason(&decision).unwrap_or_else(denied))
    }
}

fn decision_reason(decision: &policy::Decision) -> Option<String> {
    match decision {
        policy::Decision::ExplicitDeny { .. } => {
            Some("an explicit deny in the function's resource-based policy refuses sns.amazonaws.com".to_owned())
        }
        policy::Decision::Unevaluable { reason, .. } => Some(format!("refused, not evaluated: {reason}")),
        _ => None,
    }
}

/// Whether a statement's `Principal` includes SNS: `{"Service": "sns.amazonaws.com"}` (or a list with it), `*`.
fn names_sns(principal: &Value) -> bool {
    let is_sns = |value: &Value| matches!(value.as_str(), Some("sns.amazonaws.com" | "*"));
    match principal {
        Value::String(everyone) => everyone == "*",
        Value::Object(kinds) => kinds.iter().any(|(kind, value)| match (kind.as_str(), value) {
            ("Service" | "AWS", Value::Array(all)) => all.iter().any(is_sns),
            ("Service" | "AWS", one) => is_sns(one),
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:scaler";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alarms";

    fn policy(principal: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"sns","Effect":"Allow",
            "Principal":{principal},"Action":"lambda:InvokeFunction","Resource":"{FUNCTION}"{condition}}}]}}"#
        )
    }

    #[test]
    fn sns_may_invoke_a_function_whose_policy_grants_it_for_the_topic() {
        let by_topic = format!(r#","Condition":{{"ArnLike":{{"AWS:SourceArn":"{TOPIC}"}}}}"#);
        decide(
            &policy(r#"{"Service":"sns.amazonaws.com"}"#, &by_topic),
            FUNCTION,
            TOPIC,
        )
        .unwrap();
        decide(&policy(r#"{"Service":"sns.amazonaws.com"}"#, ""), FUNCTION, TOPIC).unwrap();
        // A statement id as Lambda allows it, with `-` and `_`.
        let hyphenated =
            policy(r#"{"Service":"sns.amazonaws.com"}"#, "").replace(r#""Sid":"sns""#, r#""Sid":"sns-invoke_1""#);
        decide(&hyphenated, FUNCTION, TOPIC).unwrap();
    }

    #[test]
    fn another_principal_another_topic_or_an_unknown_condition_is_refused() {
        let s3 = decide(&policy(r#"{"Service":"s3.amazonaws.com"}"#, ""), FUNCTION, TOPIC).unwrap_err();
        assert!(
            s3.contains("no statement of the function's resource-based policy allows sns.amazonaws.com"),
            "{s3}"
        );
        let other = r#","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:sns:us-east-1:123456789012:other"}}"#;
        assert!(decide(&policy(r#"{"Service":"sns.amazonaws.com"}"#, other), FUNCTION, TOPIC).is_err());
        let unknown = r#","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}"#;
        assert!(decide(&policy(r#"{"Service":"sns.amazonaws.com"}"#, unknown), FUNCTION, TOPIC).is_err());
    }

    #[test]
    fn the_event_is_snss_with_the_message_as_a_string() {
        let event = sns_event(
            "us-east-1",
            TOPIC,
            "arn:aws:sns:us-east-1:123456789012:alarms:1",
            "s",
            r#"{"a":1}"#,
        );
        let record = &event["Records"][0];
        assert_eq!(record["EventSource"], "aws:sns");
        assert_eq!(record["Sns"]["Type"], "Notification");
        assert_eq!(record["Sns"]["Message"], r#"{"a":1}"#);
        assert_eq!(region_long_name("us-east-1"), "US East (N. Virginia)");
    }
}
