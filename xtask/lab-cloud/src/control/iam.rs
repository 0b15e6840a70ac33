//! Roles: who may act with them (trust policies) and what they may do (step 1's documents, plus the deploy's
//! additions), made or brought in line.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use super::change::{Action, Change};
use crate::aws::ErrorContext;
use crate::naming::{TAG_VALUE, missing_tags};
use crate::stages::ResourceKind;

/// Adds to one of step 1's documents what the deploy needs beyond it (S3 destinations the step-1 policies do not
/// cover).
pub(crate) fn add_statement(document: &mut Value, sid: &str, actions: &[&str], resource: &str) {
    if let Some(statements) = document["Statement"].as_array_mut() {
        statements.push(serde_json::json!({
            "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": [resource]
        }));
    }
}

/// The document of a role step 1 does not write (step 6's scaler's): only the function's logs, as step 1's
/// `function_logs` writes them; the stage's own statements are added to it ([`add_statement`]).
pub(crate) fn own_document(region: &str, account: &str, function: &str) -> Value {
    let group = format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}");
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group.clone(), format!("{group}:*")]
        }]
    })
}

/// Who may act with a function's role: Lambda.
pub(crate) fn lambda_trust_policy() -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Who may act with Firehose's role: Firehose, on behalf of this account only — the `sts:ExternalId` condition AWS
/// recommends against the confused deputy
/// (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3>). The same document as
/// step 4's `firehose_trust_policy`, which the deploy cannot link (it runs the steps as processes); the sandbox
/// test compares the role the deploy makes with the one step 4's own tool makes.
pub fn firehose_trust_policy(account_id: &str) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "firehose.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": account_id } }
        }]
    })
}

/// A policy document as IAM returned it, in either form (plain JSON or URL-encoded JSON).
pub fn policy_value(document: &str) -> Option<Value> {
    serde_json::from_str(document)
        .ok()
        // IAM hands policy documents back URL-encoded (RFC 3986).
        .or_else(|| serde_json::from_str(&percent_encoding::percent_decode_str(document).decode_utf8_lossy()).ok())
}

/// A role with its trust policy and one inline policy (put again only when step 1's document changed).
pub(crate) async fn ensure_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    trust: &Value,
    policy: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<(String, Change)> {
    let (arn, mut action) = match iam.get_role().role_name(name).send().await {
        Ok(output) => {
            let role = output.role.context("no role")?;
            let updated = align_role(iam, &role, trust, tags).await?;
            (role.arn, if updated { Action::Updated } else { Action::Unchanged })
        }
        Err(_) => {
            let created = iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .set_tags(Some(iam_tags(tags)?))
                .send()
                .await
                .context_chain(format!("creating role {name}"))?;
            (created.role.context("no role")?.arn, Action::Created)
        }
    };
    let current = iam
        .get_role_policy()
        .role_name(name)
        .policy_name(TAG_VALUE)
        .send()
        .await
        .ok()
        .and_then(|output| policy_value(&output.policy_document));
    if current.as_ref() != Some(policy) {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(TAG_VALUE)
            .policy_document(policy.to_string())
            .send()
            .await
            .context_chain(format!("attaching the policy of {name}"))?;
        if action == Action::Unchanged {
            action = Action::Updated;
        }
    }
    let change = Change {
        kind: ResourceKind::Role,
        name: name.to_owned(),
        action,
    };
    Ok((arn, change))
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    Ok(tags
        .iter()
        .map(|(key, value)| aws_sdk_iam::types::Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()?)
}

/// Brings an existing role's tags and trust policy in line; whether anything changed. A role made before its trust
/// policy changed (by an older deploy, say) gets the current one.
async fn align_role(
    iam: &aws_sdk_iam::Client,
    role: &aws_sdk_iam::types::Role,
    trust: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<bool> {
    let name = role.role_name();
    let present: HashMap<String, String> = role
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect();
    let missing = missing_tags(tags, &present);
    if !missing.is_empty() {
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(iam_tags(&missing)?))
            .send()
            .await
            .context_chain(format!("tagging role {name}"))?;
    }
    let trusted = role.assume_role_policy_document().and_then(policy_value);
    if trusted.as_ref() != Some(trust) {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(trust.to_string())
            .send()
            .await
            .context_chain(format!("updating the trust policy of {name}"))?;
    }
    Ok(!missing.is_empty() || trusted.as_ref() != Some(trust))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_come_back_from_iam_url_encoded() {
        let document = serde_json::json!({"Statement": [{"Resource": "arn:aws:s3:::b/*"}]});
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D";
        assert_eq!(policy_value(encoded), Some(document.clone()));
        assert_eq!(policy_value(&document.to_string()), Some(document));
    }
}
