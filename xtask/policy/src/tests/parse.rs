//! Parsing, and IAM's refusals in IAM's words.

use super::{policy, refusal};
use crate::{Condition, Effect, Element, Policy, Version};

const MINIMAL: &str =
    r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}}"#;

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html>: "a single statement
/// or an array of individual statements".
#[test]
fn a_statement_is_one_object_or_an_array_of_them() {
    let single = policy(MINIMAL);
    assert_eq!(single.statements.len(), 1);
    let array = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "1", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"},
            {"Sid": "2", "Effect": "Deny", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}
        ]}"#,
    );
    assert_eq!(array.statements.len(), 2);
    let second = &array.statements[1];
    assert_eq!(second.sid.as_deref(), Some("2"));
    assert_eq!(second.effect, Effect::Deny);
    assert_eq!(second.action, Element::Not(vec!["iam:*".to_owned()]));
    assert_eq!(
        second.resource,
        Some(Element::Not(vec![
            "arn:aws:s3:::b".to_owned(),
            "arn:aws:s3:::b/*".to_owned()
        ]))
    );
    assert_eq!(
        array.statements[0].action,
        Element::Listed(vec![
            "s3:ListAllMyBuckets".to_owned(),
            "s3:GetBucketLocation".to_owned()
        ])
    );
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html>: the two versions; a
/// document without `Version` is read as the older language.
#[test]
fn both_versions_parse_and_a_missing_version_is_2008_10_17() {
    assert_eq!(policy(MINIMAL).version, Version::V2012_10_17);
    let old = MINIMAL.replace("2012-10-17", "2008-10-17");
    assert_eq!(policy(&old).version, Version::V2008_10_17);
    let none = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
    assert_eq!(policy(none).version, Version::V2008_10_17);
    assert_eq!(
        refusal(&MINIMAL.replace("2012-10-17", "2012-10-18")),
        "Syntax errors in policy."
    );
}

/// IAM's `CreatePolicy`/`PutRolePolicy` take only the current version.
#[test]
fn parse_current_refuses_the_older_version_in_iams_words() {
    let old = MINIMAL.replace("2012-10-17", "2008-10-17");
    let error = Policy::parse_current(&old).unwrap_err();
    assert_eq!(
        error.message(),
        "Policy document must be version 2012-10-17 or greater."
    );
    let none = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
    assert!(Policy::parse_current(none).is_err());
    assert!(Policy::parse_current(MINIMAL).is_ok());
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>: "You cannot use the
/// Principal element in an identity-based policy".
#[test]
fn an_identity_policy_with_a_principal_is_refused_as_iam_refuses_it() {
    for element in [
        r#""Principal": {"AWS": "123456789012"}"#,
        r#""NotPrincipal": "*""#,
        r#""Principal": "*""#,
    ] {
        let json = format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", {element}, "Action": "s3:*", "Resource": "*"}}}}"#
        );
        assert_eq!(
            refusal(&json),
            "Policy document should not specify a principal.",
            "{element}"
        );
    }
}

#[test]
fn a_statement_without_actions_or_resources_is_refused_in_iams_words() {
    let no_action = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Resource": "*"}}"#;
    assert_eq!(refusal(no_action), "Policy statement must contain actions.");
    let empty_action = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}"#;
    assert_eq!(refusal(empty_action), "Policy statement must contain actions.");
    let no_resource = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*"}}"#;
    assert_eq!(refusal(no_resource), "Policy statement must contain resources.");
    let empty_not =
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": []}}"#;
    assert_eq!(refusal(empty_not), "Policy statement must contain resources.");
}

/// "Statements must include either an `Action` or `NotAction` element", not both; likewise resources.
#[test]
fn an_element_and_its_negation_together_are_a_syntax_error() {
    let both = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}}"#;
    assert_eq!(refusal(both), "Syntax errors in policy.");
    let both = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "*"}}"#;
    assert_eq!(refusal(both), "Syntax errors in policy.");
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html>: "The Effect value is
/// case sensitive". IAM's syntax check takes any case, its legacy parser only `Allow` and `Deny`.
#[test]
fn effect_is_case_sensitive() {
    let lower = MINIMAL.replace("\"Allow\"", "\"allow\"");
    assert_eq!(refusal(&lower), "The policy failed legacy parsing");
    let other = MINIMAL.replace("\"Allow\"", "\"Permit\"");
    assert_eq!(refusal(&other), "Syntax errors in policy.");
    let missing = r#"{"Version": "2012-10-17", "Statement": {"Action": "s3:*", "Resource": "*"}}"#;
    assert_eq!(refusal(missing), "Syntax errors in policy.");
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html>: unique within a policy,
/// ASCII letters and digits only.
#[test]
fn statement_ids_are_unique_and_alphanumeric() {
    let twice = r#"{"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}"#;
    assert_eq!(refusal(twice), "Statement IDs (SID) in a single policy must be unique.");
    let dashed = MINIMAL.replace("{\"Effect\"", "{\"Sid\": \"Read-Stream\", \"Effect\"");
    assert_eq!(
        refusal(&dashed),
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    );
    let empty_twice = r#"{"Version": "2012-10-17", "Statement": [
        {"Sid": "", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}"#;
    assert_eq!(policy(empty_twice).statements.len(), 2, "an empty Sid is no Sid");
}

#[test]
fn actions_need_a_vendor_and_one_colon() {
    let with = |action: &str| MINIMAL.replace("s3:ListAllMyBuckets", action);
    assert_eq!(
        refusal(&with("ListStreams")),
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    );
    assert_eq!(
        refusal(&with("kinesis:List:Streams")),
        "Actions/Condition can contain only one colon."
    );
    assert_eq!(refusal(&with("kine sis:ListStreams")), "Vendor kine sis is not valid");
    assert!(Policy::parse(&with("*")).is_ok());
    assert!(Policy::parse(&with("kinesis:*")).is_ok());
}

#[test]
fn a_resource_is_an_arn_or_a_star() {
    let json = MINIMAL.replace("\"Resource\": \"*\"", "\"Resource\": \"TelemetricStream\"");
    assert_eq!(
        refusal(&json),
        "Resource TelemetricStream must be in ARN format or \"*\"."
    );
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html>: operator, key,
/// one value or several; the grammar's values are strings, and numbers and booleans are taken as their text.
#[test]
fn conditions_become_one_entry_per_operator_and_key() {
    let parsed = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
            "Condition": {
                "StringEqualsIgnoreCase": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                                           "aws:PrincipalTag/role": ["audit", "security"]},
                "NumericLessThanEquals": {"s3:max-keys": 10},
                "Bool": {"aws:SecureTransport": true}}}}"#,
    );
    let conditions = &parsed.statements[0].conditions;
    assert_eq!(conditions.len(), 4);
    let find = |key: &str| conditions.iter().find(|c| c.key == key).expect(key);
    assert_eq!(
        find("aws:PrincipalTag/department"),
        &Condition {
            operator: "StringEqualsIgnoreCase".to_owned(),
            key: "aws:PrincipalTag/department".to_owned(),
            values: vec!["finance".to_owned(), "hr".to_owned(), "legal".to_owned()],
        }
    );
    assert_eq!(find("s3:max-keys").values, ["10"]);
    assert_eq!(find("aws:SecureTransport").values, ["true"]);
    let bad = MINIMAL.replace(
        "\"Resource\": \"*\"",
        r#""Resource": "*", "Condition": {"StringEquals": {"k": {"v": 1}}}"#,
    );
    assert_eq!(refusal(&bad), "Syntax errors in policy.");
    let flat = MINIMAL.replace(
        "\"Resource\": \"*\"",
        r#""Resource": "*", "Condition": {"StringEquals": "v"}"#,
    );
    assert_eq!(refusal(&flat), "Syntax errors in policy.");
}

#[test]
fn syntax_errors_say_what_is_wrong_besides_iams_words() {
    let error = Policy::parse(&MINIMAL.replace("\"Action\"", "\"Actions\"")).unwrap_err();
    assert_eq!(error.message(), "Syntax errors in policy.");
    assert_eq!(error.detail(), Some("statement 1: unknown element \"Actions\""));
    assert_eq!(
        error.to_string(),
        "Syntax errors in policy. (statement 1: unknown element \"Actions\")"
    );
    assert_eq!(refusal("{\"Version\": \"2012-10-17\""), "Syntax errors in policy.");
    assert_eq!(refusal("[]"), "Syntax errors in policy.");
    assert_eq!(refusal(r#"{"Version": "2012-10-17"}"#), "Syntax errors in policy.");
    assert_eq!(
        refusal(r#"{"Version": "2012-10-17", "Statement": []}"#),
        "Syntax errors in policy."
    );
    assert_eq!(
        refusal(r#"{"Version": "2012-10-17", "Statement": "Allow"}"#),
        "Syntax errors in policy."
    );
    let number_action = MINIMAL.replace("\"s3:ListAllMyBuckets\"", "[1]");
    assert_eq!(refusal(&number_action), "Syntax errors in policy.");
    let extra_top = MINIMAL.replacen('{', "{\"Statements\": [], ", 1);
    assert_eq!(refusal(&extra_top), "Syntax errors in policy.");
}
