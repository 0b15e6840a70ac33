//! Grades a policy document against what the pipeline really does: every call its roles made in real runs of the
//! lab (`fixtures/reference-trace.json`, written by `cargo xtask lab --write-trace` and held to the pipeline by
//! `cargo xtask verify`) must be allowed, plus what AWS documents as required of the service acting with the role
//! (`policy::DOCUMENTED_AS_REQUIRED`); and nothing more may be granted. The document is evaluated by the local cloud's
//! own IAM evaluator (`lab-policy`), so "allowed here" means what the local cloud, and AWS, would decide.

use policy::{Decision, NamedPolicy, PolicyKind, Request, ServiceRole, Verdict, access_report, documented_for};
use serde::Deserialize;
use telemetric_stream::{PolicyDocument, Resources};

/// The shipped trace, as far as grading reads it.
#[derive(Deserialize)]
struct Trace {
    roles: Vec<RoleTrace>,
}

#[derive(Deserialize)]
struct RoleTrace {
    document: String,
    function: Option<String>,
    who: String,
    service: Option<ServiceRole>,
    requests: Vec<Traced>,
}

#[derive(Deserialize)]
struct Traced {
    action: String,
    resource: String,
    by: String,
}

/// A name a run makes up, for the requests that carry one: an object Firehose writes, a log stream Lambda makes.
const OBJECT: &str = "telemetry/2026/12/06/12/TelemetricDelivery-1-2026-12-06-12-42-00-419b3fbd-a461-404d-b8cd";
const LOG_STREAM: &str = "2026/12/06/[$LATEST]0123456789abcdef0123456789abcdef";

/// A traced or documented resource with the test's names.
fn concrete(template: &str, resources: &Resources, function: Option<&str>) -> String {
    template
        .replace("{partition}", &resources.partition)
        .replace("{region}", &resources.region)
        .replace("{account}", &resources.account_id)
        .replace("{stream}", &resources.stream_name)
        .replace("{bucket}", &resources.bucket_name)
        .replace("{function}", function.unwrap_or("{function}"))
        .replace("{object}", OBJECT)
        .replace("{log-stream}", LOG_STREAM)
}

/// A request the document must allow, and why, as the end of "…, which …".
struct Needed {
    request: Request,
    because: String,
}

/// What one role needs: its traced calls, then what AWS documents as required of its service.
fn needed(role: &RoleTrace, resources: &Resources) -> Vec<Needed> {
    let function = role.function.as_deref();
    let mut needed: Vec<Needed> = role
        .requests
        .iter()
        .map(|traced| Needed {
            request: Request::new(&traced.action, concrete(&traced.resource, resources, function)),
            because: traced.by.clone(),
        })
        .collect();
    for documented in role.service.into_iter().flat_map(documented_for) {
        let request = Request::new(documented.action, concrete(documented.resource, resources, function));
        let known = needed
            .iter()
            .any(|n| n.request.action == request.action && n.request.resource == request.resource);
        if !known {
            let because = format!("AWS documents as required {} ({})", documented.why, documented.page);
            needed.push(Needed { request, because });
        }
    }
    needed
}

/// Everything wrong with the document `name` (`producer_policy`, ...) for each role that gets it (`document`, as
/// `policies --json` names it), made by `make` for the role's function: what it does not allow that is needed, and
/// what it grants that is not.
pub fn grade(name: &str, document: &str, resources: &Resources, make: impl Fn(&str) -> PolicyDocument) -> Vec<String> {
    let trace: Trace = serde_json::from_str(include_str!("../fixtures/reference-trace.json"))
        .expect("tests/fixtures/reference-trace.json is a trace (`cargo xtask lab --write-trace` rewrites it)");
    let roles: Vec<&RoleTrace> = trace.roles.iter().filter(|role| role.document == document).collect();
    assert!(
        !roles.is_empty(),
        "the reference trace has no role that gets the {document} document"
    );
    // Each problem once, with every role it is a problem for: (what is wrong, why each role needs otherwise).
    let mut missing: Vec<(String, Vec<String>, String)> = vec![];
    let mut beyond: Vec<(Finding, Vec<String>)> = vec![];
    for role in roles {
        let json = make(role.function.as_deref().unwrap_or_default()).to_json();
        let policy = match NamedPolicy::parse(name, &json) {
            Ok(policy) => policy,
            Err(error) => return vec![format!("IAM would refuse {name}: {}\n{json}", error.message())],
        };
        let needed = needed(role, resources);
        for need in &needed {
            let Request { action, resource, .. } = &need.request;
            let decision = policy::evaluate(std::slice::from_ref(&policy), &need.request);
            if decision.is_allowed() {
                continue;
            }
            let what = format!("{name} does not allow {action} on {resource}, which ");
            match missing.iter_mut().find(|(seen, _, _)| *seen == what) {
                Some((_, becauses, _)) if !becauses.contains(&need.because) => becauses.push(need.because.clone()),
                Some(_) => {}
                None => missing.push((what, vec![need.because.clone()], refusal(&decision, action))),
            }
        }
        let requests: Vec<Request> = needed.into_iter().map(|need| need.request).collect();
        for finding in too_much(name, role, &policy, &requests, resources) {
            match beyond.iter_mut().find(|(seen, _)| *seen == finding) {
                Some((_, whos)) => whos.push(role.who.clone()),
                None => beyond.push((finding, vec![role.who.clone()])),
            }
        }
    }
    let missing = missing
        .into_iter()
        .map(|(what, becauses, refused)| format!("{what}{}{refused}", becauses.join(", and ")));
    missing
        .chain(beyond.into_iter().map(|(finding, whos)| finding.say(&whos)))
        .collect()
}

/// AWS's reason for the refusal, when it has one ("because no identity-based policy allows …").
fn refusal(decision: &Decision, action: &str) -> String {
    decision
        .because(PolicyKind::IdentityBased, action)
        .map(|because| format!(": AWS would refuse it {because}"))
        .unwrap_or_default()
}

/// A grant beyond what a role needs, said of whoever it is too much for: "{before}{who} {verb}s{after}".
#[derive(PartialEq)]
struct Finding {
    before: String,
    verb: &'static str,
    after: String,
}

impl Finding {
    fn new(before: String, verb: &'static str, after: String) -> Finding {
        Finding { before, verb, after }
    }

    fn say(&self, whos: &[String]) -> String {
        let Finding { before, verb, after } = self;
        match whos {
            [one] => format!("{before}{one} {verb}s{after}"),
            many => format!("{before}{} {verb}{after}", many.join(" and ")),
        }
    }
}

/// The document's grants beyond what the role needs: patterns nothing needed, and wildcards wider than their use.
fn too_much(
    name: &str,
    role: &RoleTrace,
    policy: &NamedPolicy,
    requests: &[Request],
    resources: &Resources,
) -> Vec<Finding> {
    let report = access_report(std::slice::from_ref(policy), requests);
    let mut found = vec![];
    for grants in &report.grants {
        let statement = &grants.statement;
        // A statement none of whose actions is needed is too much as a whole: its actions say so, its resources
        // need not.
        let unused_statement = matches!(&grants.actions, policy::ElementUse::Listed { patterns }
            if patterns.iter().all(|pattern| pattern.verdict == Verdict::Unused));
        for (element, usage) in [("Action", &grants.actions), ("Resource", &grants.resources)] {
            match usage {
                _ if unused_statement && element == "Resource" => {}
                policy::ElementUse::Listed { patterns } => {
                    for pattern in patterns {
                        found.extend(pattern_beyond(name, element, pattern, role, resources, statement));
                    }
                }
                policy::ElementUse::Not { except, .. } => found.push(Finding::new(
                    format!(
                        "{name} grants Not{element} [{}]: everything but those, far more than ",
                        except.join(", ")
                    ),
                    "use",
                    format!(" ({statement})"),
                )),
            }
        }
    }
    found
}

/// One pattern of an `Action` or `Resource` element, if it grants more than the role needs.
fn pattern_beyond(
    name: &str,
    element: &str,
    pattern: &policy::PatternUse,
    role: &RoleTrace,
    resources: &Resources,
    statement: &policy::StatementRef,
) -> Option<Finding> {
    let text = &pattern.pattern;
    let used = pattern.used_for.join(", ");
    let (before, verb, after) = match (pattern.verdict, element) {
        (Verdict::Unused, "Action") => (format!("{name} grants {text}, which "), "never call", String::new()),
        (Verdict::Unused, _) => (
            format!("{name} grants access to {text}, which "),
            "never use",
            String::new(),
        ),
        (Verdict::WiderThanUsed, "Action") => (
            format!("{name} grants {text}, more than "),
            "need",
            format!(" ({used}): name the actions"),
        ),
        (Verdict::WiderThanUsed, _) if !names_what_it_cannot_know(text, role, resources) => (
            format!("{name} grants access to {text}, wider than what "),
            "use",
            format!(" ({used}): name the resources"),
        ),
        _ => return None,
    };
    Some(Finding::new(before, verb, format!("{after} ({statement})")))
}

/// A resource wildcard that stands for names the role cannot know in advance, and only those: the objects of the
/// bucket (`<bucket ARN>/*`) and the log streams of the function's own log group (`<log group ARN>:*`).
fn names_what_it_cannot_know(pattern: &str, role: &RoleTrace, resources: &Resources) -> bool {
    let objects = format!("{}/", resources.bucket_arn());
    let in_own_group = role
        .function
        .as_deref()
        .is_some_and(|function| pattern.starts_with(&format!("{}:", resources.log_group_arn(function))));
    pattern.starts_with(&objects) || in_own_group
}
