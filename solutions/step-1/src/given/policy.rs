//! IAM policy documents as typed values, the ARNs they name, and two statement builders. The chapter's "Least
//! privilege" section explains them; the three policies you write in `lib.rs` are made of these.

use serde::Serialize;

// ANCHOR: policy_types
/// An IAM policy document, as IAM reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

/// One statement: who may do what on which resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub action: Vec<String>,
    pub resource: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl PolicyDocument {
    /// The document as IAM takes it (for `CreatePolicy`, `PutRolePolicy` or the console).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document always serialises")
    }
}

/// The current (and only sensible) policy language version.
pub const POLICY_VERSION: &str = "2012-10-17";
// ANCHOR_END: policy_types

// ANCHOR: resources
/// Where the workshop's resources live; every policy is scoped to these ARNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    pub stream_name: String,
    pub bucket_name: String,
}

impl Resources {
    pub fn stream_arn(&self) -> String {
        let Resources {
            partition,
            region,
            account_id,
            stream_name,
            ..
        } = self;
        format!("arn:{partition}:kinesis:{region}:{account_id}:stream/{stream_name}")
    }

    pub fn bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition, self.bucket_name)
    }

    /// The log group a Lambda function writes to.
    pub fn log_group_arn(&self, function_name: &str) -> String {
        let Resources {
            partition,
            region,
            account_id,
            ..
        } = self;
        format!("arn:{partition}:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}")
    }
}
// ANCHOR_END: resources

/// One `Allow` statement: these actions, on these resources.
pub(crate) fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        sid: sid.to_owned(),
        effect: Effect::Allow,
        action: actions.iter().map(|action| (*action).to_owned()).collect(),
        resource: resources,
    }
}

/// A Lambda function may create its own log group and write to its own log streams; nothing else.
pub(crate) fn function_logs(resources: &Resources, function_name: &str) -> Statement {
    let group = resources.log_group_arn(function_name);
    allow(
        "WriteOwnLogs",
        &["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        vec![group.clone(), format!("{group}:*")],
    )
}
