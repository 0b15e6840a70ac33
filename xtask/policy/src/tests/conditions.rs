//! Condition operators, from the tables and examples of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html>.

use crate::conditions::{Outcome, evaluate};
use crate::parse::{Condition, Effect, Version};
use crate::{Context, Policy};

/// A context of single-valued keys.
fn context(pairs: &[(&str, &str)]) -> Context {
    let mut context = Context::new();
    for (key, value) in pairs {
        context.insert(key, *value);
    }
    context
}

/// One condition (operator, key, values) in an `Allow` statement of the current language.
fn check(operator: &str, key: &str, values: &[&str], context: &Context) -> Outcome {
    check_in(Effect::Allow, operator, key, values, context)
}

fn check_in(effect: Effect, operator: &str, key: &str, values: &[&str], context: &Context) -> Outcome {
    let condition = Condition {
        operator: operator.to_owned(),
        key: key.to_owned(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    evaluate(&condition, context, Version::V2012_10_17, effect)
}

fn holds(operator: &str, key: &str, values: &[&str], context: &Context) -> bool {
    match check(operator, key, values, context) {
        Outcome::Match => true,
        Outcome::NoMatch => false,
        Outcome::Unevaluable(reason) => panic!("{operator} {key}: unevaluable: {reason}"),
    }
}

fn unevaluable(outcome: Outcome) -> String {
    match outcome {
        Outcome::Unevaluable(reason) => reason,
        other => panic!("expected unevaluable, got {other:?}"),
    }
}

/// The Condition page: `StringEquals` on `aws:username` "johndoe" refuses "JohnDoe"; `StringEqualsIgnoreCase`
/// takes both. Key names are not case-sensitive.
#[test]
fn string_equals_is_case_sensitive_and_ignore_case_is_not() {
    let john = context(&[("aws:username", "JohnDoe")]);
    assert!(!holds("StringEquals", "aws:username", &["johndoe"], &john));
    assert!(holds("StringEqualsIgnoreCase", "aws:username", &["johndoe"], &john));
    assert!(
        holds("StringEquals", "AWS:UserName", &["JohnDoe"], &john),
        "key names are case-insensitive"
    );
    assert!(holds("StringNotEquals", "aws:username", &["johndoe"], &john));
    assert!(!holds("StringNotEqualsIgnoreCase", "aws:username", &["johndoe"], &john));
    assert!(
        !holds("StringEquals", "aws:username", &["John*"], &john),
        "StringEquals has no wildcards"
    );
}

/// "Key names are not case-sensitive ... `"aws:ResourceTag/TagKey1": "Value1"` ... matches a resource tag key named
/// either `TagKey1` or `tagkey1`".
#[test]
fn tag_key_names_are_case_insensitive() {
    let tagged = context(&[("aws:ResourceTag/tagkey1", "Value1")]);
    assert!(holds("StringEquals", "aws:ResourceTag/TagKey1", &["Value1"], &tagged));
    assert!(
        !holds("StringEquals", "aws:ResourceTag/TagKey1", &["value1"], &tagged),
        "values keep their case"
    );
}

/// `StringLike`: "The values can include multi-character match wildcards (*) and single-character match wildcards
/// (?) anywhere in the string", with a policy variable (the operators page's home-directory example).
#[test]
fn string_like_takes_wildcards_and_variables() {
    let carlos = context(&[("aws:username", "carlos"), ("s3:prefix", "home/carlos/")]);
    assert!(holds(
        "StringLike",
        "s3:prefix",
        &["", "home/", "home/${aws:username}/"],
        &carlos
    ));
    let other = context(&[("aws:username", "carlos"), ("s3:prefix", "home/adele/")]);
    assert!(!holds(
        "StringLike",
        "s3:prefix",
        &["", "home/", "home/${aws:username}/"],
        &other
    ));
    let prefix = context(&[("s3:prefix", "marketing/2026/q4.csv")]);
    assert!(holds("StringLike", "s3:prefix", &["marketing/*"], &prefix));
    assert!(holds("StringLike", "s3:prefix", &["marketing/20??/*"], &prefix));
    assert!(
        !holds("StringLike", "s3:prefix", &["Marketing/*"], &prefix),
        "StringLike is case-sensitive"
    );
    assert!(holds("StringNotLike", "s3:prefix", &["sales/*"], &prefix));
    assert!(holds(
        "StringLike",
        "s3:prefix",
        &["marketing/${*}"],
        &context(&[("s3:prefix", "marketing/*")])
    ));
    assert!(
        !holds("StringLike", "s3:prefix", &["marketing/${*}"], &prefix),
        "${{*}} is a literal star"
    );
}

/// The operators page's "Important": "If the key that you specify in a policy condition is not present in the
/// request context, the values do not match and the condition is false. If the policy condition requires that the
/// key is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition is true."
#[test]
fn a_missing_key_fails_a_positive_operator_and_passes_a_negated_one() {
    let empty = Context::new();
    for operator in [
        "StringEquals",
        "StringLike",
        "ArnLike",
        "NumericEquals",
        "DateEquals",
        "Bool",
        "IpAddress",
    ] {
        let value = match operator {
            "ArnLike" => "arn:aws:s3:::b",
            "NumericEquals" => "1",
            "DateEquals" => "2020-01-01T00:00:00Z",
            "Bool" => "true",
            "IpAddress" => "203.0.113.0/24",
            _ => "x",
        };
        assert!(!holds(operator, "k", &[value], &empty), "{operator}");
    }
    assert!(holds("StringNotLike", "k", &["x*"], &empty));
    assert!(holds("ArnNotLike", "k", &["arn:aws:s3:::b"], &empty));
    assert!(holds("NotIpAddress", "aws:SourceIp", &["203.0.113.0/24"], &empty));
    assert!(holds("NumericNotEquals", "k", &["1"], &empty));
}

/// The multiple-values page's example: operators AND, keys AND, values OR.
#[test]
fn keys_and_operators_are_anded_and_values_ored() {
    let statement = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "*", "Condition": {
            "StringEqualsIgnoreCase": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                                       "aws:PrincipalTag/role": ["audit", "security"]},
            "StringEquals": {"aws:PrincipalAccount": "123456789012"}}}}"#;
    let policy = Policy::parse(statement).unwrap();
    let all = |context: &Context| {
        policy.statements[0]
            .conditions
            .iter()
            .all(|c| evaluate(c, context, Version::V2012_10_17, Effect::Allow) == Outcome::Match)
    };
    let auditor = context(&[
        ("aws:PrincipalTag/department", "HR"),
        ("aws:PrincipalTag/role", "audit"),
        ("aws:PrincipalAccount", "123456789012"),
    ]);
    assert!(all(&auditor));
    let no_role = context(&[
        ("aws:PrincipalTag/department", "hr"),
        ("aws:PrincipalAccount", "123456789012"),
    ]);
    assert!(!all(&no_role), "both tag keys must be there");
    let other_account = context(&[
        ("aws:PrincipalTag/department", "legal"),
        ("aws:PrincipalTag/role", "security"),
        ("aws:PrincipalAccount", "999999999999"),
    ]);
    assert!(!all(&other_account));
}

/// "If a single negated matching condition operator includes multiple values for a context key, those values are
/// evaluated using a logical NOR": with several `aws:PrincipalAccount` values in `StringNotEquals`, "the string
/// cannot match any of the values listed".
#[test]
fn a_negated_operator_nors_its_values() {
    let accounts = ["111122223333", "444455556666"];
    assert!(!holds(
        "StringNotEquals",
        "aws:PrincipalAccount",
        &accounts,
        &context(&[("aws:PrincipalAccount", "444455556666")])
    ));
    assert!(holds(
        "StringNotEquals",
        "aws:PrincipalAccount",
        &accounts,
        &context(&[("aws:PrincipalAccount", "777788889999")])
    ));
    let addresses = ["203.0.113.0/24", "198.51.100.7"];
    assert!(!holds(
        "NotIpAddress",
        "aws:SourceIp",
        &addresses,
        &context(&[("aws:SourceIp", "198.51.100.7")])
    ));
    assert!(holds(
        "NotIpAddress",
        "aws:SourceIp",
        &addresses,
        &context(&[("aws:SourceIp", "198.51.100.8")])
    ));
}

/// `NumericLessThanEquals` on `s3:max-keys` 10 (the operators page), and exact decimal comparison.
#[test]
fn numeric_operators_compare_numbers_not_text() {
    let keys = |n: &str| context(&[("s3:max-keys", n)]);
    assert!(holds("NumericLessThanEquals", "s3:max-keys", &["10"], &keys("10")));
    assert!(holds("NumericLessThanEquals", "s3:max-keys", &["10"], &keys("9")));
    assert!(!holds("NumericLessThanEquals", "s3:max-keys", &["10"], &keys("11")));
    assert!(
        !holds("NumericLessThanEquals", "s3:max-keys", &["10"], &keys("100")),
        "100 > 10 though \"100\" < \"9\""
    );
    assert!(holds("NumericLessThan", "s3:max-keys", &["10"], &keys("9.999")));
    assert!(!holds("NumericLessThan", "s3:max-keys", &["10"], &keys("10.000")));
    assert!(holds("NumericEquals", "s3:max-keys", &["10"], &keys("010.0")));
    assert!(holds("NumericNotEquals", "s3:max-keys", &["10"], &keys("10.5")));
    assert!(holds("NumericGreaterThan", "s3:max-keys", &["-1"], &keys("0")));
    assert!(holds("NumericGreaterThan", "s3:max-keys", &["-2"], &keys("-1.5")));
    assert!(!holds(
        "NumericGreaterThanEquals",
        "s3:max-keys",
        &["-1"],
        &keys("-1.5")
    ));
    assert!(holds(
        "NumericGreaterThanEquals",
        "s3:max-keys",
        &["0.25"],
        &keys("0.3")
    ));
}

/// The Condition page's MFA example: `NumericLessThanEquals` `aws:MultiFactorAuthAge` 3600 with the number written
/// as a JSON number.
#[test]
fn a_number_written_as_json_is_a_number() {
    let policy = Policy::parse(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:DeactivateMFADevice",
            "Resource": "*", "Condition": {"NumericLessThanEquals": {"aws:MultiFactorAuthAge": 3600}}}}"#,
    )
    .unwrap();
    let condition = &policy.statements[0].conditions[0];
    let age = |seconds: &str| context(&[("aws:MultiFactorAuthAge", seconds)]);
    let run = |c: &Context| evaluate(condition, c, Version::V2012_10_17, Effect::Allow);
    assert_eq!(run(&age("1200")), Outcome::Match);
    assert_eq!(run(&age("7200")), Outcome::NoMatch);
    assert_eq!(
        run(&Context::new()),
        Outcome::NoMatch,
        "not present: \"it won't match\""
    );
}

/// `DateGreaterThan` on `aws:TokenIssueTime` "2020-01-01T00:00:01Z" (the operators page); ISO 8601 and epoch on
/// either side.
#[test]
fn date_operators_compare_instants_in_iso_8601_or_epoch() {
    let issued = |at: &str| context(&[("aws:TokenIssueTime", at)]);
    let after = ["2020-01-01T00:00:01Z"];
    assert!(holds(
        "DateGreaterThan",
        "aws:TokenIssueTime",
        &after,
        &issued("2020-06-01T12:00:00Z")
    ));
    assert!(!holds(
        "DateGreaterThan",
        "aws:TokenIssueTime",
        &after,
        &issued("2020-01-01T00:00:01Z")
    ));
    assert!(holds(
        "DateGreaterThanEquals",
        "aws:TokenIssueTime",
        &after,
        &issued("2020-01-01T00:00:01Z")
    ));
    assert!(!holds(
        "DateGreaterThan",
        "aws:TokenIssueTime",
        &after,
        &issued("2019-12-31T23:59:59Z")
    ));
    // 1577836802 is 2020-01-01T00:00:02Z.
    assert!(holds(
        "DateGreaterThan",
        "aws:TokenIssueTime",
        &after,
        &issued("1577836802")
    ));
    assert!(holds(
        "DateEquals",
        "aws:EpochTime",
        &["1577836801"],
        &context(&[("aws:EpochTime", "2020-01-01T00:00:01Z")])
    ));
    // A zone offset: 01:00:01+01:00 is 00:00:01Z.
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        &after,
        &context(&[("aws:CurrentTime", "2020-01-01T01:00:01+01:00")])
    ));
    assert!(holds(
        "DateLessThan",
        "aws:CurrentTime",
        &["2020-01-02"],
        &context(&[("aws:CurrentTime", "2020-01-01T23:59:59Z")])
    ));
    assert!(holds(
        "DateNotEquals",
        "aws:CurrentTime",
        &after,
        &context(&[("aws:CurrentTime", "2020-01-01T00:00:01.5Z")])
    ));
    assert!(holds(
        "DateLessThanEquals",
        "aws:CurrentTime",
        &["2020-01-01T00:00:01.5Z"],
        &issued_at_current("2020-01-01T00:00:01.25Z")
    ));
}

fn issued_at_current(at: &str) -> Context {
    context(&[("aws:CurrentTime", at)])
}

/// The operators page's `BooleanExample`: deny when `aws:SecureTransport` is `false`. Bool takes a policy variable
/// ("You can use a policy variable with the Boolean condition operator").
#[test]
fn bool_compares_true_and_false() {
    let plain = context(&[("aws:SecureTransport", "false")]);
    let secure = context(&[("aws:SecureTransport", "true")]);
    assert!(holds("Bool", "aws:SecureTransport", &["false"], &plain));
    assert!(!holds("Bool", "aws:SecureTransport", &["false"], &secure));
    assert!(holds("Bool", "aws:SecureTransport", &["FALSE"], &plain));
    let variable = context(&[("aws:SecureTransport", "true"), ("aws:PrincipalTag/secure", "true")]);
    assert!(holds(
        "Bool",
        "aws:SecureTransport",
        &["${aws:PrincipalTag/secure}"],
        &variable
    ));
    assert!(unevaluable(check("Bool", "aws:SecureTransport", &["yes"], &secure)).contains("true or false"));
    assert!(
        unevaluable(check(
            "Bool",
            "aws:SecureTransport",
            &["true"],
            &context(&[("aws:SecureTransport", "1")])
        ))
        .contains("\"1\"")
    );
}

/// `IpAddress` on `aws:SourceIp` 203.0.113.0/24 and 2001:DB8:1234:5678::/64 (the operators page); an address alone
/// is /32.
#[test]
fn ip_address_matches_ipv4_and_ipv6_ranges() {
    let ranges = ["203.0.113.0/24", "2001:DB8:1234:5678::/64"];
    let from = |ip: &str| context(&[("aws:SourceIp", ip)]);
    assert!(holds("IpAddress", "aws:SourceIp", &ranges, &from("203.0.113.77")));
    assert!(!holds("IpAddress", "aws:SourceIp", &ranges, &from("203.0.114.1")));
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        &ranges,
        &from("2001:db8:1234:5678:abcd::1")
    ));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        &ranges,
        &from("2001:db8:1234:5679::1")
    ));
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        &["198.51.100.7"],
        &from("198.51.100.7")
    ));
    assert!(
        !holds("IpAddress", "aws:SourceIp", &["198.51.100.7"], &from("198.51.100.8")),
        "no prefix is /32"
    );
    assert!(holds("NotIpAddress", "aws:SourceIp", &ranges, &from("192.0.2.1")));
    assert!(holds("IpAddress", "aws:SourceIp", &["0.0.0.0/0"], &from("192.0.2.1")));
    assert!(
        unevaluable(check(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.0/33"],
            &from("203.0.113.1")
        ))
        .contains("203.0.113.0/33")
    );
}

/// The ARN operators' example: `arn:aws:someservice:*:111122223333:finance/*` matches the value below with
/// `StringLike` but not with `ArnLike`, which matches component by component.
#[test]
fn arn_like_matches_each_of_the_six_components_separately() {
    let pattern = ["arn:aws:someservice:*:111122223333:finance/*"];
    let value = context(&[(
        "aws:SourceArn",
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
    )]);
    assert!(holds("StringLike", "aws:SourceArn", &pattern, &value));
    assert!(!holds("ArnLike", "aws:SourceArn", &pattern, &value));
    let own = context(&[(
        "aws:SourceArn",
        "arn:aws:someservice:us-east-2:111122223333:finance/q4/report.txt",
    )]);
    assert!(holds("ArnLike", "aws:SourceArn", &pattern, &own));
    // "The ArnEquals and ArnLike condition operators behave identically."
    assert!(holds("ArnEquals", "aws:SourceArn", &pattern, &own));
    assert!(!holds("ArnNotEquals", "aws:SourceArn", &pattern, &own));
    assert!(holds("ArnNotLike", "aws:SourceArn", &pattern, &value));
    let topic = "arn:aws:sns:us-east-1:123456789012:TOPIC-ID";
    assert!(holds(
        "ArnEquals",
        "aws:SourceArn",
        &[topic],
        &context(&[("aws:SourceArn", topic)])
    ));
    assert!(!holds(
        "ArnEquals",
        "aws:SourceArn",
        &[topic],
        &context(&[("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic-id")])
    ));
    let resource_with_colons = context(&[(
        "aws:SourceArn",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*",
    )]);
    assert!(holds(
        "ArnLike",
        "aws:SourceArn",
        &["arn:aws:logs:*:*:log-group:*"],
        &resource_with_colons
    ));
    assert!(unevaluable(check("ArnLike", "aws:SourceArn", &["arn:aws:sns:*"], &own)).contains("six"));
}

/// The `...IfExists` section's example: `StringLikeIfExists` on `ec2:InstanceType`, true when the key is absent.
#[test]
fn if_exists_passes_a_missing_key_and_checks_a_present_one() {
    let types = ["t1.*", "t2.*", "m3.*"];
    assert!(holds("StringLikeIfExists", "ec2:InstanceType", &types, &Context::new()));
    assert!(holds(
        "StringLikeIfExists",
        "ec2:InstanceType",
        &types,
        &context(&[("ec2:InstanceType", "t2.micro")])
    ));
    assert!(!holds(
        "StringLikeIfExists",
        "ec2:InstanceType",
        &types,
        &context(&[("ec2:InstanceType", "m5.large")])
    ));
    assert!(
        !holds("StringLike", "ec2:InstanceType", &types, &Context::new()),
        "THISPOLICYDOESNOTWORK"
    );
    assert!(holds(
        "BoolIfExists",
        "aws:MultiFactorAuthPresent",
        &["false"],
        &Context::new()
    ));
    assert!(holds(
        "StringNotEqualsIfExists",
        "aws:ResourceTag/env",
        &["prod"],
        &Context::new()
    ));
}

/// The Null section's example: `"Null": {"aws:TokenIssueTime": "true"}` holds only without temporary credentials.
#[test]
fn null_checks_whether_the_key_is_there() {
    let temporary = context(&[("aws:TokenIssueTime", "2026-12-01T00:00:00Z")]);
    assert!(holds("Null", "aws:TokenIssueTime", &["true"], &Context::new()));
    assert!(!holds("Null", "aws:TokenIssueTime", &["true"], &temporary));
    assert!(holds("Null", "aws:TokenIssueTime", &["false"], &temporary));
    assert!(!holds("Null", "aws:TokenIssueTime", &["false"], &Context::new()));
    let mut empty = Context::new();
    empty.insert_values("aws:TagKeys", Vec::<String>::new());
    assert!(
        holds("Null", "aws:TagKeys", &["true"], &empty),
        "a key with no values is null"
    );
}

/// The multiple-values page's DynamoDB examples: `ForAllValues:StringEquals` on `dynamodb:Attributes` allows only
/// listed attributes; `ForAnyValue:StringEquals` in a Deny catches any listed one.
#[test]
fn set_operators_compare_every_request_value() {
    let requested = |attributes: &[&str]| {
        let mut context = Context::new();
        context.insert_values("dynamodb:Attributes", attributes.iter().copied());
        context
    };
    let allowed = ["ID", "Message", "Tags"];
    assert!(holds(
        "ForAllValues:StringEquals",
        "dynamodb:Attributes",
        &allowed,
        &requested(&["Message", "Tags"])
    ));
    assert!(!holds(
        "ForAllValues:StringEquals",
        "dynamodb:Attributes",
        &allowed,
        &requested(&["Message", "UserName"])
    ));
    let forbidden = ["ID", "PostDateTime"];
    assert!(holds(
        "ForAnyValue:StringEquals",
        "dynamodb:Attributes",
        &forbidden,
        &requested(&["UserName", "Message", "PostDateTime"])
    ));
    assert!(!holds(
        "ForAnyValue:StringEquals",
        "dynamodb:Attributes",
        &forbidden,
        &requested(&["UserName"])
    ));
    // "It also returns true if there are no keys in the request" / "For no matching key ... returns false".
    assert!(holds(
        "ForAllValues:StringEquals",
        "dynamodb:Attributes",
        &allowed,
        &Context::new()
    ));
    assert!(!holds(
        "ForAnyValue:StringEquals",
        "dynamodb:Attributes",
        &forbidden,
        &Context::new()
    ));
    assert!(holds(
        "ForAnyValue:StringEqualsIfExists",
        "dynamodb:Attributes",
        &forbidden,
        &Context::new()
    ));
    assert!(holds("ForAllValues:StringLike", "aws:TagKeys", &["key1*"], &{
        let mut tags = Context::new();
        tags.insert_values("aws:TagKeys", ["key1-a", "key1-b"]);
        tags
    }));
}

/// With a negated operator, a set operator asks whether every (or any) request value matches none of the policy's.
#[test]
fn set_operators_with_negated_operators() {
    let tags = |keys: &[&str]| {
        let mut context = Context::new();
        context.insert_values("aws:TagKeys", keys.iter().copied());
        context
    };
    let restricted = ["DataClass", "Owner"];
    assert!(holds(
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &tags(&["Dept", "SIC"])
    ));
    assert!(!holds(
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &tags(&["Dept", "DataClass"])
    ));
    assert!(holds(
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &Context::new()
    ));
    assert!(holds(
        "ForAnyValue:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &tags(&["Dept", "DataClass"])
    ));
    assert!(!holds(
        "ForAnyValue:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &tags(&["Owner", "DataClass"])
    ));
    assert!(!holds(
        "ForAnyValue:StringNotEquals",
        "aws:TagKeys",
        &restricted,
        &Context::new()
    ));
}

/// "Multivalued context keys require a condition set operator"; how AWS reads one without it is not documented.
#[test]
fn a_multivalued_key_without_a_set_operator_is_unevaluable() {
    let mut tags = Context::new();
    tags.insert_values("aws:TagKeys", ["a", "b"]);
    let reason = unevaluable(check("StringEquals", "aws:TagKeys", &["a"], &tags));
    assert!(
        reason.contains("2 values") && reason.contains("ForAnyValue"),
        "{reason}"
    );
    assert!(holds(
        "StringEquals",
        "aws:TagKeys",
        &["a"],
        &context(&[("aws:TagKeys", "a")])
    ));
}

/// The variables page: "When you use a variable with no value in the condition element ... operators like
/// `StringEquals` or `StringLike` do not match"; "Inverted condition operators like `StringNotEquals` or
/// `StringNotLike` do match against a null value". The page's Deny example applies; an Allow would allow on a
/// missing variable, so it is unevaluable.
#[test]
fn a_variable_without_a_value_never_quietly_allows() {
    let object = context(&[("s3:ExistingObjectTag/Team", "blue")]);
    let team = ["${aws:PrincipalTag/Team}"];
    assert_eq!(
        check("StringEquals", "s3:ExistingObjectTag/Team", &team, &object),
        Outcome::NoMatch
    );
    assert_eq!(
        check("StringLike", "s3:ExistingObjectTag/Team", &team, &object),
        Outcome::NoMatch
    );
    assert_eq!(
        check_in(
            Effect::Deny,
            "StringNotEquals",
            "s3:ExistingObjectTag/Team",
            &team,
            &object
        ),
        Outcome::Match
    );
    let reason = unevaluable(check("StringNotEquals", "s3:ExistingObjectTag/Team", &team, &object));
    assert!(reason.contains("${aws:PrincipalTag/Team}"), "{reason}");
    let blue = context(&[("s3:ExistingObjectTag/Team", "blue"), ("aws:PrincipalTag/Team", "blue")]);
    assert_eq!(
        check("StringNotEquals", "s3:ExistingObjectTag/Team", &team, &blue),
        Outcome::NoMatch
    );
    assert_eq!(
        check("StringEquals", "s3:ExistingObjectTag/Team", &team, &blue),
        Outcome::Match
    );
}

/// Anything the crate does not implement is unevaluable, with the operator's name in the reason.
#[test]
fn unknown_and_unimplemented_operators_are_unevaluable() {
    let any = context(&[("k", "v")]);
    for operator in [
        "BinaryEquals",
        "StringEqual",
        "NullIfExists",
        "ForAnyValue:Null",
        "stringequals",
        "ForSomeValues:StringEquals",
    ] {
        let reason = unevaluable(check(operator, "k", &["v"], &any));
        assert_eq!(
            reason,
            format!("the local cloud cannot evaluate the condition operator {operator}")
        );
    }
}

/// Numeric, Date and IP operators take no policy variables ("You can not use a policy variable with the Numeric
/// condition operator"), and a value that is not of the operator's type cannot be evaluated, on either side.
#[test]
fn values_of_the_wrong_type_are_unevaluable() {
    let age = context(&[("aws:MultiFactorAuthAge", "120"), ("aws:PrincipalTag/max", "3600")]);
    let reason = unevaluable(check(
        "NumericLessThan",
        "aws:MultiFactorAuthAge",
        &["${aws:PrincipalTag/max}"],
        &age,
    ));
    assert!(reason.contains("is not a number"), "{reason}");
    assert!(unevaluable(check("NumericLessThan", "k", &["1e3"], &age)).contains("1e3"));
    assert!(unevaluable(check("DateLessThan", "aws:CurrentTime", &["2020-13-01"], &age)).contains("2020-13-01"));
    assert!(unevaluable(check("DateLessThan", "aws:CurrentTime", &["*"], &age)).contains("ISO 8601"));
    let garbage = context(&[("s3:max-keys", "ten")]);
    assert!(unevaluable(check("NumericLessThan", "s3:max-keys", &["10"], &garbage)).contains("\"ten\""));
    assert!(
        unevaluable(check(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:s3:::b"],
            &context(&[("aws:SourceArn", "b")])
        ))
        .contains("\"b\"")
    );
}
