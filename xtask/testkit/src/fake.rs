//! A fake AWS service for tests that must stage exactly what AWS answers: refused entries, throttled calls, errors.
//!
//! It replaces only the transport. The SDK client in front of it is the real one — it serialises the request,
//! signs it, classifies the answer, retries and deserialises — and the fake answers on the wire, in the service's
//! own JSON protocol (awsJson1.1 for Kinesis: `X-Amz-Target` names the operation, errors carry `__type`). So a test
//! built on it exercises the same code paths a call to AWS would, without the network.
//!
//! For the XML services (S3, IAM), [`xml_endpoint`] is the same idea one level down: an HTTP server on 127.0.0.1
//! that answers each request in turn with a staged status and body.

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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
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

/// The same configuration, for a fake that listens on `endpoint` (an [`xml_endpoint`]: the XML services, S3 and
/// IAM, which [`FakeAws`] does not speak).
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

/// A fake AWS endpoint on 127.0.0.1 for the XML protocols, behind the real SDK clients, for what the local cloud
/// cannot stage (a name another account owns, a race with another run, a refusal). S3 (REST-XML) and IAM (the query
/// protocol) answer in XML, which [`FakeAws`] does not speak. It answers the requests in turn with `answers` (an
/// HTTP status and an XML body), then refuses connections, and sends each request's first line and body to the
/// receiver before it answers. Make the client with [`config_at`].
pub fn xml_endpoint(answers: Vec<(u16, String)>) -> (String, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the fake endpoint");
    let port = listener.local_addr().expect("its address").port();
    let (requests, received) = mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let Ok((socket, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(socket);
            let _ = requests.send(read_request(&mut reader));
            let response = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.into_inner().write_all(response.as_bytes());
        }
    });
    (format!("http://127.0.0.1:{port}"), received)
}

/// The request line, then the body (the headers are read up to the empty line, for the body's length).
fn read_request(reader: &mut BufReader<TcpStream>) -> String {
    let (mut first, mut length) = (None, 0);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        first.get_or_insert_with(|| line.trim_end().to_owned());
    }
    let mut request = first.unwrap_or_default();
    let _ = reader.by_ref().take(length).read_to_string(&mut request);
    request
}

/// S3's answer to one request of [`s3`]: an HTTP status and, for an error, S3's error code (`AccessDenied`, …).
pub type S3Answer = (u16, Option<&'static str>);

/// An S3 client of an [`xml_endpoint`] answering `answers` in turn, and the receiver of its requests.
#[cfg(feature = "s3")]
pub fn s3(answers: Vec<S3Answer>) -> (aws_sdk_s3::Client, Receiver<String>) {
    let answers = answers.into_iter().map(|(status, code)| {
        let error = code.map(|code| format!("<Error><Code>{code}</Code><Message>{code}</Message></Error>"));
        (status, error.unwrap_or_default())
    });
    let (endpoint, requests) = xml_endpoint(answers.collect());
    (crate::local_s3(&config_at(&endpoint)), requests)
}
