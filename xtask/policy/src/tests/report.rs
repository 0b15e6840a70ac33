//! The least-privilege report: what a role's policies granted against what it really did.

use super::{named, one};
use crate::{
    AccessReport, Decision, ElementUse, NamedPolicy, PatternUse, Request, StatementRef, Verdict, access_report,
};

const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";

fn pattern(pattern: &str, used_for: &[&str], verdict: Verdict) -> PatternUse {
    PatternUse {
        pattern: pattern.to_owned(),
        used_for: used_for.iter().map(|s| (*s).to_owned()).collect(),
        verdict,
    }
}

fn listed(patterns: Vec<PatternUse>) -> ElementUse {
    ElementUse::Listed { patterns }
}

fn consumer_run() -> Vec<Request> {
    vec![
        Request::new("kinesis:GetRecords", STREAM),
        Request::new("kinesis:ListShards", STREAM),
        Request::new("kinesis:GetRecords", STREAM),
    ]
}

/// The brief's example: `kinesis:*` used only for GetRecords and ListShards, `Resource: "*"` only on one stream.
#[test]
fn a_wildcard_used_for_less_is_reported_with_what_it_was_used_for() {
    let policies = [one(
        r#"{"Sid": "Everything", "Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}"#,
    )];
    let report = access_report(&policies, &consumer_run());
    assert_eq!(report.used.len(), 3);
    assert!(report.denied.is_empty());
    assert_eq!(report.grants.len(), 1);
    let grants = &report.grants[0];
    assert_eq!(
        grants.actions,
        listed(vec![pattern(
            "kinesis:*",
            &["kinesis:GetRecords", "kinesis:ListShards"],
            Verdict::WiderThanUsed
        )])
    );
    assert_eq!(
        grants.resources,
        listed(vec![pattern("*", &[STREAM], Verdict::WiderThanUsed)])
    );
    let by = StatementRef {
        policy: "test".to_owned(),
        index: 1,
        sid: Some("Everything".to_owned()),
    };
    assert_eq!(
        report.wider_than_used(),
        [(&by, "Action", "kinesis:*"), (&by, "Resource", "*")]
    );
    assert!(report.unused().is_empty());
    assert!(!report.is_least_privilege());
}

/// Patterns no allowed request matched are unused; exact patterns that were used are exact.
#[test]
fn grants_never_used_are_reported() {
    let other = "arn:aws:kinesis:us-east-1:123456789012:stream/Other";
    let policies = [named(
        "consumer",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Sid": "Read", "Effect": "Allow", "Action": ["kinesis:GetRecords", "kinesis:ListShards",
                  "kinesis:PutRecord"], "Resource": ["{STREAM}", "{other}"]}},
                {{"Sid": "Never", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}]}}"#
        ),
    )];
    let report = access_report(&policies, &consumer_run());
    assert_eq!(
        report.grants[0].actions,
        listed(vec![
            pattern("kinesis:GetRecords", &["kinesis:GetRecords"], Verdict::Exact),
            pattern("kinesis:ListShards", &["kinesis:ListShards"], Verdict::Exact),
            pattern("kinesis:PutRecord", &[], Verdict::Unused),
        ])
    );
    assert_eq!(
        report.grants[0].resources,
        listed(vec![
            pattern(STREAM, &[STREAM], Verdict::Exact),
            pattern(other, &[], Verdict::Unused)
        ])
    );
    assert_eq!(
        report.grants[1].actions,
        listed(vec![pattern("s3:GetObject", &[], Verdict::Unused)])
    );
    let unused: Vec<(usize, &str, &str)> = report
        .unused()
        .into_iter()
        .map(|(statement, element, p)| (statement.index, element, p))
        .collect();
    assert_eq!(
        unused,
        [
            (1, "Action", "kinesis:PutRecord"),
            (1, "Resource", other),
            (2, "Action", "s3:GetObject"),
            (2, "Resource", "arn:aws:s3:::b/*")
        ]
    );
}

/// An action without resource-level permissions is asked for on `*`: a `Resource: "*"` used only by such actions is
/// as narrow as it can be.
#[test]
fn a_star_used_only_by_resourceless_actions_is_exact() {
    let policies = [one(
        r#"{"Effect": "Allow", "Action": "kinesis:ListStreams", "Resource": "*"}"#,
    )];
    let report = access_report(&policies, &[Request::new("kinesis:ListStreams", "*")]);
    assert_eq!(
        report.grants[0].resources,
        listed(vec![pattern("*", &["*"], Verdict::Exact)])
    );
    assert!(report.is_least_privilege());
    let mixed = [one(r#"{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}"#)];
    let report = access_report(
        &mixed,
        &[
            Request::new("kinesis:ListStreams", "*"),
            Request::new("kinesis:GetRecords", STREAM),
        ],
    );
    assert_eq!(
        report.grants[0].resources,
        listed(vec![pattern("*", &["*", STREAM], Verdict::WiderThanUsed)])
    );
}

/// The workshop's step 1 producer policy against a producer's real calls: least privilege, nothing to report.
#[test]
fn an_exact_policy_used_in_full_is_least_privilege() {
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/producer";
    let policies = [named(
        "producer",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Sid": "PutRecordsOnTheStream", "Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                  "Resource": ["{STREAM}"]}},
                {{"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                  "logs:PutLogEvents"], "Resource": ["{group}", "{group}:*"]}}]}}"#
        ),
    )];
    let log_stream = format!("{group}:log-stream:2026/12/01/[$LATEST]abc");
    let run = [
        Request::new("logs:CreateLogGroup", group),
        Request::new("logs:CreateLogStream", log_stream.clone()),
        Request::new("logs:PutLogEvents", log_stream.clone()),
        Request::new("kinesis:PutRecord", STREAM),
        Request::new("kinesis:PutRecords", STREAM),
    ];
    let report = access_report(&policies, &run);
    assert!(report.denied.is_empty(), "{:?}", report.denied);
    // `{group}:*` is a wildcard used for one log stream: it names the function's log streams, which the run cannot
    // list ahead of time; the report says so, and grading decides.
    assert_eq!(
        report.grants[1].resources,
        listed(vec![
            pattern(group, &[group], Verdict::Exact),
            pattern(&format!("{group}:*"), &[&log_stream], Verdict::WiderThanUsed),
        ])
    );
    assert_eq!(report.wider_than_used().len(), 1);
    assert!(report.unused().is_empty());
    let exact_streams = access_report(&policies[..], &run[3..]);
    assert_eq!(
        exact_streams.grants[0].actions,
        listed(vec![
            pattern("kinesis:PutRecord", &["kinesis:PutRecord"], Verdict::Exact),
            pattern("kinesis:PutRecords", &["kinesis:PutRecords"], Verdict::Exact),
        ])
    );
}

/// Requests the policies refuse are listed with their decisions (a learner's policy missing an action).
#[test]
fn refused_requests_are_listed_with_their_decisions() {
    let policies = [named(
        "consumer",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": "kinesis:GetRecords", "Resource": "{STREAM}"}},
                {{"Effect": "Deny", "Action": "kinesis:ListShards", "Resource": "*"}}]}}"#
        ),
    )];
    let mut run = consumer_run();
    run.push(Request::new("kinesis:GetShardIterator", STREAM));
    let report = access_report(&policies, &run);
    assert_eq!(report.used.len(), 2);
    let denied: Vec<(&str, &Decision)> = report
        .denied
        .iter()
        .map(|denied| (denied.request.action.as_str(), &denied.decision))
        .collect();
    let deny = StatementRef {
        policy: "consumer".to_owned(),
        index: 2,
        sid: None,
    };
    assert_eq!(
        denied,
        [
            ("kinesis:ListShards", &Decision::ExplicitDeny { by: deny }),
            ("kinesis:GetShardIterator", &Decision::ImplicitDeny)
        ]
    );
    assert_eq!(report.grants.len(), 1, "a Deny statement grants nothing");
    assert!(!report.is_least_privilege());
}

/// A `NotAction`/`NotResource` grants everything but its list: used, it is always wider than its use.
#[test]
fn negated_elements_are_wider_than_any_use() {
    let policies = [one(
        r#"{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}"#,
    )];
    let report = access_report(&policies, &consumer_run());
    assert_eq!(
        report.grants[0].actions,
        ElementUse::Not {
            except: vec!["iam:*".to_owned()],
            used_for: vec!["kinesis:GetRecords".to_owned(), "kinesis:ListShards".to_owned()],
            verdict: Verdict::WiderThanUsed,
        }
    );
    assert_eq!(
        report.grants[0].resources,
        ElementUse::Not {
            except: vec!["arn:aws:s3:::secret/*".to_owned()],
            used_for: vec![STREAM.to_owned()],
            verdict: Verdict::WiderThanUsed,
        }
    );
    let names: Vec<&str> = report
        .wider_than_used()
        .into_iter()
        .map(|(_, element, _)| element)
        .collect();
    assert_eq!(names, ["NotAction", "NotResource"]);
    let idle = access_report(&policies, &[]);
    assert!(matches!(
        idle.grants[0].actions,
        ElementUse::Not {
            verdict: Verdict::Unused,
            ..
        }
    ));
    let unused: Vec<&str> = idle.unused().into_iter().map(|(_, element, _)| element).collect();
    assert_eq!(unused, ["NotAction", "NotResource"]);
    assert!(idle.wider_than_used().is_empty());
}

/// A statement counts as used only where it applies as a whole (conditions included), and every statement that
/// applies to an allowed request counts, not only the first.
#[test]
fn a_pattern_is_used_only_where_its_whole_statement_applies() {
    let policies = [named(
        "p",
        &format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": "kinesis:GetRecords", "Resource": "{STREAM}"}},
                {{"Effect": "Allow", "Action": "kinesis:Get*", "Resource": "{STREAM}"}},
                {{"Effect": "Allow", "Action": "kinesis:ListShards", "Resource": "{STREAM}",
                  "Condition": {{"IpAddress": {{"aws:SourceIp": "203.0.113.0/24"}}}}}}]}}"#
        ),
    )];
    let run = [
        Request::new("kinesis:GetRecords", STREAM),
        Request::new("kinesis:ListShards", STREAM).with("aws:SourceIp", "198.51.100.1"),
    ];
    let report = access_report(&policies, &run);
    assert_eq!(report.denied.len(), 1, "ListShards from outside the range");
    assert_eq!(
        report.grants[1].actions,
        listed(vec![pattern(
            "kinesis:Get*",
            &["kinesis:GetRecords"],
            Verdict::WiderThanUsed
        )])
    );
    assert_eq!(
        report.grants[2].actions,
        listed(vec![pattern("kinesis:ListShards", &[], Verdict::Unused)])
    );
}

/// A resource pattern with a variable is as narrow as its value; `${*}` is a character, not a wildcard.
#[test]
fn variables_and_escapes_are_not_wildcards_in_the_report() {
    let policies = [one(
        r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::home/${aws:username}/notes", "arn:aws:s3:::odd/${*}"]}"#,
    )];
    let run = [
        Request::new("s3:GetObject", "arn:aws:s3:::home/david/notes").with("aws:username", "david"),
        Request::new("s3:GetObject", "arn:aws:s3:::odd/*"),
    ];
    let report = access_report(&policies, &run);
    assert_eq!(
        report.grants[0].resources,
        listed(vec![
            pattern(
                "arn:aws:s3:::home/${aws:username}/notes",
                &["arn:aws:s3:::home/david/notes"],
                Verdict::Exact
            ),
            pattern("arn:aws:s3:::odd/${*}", &["arn:aws:s3:::odd/*"], Verdict::Exact),
        ])
    );
}

/// The report is data: JSON for the grader and the access report page.
#[test]
fn the_report_serialises_to_json() {
    let policies: Vec<NamedPolicy> = vec![one(r#"{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}"#)];
    let mut run = consumer_run();
    run.push(Request::new("s3:GetObject", "arn:aws:s3:::b/k"));
    let report: AccessReport = access_report(&policies, &run);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["used"].as_array().unwrap().len(), 3);
    assert_eq!(json["used"][0]["by"]["policy"], "test");
    assert_eq!(json["denied"][0]["decision"]["decision"], "implicit_deny");
    assert_eq!(json["denied"][0]["request"]["action"], "s3:GetObject");
    assert_eq!(json["grants"][0]["actions"]["element"], "listed");
    assert_eq!(
        json["grants"][0]["actions"]["patterns"][0]["verdict"],
        "wider_than_used"
    );
    assert_eq!(
        json["grants"][0]["actions"]["patterns"][0]["used_for"],
        serde_json::json!(["kinesis:GetRecords", "kinesis:ListShards"])
    );
}
