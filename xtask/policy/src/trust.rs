//! Role trust policies: who may assume a role (`sts:AssumeRole`), with which conditions (`sts:ExternalId`).
//!
//! "IAM role trust policies ... must explicitly allow access for principals"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>);
//! the principal forms are those of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>.

use crate::conditions::Outcome;
use crate::evaluate::{Decision, NamedPolicy, Target, decide};
use crate::parse::{Kind, Policy, PolicyError, PrincipalElement, Principals, Statement, parse_document};
use crate::request::{Context, Request};
use serde::{Deserialize, Serialize};

/// The name a trust policy's statements carry in decisions ("statement 1 of policy \"trust policy\"").
pub const TRUST_POLICY_NAME: &str = "trust policy";

/// A parsed role trust policy: every statement names a `Principal`, none a `Resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustPolicy {
    policy: Policy,
}

/// Who asks to assume the role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Caller {
    /// A service principal: `lambda.amazonaws.com`, `firehose.amazonaws.com`.
    Service(String),
    /// An IAM principal by ARN: a user, a role, a role session (`arn:aws:sts::123456789012:assumed-role/r/s`) or an
    /// account's root.
    Aws(String),
    /// A web identity or SAML provider: `cognito-identity.amazonaws.com`, `arn:aws:iam::123456789012:saml-provider/p`.
    Federated(String),
}

impl TrustPolicy {
    /// Parses a trust policy, refusing what IAM's `CreateRole` refuses: a `Resource` ("Has prohibited field
    /// Resource."), a statement without a principal, `NotPrincipal`, and a wildcard inside a principal.
    pub fn parse(text: &str) -> Result<TrustPolicy, PolicyError> {
        Ok(TrustPolicy {
            policy: parse_document(text, Kind::Trust, false)?,
        })
    }

    /// The document as parsed.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether `caller` may perform `action` (`sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`, `sts:TagSession`)
    /// on the role, with the request's context (`sts:ExternalId`, `aws:SourceAccount`). Decided as identity-based
    /// policies are (explicit deny, then allow, else implicit deny); render a refusal with
    /// [`PolicyKind::RoleTrust`](crate::PolicyKind::RoleTrust).
    ///
    /// This is the role's side only: an IAM principal of an account the policy trusts (by account ID or root ARN)
    /// also needs its own identity-based policies to allow `sts:AssumeRole`, which [`crate::evaluate`] decides.
    pub fn decide(&self, caller: &Caller, action: &str, context: &Context) -> Decision {
        let request = Request {
            action: action.to_owned(),
            resource: "*".to_owned(),
            context: context.clone(),
        };
        let principal = Target::Principal(Box::new(|statement: &Statement| principal_outcome(statement, caller)));
        let named = [NamedPolicy::new(TRUST_POLICY_NAME, self.policy.clone())];
        decide(&named, &request, &principal)
    }

    /// [`TrustPolicy::decide`] for `sts:AssumeRole`.
    pub fn may_assume(&self, caller: &Caller, context: &Context) -> Decision {
        self.decide(caller, "sts:AssumeRole", context)
    }
}

fn principal_outcome(statement: &Statement, caller: &Caller) -> Outcome {
    match &statement.principal {
        Some(PrincipalElement::Principal(principals)) if names(principals, caller) => Outcome::Match,
        // Parsing refuses NotPrincipal in a trust policy; a statement without a principal applies to no one.
        _ => Outcome::NoMatch,
    }
}

/// Whether a `Principal` value names the caller.
///
/// - `"*"` and `{"AWS": "*"}` name everyone ("For anonymous users, the following elements are equivalent").
/// - An account ID or `arn:aws:iam::ID:root` names every principal of the account: "This delegates authority to
///   the account ... Using the account ARN in the Principal element does not limit permissions to only the root
///   user of the account."
/// - A role ARN names the role and its sessions (`assumed-role/<name>/<session>`): a role is saved as its unique ID,
///   which its sessions carry.
/// - Any other ARN, a service or a provider names exactly itself (user names are case-sensitive; no partial
///   wildcards, which parsing refuses).
fn names(principals: &Principals, caller: &Caller) -> bool {
    if principals.everyone || principals.aws.iter().any(|id| id == "*") {
        return true;
    }
    match caller {
        Caller::Service(service) => principals.service.contains(service),
        Caller::Federated(provider) => principals.federated.contains(provider),
        Caller::Aws(arn) => principals.aws.iter().any(|id| aws_names(id, arn)),
    }
}

fn aws_names(id: &str, arn: &str) -> bool {
    let account = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        return account(arn).as_deref() == Some(id);
    }
    let fields: Vec<&str> = id.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", _, "iam", "", account_id, "root"] => account(arn).as_deref() == Some(account_id),
        ["arn", partition, "iam", "", account_id, role] if role.starts_with("role/") => {
            let name = role.rsplit('/').next().unwrap_or_default();
            let session = format!("arn:{partition}:sts::{account_id}:assumed-role/{name}/");
            arn == id || (arn.starts_with(&session) && arn.len() > session.len())
        }
        _ => arn == id,
    }
}
