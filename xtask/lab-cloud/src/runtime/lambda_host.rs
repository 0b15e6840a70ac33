//! A local Lambda host: runs a function's real binary (the same `main` that runs on AWS) against a local
//! implementation of the Lambda Runtime API, one process per execution environment, reused while warm.
//!
//! What it does as AWS documents it: `GET /runtime/invocation/next` hands out one event with the request id, the
//! deadline (epoch milliseconds), the function ARN and a trace id; `POST .../response` and `.../error` end the
//! invocation; `POST /runtime/init/error` ends the environment. An invocation that outlives the function's timeout
//! is a `Task timed out` error and its environment is killed, as Lambda does.
//!
//! With faults asked for ([`LambdaHost::with_faults`]), an invocation may also fail on purpose: `function-error`
//! ends it with an `Unhandled` error before the function sees the event; `function-timeout` lets the function run
//! (its side effects happen, as when a real function overruns after doing its work), then reports `Task timed
//! out` and stops the environment, without waiting out the function's whole timeout.

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

use crate::runtime::credentials;
use crate::runtime::faults::FaultPlan;
use crate::runtime::function_logs::FunctionLogs;
use crate::runtime::metrics::{MetricBook, MetricId};
use lab_contract::FaultKind;

/// What the host needs to know to run a function: what `GetFunctionConfiguration` says, plus where its binary is.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub arn: String,
    /// The executable (a Lambda "bootstrap").
    pub binary: PathBuf,
    pub timeout: Duration,
    pub memory_mb: i32,
    /// The function's own environment variables, and those that point it at the local cloud.
    pub environment: Vec<(String, String)>,
    /// Where the function's output goes (its "log group").
    pub log_file: PathBuf,
    /// Its execution role: the process runs with the role's temporary credentials, assumed by Lambda through the
    /// local cloud's STS (`None`: with the local cloud's credentials of `environment`, for the host's own tests).
    pub role: Option<String>,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler returned this JSON.
    Response(Value),
    /// The handler returned an error (or the runtime reported one).
    FunctionError { error_type: String, message: String },
    /// No response within the function's timeout; the environment was stopped.
    TimedOut { after: Duration },
    /// The process failed to start, stopped, or reported an init error.
    Crashed { message: String },
}

impl Outcome {
    pub fn is_error(&self) -> bool {
        !matches!(self, Outcome::Response(_))
    }

    /// The error as Lambda's `Invoke` reports it, as `(errorType, errorMessage)`.
    pub fn error(&self) -> Option<(String, String)> {
        match self {
            Outcome::Response(_) => None,
            Outcome::FunctionError { error_type, message } => Some((error_type.clone(), message.clone())),
            Outcome::TimedOut { after } => Some((
                "Sandbox.Timedout".to_owned(),
                format!("Task timed out after {:.2} seconds", after.as_secs_f64()),
            )),
            Outcome::Crashed { message } => Some(("Runtime.ExitError".to_owned(), message.clone())),
        }
    }
}

/// CloudWatch's namespace for Lambda's metrics.
pub const LAMBDA_NAMESPACE: &str = "AWS/Lambda";

/// One invocation waiting for `/next`.
struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
}

/// The Runtime API of one execution environment.
struct RuntimeApi {
    function_arn: String,
    events: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

/// One execution environment: a running process and its Runtime API.
struct Environment {
    sender: mpsc::Sender<Invocation>,
    api: Arc<RuntimeApi>,
    process: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
    logs: Arc<FunctionLogs>,
}

/// How long an environment is reused: less than its credentials last ([`credentials::FUNCTION_SESSION`]), so that
/// a function never runs with expired ones.
const ENVIRONMENT_LIFETIME: Duration = Duration::from_secs(11 * 3600);

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
        self.server.abort();
    }
}

/// Runs functions. Environments are kept warm between invocations and reused, one invocation at a time each;
/// concurrent invocations of a function get environments of their own, as on Lambda.
pub struct LambdaHost {
    idle: Mutex<HashMap<String, Vec<Environment>>>,
    /// Where each invocation is counted for CloudWatch's `AWS/Lambda` metrics.
    metrics: Mutex<Arc<MetricBook>>,
    faults: Arc<FaultPlan>,
    /// Functions no fault is injected into (the lab's producer: the faults are for what the mappings invoke).
    spared: Vec<String>,
}

impl Default for LambdaHost {
    fn default() -> Self {
        LambdaHost::with_faults(FaultPlan::none(), Vec::new())
    }
}

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl LambdaHost {
    pub fn new() -> LambdaHost {
        LambdaHost::default()
    }

    /// A host that injects `faults` (function-error, function-timeout) into every function but the `spared` ones.
    pub fn with_faults(faults: Arc<FaultPlan>, spared: Vec<String>) -> LambdaHost {
        LambdaHost {
            idle: Mutex::default(),
            metrics: Mutex::new(Arc::new(MetricBook::default())),
            faults,
            spared,
        }
    }

    /// Counts this host's invocations in `book` (CloudWatch's `AWS/Lambda` metrics).
    pub fn set_metrics(&self, book: Arc<MetricBook>) {
        *self.metrics.lock().expect("not poisoned") = book;
    }

    /// The book this host counts its invocations in.
    pub fn metrics(&self) -> Arc<MetricBook> {
        self.metrics.lock().expect("not poisoned").clone()
    }

    /// Invokes `function` with `payload` (JSON) and waits for the outcome; counted as Lambda counts it:
    /// `Invocations`, `Errors` (a function error, a timeout or a crash) and `Duration`, per `FunctionName`
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>).
    pub async fn invoke(&self, function: &FunctionSpec, payload: &Value) -> Outcome {
        let started = Instant::now();
        let outcome = self.invoke_uncounted(function, payload).await;
        let book = self.metrics();
        let now = epoch_ms(SystemTime::now());
        let metric = |name: &str| MetricId::new(LAMBDA_NAMESPACE, name, ("FunctionName", &function.name));
        book.sample(metric("Invocations"), 1.0, now);
        book.sample(metric("Errors"), if outcome.is_error() { 1.0 } else { 0.0 }, now);
        book.sample(metric("Duration"), started.elapsed().as_secs_f64() * 1000.0, now);
        outcome
    }

    async fn invoke_uncounted(&self, function: &FunctionSpec, payload: &Value) -> Outcome {
        if self.spared.contains(&function.name) {
            return self.run(function, payload).await;
        }
        if self.faults.strikes(FaultKind::FunctionError) {
            // What Lambda reports for an error the runtime did not handle (`X-Amz-Function-Error: Unhandled`).
            return Outcome::FunctionError {
                error_type: "Unhandled".to_owned(),
                message: "injected by the local cloud (--faults function-error)".to_owned(),
            };
        }
        if self.faults.strikes(FaultKind::FunctionTimeout) {
            let _ = self.run(function, payload).await;
            // The environment that timed out is not reused: the next invocation starts a fresh one.
            self.idle.lock().expect("not poisoned").remove(&function.name);
            return Outcome::TimedOut {
                after: function.timeout,
            };
        }
        self.run(function, payload).await
    }

    async fn run(&self, function: &FunctionSpec, payload: &Value) -> Outcome {
        let mut environment = match self.take_idle(&function.name) {
            Some(environment) => environment,
            None => match start_environment(function).await {
                Ok(environment) => environment,
                Err(error) => {
                    return Outcome::Crashed {
                        message: format!("{error:#}"),
                    };
                }
            },
        };

        let request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        environment
            .logs
            .line(&format!("START RequestId: {request_id} Version: $LATEST"));
        // The real epoch deadline: `Context::deadline()` must be usable by deadline-aware handlers.
        let deadline_ms = epoch_ms(SystemTime::now() + function.timeout);
        let (done, outcome) = oneshot::channel();
        environment
            .api
            .pending
            .lock()
            .expect("not poisoned")
            .insert(request_id.clone(), done);
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms,
        };
        if environment.sender.send(invocation).await.is_err() {
            return Outcome::Crashed {
                message: "the execution environment stopped".to_owned(),
            };
        }

        let outcome = tokio::select! {
            outcome = outcome => outcome.unwrap_or(Outcome::Crashed { message: "the runtime went away".to_owned() }),
            () = tokio::time::sleep(function.timeout) => Outcome::TimedOut { after: started.elapsed() },
            status = environment.process.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                Outcome::Crashed { message: format!("RequestId: {request_id} Error: Runtime exited ({status})") }
            }
        };
        environment
            .api
            .pending
            .lock()
            .expect("not poisoned")
            .remove(&request_id);

        report(&environment.logs, &request_id, started.elapsed(), function, &outcome);
        // A timed-out or crashed environment is not reused; Lambda starts a fresh one.
        match outcome {
            Outcome::TimedOut { .. } | Outcome::Crashed { .. } => drop(environment),
            _ => self
                .idle
                .lock()
                .expect("not poisoned")
                .entry(function.name.clone())
                .or_default()
                .push(environment),
        }
        outcome
    }

    fn take_idle(&self, function: &str) -> Option<Environment> {
        let mut idle = self.idle.lock().expect("not poisoned");
        let environments = idle.get_mut(function)?;
        while let Some(mut environment) = environments.pop() {
            // Skip environments whose process has exited meanwhile, or whose credentials are close to expiring.
            if matches!(environment.process.try_wait(), Ok(None))
                && environment.started.elapsed() < ENVIRONMENT_LIFETIME
            {
                return Some(environment);
            }
        }
        None
    }

    /// Stops every environment (each process is killed).
    pub fn shutdown(&self) {
        self.idle.lock().expect("not poisoned").clear();
    }
}

async fn start_environment(function: &FunctionSpec) -> Result<Environment> {
    let (sender, receiver) = mpsc::channel(1);
    let api = Arc::new(RuntimeApi {
        function_arn: function.arn.clone(),
        events: tokio::sync::Mutex::new(receiver),
        pending: Mutex::new(HashMap::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        // Past axum's 2 MB default: an answer up to Lambda's limit is taken, a larger one refused as Lambda does.
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond).layer(axum::extract::DefaultBodyLimit::max(RESPONSE_BODY_READ_BYTES)),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(report_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let config = cloud_config(function).await;
    let credentials = match &function.role {
        Some(role) => Some(credentials::for_function(&config, role, &function.name).await?),
        None => None,
    };
    // Lambda writes the function's logs with the function's role; without a role (the host's own tests) only the
    // local file is written.
    let logs = FunctionLogs::open(
        &function.name,
        &function.log_file,
        credentials.as_ref().map(|credentials| (&config, credentials)),
    )?;
    let log_stream = logs
        .stream()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let mut command = tokio::process::Command::new(&function.binary);
    command
        .env_clear()
        // LD_LIBRARY_PATH as well: Lambda sets it in every function's environment, and `cargo xtask check`'s
        // executables find their shared libraries through it (xtask/src/fast_link.rs).
        .envs(
            std::env::vars()
                .filter(|(key, _)| matches!(key.as_str(), "PATH" | "HOME" | "RUST_LOG" | "LD_LIBRARY_PATH")),
        )
        .envs(function.environment.iter().cloned())
        // Lambda's reserved variable: functions run in UTC.
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.name))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
        .env(
            "LAMBDA_TASK_ROOT",
            function.binary.parent().unwrap_or(std::path::Path::new(".")),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(credentials) = &credentials {
        command
            .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env("AWS_SESSION_TOKEN", credentials.session_token().unwrap_or_default());
    }
    let mut process = command
        .spawn()
        .with_context(|| format!("starting {}", function.binary.display()))?;
    if let Some(stdout) = process.stdout.take() {
        logs.follow(stdout);
    }
    if let Some(stderr) = process.stderr.take() {
        logs.follow(stderr);
    }
    logs.start_sending();
    Ok(Environment {
        sender,
        api,
        process,
        server,
        started: Instant::now(),
        logs,
    })
}

/// Lambda's own closing lines of an invocation (`END`, `REPORT`, and for a timeout the `Task timed out` line).
fn report(logs: &FunctionLogs, request_id: &str, took: Duration, function: &FunctionSpec, outcome: &Outcome) {
    if let Outcome::TimedOut { after } = outcome {
        logs.line(&format!(
            "{} {request_id} Task timed out after {:.2} seconds",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            after.as_secs_f64()
        ));
    }
    let ms = took.as_secs_f64() * 1000.0;
    logs.line(&format!("END RequestId: {request_id}"));
    logs.line(&format!(
        "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
        ms.ceil() as u64,
        function.memory_mb
    ));
}

/// The local cloud a function's environment points at (its `AWS_ENDPOINT_URL` and `AWS_REGION`), for Lambda's own
/// calls on the function's behalf.
async fn cloud_config(function: &FunctionSpec) -> aws_config::SdkConfig {
    let variable = |name: &str| {
        function
            .environment
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = variable("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    let region = variable("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned());
    loader.region(aws_config::Region::new(region)).load().await
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    let mut events = api.events.lock().await;
    let Some(invocation) = events.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &invocation.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &api.function_arn);
    set(
        "lambda-runtime-trace-id",
        &format!(
            "Root=1-{:08x}-{}",
            epoch_ms(SystemTime::now()) / 1000,
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        ),
    );
    set("content-type", "application/json");
    (StatusCode::OK, headers, invocation.payload).into_response()
}

fn finish(api: &RuntimeApi, id: &str, outcome: Outcome) -> StatusCode {
    match api.pending.lock().expect("not poisoned").remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            StatusCode::ACCEPTED
        }
        // Unknown or already finished (e.g. timed out): AWS answers 400 InvalidRequestID.
        None => StatusCode::BAD_REQUEST,
    }
}

/// The largest answer a function may give: "6 MB each for request and response" (Lambda's quotas,
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>), 6,291,556 bytes as the Runtime API's
/// refusal names it. A larger answer is refused (413) and the invocation is a function error.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// How much of an answer the Runtime API reads, to refuse one over [`MAX_RESPONSE_BYTES`] in Lambda's words.
const RESPONSE_BODY_READ_BYTES: usize = 64 * 1024 * 1024;

async fn respond(State(api): State<Arc<RuntimeApi>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if body.len() > MAX_RESPONSE_BYTES {
        let outcome = Outcome::FunctionError {
            error_type: "Function.ResponseSizeTooLarge".to_owned(),
            message: format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            ),
        };
        finish(&api, &id, outcome);
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let outcome = match serde_json::from_slice(&body) {
        Ok(value) => Outcome::Response(value),
        // A handler returning `()` answers with an empty body.
        Err(_) if body.is_empty() => Outcome::Response(Value::Null),
        Err(error) => Outcome::FunctionError {
            error_type: "Runtime.InvalidResponse".to_owned(),
            message: format!("the response is not JSON: {error}"),
        },
    };
    finish(&api, &id, outcome)
}

fn error_from(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error_type = json["errorType"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "Unhandled".to_owned());
    let message = json["errorMessage"]
        .as_str()
        .map_or_else(|| String::from_utf8_lossy(body).into_owned(), str::to_owned);
    (error_type, message)
}

async fn report_error(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (error_type, message) = error_from(&headers, &body);
    finish(&api, &id, Outcome::FunctionError { error_type, message })
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (error_type, message) = error_from(&headers, &body);
    let pending: Vec<_> = api.pending.lock().expect("not poisoned").drain().collect();
    for (_, done) in pending {
        let _ = done.send(Outcome::Crashed {
            message: format!("init error {error_type}: {message}"),
        });
    }
    StatusCode::ACCEPTED
}

/// Reads a function's configuration from the Lambda API (moto, or AWS) and adds where its binary is.
pub async fn function_spec(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    functions_dir: &std::path::Path,
    logs_dir: &std::path::Path,
    cloud_environment: &[(String, String)],
) -> Result<FunctionSpec> {
    let configuration = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .with_context(|| format!("reading the configuration of function {name}"))?;
    let mut environment: Vec<(String, String)> = cloud_environment.to_vec();
    if let Some(variables) = configuration.environment.and_then(|e| e.variables) {
        environment.extend(variables);
    }
    let binary = functions_dir.join(name).join("bootstrap");
    if !binary.exists() {
        return Err(anyhow!("function {name} has no local code at {}", binary.display()));
    }
    Ok(FunctionSpec {
        name: name.to_owned(),
        role: configuration.role.filter(|role| !role.is_empty()),
        arn: configuration.function_arn.unwrap_or_default(),
        binary,
        timeout: Duration::from_secs(configuration.timeout.unwrap_or(3).max(1) as u64),
        memory_mb: configuration.memory_size.unwrap_or(128),
        environment,
        log_file: logs_dir.join(format!("{name}.log")),
    })
}
