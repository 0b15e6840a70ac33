//! CloudWatch Logs, the eight calls the workshop makes, without the `aws-sdk-cloudwatchlogs` crate: that crate is
//! about a tenth of the first `cargo xtask lab`'s build (146 s of its 1,386 s of compiler time on 2 cores, measured;
//! book/src/appendix.md, "The fast loop"), for calls that the local Lambda host, the IAM check, the inventory and
//! `destroy` make with a few fields each. Everything else is the SDK's own: the configuration's HTTP client (TLS,
//! proxies, connection pool), its credential chain, its retry and timeout settings, its orchestrator
//! ([`Operation`]), and `aws-sigv4` for the signature.
//!
//! The protocol is AWS JSON 1.1: `POST /` to `logs.<region>.amazonaws.com` (or the configuration's endpoint URL),
//! `X-Amz-Target: Logs_20140328.<Operation>`, the request's fields as a JSON object, and an error as
//! `{"__type": "<code>", "message": "..."}`. <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonParameters.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html> and the pages beside it.

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{HttpStatusCodeClassifier, TransientErrorClassifier};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The service's name in signatures and ARNs, and its API's version in `X-Amz-Target`.
const SIGNING_NAME: &str = "logs";
const TARGET_PREFIX: &str = "Logs_20140328";

/// A CloudWatch Logs client over one SDK configuration (credentials, region, endpoint, HTTP client).
#[derive(Clone, Debug)]
pub struct Logs {
    config: SdkConfig,
}

/// One line to send: when (milliseconds since the epoch) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
}

/// A log group, as `DescribeLogGroups` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    /// Milliseconds since the epoch.
    pub created: Option<i64>,
}

/// What CloudWatch Logs (or the way to it) said no with: AWS's error code when the service answered, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsError {
    code: Option<String>,
    message: String,
}

impl LogsError {
    /// AWS's error code (`ResourceAlreadyExistsException`, `AccessDeniedException`, ...), when the service answered.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether it is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    fn other(message: impl Into<String>) -> LogsError {
        LogsError {
            code: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LogsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "CloudWatch Logs: {code}: {}", self.message),
            None => write!(f, "CloudWatch Logs: {}", self.message),
        }
    }
}

impl std::error::Error for LogsError {}

impl Logs {
    pub fn new(config: &SdkConfig) -> Logs {
        Logs { config: config.clone() }
    }

    /// `CreateLogGroup`.
    pub async fn create_log_group(&self, group: &str) -> Result<(), LogsError> {
        self.call("CreateLogGroup", json!({ "logGroupName": group }))
            .await
            .map(drop)
    }

    /// `CreateLogStream`.
    pub async fn create_log_stream(&self, group: &str, stream: &str) -> Result<(), LogsError> {
        let request = json!({ "logGroupName": group, "logStreamName": stream });
        self.call("CreateLogStream", request).await.map(drop)
    }

    /// `PutLogEvents` (the events in the order given: CloudWatch Logs wants them by time).
    pub async fn put_log_events(&self, group: &str, stream: &str, events: &[LogEvent]) -> Result<(), LogsError> {
        let events: Vec<Value> = events
            .iter()
            .map(|e| json!({ "timestamp": e.timestamp, "message": e.message }))
            .collect();
        let request = json!({ "logGroupName": group, "logStreamName": stream, "logEvents": events });
        self.call("PutLogEvents", request).await.map(drop)
    }

    /// `DescribeLogGroups` for the names starting `prefix`, every page.
    pub async fn describe_log_groups(&self, prefix: &str) -> Result<Vec<LogGroup>, LogsError> {
        let pages = self.pages(
            "DescribeLogGroups",
            json!({ "logGroupNamePrefix": prefix }),
            "logGroups",
        );
        Ok(pages
            .await?
            .into_iter()
            .filter_map(|group| {
                Some(LogGroup {
                    name: group["logGroupName"].as_str()?.to_owned(),
                    created: group["creationTime"].as_i64(),
                })
            })
            .collect())
    }

    /// `DescribeLogStreams` of `group`: the streams' names, every page.
    pub async fn describe_log_streams(&self, group: &str) -> Result<Vec<String>, LogsError> {
        let pages = self.pages("DescribeLogStreams", json!({ "logGroupName": group }), "logStreams");
        Ok(pages
            .await?
            .into_iter()
            .filter_map(|stream| Some(stream["logStreamName"].as_str()?.to_owned()))
            .collect())
    }

    /// `GetLogEvents` of one stream from its start (one answer: up to 10,000 events or 1 MB).
    pub async fn get_log_events(&self, group: &str, stream: &str) -> Result<Vec<LogEvent>, LogsError> {
        let request = json!({ "logGroupName": group, "logStreamName": stream, "startFromHead": true });
        let answer = self.call("GetLogEvents", request).await?;
        Ok(answer["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|event| {
                Some(LogEvent {
                    timestamp: event["timestamp"].as_i64()?,
                    message: event["message"].as_str()?.to_owned(),
                })
            })
            .collect())
    }

    /// `DeleteLogGroup`.
    pub async fn delete_log_group(&self, group: &str) -> Result<(), LogsError> {
        self.call("DeleteLogGroup", json!({ "logGroupName": group }))
            .await
            .map(drop)
    }

    /// `ListTagsForResource` of a log group's ARN (`arn:aws:logs:<region>:<account>:log-group:<name>`).
    pub async fn list_tags_for_resource(&self, arn: &str) -> Result<BTreeMap<String, String>, LogsError> {
        let answer = self.call("ListTagsForResource", json!({ "resourceArn": arn })).await?;
        Ok(answer["tags"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
            .collect())
    }

    /// Every page of a listing: the `items` of each answer, following `nextToken`.
    async fn pages(&self, operation: &'static str, mut request: Value, items: &str) -> Result<Vec<Value>, LogsError> {
        let mut found = vec![];
        loop {
            let answer = self.call(operation, request.clone()).await?;
            found.extend(answer[items].as_array().into_iter().flatten().cloned());
            match answer["nextToken"].as_str() {
                Some(token) if !token.is_empty() => request["nextToken"] = json!(token),
                _ => return Ok(found),
            }
        }
    }

    /// One call: `operation` with `request` as its JSON body; the answer's JSON (`null` when it has none).
    async fn call(&self, operation: &'static str, request: Value) -> Result<Value, LogsError> {
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(|| LogsError::other("no credentials in the configuration"))?;
        let credentials = aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider)
            .await
            .map_err(|e| LogsError::other(crate::aws::error_chain(&e)))?;
        let region = crate::aws::region_of(&self.config);
        let endpoint = match self.config.endpoint_url() {
            Some(url) => url.to_owned(),
            None => format!("https://logs.{region}.amazonaws.com"),
        };
        let mut builder = Operation::builder()
            .service_name(SIGNING_NAME)
            .operation_name(operation)
            .endpoint_url(&endpoint)
            .no_auth()
            .interceptor(SignV4 { credentials, region })
            .standard_retry(
                &self
                    .config
                    .retry_config()
                    .cloned()
                    .unwrap_or_else(RetryConfig::standard),
            )
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<LogsError>::new())
            .timeout_config(
                self.config
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(TimeoutConfig::disabled),
            );
        if let Some(client) = self.config.http_client() {
            builder = builder.http_client(client);
        }
        if let Some(sleep) = self.config.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        let call = builder
            .serializer(move |body: Vec<u8>| {
                let request = http::Request::builder()
                    .method("POST")
                    .uri("/")
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", format!("{TARGET_PREFIX}.{operation}"))
                    .body(SdkBody::from(body))?;
                Ok(HttpRequest::try_from(request)?)
            })
            .deserializer(answer)
            .build();
        let body = serde_json::to_vec(&request).expect("JSON values serialise");
        call.invoke(body).await.map_err(|error| match error {
            SdkError::ServiceError(service) => service.into_err(),
            other => LogsError::other(crate::aws::error_chain(&other)),
        })
    }
}

/// The answer: its JSON on success; AWS's error code and message otherwise (the code from `X-Amzn-ErrorType` or
/// the body's `__type`, without a namespace before `#` or a URL after `:`).
fn answer(response: &HttpResponse) -> Result<Value, OrchestratorError<LogsError>> {
    let body = response.body().bytes().unwrap_or_default();
    let parsed: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| OrchestratorError::other(format!("an answer that is not JSON: {e}")))?
    };
    if response.status().is_success() {
        return Ok(parsed);
    }
    let code = response
        .headers()
        .get("x-amzn-errortype")
        .or_else(|| parsed["__type"].as_str())
        .map(|code| {
            let code = code.split(':').next().unwrap_or(code);
            code.rsplit('#').next().unwrap_or(code).to_owned()
        });
    let message = parsed["message"]
        .as_str()
        .or_else(|| parsed["Message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {}", response.status().as_u16()));
    Err(OrchestratorError::operation(LogsError { code, message }))
}

/// Signs each attempt (a retry is signed again, with its own time) as AWS Signature Version 4 asks:
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html>.
#[derive(Debug)]
struct SignV4 {
    credentials: Credentials,
    region: String,
}

impl Intercept for SignV4 {
    fn name(&self) -> &'static str {
        "SignV4"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let body = request.body().bytes().ok_or("a streaming body cannot be signed here")?;
        let signable = SignableRequest::new(
            request.method(),
            request.uri(),
            request.headers().iter(),
            SignableBody::Bytes(body),
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            request
                .headers_mut()
                .insert(header.name().to_owned(), header.value().to_owned());
        }
        Ok(())
    }
}
