//! Role trust policies: the workshop's own (Lambda's, and Firehose's with `sts:ExternalId`) and the principal forms
//! of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>.

use crate::{Caller, Context, Decision, Effect, PolicyKind, StatementRef, TRUST_POLICY_NAME, TrustPolicy};

fn trust(json: &str) -> TrustPolicy {
    TrustPolicy::parse(json).unwrap_or_else(|error| panic!("{error}\n{json}"))
}

fn statement(index: usize) -> StatementRef {
    StatementRef {
        policy: TRUST_POLICY_NAME.to_owned(),
        index,
        sid: None,
    }
}

fn refusal(json: &str) -> String {
    TrustPolicy::parse(json).unwrap_err().message().to_owned()
}

/// The lab's Lambda role trust policy (`xtask/lab-cloud/src/control/iam.rs`).
const LAMBDA: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

#[test]
fn lambda_may_assume_a_lambda_role_and_nobody_else() {
    let policy = trust(LAMBDA);
    let lambda = Caller::Service("lambda.amazonaws.com".to_owned());
    assert_eq!(
        policy.may_assume(&lambda, &Context::new()),
        Decision::Allowed { by: statement(1) }
    );
    let firehose = Caller::Service("firehose.amazonaws.com".to_owned());
    let refused = policy.may_assume(&firehose, &Context::new());
    assert_eq!(refused, Decision::ImplicitDeny);
    assert_eq!(
        refused.because(PolicyKind::RoleTrust, "sts:AssumeRole").unwrap(),
        "because no role trust policy allows the sts:AssumeRole action"
    );
    let user = Caller::Aws("arn:aws:iam::123456789012:user/JohnDoe".to_owned());
    assert_eq!(policy.may_assume(&user, &Context::new()), Decision::ImplicitDeny);
    assert_eq!(
        policy.decide(&lambda, "sts:AssumeRoleWithWebIdentity", &Context::new()),
        Decision::ImplicitDeny,
        "the statement names sts:AssumeRole only"
    );
}

/// Firehose's role (step 4): Firehose, on behalf of this account only — `StringEquals` on `sts:ExternalId`.
#[test]
fn firehose_may_assume_its_role_only_with_the_accounts_external_id() {
    let policy = trust(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "123456789012"}}}]}"#,
    );
    let firehose = Caller::Service("firehose.amazonaws.com".to_owned());
    let with_id = |id: &str| Context::new().with("sts:ExternalId", id);
    assert!(policy.may_assume(&firehose, &with_id("123456789012")).is_allowed());
    assert_eq!(
        policy.may_assume(&firehose, &with_id("999999999999")),
        Decision::ImplicitDeny
    );
    assert_eq!(policy.may_assume(&firehose, &Context::new()), Decision::ImplicitDeny);
}

/// "The account ARN and the shortened account ID behave the same way. Both delegate permissions to the account ...
/// Using the account ARN in the Principal element does not limit permissions to only the root user."
#[test]
fn an_account_principal_trusts_every_principal_of_that_account() {
    for account in [r#""123456789012""#, r#""arn:aws:iam::123456789012:root""#] {
        let policy = trust(&format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Principal": {{"AWS": {account}}}, "Action": "sts:AssumeRole"}}}}"#
        ));
        for arn in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/JohnDoe",
            "arn:aws:iam::123456789012:role/deployer",
            "arn:aws:sts::123456789012:assumed-role/deployer/ci",
        ] {
            assert!(
                policy
                    .may_assume(&Caller::Aws(arn.to_owned()), &Context::new())
                    .is_allowed(),
                "{account} {arn}"
            );
        }
        let stranger = Caller::Aws("arn:aws:iam::999999999999:user/JohnDoe".to_owned());
        assert_eq!(
            policy.may_assume(&stranger, &Context::new()),
            Decision::ImplicitDeny,
            "{account}"
        );
        let service = Caller::Service("lambda.amazonaws.com".to_owned());
        assert_eq!(
            policy.may_assume(&service, &Context::new()),
            Decision::ImplicitDeny,
            "{account}"
        );
    }
    // An account ID is twelve digits; twelve other characters name no account.
    let lettered = trust(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "ABCDEFGHIJKL"}, "Action": "sts:AssumeRole"}}"#,
    );
    let caller = Caller::Aws("arn:aws:iam::ABCDEFGHIJKL:user/x".to_owned());
    assert_eq!(lettered.may_assume(&caller, &Context::new()), Decision::ImplicitDeny);
}

/// A role principal is the role and the sessions it issues; a user principal is that user, case-sensitively.
#[test]
fn a_role_principal_trusts_the_roles_sessions_and_a_user_principal_that_user() {
    let policy = trust(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": [
            "arn:aws:iam::123456789012:role/ops/deployer", "arn:aws:iam::123456789012:user/JohnDoe"]}}}"#,
    );
    let may = |arn: &str| {
        policy
            .may_assume(&Caller::Aws(arn.to_owned()), &Context::new())
            .is_allowed()
    };
    assert!(may("arn:aws:iam::123456789012:role/ops/deployer"));
    assert!(may("arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7"));
    assert!(
        !may("arn:aws:sts::123456789012:assumed-role/deployer/"),
        "a session has a name"
    );
    assert!(!may("arn:aws:sts::123456789012:assumed-role/other/ci-run-7"));
    assert!(!may("arn:aws:sts::999999999999:assumed-role/deployer/ci-run-7"));
    assert!(may("arn:aws:iam::123456789012:user/JohnDoe"));
    assert!(
        !may("arn:aws:iam::123456789012:user/johndoe"),
        "the user name part is case sensitive"
    );
    assert!(
        !may("arn:aws:sts::123456789012:assumed-role/JohnDoe/s"),
        "a user issues no role sessions"
    );
}

/// `"Principal": "*"` and `{"AWS": "*"}` are everyone; `Federated` names an identity provider.
#[test]
fn everyone_and_federated_principals() {
    for everyone in [r#""*""#, r#"{"AWS": "*"}"#] {
        let policy = trust(&format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Principal": {everyone}, "Action": "sts:AssumeRole"}}}}"#
        ));
        assert!(
            policy
                .may_assume(
                    &Caller::Aws("arn:aws:iam::999999999999:user/x".to_owned()),
                    &Context::new()
                )
                .is_allowed()
        );
        assert!(
            policy
                .may_assume(&Caller::Service("ec2.amazonaws.com".to_owned()), &Context::new())
                .is_allowed()
        );
    }
    let web = trust(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity"}}"#,
    );
    let cognito = Caller::Federated("cognito-identity.amazonaws.com".to_owned());
    assert!(
        web.decide(&cognito, "sts:AssumeRoleWithWebIdentity", &Context::new())
            .is_allowed()
    );
    let google = Caller::Federated("accounts.google.com".to_owned());
    assert_eq!(
        web.decide(&google, "sts:AssumeRoleWithWebIdentity", &Context::new()),
        Decision::ImplicitDeny
    );
}

#[test]
fn a_deny_in_a_trust_policy_overrides_its_allow() {
    let policy = trust(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/intern"}, "Action": "sts:AssumeRole"}]}"#,
    );
    let intern = Caller::Aws("arn:aws:iam::123456789012:user/intern".to_owned());
    let refused = policy.may_assume(&intern, &Context::new());
    assert_eq!(refused, Decision::ExplicitDeny { by: statement(2) });
    assert_eq!(
        refused.because(PolicyKind::RoleTrust, "sts:AssumeRole").unwrap(),
        "with an explicit deny in the role trust policy"
    );
    let lead = Caller::Aws("arn:aws:iam::123456789012:user/lead".to_owned());
    assert_eq!(
        policy.may_assume(&lead, &Context::new()),
        Decision::Allowed { by: statement(1) }
    );
}

#[test]
fn a_trust_statement_the_crate_cannot_evaluate_never_allows() {
    let policy = trust(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"BinaryEquals": {"sts:ExternalId": "MTIz"}}}}"#,
    );
    let firehose = Caller::Service("firehose.amazonaws.com".to_owned());
    match policy.may_assume(&firehose, &Context::new().with("sts:ExternalId", "123")) {
        Decision::Unevaluable { effect, reason, .. } => {
            assert_eq!(effect, Effect::Allow);
            assert!(
                reason.contains("BinaryEquals") && reason.contains("policy \"trust policy\""),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// What IAM's `CreateRole` refuses in a trust policy.
#[test]
fn trust_policies_are_refused_as_iam_refuses_them() {
    let resource = LAMBDA.replace(
        r#""Action": "sts:AssumeRole""#,
        r#""Action": "sts:AssumeRole", "Resource": "*""#,
    );
    assert_eq!(refusal(&resource), "Has prohibited field Resource.");
    let nobody = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}}"#;
    assert_eq!(
        refusal(nobody),
        "Invalid principal in policy: The passed in policy has a statement with no principals!"
    );
    let not_principal = LAMBDA.replace("\"Principal\"", "\"NotPrincipal\"");
    assert!(refusal(&not_principal).starts_with("Invalid principal in policy"));
    let partial = LAMBDA.replace(
        r#"{"Service": "lambda.amazonaws.com"}"#,
        r#"{"AWS": "arn:aws:iam::123456789012:role/*"}"#,
    );
    assert_eq!(
        refusal(&partial),
        "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/*\""
    );
    let not_star = LAMBDA.replace(r#"{"Service": "lambda.amazonaws.com"}"#, r#""lambda.amazonaws.com""#);
    assert_eq!(
        refusal(&not_star),
        "Syntax errors in policy.",
        "a principal string can only be \"*\""
    );
    let unknown = LAMBDA.replace("\"Service\"", "\"Group\"");
    assert_eq!(refusal(&unknown), "Syntax errors in policy.");
    let no_action = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*"}}"#;
    assert_eq!(refusal(no_action), "Policy statement must contain actions.");
    assert_eq!(trust(LAMBDA).policy().statements.len(), 1);
}
