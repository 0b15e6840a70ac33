//! Which IAM actions a call needs, on which resources: a module per service, each following that service's page of
//! the Service Authorization Reference ("Actions, resources, and condition keys for …"). A call may need more than
//! one (Lambda's `CreateFunction` also needs `iam:PassRole` on the function's role).

mod cloudwatch;
mod firehose;
mod iam;
mod kinesis;
mod lambda;
mod logs;
mod s3;
mod scheduler;
mod sns;

pub use iam::changes_something as iam_changes_something;

use super::super::authenticate::ACCOUNT;
use super::super::call::{Call, Service};

/// What a call needs to be authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: `sts:GetCallerIdentity` ("No permissions are required to perform this operation").
    Nothing,
    /// These (action, resource ARN or `*`) pairs, each allowed.
    Requests(Vec<(String, String)>),
    /// The local cloud does not know: the call, described for the refusal.
    Unknown(String),
}

impl Needs {
    fn one(action: &str, resource: impl Into<String>) -> Needs {
        Needs::Requests(vec![(action.to_owned(), resource.into())])
    }
}

/// What `call` needs.
pub fn needs(call: &Call) -> Needs {
    match &call.service {
        Service::Kinesis => kinesis::needs(call),
        Service::Firehose => firehose::needs(call),
        Service::S3 => s3::needs(call),
        Service::Lambda => lambda::needs(call),
        Service::Logs => logs::needs(call),
        Service::Iam => iam::needs(call),
        Service::Scheduler => scheduler::needs(call),
        Service::CloudWatch => cloudwatch::needs(call),
        Service::Sns => sns::needs(call),
        Service::Sts => match call.operation.as_deref() {
            Some("GetCallerIdentity") => Needs::Nothing,
            Some("AssumeRole") => match call.form_value("RoleArn") {
                Some(role) => Needs::one("sts:AssumeRole", role),
                None => unknown(call),
            },
            _ => unknown(call),
        },
        _ => unknown(call),
    }
}

/// The call, described for a refusal: `kinesis PutRecords`, or `lambda GET /2015-03-31/...`.
fn unknown(call: &Call) -> Needs {
    let what = match &call.operation {
        Some(operation) => format!("{} {operation}", call.service.action_prefix()),
        None => format!("{} {} {}", call.service.action_prefix(), call.method(), call.path()),
    };
    Needs::Unknown(what)
}

/// `arn:aws:<service>:<region>:<account>:<resource>`.
fn arn(service: &str, region: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{ACCOUNT}:{resource}")
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::super::super::call::Call;
    use bytes::Bytes;

    /// A call signed for `service` in us-east-1, with `x-amz-target` when the operation is a JSON one.
    pub fn call(service: &str, method: &str, uri: &str, target: Option<&str>, body: &str) -> Call {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261206/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=00"
        );
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", authorization);
        if let Some(target) = target {
            builder = builder.header("x-amz-target", target);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Call::from_parts(parts, Bytes::from(body.to_owned()))
    }
}
