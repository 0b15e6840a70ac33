//! The third check, after [`authenticate`](super::authenticate) and [`authorize`](super::authorize): what AWS itself
//! refuses in a request that anyone may make — values out of the API's ranges, settings that do not go together,
//! resources that do not exist, a role the service cannot use — checked before the emulator (which accepts all of
//! these) is asked. Every caller meets it, the administrator too: a deploy that passes here must pass on AWS.
//!
//! For Lambda, a REST-JSON service, the operation is the method and the path (the Lambda API Reference,
//! <https://docs.aws.amazon.com/lambda/latest/api/API_Operations.html>):
//! - `CreateEventSourceMapping` (`POST /2015-03-31/event-source-mappings/`) and `UpdateEventSourceMapping`
//!   (`PUT /2015-03-31/event-source-mappings/<uuid>`);
//! - `CreateFunction` (`POST /2015-03-31/functions`) and `UpdateFunctionConfiguration`
//!   (`PUT /2015-03-31/functions/<name>/configuration`).
//!
//! Firehose's rules (`CreateDeliveryStream`, `UpdateDestination`, `PutRecord` on a Kinesis source) are in
//! [`firehose`], called by the gateway beside this module's [`check`].
//!
//! One module per family of rules, each citing the page it follows: [`constraints`] (the API's value ranges:
//! `ValidationException`), [`stream_options`] (a Kinesis mapping's settings AWS refuses:
//! `InvalidParameterValueException`), [`local_support`] (what the local cloud cannot run and refuses, saying so),
//! [`existence`] (the function and the stream exist), [`stream_access`] (the function's role may read the stream),
//! [`function_role`] (Lambda may assume the function's role). [`functions`] reads a function from the emulator.
//!
//! With IAM off (`--no-iam`), the two role checks are left out, as IAM is; the others stay.

pub mod firehose;

mod constraints;
mod existence;
mod function_role;
mod functions;
mod local_support;
mod stream_access;
mod stream_options;

pub use functions::Functions;

use super::authorize::AccessLog;
use super::call::{Call, Service};
use super::errors::AwsError;
use super::kinesis::{Kinesis, StreamKey};
use super::roles::Roles;
use serde_json::Value;

/// What the checks read: the Kinesis engine's streams, IAM's roles, Lambda's functions.
pub struct Checks<'a> {
    pub kinesis: &'a Kinesis,
    pub roles: &'a Roles,
    pub functions: &'a Functions,
    /// Where the role checks' decisions are written: on AWS, Lambda's reads at creation are the role's own calls.
    pub access: &'a AccessLog,
    /// Whether IAM is enforced (`--no-iam`: not, and neither are the role checks).
    pub iam: bool,
}

/// The calls this step checks.
enum Route {
    CreateMapping,
    UpdateMapping,
    CreateFunction,
    UpdateFunctionConfiguration,
}

/// Checks `call` as AWS would before serving it; `Ok` when it may go on (every call this step has no rule for).
pub async fn check(call: &Call, checks: &Checks<'_>) -> Result<(), AwsError> {
    let (Some(route), Some(body @ Value::Object(_))) = (route(call), call.json()) else {
        return Ok(());
    };
    match route {
        Route::CreateMapping => create_mapping(call, body, checks).await,
        Route::UpdateMapping => update_mapping(call, body, checks).await,
        Route::CreateFunction | Route::UpdateFunctionConfiguration if checks.iam => {
            function_role::lambda_may_assume(body, checks.roles).await
        }
        Route::CreateFunction | Route::UpdateFunctionConfiguration => Ok(()),
    }
}

/// A Kinesis mapping, in the order AWS answers: the request's values, then its settings, then what the local cloud
/// cannot run, then the function, the role's access to the stream and the stream itself (Lambda reads the stream
/// with the role, so a role that may not describe it hears "Cannot access stream" even for a stream that is gone).
async fn create_mapping(call: &Call, body: &Value, checks: &Checks<'_>) -> Result<(), AwsError> {
    constraints::mapping(body, true)?;
    let source = stream_options::event_source(body)?;
    let stream = local_support::kinesis_stream(&source)?;
    stream_options::starting_position(body)?;
    stream_options::settings(body)?;
    local_support::settings(body)?;
    let function = existence::function(body, call.region(), checks.functions).await?;
    if checks.iam {
        stream_access::role_may_read(&function.role, &stream, checks.roles, checks.access).await?;
    }
    existence::stream(&stream, checks.kinesis)
}

/// An update: the same values and settings (a mapping is made with a Kinesis source only, see [`create_mapping`]),
/// and a new function must exist.
async fn update_mapping(call: &Call, body: &Value, checks: &Checks<'_>) -> Result<(), AwsError> {
    constraints::mapping(body, false)?;
    stream_options::settings(body)?;
    local_support::settings(body)?;
    if body.get("FunctionName").is_some() {
        existence::function(body, call.region(), checks.functions).await?;
    }
    Ok(())
}

fn route(call: &Call) -> Option<Route> {
    if call.service != Service::Lambda {
        return None;
    }
    let segments: Vec<&str> = call.path().trim_end_matches('/').split('/').skip(1).collect();
    match (call.method().as_str(), segments.as_slice()) {
        ("POST", [_, "event-source-mappings"]) => Some(Route::CreateMapping),
        ("PUT", [_, "event-source-mappings", _]) => Some(Route::UpdateMapping),
        ("POST", [_, "functions"]) => Some(Route::CreateFunction),
        ("PUT", [_, "functions", _, "configuration"]) => Some(Route::UpdateFunctionConfiguration),
        _ => None,
    }
}

/// A mapping's source stream, from its ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`).
pub(crate) struct SourceStream {
    pub arn: String,
    pub key: StreamKey,
    pub account: String,
}

/// HTTP 400 `InvalidParameterValueException`: "One of the parameters in the request is not valid" (the Lambda API
/// Reference's common errors for these operations).
pub(crate) fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterValueException", message)
}

/// HTTP 500 `ServiceException`: the local cloud could not read what a check needs (the emulator did not answer).
pub(crate) fn service_exception(message: impl Into<String>) -> AwsError {
    AwsError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        message,
    )
}
