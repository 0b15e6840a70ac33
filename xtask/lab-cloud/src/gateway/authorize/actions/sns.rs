//! Amazon SNS: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html>.
//! Each operation is the action of the same name (`sns:Publish`); the topic operations act on the topic,
//! `arn:aws:sns:<region>:<account>:<name>` (named by `TopicArn`, or `Name` for `CreateTopic`; tagging by
//! `ResourceArn`); listing topics and subscriptions, and the subscription operations, have no resource (`*`).

use super::{Needs, arn, unknown};
use crate::gateway::call::Call;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("sns:{operation}");
    let topic = match operation {
        "ListTopics"
        | "ListSubscriptions"
        | "Unsubscribe"
        | "GetSubscriptionAttributes"
        | "SetSubscriptionAttributes"
        | "CheckIfPhoneNumberIsOptedOut"
        | "GetSMSAttributes" => Some("*".to_owned()),
        "CreateTopic" => call.form_value("Name").map(|name| arn("sns", call.region(), &name)),
        "TagResource" | "UntagResource" | "ListTagsForResource" => call.form_value("ResourceArn"),
        "Publish"
        | "PublishBatch"
        | "Subscribe"
        | "ConfirmSubscription"
        | "DeleteTopic"
        | "GetTopicAttributes"
        | "SetTopicAttributes"
        | "ListSubscriptionsByTopic"
        | "AddPermission"
        | "RemovePermission"
        | "GetDataProtectionPolicy"
        | "PutDataProtectionPolicy" => call.form_value("TopicArn"),
        _ => return unknown(call),
    };
    // A request without its topic is refused by SNS itself; authorised as on every topic, so that the learner
    // sees SNS's own error.
    Needs::one(&action, topic.unwrap_or_else(|| "*".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    fn sns(body: &str) -> Needs {
        needs(&call("sns", "POST", "/", None, body))
    }

    #[test]
    fn topic_operations_act_on_the_topic() {
        let topic = "arn:aws:sns:us-east-1:123456789012:alarms";
        assert_eq!(
            sns("Action=CreateTopic&Name=alarms"),
            Needs::one("sns:CreateTopic", topic)
        );
        let publish = format!("Action=Publish&TopicArn={}&Message=m", topic.replace(':', "%3A"));
        assert_eq!(sns(&publish), Needs::one("sns:Publish", topic));
        assert_eq!(sns("Action=ListTopics"), Needs::one("sns:ListTopics", "*"));
        assert!(matches!(sns("Action=CreatePlatformApplication"), Needs::Unknown(_)));
    }
}
