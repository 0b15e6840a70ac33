//! A fake AWS service for tests that must stage exactly what AWS answers: refused entries, throttled calls, errors.
//!
//! It replaces only the transport. The SDK client in front of it is the real one — it serialises the request,
//! signs it, classifies the answer, retries and deserialises — and the fake answers on the wire, in the service's
//! own JSON protocol (awsJson1.1 for Kinesis: `X-Amz-Target` names the operation, errors carry `__type`). So a test
//! built on it exercises the same code paths a call to AWS would, without the network.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, Mutex};

/// One request the fake received: the operation (`PutRecords`) and its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub operation: String,
    pub body: Value,
}

/// What the fake answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// HTTP 200 with this JSON body.
    Output(Value),
    /// An error as AWS's JSON protocols send it: an HTTP status and a body naming the error type.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
}

impl Reply {
    /// A 400 error of `error_type` (`ProvisionedThroughputExceededException`, `ResourceNotFoundException`, …).
    pub fn client_error(error_type: &str, message: &str) -> Self {
        Reply::Error {
            status: 400,
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// An SDK configuration whose every request `fake` answers: a region, fixed test credentials and the SDK's own
/// retries off, so that each call is one request. A client of any service is made from it
/// (`aws_sdk_kinesis::Client::new(&fake::config(&fake))`); a test that wants retries, or timeouts, sets them on the
/// service's config builder (`aws_sdk_kinesis::config::Builder::from(&config)`).
pub fn config(fake: &FakeAws) -> SdkConfig {
    offline().to_builder().http_client(fake.clone()).build()
}

/// The same configuration, for a fake that listens on `endpoint` (a test's own HTTP server: the XML services, S3
/// and IAM, which [`FakeAws`] does not speak).
pub fn config_at(endpoint: &str) -> SdkConfig {
    offline().to_builder().endpoint_url(endpoint).build()
}

/// Never the caller's credentials, region or profile: nothing read from the environment or from `~/.aws`.
fn offline() -> SdkConfig {
    let credentials = Credentials::new("fake", "fake", None, None, "lab-testkit fake");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(crate::DEFAULT_REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::disabled())
        .build()
}

type Answer = dyn Fn(&Call) -> Reply + Send + Sync;

/// The fake service: every request is recorded and answered by `answer`.
#[derive(Clone)]
pub struct FakeAws {
    answer: Arc<Answer>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl fmt::Debug for FakeAws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAws").field("calls", &self.calls().len()).finish()
    }
}

impl FakeAws {
    pub fn new(answer: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        FakeAws {
            answer: Arc::new(answer),
            calls: Arc::default(),
        }
    }

    /// Every request received so far, in order (SDK retries included: each attempt is a request).
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    fn respond(&self, request: &HttpRequest) -> HttpResponse {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit_once('.'))
            .map(|(_, operation)| operation.to_owned())
            .unwrap_or_default();
        let body = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        let call = Call { operation, body };
        let reply = (self.answer)(&call);
        self.calls.lock().expect("calls lock").push(call);
        let (status, body) = match reply {
            Reply::Output(output) => (200, output),
            Reply::Error {
                status,
                error_type,
                message,
            } => (status, serde_json::json!({ "__type": error_type, "message": message })),
        };
        let status = StatusCode::try_from(status).expect("a valid HTTP status");
        let mut response = HttpResponse::new(status, SdkBody::from(body.to_string()));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        response
    }
}

impl HttpConnector for FakeAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Ok(self.respond(&request)))
    }
}

impl HttpClient for FakeAws {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
