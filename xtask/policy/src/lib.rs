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
//! - [`DOCUMENTED_AS_REQUIRED`] lists what AWS documents as required of a service's role (an event source mapping's,
//!   Firehose's), which a least-privilege grade asks for even where no run is seen to use it.
//!
//! Nothing is silently allowed: an operator or construct the crate does not implement makes its statement
//! [`Decision::Unevaluable`], which never allows and, in a `Deny`, refuses the request, with the reason.
//!
//! Each rule cites the AWS page it comes from, next to the code that implements it.
//!
//! ```
//! use policy::{Decision, NamedPolicy, PolicyKind, Request, evaluate};
//!
//! let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
//! let consumer = NamedPolicy::parse(
//!     "consumer",
//!     &format!(r#"{{"Version": "2012-10-17", "Statement": {{"Sid": "ReadTheStream", "Effect": "Allow",
//!         "Action": ["kinesis:GetShardIterator", "kinesis:GetRecords"], "Resource": "{stream}"}}}}"#),
//! )?;
//! let policies = [consumer];
//! assert!(evaluate(&policies, &Request::new("kinesis:GetRecords", stream)).is_allowed());
//!
//! let put = evaluate(&policies, &Request::new("kinesis:PutRecord", stream));
//! assert_eq!(put, Decision::ImplicitDeny);
//! assert_eq!(
//!     put.because(PolicyKind::IdentityBased, "kinesis:PutRecord").as_deref(),
//!     Some("because no identity-based policy allows the kinesis:PutRecord action"),
//! );
//! # Ok::<(), policy::PolicyError>(())
//! ```

#![warn(missing_docs)]

mod conditions;
mod documented;
mod evaluate;
mod matching;
mod parse;
mod report;
mod request;
mod trust;

pub use documented::{DOCUMENTED_AS_REQUIRED, Documented, ServiceRole, documented_for};
pub use evaluate::{Decision, NamedPolicy, PolicyKind, StatementRef, evaluate};
pub use parse::{Condition, Effect, Element, Policy, PolicyError, PrincipalElement, Principals, Statement, Version};
pub use report::{AccessReport, Denied, ElementUse, PatternUse, StatementGrants, Used, Verdict, access_report};
pub use request::{Context, ContextValues, Request};
pub use trust::{Caller, TRUST_POLICY_NAME, TrustPolicy};

#[cfg(test)]
mod tests;
