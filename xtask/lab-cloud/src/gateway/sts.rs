//! STS, served by the gateway: the local cloud issues and knows its own temporary credentials, so that a function,
//! an event source mapping or Firehose acts with its role's permissions, as in AWS.
//!
//! - `AssumeRole` (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>): the role must exist;
//!   its trust policy must allow the caller (a service principal such as `lambda.amazonaws.com`, or an IAM principal
//!   of the account), with the request's `sts:ExternalId`; an IAM caller's own policies must also allow
//!   `sts:AssumeRole` on the role (the IAM check does that before this). `DurationSeconds` 900 to the role's
//!   maximum session duration. Session policies and session tags are refused as not implemented.
//! - `GetCallerIdentity` (<https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>): needs
//!   no permission; answers for every identity the gateway knows.
//! - Anything else is refused, naming the operation.

use super::authenticate::{ACCOUNT, ADMIN_ARN, Principal, Sessions};
use super::call::{Call, Protocol};
use super::errors::{AwsError, xml_text};
use super::roles::Roles;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Response, StatusCode};
use policy::{Caller, Context, PolicyKind};
use std::time::{Duration, SystemTime};

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Serves an STS call made by `principal`.
pub async fn serve(call: &Call, principal: &Principal, sessions: &Sessions, roles: &Roles) -> Response<Body> {
    let answer = match call.operation.as_deref() {
        Some("GetCallerIdentity") => Ok(caller_identity(principal)),
        Some("AssumeRole") => assume_role(call, principal, sessions, roles).await,
        Some(other) => Err(AwsError::bad_request(
            "InvalidAction",
            format!("the local cloud's STS does not implement {other}; it implements AssumeRole and GetCallerIdentity"),
        )),
        None => Err(AwsError::bad_request(
            "MissingAction",
            "The request has no Action parameter.",
        )),
    };
    match answer {
        Ok((operation, result)) => xml_response(&operation, &result),
        Err(error) => error.response(Protocol::Query),
    }
}

fn caller_identity(principal: &Principal) -> (String, String) {
    let (arn, user_id) = match principal {
        Principal::Session(session) => (session.arn(), format!("{}:{}", session.role_id, session.session_name)),
        Principal::Service(name) => ((*name).to_owned(), (*name).to_owned()),
        Principal::Admin | Principal::Unchecked => (ADMIN_ARN.to_owned(), "AIDALOCALADMINISTRATR".to_owned()),
    };
    let result = format!(
        "<Arn>{}</Arn><UserId>{}</UserId><Account>{ACCOUNT}</Account>",
        xml_text(&arn),
        xml_text(&user_id)
    );
    ("GetCallerIdentity".to_owned(), result)
}

/// Who asks, as a trust policy names callers.
fn caller(principal: &Principal) -> Caller {
    match principal {
        Principal::Service(name) => Caller::Service((*name).to_owned()),
        Principal::Session(session) => Caller::Aws(session.arn()),
        Principal::Admin | Principal::Unchecked => Caller::Aws(ADMIN_ARN.to_owned()),
    }
}

async fn assume_role(
    call: &Call,
    principal: &Principal,
    sessions: &Sessions,
    roles: &Roles,
) -> Result<(String, String), AwsError> {
    let required = |name: &str| {
        call.form_value(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            AwsError::bad_request(
                "ValidationError",
                format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", lower_first(name)),
            )
        })
    };
    let role_arn = required("RoleArn")?;
    let session_name = required("RoleSessionName")?;
    validate_session_name(&session_name)?;
    for unsupported in [
        "Policy",
        "PolicyArns.member.1.arn",
        "Tags.member.1.Key",
        "SerialNumber",
        "SourceIdentity",
    ] {
        if call.form_value(unsupported).is_some() {
            return Err(AwsError::bad_request(
                "InvalidParameterValue",
                format!(
                    "the local cloud's AssumeRole does not implement {}; assume the role without it",
                    unsupported.split('.').next().unwrap_or(unsupported)
                ),
            ));
        }
    }
    let not_authorized = |because: String| {
        AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn} {because}",
                principal.arn()
            ),
        )
    };
    let role = roles
        .get(&role_arn)
        .await
        .map_err(|error| {
            AwsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                format!("{error:#}"),
            )
        })?
        // AWS answers a missing role as it answers a role that does not trust the caller.
        .ok_or_else(|| not_authorized("because no role trust policy allows the sts:AssumeRole action".to_owned()))?;
    // `--no-iam`: nobody is asked who they are (the service keys Lambda, the mappings and Firehose sign with are not
    // read), so no trust policy is asked either, as with moto alone; they still get their roles' sessions.
    if !matches!(principal, Principal::Unchecked) {
        let trust = role
            .trust
            .as_ref()
            .map_err(|why| not_authorized(format!("(its trust policy cannot be read: {why})")))?;
        let mut context = Context::new();
        if let Some(external_id) = call.form_value("ExternalId") {
            context.insert("sts:ExternalId", external_id);
        }
        let decision = trust.may_assume(&caller(principal), &context);
        if let Some(message) =
            decision.denial_message(PolicyKind::RoleTrust, &principal.arn(), "sts:AssumeRole", &role_arn)
        {
            return Err(AwsError::new(StatusCode::FORBIDDEN, "AccessDenied", message));
        }
    }
    // A service acting for itself (Lambda keeping a function's execution environment going) is not held to the
    // role's maximum session duration here: the local cloud gives its own parts up to STS's 12 hours (with IAM off
    // it cannot tell them from anyone, and gives everyone as much).
    let longest = match principal {
        Principal::Service(_) | Principal::Unchecked => Duration::from_secs(12 * 3600),
        _ => role.max_session,
    };
    let duration = match call.form_value("DurationSeconds") {
        None => Duration::from_secs(3600).min(longest),
        Some(text) => {
            let seconds: u64 = text.parse().unwrap_or(0);
            if seconds < 900 || Duration::from_secs(seconds) > longest {
                return Err(AwsError::bad_request(
                    "ValidationError",
                    format!(
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role, or is under \
                         900 seconds: {seconds}"
                    ),
                ));
            }
            Duration::from_secs(seconds)
        }
    };
    let session = sessions.issue(&role.arn, &role.id, &session_name, duration);
    let expiration = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + duration)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let result = format!(
        "<AssumedRoleUser><AssumedRoleId>{}:{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>\
         <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>",
        xml_text(&role.id),
        xml_text(&session_name),
        xml_text(&session.arn()),
        session.access_key,
        session.secret_key,
        session.session_token
    );
    Ok(("AssumeRole".to_owned(), result))
}

/// `RoleSessionName`: 2 to 64 characters of `[\w+=,.@-]`.
fn validate_session_name(name: &str) -> Result<(), AwsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&name.len()) && name.chars().all(allowed) {
        return Ok(());
    }
    Err(AwsError::bad_request(
        "ValidationError",
        format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member \
             must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*"
        ),
    ))
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// An STS answer: `<{Operation}Response><{Operation}Result>…</…Result><ResponseMetadata>…`.
fn xml_response(operation: &str, result: &str) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4();
    let body = format!(
        "<{operation}Response xmlns=\"{NAMESPACE}\"><{operation}Result>{result}</{operation}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    );
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_sts_pattern() {
        assert!(validate_session_name("producer-1@lab").is_ok());
        assert!(validate_session_name("a").is_err());
        assert!(validate_session_name("has space").is_err());
        assert!(validate_session_name(&"x".repeat(65)).is_err());
    }
}
