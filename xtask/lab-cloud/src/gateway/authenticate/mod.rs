//! The first check, as AWS makes it: who signed the request. The access key must be one the local cloud issued, the
//! signature must be the one its secret key gives (SigV4, [`sigv4`]), and temporary credentials must come with their
//! session token and be unexpired.
//!
//! The local cloud's identities ([`Principal`]):
//! - **the administrator** ([`ADMIN_ACCESS_KEY`]): the learner's tools, the tests and what `cargo xtask cloud up`
//!   prints, allowed everything, as a sandbox account's administrator is;
//! - **AWS services acting for themselves** ([`SERVICE_KEYS`]: Lambda, Firehose, ...): the local cloud's own
//!   parts (the Lambda host, the event source mappings' pollers, the Firehose pump) sign as the service they stand
//!   for, and a service may do one thing only: assume a role whose trust policy names it (`sts.rs`);
//! - **assumed-role sessions** (`ASIA...` keys with a session token), issued by the gateway's STS: what a function
//!   runs with, and what a mapping and Firehose read and write with.
//!
//! AWS's words for each failure: "Troubleshoot IAM … signature" and the services' common errors
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html>: `UnrecognizedClientException`,
//! `InvalidSignatureException`, `MissingAuthenticationToken`, `ExpiredTokenException`; S3's
//! `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`; IAM's and STS's `InvalidClientTokenId`).

pub mod sigv4;

use super::call::{Call, Protocol};
use super::errors::AwsError;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The local cloud's one account.
pub const ACCOUNT: &str = "123456789012";

/// The administrator's credentials (moto's customary test keys, which every tool of the workshop sets).
pub const ADMIN_ACCESS_KEY: &str = lab_contract::LOCAL_ADMIN_ACCESS_KEY;
pub const ADMIN_SECRET_KEY: &str = lab_contract::LOCAL_ADMIN_SECRET_KEY;
/// Who the administrator is, for `GetCallerIdentity` and in messages.
pub const ADMIN_ARN: &str = "arn:aws:iam::123456789012:user/kinesis-lab-admin";

/// The credentials each AWS service signs with when it acts for itself in the local cloud: (service principal,
/// access key, secret key). Only the local cloud's own parts use them, and they can do nothing but assume a role that
/// trusts the service.
pub const SERVICE_KEYS: &[(&str, &str, &str)] = &[
    (
        "lambda.amazonaws.com",
        "AKIALOCALSERVICELMBD",
        "lab-cloud-service-lambda",
    ),
    (
        "firehose.amazonaws.com",
        "AKIALOCALSERVICEFIRE",
        "lab-cloud-service-firehose",
    ),
    (
        "scheduler.amazonaws.com",
        "AKIALOCALSERVICESCHD",
        "lab-cloud-service-scheduler",
    ),
];

/// The credentials of a service principal (`lambda.amazonaws.com`), for the local cloud's own parts.
pub fn service_credentials(principal: &str) -> Option<(&'static str, &'static str)> {
    SERVICE_KEYS
        .iter()
        .find(|(name, _, _)| *name == principal)
        .map(|(_, key, secret)| (*key, *secret))
}

/// Who signed a request.
#[derive(Debug, Clone)]
pub enum Principal {
    Admin,
    /// An AWS service principal, e.g. `lambda.amazonaws.com`.
    Service(&'static str),
    Session(Arc<RoleSession>),
    /// `--no-iam`: nobody is asked who they are, as in moto alone.
    Unchecked,
}

impl Principal {
    /// The ARN AWS names the caller by in a denial: `arn:aws:sts::<account>:assumed-role/<role>/<session>` for a
    /// session.
    pub fn arn(&self) -> String {
        match self {
            Principal::Admin | Principal::Unchecked => ADMIN_ARN.to_owned(),
            Principal::Service(name) => (*name).to_owned(),
            Principal::Session(session) => session.arn(),
        }
    }
}

/// Temporary credentials of an assumed role.
#[derive(Debug)]
pub struct RoleSession {
    pub role_arn: String,
    pub role_name: String,
    /// `AROA…`, IAM's id of the role.
    pub role_id: String,
    pub session_name: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: String,
    pub expires: SystemTime,
}

impl RoleSession {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{}/{}",
            self.role_name, self.session_name
        )
    }
}

/// The sessions the gateway's STS has issued, by access key.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Arc<RoleSession>>>);

impl Sessions {
    /// Issues new temporary credentials for `role`, valid for `duration`.
    pub fn issue(&self, role_arn: &str, role_id: &str, session_name: &str, duration: Duration) -> Arc<RoleSession> {
        let id = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
        let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn).to_owned();
        let session = Arc::new(RoleSession {
            role_arn: role_arn.to_owned(),
            role_name,
            role_id: role_id.to_owned(),
            session_name: session_name.to_owned(),
            // AWS's temporary keys start with ASIA and are 20 characters long.
            access_key: format!("ASIA{}", &id[..16]),
            secret_key: uuid::Uuid::new_v4().simple().to_string(),
            session_token: format!("LabSessionToken{}", uuid::Uuid::new_v4().simple()),
            expires: SystemTime::now() + duration,
        });
        let mut sessions = self.0.lock().unwrap();
        // Expired sessions stay long enough to be told apart from unknown keys, then go.
        let now = SystemTime::now();
        sessions.retain(|_, s| s.expires + Duration::from_secs(3600) > now);
        sessions.insert(session.access_key.clone(), session.clone());
        session
    }

    fn find(&self, access_key: &str) -> Option<Arc<RoleSession>> {
        self.0.lock().unwrap().get(access_key).cloned()
    }
}

/// Who signed `call`, or the error AWS would answer with.
pub fn check(sessions: &Sessions, call: &Call) -> Result<Principal, AwsError> {
    let protocol = call.protocol;
    let Some(scope) = &call.scope else {
        return Err(missing_authentication(protocol));
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (principal, secret) = if scope.access_key == ADMIN_ACCESS_KEY {
        (Principal::Admin, ADMIN_SECRET_KEY.to_owned())
    } else if let Some((name, _, secret)) = SERVICE_KEYS.iter().find(|(_, key, _)| *key == scope.access_key) {
        (Principal::Service(name), (*secret).to_owned())
    } else if let Some(session) = sessions.find(&scope.access_key) {
        let token = call
            .header("x-amz-security-token")
            .map(str::to_owned)
            .or_else(|| call.query_value("X-Amz-Security-Token"));
        if token.as_deref() != Some(session.session_token.as_str()) {
            return Err(unrecognized(protocol));
        }
        if session.expires < SystemTime::now() {
            return Err(expired_token(protocol));
        }
        let secret = session.secret_key.clone();
        (Principal::Session(session), secret)
    } else {
        return Err(unrecognized(protocol));
    };
    match sigv4::verify(call, &secret, now) {
        Ok(()) => Ok(principal),
        Err(sigv4::Mismatch::Signature) => Err(signature_mismatch(protocol)),
        Err(sigv4::Mismatch::Expired(message)) => Err(invalid_signature(protocol, message)),
        Err(sigv4::Mismatch::Malformed(message)) => Err(invalid_signature(protocol, message)),
    }
}

fn missing_authentication(protocol: Protocol) -> AwsError {
    match protocol {
        Protocol::RestXml => AwsError::access_denied(protocol, "Anonymous access is not allowed in the local cloud."),
        Protocol::Query | Protocol::Cbor => AwsError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        _ => AwsError::bad_request("MissingAuthenticationTokenException", "Missing Authentication Token"),
    }
}

fn unrecognized(protocol: Protocol) -> AwsError {
    const INVALID: &str = "The security token included in the request is invalid.";
    match protocol {
        Protocol::RestXml => AwsError::new(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        Protocol::Query | Protocol::Cbor => AwsError::new(StatusCode::FORBIDDEN, "InvalidClientTokenId", INVALID),
        Protocol::RestJson => AwsError::new(StatusCode::FORBIDDEN, "UnrecognizedClientException", INVALID),
        Protocol::Json => AwsError::bad_request("UnrecognizedClientException", INVALID),
    }
}

fn expired_token(protocol: Protocol) -> AwsError {
    match protocol {
        Protocol::RestXml => AwsError::bad_request("ExpiredToken", "The provided token has expired."),
        Protocol::Query | Protocol::Cbor => AwsError::new(
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        _ => AwsError::bad_request(
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
    }
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your \
                        AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn signature_mismatch(protocol: Protocol) -> AwsError {
    match protocol {
        Protocol::RestXml | Protocol::Query | Protocol::Cbor => {
            AwsError::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", MISMATCH)
        }
        Protocol::RestJson => AwsError::new(StatusCode::FORBIDDEN, "InvalidSignatureException", MISMATCH),
        Protocol::Json => AwsError::bad_request("InvalidSignatureException", MISMATCH),
    }
}

fn invalid_signature(protocol: Protocol, message: String) -> AwsError {
    match protocol {
        Protocol::RestXml => AwsError::new(StatusCode::FORBIDDEN, "AccessDenied", message),
        Protocol::Query | Protocol::Cbor => AwsError::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message),
        Protocol::RestJson => AwsError::new(StatusCode::FORBIDDEN, "InvalidSignatureException", message),
        Protocol::Json => AwsError::bad_request("InvalidSignatureException", message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests sign with lab-testkit's copy of the pair (the step crates do not link lab-contract).
    #[test]
    fn the_tests_admin_is_the_local_clouds() {
        assert_eq!(ADMIN_ACCESS_KEY, lab_testkit::ADMIN_ACCESS_KEY);
        assert_eq!(ADMIN_SECRET_KEY, lab_testkit::ADMIN_SECRET_KEY);
    }
}
