//! A function's execution role must be one Lambda can assume: it exists, and its trust policy lets the service
//! principal `lambda.amazonaws.com` call `sts:AssumeRole` ("Lambda execution role",
//! <https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>). `CreateFunction` and
//! `UpdateFunctionConfiguration` with a `Role` are refused otherwise, HTTP 400 `InvalidParameterValueException`
//! "The role defined for the function cannot be assumed by Lambda." (the API reference lists the exception,
//! <https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html>; the message is AWS's as its users report
//! it and as moto and LocalStack reproduce it). moto checks only that the role exists, not its trust policy.
//!
//! AWS answers the same right after a role is made, while IAM propagates; the deploy (`control/function.rs`) retries
//! on exactly this message, for a while, and then reports it.
//!
//! The trust policy is decided as the gateway's STS decides the `AssumeRole` Lambda makes when it runs the function
//! (`sts.rs`: the service principal, no context keys), so a role accepted here is one the function can run with.

use super::{invalid_parameter, service_exception};
use crate::gateway::errors::AwsError;
use crate::gateway::roles::Roles;
use policy::{Caller, Context};
use serde_json::Value;

/// The service principal Lambda assumes a function's role as.
const LAMBDA: &str = "lambda.amazonaws.com";

/// Whether Lambda may assume the `Role` the request names (a request without one changes no role).
pub async fn lambda_may_assume(body: &Value, roles: &Roles) -> Result<(), AwsError> {
    let Some(arn) = body.get("Role").and_then(Value::as_str) else {
        return Ok(());
    };
    let cannot = || invalid_parameter("The role defined for the function cannot be assumed by Lambda.");
    let role = match roles.get(arn).await {
        Ok(Some(role)) => role,
        Ok(None) => return Err(cannot()),
        Err(error) => {
            return Err(service_exception(format!(
                "the local cloud could not read the role {arn}: {error:#}"
            )));
        }
    };
    let trusted = role.trust.as_ref().is_ok_and(|trust| {
        trust
            .may_assume(&Caller::Service(LAMBDA.to_owned()), &Context::new())
            .is_allowed()
    });
    if trusted { Ok(()) } else { Err(cannot()) }
}
