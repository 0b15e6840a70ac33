//! Wildcards and policy variables.

use crate::Context;
use crate::matching::{Part, ResourceMatch, Token, action_matches, glob, parse_template, resource_matches};
use crate::parse::Version;

fn resource(pattern: &str, arn: &str) -> bool {
    match resource_matches(pattern, arn, &Context::new(), Version::V2012_10_17) {
        ResourceMatch::Yes => true,
        ResourceMatch::No => false,
        other => panic!("{pattern} against {arn}: {other:?}"),
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html>: "`iam:ListAccessKeys`
/// is the same as `IAM:listaccesskeys`", and `iam:*AccessKey*` covers CreateAccessKey, DeleteAccessKey,
/// ListAccessKeys and UpdateAccessKey.
#[test]
fn actions_match_case_insensitively_with_wildcards() {
    assert!(action_matches("iam:ListAccessKeys", "IAM:listaccesskeys"));
    assert!(action_matches("IAM:listaccesskeys", "iam:ListAccessKeys"));
    for action in [
        "iam:CreateAccessKey",
        "iam:DeleteAccessKey",
        "iam:ListAccessKeys",
        "iam:UpdateAccessKey",
    ] {
        assert!(action_matches("iam:*AccessKey*", action), "{action}");
    }
    assert!(!action_matches("iam:*AccessKey*", "iam:CreateUser"));
    assert!(action_matches("kinesis:Get*", "kinesis:GetRecords"));
    assert!(action_matches("kinesis:Get*", "kinesis:GetShardIterator"));
    assert!(!action_matches("kinesis:Get*", "kinesis:PutRecord"));
    assert!(
        !action_matches("kinesis:Get*", "firehose:GetRecords"),
        "the service is part of the pattern"
    );
    assert!(action_matches("*", "sts:AssumeRole"));
    assert!(action_matches("kinesis:PutRecord?", "kinesis:PutRecords"));
    assert!(
        !action_matches("kinesis:PutRecord?", "kinesis:PutRecord"),
        "? is exactly one character"
    );
    assert!(
        !action_matches("kinesis:PutRecord", "kinesis:PutRecords"),
        "no pattern is a prefix match"
    );
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>: "In the Resource
/// element, the IAM user name is case sensitive".
#[test]
fn resources_match_case_sensitively() {
    assert!(resource(
        "arn:aws:iam::123456789012:user/Bob",
        "arn:aws:iam::123456789012:user/Bob"
    ));
    assert!(!resource(
        "arn:aws:iam::123456789012:user/Bob",
        "arn:aws:iam::123456789012:user/bob"
    ));
    assert!(!resource(
        "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream",
        "arn:aws:kinesis:us-east-1:123456789012:stream/telemetricstream"
    ));
}

/// The Resource page's own example: `arn:aws:s3:::amzn-s3-demo-bucket/*/test/*` and the objects it does and does not
/// cover ("The asterisk (*) character can expand to replace everything within a segment, including characters like
/// a forward slash (/)").
#[test]
fn a_star_spans_slashes_as_the_resource_page_shows() {
    let pattern = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*";
    for object in [
        "DOC-EXAMPLE-BUCKET/1/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test/3/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/3/test/4/object.jpg",
        "DOC-EXAMPLE-BUCKET/1///test///object.jpg",
        "DOC-EXAMPLE-BUCKET/1/test/.jpg",
        "DOC-EXAMPLE-BUCKET//test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/test/",
    ] {
        assert!(
            resource(pattern, &format!("arn:aws:s3:::{object}")),
            "{object} should match"
        );
    }
    for object in [
        "DOC-EXAMPLE-BUCKET/1-test/object.jpg",
        "DOC-EXAMPLE-BUCKET/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test.jpg",
    ] {
        assert!(
            !resource(pattern, &format!("arn:aws:s3:::{object}")),
            "{object} should not match"
        );
    }
}

/// "If the `*` wildcard is the last character of a resource ARN segment, it can expand to match beyond the colon
/// boundaries"; other wildcards stay "within the individual segments of an ARN (the parts separated by colons)".
#[test]
fn a_star_crosses_colons_only_at_the_end_of_a_segment() {
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/producer";
    assert!(resource(
        &format!("{group}:*"),
        &format!("{group}:log-stream:2026/12/01/abc")
    ));
    assert!(resource(
        "arn:aws:kinesis:*",
        "arn:aws:kinesis:us-east-1:123456789012:stream/S"
    ));
    assert!(resource(
        "arn:aws:kinesis:*:123456789012:stream/S",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/S"
    ));
    assert!(resource("arn:aws:s3:::*", "arn:aws:s3:::bucket/key:with:colons"));
    // A star inside a segment does not leave it.
    assert!(resource("arn:aws:s3:::a*b", "arn:aws:s3:::a/x/b"));
    assert!(!resource("arn:aws:s3:::a*b", "arn:aws:s3:::a:x:b"));
    assert!(resource(
        "arn:aws:kinesis:us-*-1:123456789012:stream/S",
        "arn:aws:kinesis:us-east-1:123456789012:stream/S"
    ));
    assert!(!resource(
        "arn:aws:kinesis:us-*-1:123456789012:stream/S",
        "arn:aws:kinesis:us-x:y-1:123456789012:stream/S"
    ));
    // `?` is one character of a segment, never a colon.
    assert!(resource("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-a"));
    assert!(!resource("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-ab"));
    assert!(!resource("arn:aws:s3:::a?b", "arn:aws:s3:::a:b"));
}

/// An action without resource-level permissions is asked for on `*`, which only `Resource: "*"` matches: the
/// NotAction page's `ListAllMyBuckets` "requires the "*" resource", so `arn:aws:s3:::*` does not grant it.
#[test]
fn a_resourceless_request_is_matched_only_by_a_star() {
    assert!(resource("*", "*"));
    assert!(resource("*", "arn:aws:kinesis:us-east-1:123456789012:stream/S"));
    assert!(!resource("arn:aws:s3:::*", "*"));
    assert!(!resource("arn:aws:kinesis:us-east-1:123456789012:stream/S", "*"));
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>: `${aws:username}` is
/// replaced from the request; its value is never a wildcard.
#[test]
fn a_variable_is_replaced_from_the_request_context() {
    let pattern = "arn:aws:s3:::mybucket/${aws:username}/*";
    let david = Context::new().with("aws:username", "David");
    let at = |arn: &str, context: &Context| resource_matches(pattern, arn, context, Version::V2012_10_17);
    assert_eq!(at("arn:aws:s3:::mybucket/David/notes.txt", &david), ResourceMatch::Yes);
    assert_eq!(at("arn:aws:s3:::mybucket/Adele/notes.txt", &david), ResourceMatch::No);
    // Key names are case-insensitive ("aws:CurrentTime is equivalent to AWS:currenttime").
    let shouted = Context::new().with("AWS:UserName", "David");
    assert_eq!(
        at("arn:aws:s3:::mybucket/David/notes.txt", &shouted),
        ResourceMatch::Yes
    );
    // A value with a star in it is that star, not a wildcard.
    let starred = Context::new().with("aws:username", "*");
    assert_eq!(at("arn:aws:s3:::mybucket/David/notes.txt", &starred), ResourceMatch::No);
    assert_eq!(at("arn:aws:s3:::mybucket/*/notes.txt", &starred), ResourceMatch::Yes);
}

/// "If a variable that has no value in the authorization context is used as part of the Resource or NotResource
/// element of a policy, the resource that includes a policy variable with no value will not match any resource";
/// "You can't use a multivalued condition key as a variable".
#[test]
fn a_variable_without_a_single_value_matches_nothing() {
    let pattern = "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*";
    let missing = resource_matches(
        pattern,
        "arn:aws:s3:::bucket/x/y",
        &Context::new(),
        Version::V2012_10_17,
    );
    assert_eq!(
        missing,
        ResourceMatch::Missing {
            variable: "${aws:PrincipalTag/team}".to_owned()
        }
    );
    let mut two = Context::new();
    two.insert_values("aws:PrincipalTag/team", ["x", "y"]);
    let multivalued = resource_matches(pattern, "arn:aws:s3:::bucket/x/y", &two, Version::V2012_10_17);
    assert!(matches!(multivalued, ResourceMatch::Missing { .. }), "{multivalued:?}");
}

/// `#policy-vars-default-values`: `${aws:PrincipalTag/team, 'company-wide'}`.
#[test]
fn a_default_value_stands_in_for_a_missing_variable() {
    let pattern = "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}";
    let yellow = Context::new().with("aws:PrincipalTag/team", "yellow");
    let at = |arn: &str, context: &Context| resource_matches(pattern, arn, context, Version::V2012_10_17);
    assert_eq!(
        at("arn:aws:s3:::DOC-EXAMPLE-BUCKET-yellow", &yellow),
        ResourceMatch::Yes
    );
    assert_eq!(
        at("arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide", &yellow),
        ResourceMatch::No
    );
    assert_eq!(
        at("arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide", &Context::new()),
        ResourceMatch::Yes
    );
}

/// `#policy-vars-specialchars`: `${*}`, `${?}` and `${$}` are the characters themselves.
#[test]
fn special_character_variables_are_literal_characters() {
    let parts = parse_template("a${*}b${?}c${$}d", Version::V2012_10_17);
    assert_eq!(
        parts,
        [
            Part::Text("a".to_owned()),
            Part::Escaped('*'),
            Part::Text("b".to_owned()),
            Part::Escaped('?'),
            Part::Text("c".to_owned()),
            Part::Escaped('$'),
            Part::Text("d".to_owned()),
        ]
    );
    assert!(resource("arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/*"));
    assert!(!resource("arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/anything"));
    assert!(resource("arn:aws:s3:::bucket/what${?}", "arn:aws:s3:::bucket/what?"));
    assert!(!resource("arn:aws:s3:::bucket/what${?}", "arn:aws:s3:::bucket/whatx"));
    assert!(resource("arn:aws:s3:::bucket/${$}5", "arn:aws:s3:::bucket/$5"));
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html>: in 2008-10-17
/// "variables such as `${aws:username}` aren't recognized as variables and are instead treated as literal strings".
#[test]
fn the_2008_language_has_no_variables() {
    let pattern = "arn:aws:s3:::mybucket/${aws:username}";
    let david = Context::new().with("aws:username", "David");
    let old = |arn: &str| resource_matches(pattern, arn, &david, Version::V2008_10_17);
    assert_eq!(old("arn:aws:s3:::mybucket/David"), ResourceMatch::No);
    assert_eq!(old("arn:aws:s3:::mybucket/${aws:username}"), ResourceMatch::Yes);
    assert_eq!(
        parse_template(pattern, Version::V2008_10_17),
        [Part::Text(pattern.to_owned())]
    );
}

/// `#policy-vars-resourceelement`: "You can't use a variable to replace parts of the ARN before the fifth colon".
#[test]
fn a_variable_before_the_resource_part_is_unevaluable() {
    let pattern = "arn:aws:kinesis:${aws:RequestedRegion}:123456789012:stream/S";
    let context = Context::new().with("aws:RequestedRegion", "us-east-1");
    let found = resource_matches(
        pattern,
        "arn:aws:kinesis:us-east-1:123456789012:stream/S",
        &context,
        Version::V2012_10_17,
    );
    assert!(
        matches!(&found, ResourceMatch::Unevaluable(reason) if reason.contains("${aws:RequestedRegion}")),
        "{found:?}"
    );
}

#[test]
fn malformed_variables_are_plain_text() {
    assert_eq!(
        parse_template("a${b", Version::V2012_10_17),
        [Part::Text("a${b".to_owned())]
    );
    assert_eq!(
        parse_template("${}", Version::V2012_10_17),
        [Part::Text("${}".to_owned())]
    );
    assert_eq!(
        parse_template("${k, default}", Version::V2012_10_17),
        [Part::Text("${k, default}".to_owned())]
    );
    assert_eq!(
        parse_template("x${aws:userid}", Version::V2012_10_17),
        [
            Part::Text("x".to_owned()),
            Part::Variable {
                key: "aws:userid".to_owned(),
                default: None
            }
        ]
    );
}

#[test]
fn the_matcher_handles_empty_strings_and_runs_of_stars() {
    let run = Token::Run { colon: true };
    assert!(glob(&[], ""));
    assert!(!glob(&[], "a"));
    assert!(glob(&[run], ""));
    assert!(glob(&[run, run, Token::Char('a'), run], "xxa"));
    assert!(!glob(&[Token::Char('a')], ""));
    assert!(!glob(&[Token::One { colon: true }], ""));
    let segment = Token::Run { colon: false };
    assert!(glob(&[segment, Token::Char(':'), segment], "ab:cd"));
    assert!(!glob(&[segment], "ab:cd"));
}
