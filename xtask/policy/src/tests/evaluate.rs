//! Decisions, from the examples of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>, the NotAction and
//! NotResource pages, and the workshop's own step 1 policies.

use super::{named, one};
use crate::{Context, Decision, Effect, NamedPolicy, PolicyKind, Request, StatementRef, evaluate};

fn by(policy: &str, index: usize, sid: Option<&str>) -> StatementRef {
    StatementRef {
        policy: policy.to_owned(),
        index,
        sid: sid.map(str::to_owned),
    }
}

/// "The difference between explicit and implicit denies": `AllowGetList` allows `iam:Get*`/`iam:List*`, all other
/// IAM actions are implicitly denied, and `DenyReports` explicitly denies `iam:*Report` even where Get* allows.
#[test]
fn allowed_implicitly_denied_and_explicitly_denied_as_the_evaluation_page_shows() {
    let policy = [named(
        "reports",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
            {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}]}"#,
    )];
    let ask = |action: &str| evaluate(&policy, &Request::new(action, "*"));
    assert_eq!(
        ask("iam:GetUser"),
        Decision::Allowed {
            by: by("reports", 1, Some("AllowGetList"))
        }
    );
    assert_eq!(ask("iam:CreatePolicy"), Decision::ImplicitDeny);
    assert_eq!(
        ask("iam:GetOrganizationsAccessReport"),
        Decision::ExplicitDeny {
            by: by("reports", 2, Some("DenyReports"))
        }
    );
    assert_eq!(
        ask("iam:GenerateCredentialReport"),
        Decision::ExplicitDeny {
            by: by("reports", 2, Some("DenyReports"))
        }
    );
}

/// The evaluation page's Carlos example, identity-based side: `DenyS3Logs` (`arn:aws:s3:::*log*`) denies saving to
/// the `carlossalazar-logs` bucket although `s3:*` is allowed on his own bucket; his own bucket is allowed.
#[test]
fn an_explicit_deny_overrides_an_allow_as_in_the_carlos_example() {
    let policy = [named(
        "carlossalazar",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "AllowS3ListRead", "Effect": "Allow", "Action": ["s3:GetBucketLocation",
             "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"], "Resource": "arn:aws:s3:::*"},
            {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
            {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}]}"#,
    )];
    let logs = evaluate(
        &policy,
        &Request::new("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/file.txt"),
    );
    assert_eq!(
        logs,
        Decision::ExplicitDeny {
            by: by("carlossalazar", 3, Some("DenyS3Logs"))
        }
    );
    let own = evaluate(
        &policy,
        &Request::new("s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt"),
    );
    assert_eq!(
        own,
        Decision::Allowed {
            by: by("carlossalazar", 2, Some("AllowS3Self"))
        }
    );
    let list = evaluate(
        &policy,
        &Request::new("s3:GetBucketLocation", "arn:aws:s3:::other-bucket"),
    );
    assert!(list.is_allowed());
}

/// An explicit deny in any policy overrides an allow in another: "An explicit deny in any of these policies
/// overrides the allow". The policies' order does not matter.
#[test]
fn a_deny_in_one_policy_overrides_an_allow_in_another() {
    let allow = named(
        "allow",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}}"#,
    );
    let deny = named(
        "deny",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "kinesis:DeleteStream", "Resource": "*"}}"#,
    );
    let request = Request::new(
        "kinesis:DeleteStream",
        "arn:aws:kinesis:us-east-1:123456789012:stream/S",
    );
    for policies in [[allow.clone(), deny.clone()], [deny, allow]] {
        assert_eq!(
            evaluate(&policies, &request),
            Decision::ExplicitDeny {
                by: by("deny", 1, None)
            }
        );
    }
    assert_eq!(
        evaluate(&[], &request),
        Decision::ImplicitDeny,
        "no policy: denied by default"
    );
}

/// "NotAction with Allow": everything in S3 on any S3 resource except `DeleteBucket` — not `ListAllMyBuckets`, which
/// "requires the "*" resource", and no other service's actions, which "are not applicable to the S3 resources".
#[test]
fn not_action_with_allow_allows_the_other_actions_on_the_resources() {
    let policy = [one(
        r#"{"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}"#,
    )];
    let ask = |action: &str, resource: &str| evaluate(&policy, &Request::new(action, resource));
    assert!(ask("s3:GetObject", "arn:aws:s3:::bucket/key").is_allowed());
    assert!(ask("s3:CreateBucket", "arn:aws:s3:::bucket").is_allowed());
    assert_eq!(ask("s3:DeleteBucket", "arn:aws:s3:::bucket"), Decision::ImplicitDeny);
    assert_eq!(ask("s3:ListAllMyBuckets", "*"), Decision::ImplicitDeny);
    assert_eq!(
        ask(
            "ec2:TerminateInstances",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
        ),
        Decision::ImplicitDeny
    );
    let everything_but_iam = [one(r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#)];
    assert!(evaluate(&everything_but_iam, &Request::new("kinesis:PutRecord", "*")).is_allowed());
    assert_eq!(
        evaluate(&everything_but_iam, &Request::new("iam:CreateUser", "*")),
        Decision::ImplicitDeny
    );
}

/// "NotAction with Deny": `DenyAllUsersNotUsingMFA` denies every non-IAM action unless signed in with MFA, and
/// allows nothing.
#[test]
fn not_action_with_deny_denies_the_other_actions() {
    let policies = [
        named(
            "mfa",
            r#"{"Version": "2012-10-17", "Statement": [{"Sid": "DenyAllUsersNotUsingMFA", "Effect": "Deny",
                "NotAction": "iam:*", "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}"#,
        ),
        named(
            "admin",
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
        ),
    ];
    let denied = Decision::ExplicitDeny {
        by: by("mfa", 1, Some("DenyAllUsersNotUsingMFA")),
    };
    let without_mfa = Request::new("s3:GetObject", "arn:aws:s3:::b/k").with("aws:MultiFactorAuthPresent", "false");
    assert_eq!(evaluate(&policies, &without_mfa), denied);
    let access_keys = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
    assert_eq!(
        evaluate(&policies, &access_keys),
        denied,
        "BoolIfExists: the key is absent with access keys"
    );
    let with_mfa = Request::new("s3:GetObject", "arn:aws:s3:::b/k").with("aws:MultiFactorAuthPresent", "true");
    assert!(evaluate(&policies, &with_mfa).is_allowed());
    let iam = Request::new("iam:ChangePassword", "*").with("aws:MultiFactorAuthPresent", "false");
    assert!(evaluate(&policies, &iam).is_allowed());
    assert_eq!(
        evaluate(&policies[..1], &iam),
        Decision::ImplicitDeny,
        "the deny allows nothing"
    );
}

/// The NotResource page's `HRPayroll` example: deny every S3 resource but the Payroll folder; it grants nothing.
#[test]
fn not_resource_with_deny_denies_every_other_resource() {
    let policies = [
        named(
            "payroll",
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*",
                "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]}}"#,
        ),
        named(
            "s3",
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
        ),
    ];
    assert!(
        evaluate(
            &policies,
            &Request::new("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv")
        )
        .is_allowed()
    );
    assert_eq!(
        evaluate(
            &policies,
            &Request::new("s3:GetObject", "arn:aws:s3:::HRBucket/Other/x")
        ),
        Decision::ExplicitDeny {
            by: by("payroll", 1, None)
        }
    );
    // "If the action also included Amazon EC2 actions, then the policy would not deny access to any EC2 resources":
    // the deny names S3 actions only.
    assert_eq!(
        evaluate(
            &policies[..1],
            &Request::new("ec2:StartInstances", "arn:aws:ec2:us-east-1:1:instance/i-1")
        ),
        Decision::ImplicitDeny
    );
}

/// A NotResource entry whose variable has no value excludes nothing (it "will not match any resource"): a Deny then
/// covers every resource, as in AWS; an Allow would allow on a missing variable, so it is unevaluable.
#[test]
fn a_not_resource_with_a_missing_variable_denies_but_never_allows() {
    let deny = [one(
        r#"{"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::home/${aws:username}/*"}"#,
    )];
    let request = Request::new("s3:GetObject", "arn:aws:s3:::home/david/x");
    assert!(matches!(evaluate(&deny, &request), Decision::ExplicitDeny { .. }));
    assert_eq!(
        evaluate(&deny, &request.clone().with("aws:username", "david")),
        Decision::ImplicitDeny
    );
    let allow = [one(
        r#"{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::home/${aws:username}/*"}"#,
    )];
    match evaluate(&allow, &request) {
        Decision::Unevaluable { effect, reason, .. } => {
            assert_eq!(effect, Effect::Allow);
            assert!(reason.contains("${aws:username}"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(evaluate(&allow, &request.clone().with("aws:username", "adele")).is_allowed());
}

/// A statement with a condition the crate cannot evaluate never allows, and in a Deny refuses the request; the
/// decision names the operator and the statement. A certain explicit deny still wins, and a certain allow still
/// allows past an unevaluable Allow.
#[test]
fn an_unevaluable_statement_never_allows_and_says_why() {
    let binary = r#"{"Sid": "Odd", "Effect": "EFFECT", "Action": "kinesis:GetRecords", "Resource": "*",
        "Condition": {"BinaryEquals": {"aws:SourceIdentity": "QmluYXJ5"}}}"#;
    let request = Request::new("kinesis:GetRecords", "arn:aws:kinesis:us-east-1:123456789012:stream/S");
    let odd_allow = named(
        "odd",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": {}}}"#,
            binary.replace("EFFECT", "Allow")
        ),
    );
    let expected_reason = "the local cloud cannot evaluate the condition operator BinaryEquals in statement 1 (\"Odd\") of policy \"odd\"";
    assert_eq!(
        evaluate(std::slice::from_ref(&odd_allow), &request),
        Decision::Unevaluable {
            statement: by("odd", 1, Some("Odd")),
            effect: Effect::Allow,
            reason: expected_reason.to_owned(),
        }
    );
    let allow_all = named(
        "all",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}}"#,
    );
    assert!(evaluate(&[odd_allow, allow_all.clone()], &request).is_allowed());

    let odd_deny = named(
        "odd",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": {}}}"#,
            binary.replace("EFFECT", "Deny")
        ),
    );
    let decision = evaluate(&[allow_all.clone(), odd_deny.clone()], &request);
    assert!(
        matches!(
            &decision,
            Decision::Unevaluable {
                effect: Effect::Deny,
                ..
            }
        ),
        "{decision:?}"
    );
    assert!(!decision.is_allowed());
    let deny_all = named(
        "deny",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}"#,
    );
    assert_eq!(
        evaluate(&[odd_deny, deny_all, allow_all], &request),
        Decision::ExplicitDeny {
            by: by("deny", 1, None)
        }
    );
}

/// A statement is the AND of its parts: one part that does not match settles it, whatever else cannot be evaluated.
#[test]
fn a_part_that_does_not_match_settles_the_statement() {
    let policy = [one(
        r#"{"Effect": "Deny", "Action": "kinesis:GetRecords", "Resource": "*",
            "Condition": {"BinaryEquals": {"k": "QQ=="}, "StringEquals": {"aws:username": "mallory"}}}"#,
    )];
    let alice = Request::new("kinesis:GetRecords", "*").with("aws:username", "alice");
    assert_eq!(evaluate(&policy, &alice), Decision::ImplicitDeny);
    assert_eq!(
        evaluate(&policy, &Request::new("kinesis:PutRecord", "*")),
        Decision::ImplicitDeny
    );
    let mallory = Request::new("kinesis:GetRecords", "*").with("aws:username", "mallory");
    assert!(matches!(evaluate(&policy, &mallory), Decision::Unevaluable { .. }));
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>: "because no identity-based
/// policy allows the codecommit:ListRepositories action" and "with an explicit deny in an identity-based policy".
#[test]
fn denials_read_as_aws_words_them() {
    let user = "arn:aws:iam::123456789012:user/JohnDoe";
    let implicit = Decision::ImplicitDeny;
    assert_eq!(
        implicit
            .denial_message(PolicyKind::IdentityBased, user, "codecommit:ListRepositories", "*")
            .unwrap(),
        "User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codecommit:ListRepositories \
         because no identity-based policy allows the codecommit:ListRepositories action"
    );
    let explicit = Decision::ExplicitDeny { by: by("p", 1, None) };
    let resource = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:*";
    assert_eq!(
        explicit
            .denial_message(PolicyKind::IdentityBased, user, "codedeploy:ListDeployments", resource)
            .unwrap(),
        "User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codedeploy:ListDeployments on \
         resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in an \
         identity-based policy"
    );
    assert_eq!(
        implicit.because(PolicyKind::RoleTrust, "sts:AssumeRole").unwrap(),
        "because no role trust policy allows the sts:AssumeRole action"
    );
    assert_eq!(
        explicit.because(PolicyKind::RoleTrust, "sts:AssumeRole").unwrap(),
        "with an explicit deny in the role trust policy"
    );
    let allowed = Decision::Allowed { by: by("p", 1, None) };
    assert_eq!(allowed.because(PolicyKind::IdentityBased, "s3:GetObject"), None);
    assert_eq!(
        allowed.denial_message(PolicyKind::IdentityBased, user, "s3:GetObject", "*"),
        None
    );
}

#[test]
fn an_unevaluable_denial_reads_as_its_outcome_with_the_reason() {
    let unevaluable = |effect| Decision::Unevaluable {
        statement: by("p", 2, None),
        effect,
        reason: "the local cloud cannot evaluate the condition operator BinaryEquals in statement 2 of policy \"p\""
            .to_owned(),
    };
    let role = "arn:aws:sts::123456789012:assumed-role/consumer/session";
    assert_eq!(
        unevaluable(Effect::Allow)
            .denial_message(PolicyKind::IdentityBased, role, "kinesis:GetRecords", "*")
            .unwrap(),
        "User: arn:aws:sts::123456789012:assumed-role/consumer/session is not authorized to perform: \
         kinesis:GetRecords because no identity-based policy allows the kinesis:GetRecords action (the local cloud \
         cannot evaluate the condition operator BinaryEquals in statement 2 of policy \"p\")"
    );
    assert_eq!(
        unevaluable(Effect::Deny)
            .because(PolicyKind::IdentityBased, "kinesis:GetRecords")
            .unwrap(),
        "with an explicit deny in an identity-based policy"
    );
}

/// The workshop's step 1 consumer policy (`solutions/step-1`): what an event source mapping reads, and its logs.
#[test]
fn the_step_1_consumer_policy_allows_reading_the_stream_and_its_own_logs_only() {
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/kinesis-lab-consumer";
    let policy = [named(
        "consumer",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Sid": "ReadTheStream", "Effect": "Allow", "Action": ["kinesis:DescribeStream",
                  "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:GetShardIterator",
                  "kinesis:GetRecords"], "Resource": ["{stream}"]}},
                {{"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                  "logs:PutLogEvents"], "Resource": ["{group}", "{group}:*"]}}]}}"#
        ),
    )];
    let ask = |action: &str, resource: &str| evaluate(&policy, &Request::new(action, resource));
    assert_eq!(
        ask("kinesis:GetRecords", stream),
        Decision::Allowed {
            by: by("consumer", 1, Some("ReadTheStream"))
        }
    );
    assert_eq!(ask("kinesis:PutRecord", stream), Decision::ImplicitDeny);
    assert_eq!(
        ask("kinesis:GetRecords", &stream.replace("TelemetricStream", "Other")),
        Decision::ImplicitDeny
    );
    assert_eq!(ask("kinesis:ListStreams", "*"), Decision::ImplicitDeny);
    let stream_log = format!("{group}:log-stream:2026/12/01/[$LATEST]abc");
    assert_eq!(
        ask("logs:PutLogEvents", &stream_log),
        Decision::Allowed {
            by: by("consumer", 2, Some("WriteOwnLogs"))
        }
    );
    assert!(ask("logs:CreateLogGroup", group).is_allowed());
    assert_eq!(
        ask("logs:PutLogEvents", &format!("{group}-other:log-stream:x")),
        Decision::ImplicitDeny
    );
}

/// Variables and conditions together, in a decision: each user may use only their own prefix.
#[test]
fn a_policy_variable_scopes_a_statement_to_the_caller() {
    let policy = [one(
        r#"{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::mybucket/${aws:username}/*"}"#,
    )];
    let as_user = |user: &str, key: &str| {
        evaluate(
            &policy,
            &Request::new("s3:GetObject", format!("arn:aws:s3:::mybucket/{key}")).with("aws:username", user),
        )
    };
    assert!(as_user("David", "David/notes.txt").is_allowed());
    assert_eq!(as_user("Adele", "David/notes.txt"), Decision::ImplicitDeny);
    assert_eq!(
        evaluate(
            &policy,
            &Request::new("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt")
        ),
        Decision::ImplicitDeny,
        "a role session has no aws:username: the statement matches nothing"
    );
}

#[test]
fn statement_references_read_as_a_person_would_say_them() {
    assert_eq!(
        by("consumer", 2, Some("ReadTheStream")).to_string(),
        "statement 2 (\"ReadTheStream\") of policy \"consumer\""
    );
    assert_eq!(
        by("consumer", 1, None).to_string(),
        "statement 1 of policy \"consumer\""
    );
    assert_eq!(
        by("consumer", 1, Some("")).to_string(),
        "statement 1 of policy \"consumer\""
    );
}

/// Decisions and requests are data for the JSON reports.
#[test]
fn decisions_and_requests_serialise() {
    let decision = Decision::ExplicitDeny {
        by: by("deny", 1, Some("NoDelete")),
    };
    assert_eq!(
        serde_json::to_value(&decision).unwrap(),
        serde_json::json!({"decision": "explicit_deny", "by": {"policy": "deny", "index": 1, "sid": "NoDelete"}})
    );
    let request: Request = serde_json::from_value(serde_json::json!({
        "action": "kinesis:GetRecords",
        "resource": "arn:aws:kinesis:us-east-1:123456789012:stream/S",
        "context": {"aws:SourceIp": "203.0.113.7", "aws:TagKeys": ["a", "b"]}
    }))
    .unwrap();
    assert_eq!(
        request.context.get("AWS:SOURCEIP"),
        Some(&["203.0.113.7".to_owned()][..])
    );
    assert_eq!(request.context.get("aws:tagkeys").map(<[String]>::len), Some(2));
    let without_context: Request =
        serde_json::from_str(r#"{"action": "kinesis:ListStreams", "resource": "*"}"#).unwrap();
    assert_eq!(without_context, Request::new("kinesis:ListStreams", "*"));
    let round_trip: Request = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
    assert_eq!(round_trip, request);
}

/// A key the caller cannot supply (a resource's tags, here) makes its statement unevaluable, in a `Deny` (refused)
/// and in an `Allow` (not allowed), instead of being taken as absent: absent, the `Deny` below would not apply and
/// the `Allow` would let the request through, where AWS, knowing the tags, would refuse it.
#[test]
fn a_condition_on_a_key_the_caller_does_not_supply_is_never_taken_as_absent() {
    let deny = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"kinesis:*","Resource":"*"},
        {"Sid":"Production","Effect":"Deny","Action":"kinesis:DeleteStream","Resource":"*",
         "Condition":{"StringEquals":{"aws:ResourceTag/env":"production"}}}]}"#;
    let policies = [NamedPolicy::parse("p", deny).unwrap()];
    let supplied = Context::new().supplying(&["aws:PrincipalArn"]);
    let mut request = Request::new(
        "kinesis:DeleteStream",
        "arn:aws:kinesis:us-east-1:123456789012:stream/s",
    );
    request.context = supplied.clone();
    let decision = evaluate(&policies, &request);
    assert!(
        matches!(&decision, Decision::Unevaluable { effect: Effect::Deny, reason, .. } if reason.contains("aws:ResourceTag/env")),
        "{decision:?}"
    );
    // Without `supplying`, the key is simply absent: StringEquals on an absent key does not match, so the Deny does
    // not apply (AWS's rule for a key that really is absent) — on a stream tagged production, AWS would deny.
    let absent = evaluate(
        &policies,
        &Request::new(
            "kinesis:DeleteStream",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        ),
    );
    assert!(absent.is_allowed(), "{absent:?}");
    // A supplied key is evaluated as usual.
    let mut other = Request::new("kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/s");
    other.context = supplied;
    assert!(evaluate(&policies, &other).is_allowed());
}

/// A resource's tags read whole (`supplying_family("aws:ResourceTag/")`): a tag it carries is compared, a tag it
/// lacks is absent (the condition does not match, as in AWS), and the family says nothing of other keys.
#[test]
fn a_family_of_keys_supplied_whole_makes_a_missing_tag_absent_not_unevaluable() {
    let guard = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"OnlyAdasStreams","Effect":"Allow","Action":"kinesis:DeleteStream","Resource":"*",
         "Condition":{"StringEquals":{"aws:ResourceTag/learner":"ada","aws:ResourceTag/workshop":"kinesis-lab"}}}]}"#;
    let policies = [NamedPolicy::parse("guard", guard).unwrap()];
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/s";
    let tagged = |tags: &[(&str, &str)]| {
        let mut context = Context::new()
            .supplying(&["aws:PrincipalArn"])
            .supplying_family("aws:ResourceTag/");
        for (key, value) in tags {
            context.insert(&format!("aws:ResourceTag/{key}"), *value);
        }
        let mut request = Request::new("kinesis:DeleteStream", stream);
        request.context = context;
        evaluate(&policies, &request)
    };
    assert!(tagged(&[("learner", "ada"), ("workshop", "kinesis-lab")]).is_allowed());
    assert_eq!(
        tagged(&[("learner", "bob"), ("workshop", "kinesis-lab")]),
        Decision::ImplicitDeny
    );
    // Untagged: both keys absent, so StringEquals does not match: denied, not unevaluable.
    assert_eq!(tagged(&[]), Decision::ImplicitDeny);
    // The family covers its own keys only: a condition on another unsupplied key is still unevaluable.
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:DeleteStream",
        "Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/learner":"ada"}}}]}"#;
    let mut request = Request::new("kinesis:DeleteStream", stream);
    request.context = Context::new()
        .supplying(&["aws:PrincipalArn"])
        .supplying_family("aws:ResourceTag/");
    let decision = evaluate(&[NamedPolicy::parse("p", other).unwrap()], &request);
    assert!(matches!(decision, Decision::Unevaluable { .. }), "{decision:?}");
}
