//! Deciding a request against a principal's identity-based policies: explicit deny over allow over implicit deny
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>),
//! and the words AWS's denials use
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>).

use crate::conditions::{self, Outcome};
use crate::matching::{ResourceMatch, action_matches, resource_matches};
use crate::parse::{Effect, Element, Policy, PolicyError, Statement, Version};
use crate::request::{Context, Request};
use serde::Serialize;
use std::fmt;

/// A policy with the name messages give it (an inline policy's name, or a managed policy's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedPolicy {
    /// The policy's name: an inline policy's, or a managed policy's.
    pub name: String,
    /// The document.
    pub policy: Policy,
}

impl NamedPolicy {
    /// Names a parsed policy.
    pub fn new(name: impl Into<String>, policy: Policy) -> Self {
        NamedPolicy {
            name: name.into(),
            policy,
        }
    }

    /// Parses an identity-based policy document ([`Policy::parse`]) and names it.
    pub fn parse(name: impl Into<String>, document: &str) -> Result<Self, PolicyError> {
        Ok(NamedPolicy::new(name, Policy::parse(document)?))
    }
}

/// Which statement of which policy: the policy's name, the statement's 1-based position and its `Sid`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StatementRef {
    /// The policy's name.
    pub policy: String,
    /// The statement's position in the policy, from 1.
    pub index: usize,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement {}", self.index)?;
        if let Some(sid) = self.sid.as_deref().filter(|sid| !sid.is_empty()) {
            write!(f, " (\"{sid}\")")?;
        }
        write!(f, " of policy \"{}\"", self.policy)
    }
}

/// The outcome of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allowed {
        /// The first `Allow` statement that applies.
        by: StatementRef,
    },
    /// No statement applies: "An implicit denial occurs when there is no applicable Deny statement but also no
    /// applicable Allow statement".
    ImplicitDeny,
    /// A `Deny` statement applies: "the Deny statement trumps the Allow statement".
    ExplicitDeny {
        /// The first `Deny` statement that applies.
        by: StatementRef,
    },
    /// A statement the local cloud cannot evaluate decided it: a `Deny` one denies (the request is refused), an
    /// `Allow` one does not allow (and no other statement allowed). Never an allow.
    Unevaluable {
        /// The statement (the first unevaluable `Deny`, else the first unevaluable `Allow`).
        statement: StatementRef,
        /// Its effect: `Deny` refused the request, `Allow` failed to allow it.
        effect: Effect,
        /// "the local cloud cannot evaluate the condition operator X in statement N of policy \"P\"".
        reason: String,
    },
}

/// The kind of policy a denial names in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicyKind {
    /// "identity-based policy": a user's or role's own policies.
    IdentityBased,
    /// "role trust policy": who may assume a role.
    RoleTrust,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// The clause AWS ends a denial with, or `None` when the request is allowed: "because no identity-based policy
    /// allows the kinesis:GetRecords action" (implicit) or "with an explicit deny in an identity-based policy"
    /// (explicit); for a role trust policy, "because no role trust policy allows the sts:AssumeRole action" or "with
    /// an explicit deny in the role trust policy" (the examples of
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html#access-denied-error-examples>).
    /// An unevaluable `Deny` reads as an explicit deny and an unevaluable `Allow` as an implicit one: the outcome the
    /// local cloud gives them.
    pub fn because(&self, kind: PolicyKind, action: &str) -> Option<String> {
        let explicit = match self {
            Decision::Allowed { .. } => return None,
            Decision::ExplicitDeny { .. } => true,
            Decision::ImplicitDeny => false,
            Decision::Unevaluable { effect, .. } => *effect == Effect::Deny,
        };
        Some(match (kind, explicit) {
            (PolicyKind::IdentityBased, false) => {
                format!("because no identity-based policy allows the {action} action")
            }
            (PolicyKind::IdentityBased, true) => "with an explicit deny in an identity-based policy".to_owned(),
            (PolicyKind::RoleTrust, false) => format!("because no role trust policy allows the {action} action"),
            (PolicyKind::RoleTrust, true) => "with an explicit deny in the role trust policy".to_owned(),
        })
    }

    /// AWS's whole denial message, or `None` when allowed: "User: {principal} is not authorized to perform: {action}
    /// on resource: {resource} because ..." ("on resource: ..." left out for a resource of `*`, as AWS does for
    /// actions without one). An unevaluable decision adds its reason in parentheses, so the learner sees why.
    pub fn denial_message(&self, kind: PolicyKind, principal: &str, action: &str, resource: &str) -> Option<String> {
        let because = self.because(kind, action)?;
        let on = if resource == "*" {
            String::new()
        } else {
            format!(" on resource: {resource}")
        };
        let mut message = format!("User: {principal} is not authorized to perform: {action}{on} {because}");
        if let Decision::Unevaluable { reason, .. } = self {
            message.push_str(&format!(" ({reason})"));
        }
        Some(message)
    }
}

/// Decides a request against identity-based policies.
///
/// "If the enforcement code finds even one explicit deny that applies, the code returns a final decision of Deny";
/// then "If any statement in any applicable identity-based policies allows the requested action" it is allowed, else
/// implicitly denied (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>).
/// A statement the crate cannot evaluate takes the side that cannot allow: an unevaluable `Deny` refuses the request
/// (after any explicit deny), an unevaluable `Allow` counts only if nothing else allows.
pub fn evaluate(policies: &[NamedPolicy], request: &Request) -> Decision {
    decide(policies, request, &Target::Resource(&request.resource))
}

/// [`evaluate`]'s logic, the statements matched on `target` (a resource, or a trust policy's principal).
pub(crate) fn decide(policies: &[NamedPolicy], request: &Request, target: &Target<'_>) -> Decision {
    let mut allowed = None;
    let mut unevaluable_deny = None;
    let mut unevaluable_allow = None;
    for (statement, by) in statements(policies) {
        let outcome = statement_outcome(statement, by.version, target, request);
        match (statement.effect, outcome) {
            (Effect::Deny, Outcome::Match) => return Decision::ExplicitDeny { by: by.reference },
            (Effect::Deny, Outcome::Unevaluable(reason)) => {
                unevaluable_deny.get_or_insert((by.reference, reason));
            }
            (Effect::Allow, Outcome::Match) => {
                allowed.get_or_insert(by.reference);
            }
            (Effect::Allow, Outcome::Unevaluable(reason)) => {
                unevaluable_allow.get_or_insert((by.reference, reason));
            }
            (_, Outcome::NoMatch) => {}
        }
    }
    let unevaluable = |(statement, reason): (StatementRef, String), effect| Decision::Unevaluable {
        reason: format!("{reason} in {statement}"),
        statement,
        effect,
    };
    match (unevaluable_deny, allowed, unevaluable_allow) {
        (Some(deny), _, _) => unevaluable(deny, Effect::Deny),
        (None, Some(by), _) => Decision::Allowed { by },
        (None, None, Some(allow)) => unevaluable(allow, Effect::Allow),
        (None, None, None) => Decision::ImplicitDeny,
    }
}

/// Where a statement came from.
pub(crate) struct Origin {
    pub(crate) reference: StatementRef,
    pub(crate) version: Version,
}

/// Every statement of every policy, with its reference.
pub(crate) fn statements(policies: &[NamedPolicy]) -> impl Iterator<Item = (&Statement, Origin)> {
    policies.iter().flat_map(|named| {
        named.policy.statements.iter().enumerate().map(|(i, statement)| {
            let reference = StatementRef {
                policy: named.name.clone(),
                index: i + 1,
                sid: statement.sid.clone(),
            };
            (
                statement,
                Origin {
                    reference,
                    version: named.policy.version,
                },
            )
        })
    })
}

/// What a statement is matched on besides the action: a resource (identity-based policies) or a principal (trust
/// policies, whose resource is the role itself).
pub(crate) enum Target<'a> {
    Resource(&'a str),
    Principal(Box<dyn Fn(&Statement) -> Outcome + 'a>),
}

/// Whether a statement applies to a request: its action, its resource (or principal), and every condition.
///
/// The three are ANDed, so one that does not match settles it even where another is unevaluable.
pub(crate) fn statement_outcome(
    statement: &Statement,
    version: Version,
    target: &Target<'_>,
    request: &Request,
) -> Outcome {
    if !action_applies(&statement.action, &request.action) {
        return Outcome::NoMatch;
    }
    let target = match target {
        Target::Resource(resource) => match &statement.resource {
            Some(element) => resource_outcome(element, resource, &request.context, version, statement.effect),
            None => Outcome::NoMatch,
        },
        Target::Principal(principal) => principal(statement),
    };
    let mut unevaluable = match target {
        Outcome::NoMatch => return Outcome::NoMatch,
        Outcome::Unevaluable(reason) => Some(reason),
        Outcome::Match => None,
    };
    for condition in &statement.conditions {
        match conditions::evaluate(condition, &request.context, version, statement.effect) {
            Outcome::NoMatch => return Outcome::NoMatch,
            Outcome::Unevaluable(reason) => {
                unevaluable.get_or_insert(reason);
            }
            Outcome::Match => {}
        }
    }
    unevaluable.map_or(Outcome::Match, Outcome::Unevaluable)
}

/// `Action` applies when one pattern matches; `NotAction` "explicitly matches everything except the specified
/// list of actions" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html>),
/// for `Allow` and `Deny` alike.
pub(crate) fn action_applies(element: &Element, action: &str) -> bool {
    match element {
        Element::Listed(patterns) => patterns.iter().any(|pattern| action_matches(pattern, action)),
        Element::Not(patterns) => !patterns.iter().any(|pattern| action_matches(pattern, action)),
    }
}

/// `Resource` applies when one pattern matches; `NotResource` "explicitly matches every resource except those
/// specified" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html>).
///
/// A pattern naming a variable the request lacks "will not match any resource"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value>). In
/// `NotResource` that leaves the resource unexcluded and AWS applies the statement: a `Deny` then denies, as in AWS,
/// but an `Allow` would allow on a missing variable, which the local cloud does not do silently.
fn resource_outcome(element: &Element, resource: &str, context: &Context, version: Version, effect: Effect) -> Outcome {
    let mut unevaluable = None;
    let mut missing = None;
    let mut matched = false;
    for pattern in element.patterns() {
        match resource_matches(pattern, resource, context, version) {
            ResourceMatch::Yes => matched = true,
            ResourceMatch::No => {}
            ResourceMatch::Missing { variable } => {
                missing.get_or_insert((pattern, variable));
            }
            ResourceMatch::Unevaluable(reason) => {
                unevaluable.get_or_insert(reason);
            }
        }
    }
    let not = matches!(element, Element::Not(_));
    match (matched, not) {
        (true, false) => return Outcome::Match,
        (true, true) => return Outcome::NoMatch,
        (false, _) => {}
    }
    if let Some(reason) = unevaluable {
        return Outcome::Unevaluable(format!("the local cloud cannot evaluate {reason}"));
    }
    match (not, missing) {
        (false, _) => Outcome::NoMatch,
        (true, Some((pattern, variable))) if effect == Effect::Allow => Outcome::Unevaluable(format!(
            "the local cloud cannot evaluate the NotResource {pattern}: the policy variable {variable} has no value in \
             the request, and AWS would then apply the Allow to every resource"
        )),
        (true, _) => Outcome::Match,
    }
}
