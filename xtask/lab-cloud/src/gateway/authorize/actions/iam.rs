//! AWS Identity and Access Management: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>.
//! Query protocol: the operation is the form's `Action`, and the action is `iam:<Action>`. Role operations act on
//! `arn:aws:iam::<account>:role/<name>` (the workshop's roles have no path), policy operations on the policy's ARN,
//! user operations on `…:user/<name>`; the listings on `*`.

use super::{Needs, unknown};
use crate::gateway::authenticate::ACCOUNT;
use crate::gateway::call::Call;

pub fn needs(call: &Call) -> Needs {
    let Some(operation) = call.operation.as_deref() else {
        return unknown(call);
    };
    let action = format!("iam:{operation}");
    let form = |name: &str| call.form_value(name);
    let resource = if let Some(role) = form("RoleName") {
        format!("arn:aws:iam::{ACCOUNT}:role/{role}")
    } else if let Some(policy) = form("PolicyArn") {
        policy
    } else if let (Some(name), "CreatePolicy") = (form("PolicyName"), operation) {
        format!(
            "arn:aws:iam::{ACCOUNT}:policy{}{name}",
            form("Path").unwrap_or_else(|| "/".to_owned())
        )
    } else if let Some(user) = form("UserName") {
        format!("arn:aws:iam::{ACCOUNT}:user/{user}")
    } else if let Some(profile) = form("InstanceProfileName") {
        format!("arn:aws:iam::{ACCOUNT}:instance-profile/{profile}")
    } else {
        "*".to_owned()
    };
    Needs::one(&action, resource)
}

/// Whether an IAM call may change what a role is allowed (anything but a read): the gateway then reads roles again.
pub fn changes_something(operation: &str) -> bool {
    !(operation.starts_with("Get") || operation.starts_with("List") || operation.starts_with("Simulate"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    #[test]
    fn role_operations_act_on_the_role() {
        let body = "Action=PutRolePolicy&RoleName=kinesis-lab-producer&PolicyName=p&PolicyDocument=%7B%7D";
        assert_eq!(
            needs(&call("iam", "POST", "/", None, body)),
            Needs::one(
                "iam:PutRolePolicy",
                "arn:aws:iam::123456789012:role/kinesis-lab-producer"
            )
        );
        assert!(changes_something("PutRolePolicy"));
        assert!(!changes_something("GetRolePolicy"));
    }
}
