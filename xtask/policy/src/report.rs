//! The least-privilege report: given a role's policies and the requests it really made, which were allowed, which
//! denied, and which grants were never used or are wider than their use — what IAM Access Analyzer's unused-access
//! findings and "last accessed" data show for a real account
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_access-advisor.html>), and the basis of
//! grading the workshop's least-privilege policies.
//!
//! Pure data in, data out, serialisable for a JSON report.

use crate::conditions::Outcome;
use crate::evaluate::{Decision, NamedPolicy, StatementRef, Target, evaluate, statement_outcome, statements};
use crate::matching::{Part, ResourceMatch, action_matches, parse_template, resource_matches};
use crate::parse::{Effect, Element, Statement, Version};
use crate::request::Request;
use serde::Serialize;
use std::collections::BTreeSet;

/// What a role's policies did with the requests it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessReport {
    /// The requests allowed, each with the statement that allowed it.
    pub used: Vec<Used>,
    /// The requests refused, each with its decision.
    pub denied: Vec<Denied>,
    /// Every `Allow` statement, with what each of its patterns was used for.
    pub grants: Vec<StatementGrants>,
}

/// An allowed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Used {
    /// The request.
    pub request: Request,
    /// The statement [`evaluate`] names as allowing it.
    pub by: StatementRef,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    /// The request.
    pub request: Request,
    /// Why it was refused.
    pub decision: Decision,
}

/// How one `Allow` statement's grants were used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementGrants {
    /// The statement.
    pub statement: StatementRef,
    /// Its `Action` or `NotAction`.
    pub actions: ElementUse,
    /// Its `Resource` or `NotResource`.
    pub resources: ElementUse,
}

/// How an `Action`/`Resource` element (or its negation) was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "element", rename_all = "snake_case")]
pub enum ElementUse {
    /// `Action` or `Resource`: each pattern's use.
    Listed {
        /// Each pattern, in the element's order.
        patterns: Vec<PatternUse>,
    },
    /// `NotAction` or `NotResource`: it grants everything but `except`, which is always wider than a use.
    Not {
        /// The element's patterns: what it does not grant.
        except: Vec<String>,
        /// The distinct actions (or resources) of allowed requests that went through it, sorted.
        used_for: Vec<String>,
        /// [`Verdict::Unused`] or [`Verdict::WiderThanUsed`].
        verdict: Verdict,
    },
}

/// One pattern and the distinct actions (or resources) of allowed requests it matched, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternUse {
    /// The pattern as written.
    pub pattern: String,
    /// The distinct actions (or resources) of allowed requests it matched, sorted.
    pub used_for: Vec<String>,
    /// What that says about it.
    pub verdict: Verdict,
}

/// What a pattern's use says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No allowed request used it: a grant to remove.
    Unused,
    /// A pattern without wildcards, used: needed as it is. So is a `Resource` of `*` used only by requests whose
    /// resource is `*` (actions that have no resource-level permissions).
    Exact,
    /// A wildcard (or a `NotAction`/`NotResource`) that was used, but only for `used_for`: it grants at least those
    /// and possibly more, so the pattern is a candidate for narrowing to them.
    WiderThanUsed,
}

impl AccessReport {
    /// Every pattern that was never used, as (statement, element name, pattern).
    pub fn unused(&self) -> Vec<(&StatementRef, &'static str, &str)> {
        self.with_verdict(Verdict::Unused)
    }

    /// Every pattern wider than its use, as (statement, element name, pattern).
    pub fn wider_than_used(&self) -> Vec<(&StatementRef, &'static str, &str)> {
        self.with_verdict(Verdict::WiderThanUsed)
    }

    /// No request refused, no grant unused, none wider than its use.
    pub fn is_least_privilege(&self) -> bool {
        self.denied.is_empty() && self.unused().is_empty() && self.wider_than_used().is_empty()
    }

    fn with_verdict(&self, wanted: Verdict) -> Vec<(&StatementRef, &'static str, &str)> {
        let mut found = Vec::new();
        for grants in &self.grants {
            for (name, element) in [("Action", &grants.actions), ("Resource", &grants.resources)] {
                match element {
                    ElementUse::Listed { patterns } => found.extend(
                        patterns
                            .iter()
                            .filter(|pattern| pattern.verdict == wanted)
                            .map(|pattern| (&grants.statement, name, pattern.pattern.as_str())),
                    ),
                    ElementUse::Not { except, verdict, .. } if *verdict == wanted => {
                        let not = if name == "Action" { "NotAction" } else { "NotResource" };
                        found.extend(except.iter().map(|pattern| (&grants.statement, not, pattern.as_str())));
                    }
                    ElementUse::Not { .. } => {}
                }
            }
        }
        found
    }
}

/// Evaluates every request against the policies, and reports each `Allow` statement's patterns against the allowed
/// requests.
///
/// A pattern is used by an allowed request when its statement applies to the request (action, resource and
/// conditions; not necessarily the statement [`evaluate`] names first) and the pattern itself matches the request's
/// action or resource. A request whose resource is `*` is an action without resource-level permissions: only
/// `Resource: "*"` matches it, and a `*` used only by such requests is [`Verdict::Exact`].
pub fn access_report(policies: &[NamedPolicy], requests: &[Request]) -> AccessReport {
    let mut used = Vec::new();
    let mut denied = Vec::new();
    for request in requests {
        match evaluate(policies, request) {
            Decision::Allowed { by } => used.push(Used {
                request: request.clone(),
                by,
            }),
            decision => denied.push(Denied {
                request: request.clone(),
                decision,
            }),
        }
    }
    let grants = statements(policies)
        .filter(|(statement, _)| statement.effect == Effect::Allow)
        .map(|(statement, origin)| statement_grants(statement, origin.reference, origin.version, &used))
        .collect();
    AccessReport { used, denied, grants }
}

fn statement_grants(
    statement: &Statement,
    reference: StatementRef,
    version: Version,
    used: &[Used],
) -> StatementGrants {
    let requests: Vec<&Request> = used
        .iter()
        .map(|used| &used.request)
        .filter(|request| {
            let target = Target::Resource(&request.resource);
            statement_outcome(statement, version, &target, request) == Outcome::Match
        })
        .collect();
    let actions = element_use(&statement.action, &requests, |pattern, request| {
        action_matches(pattern, &request.action).then(|| request.action.clone())
    });
    let resources = match &statement.resource {
        Some(element) => element_use(element, &requests, |pattern, request| {
            let matched = resource_matches(pattern, &request.resource, &request.context, version);
            (matched == ResourceMatch::Yes).then(|| request.resource.clone())
        }),
        None => ElementUse::Listed { patterns: Vec::new() },
    };
    let resources = match resources {
        ElementUse::Listed { patterns } => ElementUse::Listed {
            patterns: patterns
                .into_iter()
                .map(|use_| resource_verdict(use_, version))
                .collect(),
        },
        not => not,
    };
    StatementGrants {
        statement: reference,
        actions,
        resources,
    }
}

/// Each pattern's use, `matched` giving the value a pattern matched in a request. An action pattern's verdict is
/// final here; a resource pattern's is refined by [`resource_verdict`].
fn element_use(
    element: &Element,
    requests: &[&Request],
    matched: impl Fn(&str, &Request) -> Option<String>,
) -> ElementUse {
    match element {
        Element::Listed(patterns) => ElementUse::Listed {
            patterns: patterns
                .iter()
                .map(|pattern| {
                    let used_for: BTreeSet<String> = requests.iter().filter_map(|r| matched(pattern, r)).collect();
                    let wildcard = pattern.contains(['*', '?']);
                    PatternUse {
                        pattern: pattern.clone(),
                        verdict: verdict(used_for.is_empty(), wildcard),
                        used_for: used_for.into_iter().collect(),
                    }
                })
                .collect(),
        },
        Element::Not(except) => {
            // Every request the statement applied to went through the negation.
            let used_for: BTreeSet<String> = requests.iter().filter_map(|request| matched("*", request)).collect();
            ElementUse::Not {
                except: except.clone(),
                verdict: verdict(used_for.is_empty(), true),
                used_for: used_for.into_iter().collect(),
            }
        }
    }
}

fn verdict(unused: bool, wildcard: bool) -> Verdict {
    match (unused, wildcard) {
        (true, _) => Verdict::Unused,
        (false, false) => Verdict::Exact,
        (false, true) => Verdict::WiderThanUsed,
    }
}

/// A resource pattern's wildcards are those of its text (not of `${*}` escapes or variables' values), and a `*`
/// used only by resource-less actions (a request resource of `*`) is exact: nothing narrower can grant them.
fn resource_verdict(mut use_: PatternUse, version: Version) -> PatternUse {
    if use_.verdict == Verdict::Unused {
        return use_;
    }
    let wildcard = parse_template(&use_.pattern, version)
        .iter()
        .any(|part| matches!(part, Part::Text(text) if text.contains(['*', '?'])));
    let only_resourceless = use_.pattern == "*" && use_.used_for.iter().all(|resource| resource == "*");
    use_.verdict = verdict(false, wildcard && !only_resourceless);
    use_
}
