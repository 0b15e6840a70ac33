//! A mapping names a function and a stream that exist, as AWS answers when they do not (HTTP 400
//! `InvalidParameterValueException`, both recorded against AWS in LocalStack's snapshot tests,
//! `test_lambda_api.snapshot.json` and `test_lambda_integration_kinesis.snapshot.json`):
//! - the function: "Function does not exist" (moto answers 404 `ResourceNotFoundException` instead);
//! - the stream: "Stream not found: arn:aws:kinesis:…:stream/<name>". The stream is the Kinesis engine's: moto holds
//!   only a twin of each stream (`kinesis::registration`), which can outlive it.
//!
//! The Lambda API Reference lists both errors for `CreateEventSourceMapping`
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>, "Errors").

use super::functions::{Function, Functions};
use super::{SourceStream, invalid_parameter, service_exception};
use crate::gateway::errors::AwsError;
use crate::gateway::kinesis::{ACCOUNT, Kinesis};
use serde_json::Value;

/// The function the request names (`FunctionName`), as Lambda holds it.
pub async fn function(body: &Value, region: &str, functions: &Functions) -> Result<Function, AwsError> {
    let name = body.get("FunctionName").and_then(Value::as_str).unwrap_or_default();
    match functions.get(name, region).await {
        Ok(Some(function)) => Ok(function),
        Ok(None) => Err(invalid_parameter("Function does not exist")),
        Err(error) => Err(service_exception(format!(
            "the local cloud could not read the function {name}: {error:#}"
        ))),
    }
}

/// The stream exists in the Kinesis engine (in this account: the local cloud has one).
pub fn stream(source: &SourceStream, kinesis: &Kinesis) -> Result<(), AwsError> {
    if source.account == ACCOUNT && kinesis.stream(&source.key, kinesis.now_ms()).is_ok() {
        return Ok(());
    }
    Err(invalid_parameter(format!("Stream not found: {}", source.arn)))
}
