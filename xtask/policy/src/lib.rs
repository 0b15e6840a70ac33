//! AWS IAM policy evaluation, as AWS documents it, for the local cloud and for grading the workshop's
//! least-privilege policies.
//!
//! - [`Policy::parse`] reads an identity-based policy and refuses what IAM refuses, in IAM's words
//!   ([`PolicyError::message`]); [`TrustPolicy::parse`] reads a role trust policy.
//! - [`evaluate`] decides a [`Request`] (action, resource, context) against a principal's [`NamedPolicy`]s:
//!   explicit deny, then allow, else implicit deny ([`Decision`]), and renders AWS's denial clause
//!   ([`Decision::because`]). [`TrustPolicy::may_assume`] decides who may assume a role.
//! - [`access_report`] replays the requests a role really made and reports the grants never used, or wider than
//!   their use ([`AccessReport`]).
//!
//! Nothing is silently allowed: an operator or construct the crate does not implement makes its statement
//! [`Decision::Unevaluable`], which never allows and, in a `Deny`, refuses the request, with the reason.
//!
//! Each rule cites the AWS page it comes from, next to the code that implements it.

#![warn(missing_docs)]

mod conditions;
mod evaluate;
mod matching;
mod parse;
mod report;
mod request;
mod trust;

pub use evaluate::{Decision, NamedPolicy, PolicyKind, StatementRef, evaluate};
pub use parse::{Condition, Effect, Element, Policy, PolicyError, PrincipalElement, Principals, Statement, Version};
pub use report::{AccessReport, Denied, ElementUse, PatternUse, StatementGrants, Used, Verdict, access_report};
pub use request::{Context, ContextValues, Request};
pub use trust::{Caller, TRUST_POLICY_NAME, TrustPolicy};

#[cfg(test)]
mod tests;
