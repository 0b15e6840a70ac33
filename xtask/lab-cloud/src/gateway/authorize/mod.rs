//! The second check, as AWS makes it: may this identity do this. Each call is turned into the IAM requests AWS
//! authorises it as — an action and the resource it acts on, as the Service Authorization Reference lists them
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>),
//! one module per service in [`actions`] — and each is decided against the caller's identity-based policies (the
//! role's inline and attached policies, read by `roles.rs`) by `lab-policy`: explicit deny over allow over implicit
//! deny. A denial comes back in the service's error shape with AWS's wording:
//! `User: arn:aws:sts::123456789012:assumed-role/ROLE/SESSION is not authorized to perform: kinesis:GetRecords on
//! resource: arn:aws:kinesis:… because no identity-based policy allows the kinesis:GetRecords action`.
//!
//! Who is checked: an assumed-role session (a function, a mapping, Firehose). The administrator may do everything;
//! a service principal may only assume roles (the trust policy decides, in `sts.rs`). What the local cloud cannot
//! authorise — a call whose IAM action it does not know, a condition key it does not supply — is refused for a
//! session, saying so; never silently allowed.
//!
//! Every decision about a session is written to the [`AccessLog`]: what each role used, what it was denied; the
//! access report (`access_report.rs`) is made from it.

pub mod actions;
mod log;
pub mod resource_tags;

pub use log::{AccessLog, RoleAccess};
pub use resource_tags::ResourceTags;

use super::authenticate::{ACCOUNT, Principal};
use super::call::{Call, Protocol};
use super::errors::AwsError;
use super::roles::Roles;
use actions::Needs;
use policy::{Context, PolicyKind, Request, evaluate};

/// The condition keys the local cloud supplies with every request (the global keys AWS documents at
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html> that it can know). A
/// condition on any other key (a resource's tags, a request's tags, a service's own keys) cannot be evaluated here:
/// treating the key as absent could let a `Deny` with it pass silently, so its statement is unevaluable
/// (`Context::supplying`), which never allows and, in a `Deny`, refuses.
pub const SUPPLIED_KEYS: &[&str] = &[
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:userid",
    "aws:RequestedRegion",
    "aws:SourceIp",
    "aws:SecureTransport",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:PrincipalIsAWSService",
    "aws:ViaAWSService",
];

/// What the check reads besides the call: the roles' policies, the resources' tags, and where it writes its decisions.
pub struct Sources<'a> {
    pub roles: &'a Roles,
    pub tags: &'a ResourceTags,
    pub log: &'a AccessLog,
}

/// Decides `call` for `principal`; `Ok` when it may go on.
pub async fn check(principal: &Principal, call: &Call, sources: Sources<'_>) -> Result<(), AwsError> {
    let Sources { roles, tags, log } = sources;
    let session = match principal {
        Principal::Admin | Principal::Unchecked => return Ok(()),
        Principal::Service(_) if call.operation.as_deref() == Some("AssumeRole") => return Ok(()),
        Principal::Service(name) => {
            return Err(AwsError::access_denied(
                call.protocol,
                format!("{name} acts in the local cloud only by assuming a role that trusts it"),
            ));
        }
        Principal::Session(session) => session,
    };
    let requests = match actions::needs(call) {
        Needs::Nothing => return Ok(()),
        Needs::Requests(requests) => requests,
        Needs::Unknown(what) => {
            let message = format!(
                "User: {} is not authorized to perform this call: the local cloud does not know which IAM action \
                 {what} needs, so it refuses it for a role rather than allow it unchecked",
                principal.arn()
            );
            log.deny_unknown(&session.role_arn, &what, &message);
            return Err(AwsError::access_denied(call.protocol, message));
        }
    };
    let role = match roles.get(&session.role_arn).await {
        Ok(Some(role)) => role,
        Ok(None) => {
            return Err(AwsError::access_denied(
                call.protocol,
                format!("User: {} is not authorized: its role no longer exists", principal.arn()),
            ));
        }
        Err(error) => {
            return Err(AwsError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                format!("the local cloud could not read the role's policies: {error:#}"),
            ));
        }
    };
    for (action, resource) in requests {
        let mut request = Request::new(action, resource);
        request.context = context(principal, call);
        // Read only for a role whose policies name the key: most calls need no tags, and reading them costs a call.
        if role.reads_resource_tags && request.resource != "*" {
            supply_resource_tags(&mut request, tags).await;
        }
        let decision = evaluate(&role.policies, &request);
        log.record(&session.role_arn, &principal.arn(), &request, &decision);
        if let Some(message) = decision.denial_message(
            PolicyKind::IdentityBased,
            &principal.arn(),
            &request.action,
            &request.resource,
        ) {
            return Err(denial(call.protocol, message));
        }
    }
    Ok(())
}

/// `aws:ResourceTag/<key>` for each tag of the request's resource, when the local cloud can read them
/// ([`resource_tags`]): a tag it lacks is then absent, as AWS takes it. Otherwise the keys stay unsupplied.
async fn supply_resource_tags(request: &mut Request, tags: &ResourceTags) {
    let Some(found) = tags.of(&request.resource).await else {
        return;
    };
    for (key, value) in found {
        request.context.insert(&format!("aws:ResourceTag/{key}"), value);
    }
    request.context = std::mem::take(&mut request.context).supplying_family("aws:ResourceTag/");
}

/// AWS's denial, in the protocol's shape; for S3 the message is AWS's shorter one with the same ARNs.
fn denial(protocol: Protocol, message: String) -> AwsError {
    AwsError::access_denied(protocol, message)
}

/// The request context the local cloud supplies ([`SUPPLIED_KEYS`]).
fn context(principal: &Principal, call: &Call) -> Context {
    let mut context = base_context(&principal_arn(principal), call.region());
    if let Principal::Session(session) = principal {
        context.insert("aws:PrincipalType", "AssumedRole");
        context.insert("aws:userid", format!("{}:{}", session.role_id, session.session_name));
    }
    context
}

/// The context of a request a role's session makes in `region`, as [`check`] supplies it for a session's own calls:
/// what the validation step decides for Lambda acting with a function's role (reading its stream) before the role
/// has acted at all.
pub(crate) fn session_context(role_arn: &str, role_id: &str, session_name: &str, region: &str) -> Context {
    let mut context = base_context(role_arn, region);
    context.insert("aws:PrincipalType", "AssumedRole");
    context.insert("aws:userid", format!("{role_id}:{session_name}"));
    context
}

/// The keys every request has: who (`aws:PrincipalArn`), where, when, how.
fn base_context(principal_arn: &str, region: &str) -> Context {
    let now = chrono::Utc::now();
    Context::new()
        .with("aws:PrincipalArn", principal_arn)
        .with("aws:PrincipalAccount", ACCOUNT)
        .with("aws:RequestedRegion", region)
        .with("aws:SourceIp", "127.0.0.1")
        // The local cloud is plain HTTP on 127.0.0.1.
        .with("aws:SecureTransport", "false")
        .with("aws:CurrentTime", now.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .with("aws:EpochTime", now.timestamp().to_string())
        .with("aws:PrincipalIsAWSService", "false")
        .with("aws:ViaAWSService", "false")
        .supplying(SUPPLIED_KEYS)
}

/// For a session, `aws:PrincipalArn` is the role's ARN, not the session's ("aws:PrincipalArn … For an IAM role, the
/// request context returns the ARN of the role, not the ARN of the user that assumed the role").
fn principal_arn(principal: &Principal) -> String {
    match principal {
        Principal::Session(session) => session.role_arn.clone(),
        other => other.arn(),
    }
}
