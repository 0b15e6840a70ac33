//! The local cloud's front door: one endpoint on 127.0.0.1 for every AWS client (the steps' code, the functions,
//! the pollers, boto3, the AWS CLI), in front of the emulator.
//!
//! Kinesis is served here, by the gateway's own engine ([`kinesis`]): streams, shards and records with AWS's
//! documented semantics (sequence numbers, routing, resharding, lifecycle, validation and its errors), and AWS's
//! per-shard limits (see [`Limits`]) on its reads and writes:
//! - `PutRecords`: entries over their shard's write allowance come back with `ProvisionedThroughputExceededException`
//!   in place and are not stored;
//! - `PutRecord`: HTTP 400 `ProvisionedThroughputExceededException` when its shard is full;
//! - `GetRecords`: calls and bytes per shard, whoever reads, and one call's maximum records and bytes.
//!
//! With faults asked for ([`GatewayOptions::faults`]), writes also meet what AWS does now and then: `put-internal`
//! refuses single `PutRecords` entries with `InternalFailure` (not stored), `put-5xx` answers a whole `PutRecords`
//! or `PutRecord` call with HTTP 500 `InternalFailure` or 503 `ServiceUnavailable`, which the SDKs retry.
//!
//! Every other request is forwarded to the emulator as it came (S3 path-style, headers and signature intact).
//!
//! Kinesis is spoken in AWS JSON 1.1 (`X-Amz-Target: Kinesis_20131202.<Operation>`), which is what the Rust SDK
//! (aws-sdk-kinesis 1.130: `AwsJsonRpcProtocol::aws_json_1_1`) and botocore (`"protocol": "json"`) send. A CBOR
//! Kinesis request (smithy RPC v2, or the Java SDK's `x-amz-cbor-1.1`) is refused with a message.
//!
//! The gateway has a second door, the operator door ([`Gateway::operator_endpoint`]): the same services, but Kinesis
//! calls through it are neither limited nor counted. The local cloud's own bookkeeping (the lab's deploy and
//! read-back) goes through it, so that it never takes a shard's reads from the pipeline nor shows in its figures.

pub mod access_report;
mod activity;
pub mod authenticate;
pub mod authorize;
pub mod call;
pub mod cloudwatch;
pub mod errors;
pub mod kinesis;
mod limits;
mod roles;
mod sts;
mod upstream;
pub mod validate;

pub use limits::{Clock, Limits, ManualClock, ShardKey, ShardTraffic, SystemClock};

use crate::runtime::faults::FaultPlan;
use crate::runtime::metrics::MetricBook;
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Response;
use call::{Call, Protocol, Service};
use errors::AwsError;
use kinesis::{Kinesis, KinesisOptions, Unmetered, error_response};
use limits::Ledger;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use upstream::Upstream;

/// How a gateway is started.
#[derive(Clone)]
pub struct GatewayOptions {
    /// Where it listens: 127.0.0.1 and a free port unless told otherwise; only loopback addresses are accepted.
    pub listen: SocketAddr,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// Faults injected into writes on purpose (none by default).
    pub faults: Arc<FaultPlan>,
    /// Whether requests are authenticated and authorised as AWS does (`--no-iam`: not, as moto alone).
    pub iam: bool,
    /// How long a Kinesis stream is CREATING, UPDATING or DELETING (`--stream-lifecycle-ms`), on `clock`.
    pub stream_lifecycle: Duration,
    /// Where the Kinesis engine records its CloudWatch figures (the local cloud's one book, which
    /// `runtime::metrics` publishes).
    pub metric_book: Arc<MetricBook>,
}

/// A stream's CREATING, UPDATING and DELETING by default: a couple of seconds, as AWS's usually are (AWS gives no
/// figure: "could take a few minutes" for a reshard).
pub const DEFAULT_STREAM_LIFECYCLE: Duration = Duration::from_secs(2);

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            listen: (Ipv4Addr::LOCALHOST, 0).into(),
            limits: Limits::default(),
            clock: Arc::new(SystemClock::default()),
            faults: FaultPlan::none(),
            iam: true,
            stream_lifecycle: DEFAULT_STREAM_LIFECYCLE,
            metric_book: Arc::new(MetricBook::default()),
        }
    }
}

/// A running gateway. Dropping it stops it too; [`Gateway::shutdown`] also waits until it has.
pub struct Gateway {
    local_addr: SocketAddr,
    operator_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    operator: Option<JoinHandle<()>>,
}

/// The gateway's traffic and limits, readable while the gateway runs and after it stopped.
#[derive(Clone)]
pub struct TrafficMeter(Arc<Shared>);

impl std::fmt::Debug for TrafficMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrafficMeter")
    }
}

impl TrafficMeter {
    pub fn traffic(&self) -> BTreeMap<ShardKey, ShardTraffic> {
        self.0.ledger.traffic()
    }

    /// Each role's access so far: used, denied, unused ([`access_report`]).
    pub async fn access_report(&self) -> Vec<access_report::RoleReport> {
        access_report::report(&self.0.access, &self.0.roles).await
    }

    /// The first denials of the roles' calls so far, each as AWS worded it (the lab stops on one).
    pub fn denials(&self) -> Vec<String> {
        self.0
            .access
            .snapshot()
            .into_values()
            .flat_map(|access| access.denials.into_iter().chain(access.unknown))
            .map(|denial| denial.message)
            .collect()
    }

    pub fn limits(&self) -> &Limits {
        self.0.ledger.limits()
    }

    /// Each stream's CloudWatch figures per minute (see [`kinesis::metrics`]).
    pub fn kinesis_metrics(&self) -> Vec<kinesis::StreamMinute> {
        self.0.kinesis.metrics()
    }

    /// The shards a reshard has closed (the dashboard marks them).
    pub fn closed_shards(&self) -> std::collections::BTreeSet<ShardKey> {
        let closed = self.0.kinesis.closed_shards().into_iter();
        closed
            .map(|(region, stream, shard_id)| ShardKey {
                region,
                stream,
                shard_id,
            })
            .collect()
    }
}

/// What every request handler shares.
struct Shared {
    metric_book: Arc<MetricBook>,
    upstream: Arc<Upstream>,
    ledger: Arc<Ledger>,
    kinesis: Arc<Kinesis>,
    iam: bool,
    sessions: authenticate::Sessions,
    roles: roles::Roles,
    resource_tags: authorize::ResourceTags,
    access: authorize::AccessLog,
    functions: validate::Functions,
    /// When a client last called the public door (the warm check cloud's idle stop).
    activity: activity::Activity,
}

impl Shared {
    /// What the validation step reads.
    fn checks(&self) -> validate::Checks<'_> {
        validate::Checks {
            kinesis: &self.kinesis,
            roles: &self.roles,
            functions: &self.functions,
            access: &self.access,
            iam: self.iam,
        }
    }
}

impl Gateway {
    /// A gateway on a free port of 127.0.0.1 in front of `upstream` (the emulator's `http://127.0.0.1:<port>`),
    /// with `limits` counted on the machine's clock.
    pub async fn start(upstream: &str, limits: Limits) -> Result<Gateway> {
        let options = GatewayOptions {
            limits,
            ..GatewayOptions::default()
        };
        Gateway::start_with(upstream, options).await
    }

    pub async fn start_with(upstream: &str, options: GatewayOptions) -> Result<Gateway> {
        if !options.listen.ip().is_loopback() {
            bail!(
                "the gateway listens only on this machine (127.0.0.1), not on {}",
                options.listen
            );
        }
        let upstream = Arc::new(Upstream::new(upstream)?);
        let ledger = Arc::new(Ledger::new(options.limits, options.clock.clone()));
        let kinesis = Kinesis::new(KinesisOptions {
            ledger: ledger.clone(),
            faults: options.faults,
            lifecycle: options.stream_lifecycle,
            upstream: upstream.clone(),
            clock: options.clock,
            metric_book: options.metric_book.clone(),
        });
        let roles = roles::Roles::new(&upstream.endpoint()).await;
        let functions = validate::Functions::new(&upstream.endpoint()).await;
        let kinesis = Arc::new(kinesis);
        let resource_tags = authorize::ResourceTags::new(&upstream.endpoint(), kinesis.clone()).await;
        let shared = Arc::new(Shared {
            metric_book: options.metric_book,
            upstream,
            ledger,
            kinesis,
            resource_tags,
            iam: options.iam,
            sessions: authenticate::Sessions::default(),
            roles,
            access: authorize::AccessLog::default(),
            functions,
            activity: activity::Activity::default(),
        });
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("the gateway could not listen on {}", options.listen))?;
        let local_addr = listener.local_addr()?;
        let operator_listener = tokio::net::TcpListener::bind((options.listen.ip(), 0))
            .await
            .with_context(|| {
                format!(
                    "the gateway's operator door could not listen on {}",
                    options.listen.ip()
                )
            })?;
        let operator_addr = operator_listener.local_addr()?;
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let operator_router = Router::new().fallback(handle_operator).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let (stop_operator, operator_stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
                let _ = stop_operator.send(());
            });
            if let Err(error) = serving.await {
                eprintln!("gateway: the server stopped: {error}");
            }
        });
        let operator = tokio::spawn(async move {
            let serving = axum::serve(operator_listener, operator_router).with_graceful_shutdown(async {
                let _ = operator_stopped.await;
            });
            if let Err(error) = serving.await {
                eprintln!("gateway: the operator door stopped: {error}");
            }
        });
        Ok(Gateway {
            local_addr,
            operator_addr,
            shared,
            stop: Some(stop),
            server: Some(server),
            operator: Some(operator),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The endpoint to give every client: `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The operator door's endpoint: the same services, Kinesis neither limited nor counted (the local cloud's own
    /// bookkeeping).
    pub fn operator_endpoint(&self) -> String {
        format!("http://{}", self.operator_addr)
    }

    /// Each stream's CloudWatch figures per minute so far (see [`kinesis::metrics`]).
    pub fn kinesis_metrics(&self) -> Vec<kinesis::StreamMinute> {
        self.shared.kinesis.metrics()
    }

    /// The gateway's time, ms since the epoch: its clock's (a test's `ManualClock` moves it), the time its records
    /// arrive at and its CloudWatch figures are counted at.
    pub fn now_ms(&self) -> u64 {
        self.shared.kinesis.now_ms()
    }

    /// The book the Kinesis engine records its CloudWatch figures in.
    pub fn metric_book(&self) -> Arc<MetricBook> {
        self.shared.metric_book.clone()
    }

    /// Every shard's traffic since the gateway started (a copy of a few counters per shard, under one lock).
    pub fn traffic(&self) -> BTreeMap<ShardKey, ShardTraffic> {
        self.shared.ledger.traffic()
    }

    /// How long no client has called the public door (zero while a call is in flight).
    pub fn idle_for(&self) -> Duration {
        self.shared.activity.idle_for()
    }

    /// A handle on the gateway's counters that a task can keep (the dashboard samples it every half second).
    pub fn meter(&self) -> TrafficMeter {
        TrafficMeter(self.shared.clone())
    }

    /// Stops accepting requests and waits (up to 5 s) for those in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for mut server in [self.server.take(), self.operator.take()].into_iter().flatten() {
            if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A Kinesis request in CBOR: smithy RPC v2 (`/service/Kinesis_20131202/operation/<Op>`) or AWS CBOR 1.1.
fn is_kinesis_cbor(request: &Request) -> bool {
    let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let rpc_v2 = request.uri().path().starts_with("/service/Kinesis_20131202/");
    let cbor = header("content-type").contains("cbor") || header("smithy-protocol").contains("cbor");
    rpc_v2 || (cbor && header("x-amz-target").starts_with("Kinesis_20131202."))
}

/// Every request: read once, then checked as AWS checks it, in AWS's order — who signed it ([`authenticate`]), may
/// they do this ([`authorize`]), would AWS accept it ([`validate`]) — then served (Kinesis and STS by the gateway
/// itself, everything else by the emulator). AWS's limits and faults apply inside Kinesis's writes and reads, per
/// shard.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let _in_flight = shared.activity.begin();
    serve_request(shared.clone(), request).await
}

/// A request through the operator door: marked, so that the Kinesis engine neither limits nor counts it.
async fn handle_operator(State(shared): State<Arc<Shared>>, mut request: Request) -> Response<Body> {
    request.extensions_mut().insert(Unmetered);
    serve_request(shared, request).await
}

async fn serve_request(shared: Arc<Shared>, request: Request) -> Response<Body> {
    if is_kinesis_cbor(&request) {
        return error_response(
            "UnknownOperationException",
            "the local cloud speaks Kinesis in AWS JSON 1.1 only, and this request is CBOR; turn CBOR off in the \
             client (the AWS SDK for Java: aws.cborEnabled=false or AWS_CBOR_DISABLE=true)",
        );
    }
    let call = match Call::read(request).await {
        Ok(call) => call,
        Err(error) => return AwsError::bad_request("SerializationException", error).response(Protocol::Json),
    };
    if call.path() == ACCESS_REPORT_PATH {
        let report = access_report::report(&shared.access, &shared.roles).await;
        let mut response = Response::new(Body::from(serde_json::to_vec_pretty(&report).unwrap_or_default()));
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        return response;
    }
    if call.path().starts_with("/moto-api/") {
        // The emulator's own administration (not an AWS API): the local cloud's tools use it.
        let (parts, body) = call.into_request();
        return shared.upstream.forward(parts, body).await;
    }
    let principal = if shared.iam {
        match authenticate::check(&shared.sessions, &call) {
            Ok(principal) => principal,
            Err(error) => return error.response(call.protocol),
        }
    } else {
        authenticate::Principal::Unchecked
    };
    let sources = authorize::Sources {
        roles: &shared.roles,
        tags: &shared.resource_tags,
        log: &shared.access,
    };
    if let Err(error) = authorize::check(&principal, &call, sources).await {
        return error.response(call.protocol);
    }
    if let Err(error) = validate::check(&call, &shared.checks()).await {
        return error.response(call.protocol);
    }
    let firehose = validate::firehose::Context {
        roles: &shared.roles,
        kinesis: &shared.kinesis,
        upstream: &shared.upstream,
        access: &shared.access,
        iam: shared.iam,
    };
    if let Err(error) = validate::firehose::check(&call, &firehose).await {
        return error.response(call.protocol);
    }
    let retags = changes_tags(&call);
    let response = serve(shared.clone(), principal, call).await;
    if retags {
        // After the service has applied it: a tag read in between would be the old one again.
        shared.resource_tags.forget();
    }
    response
}

/// Whether a call may change a resource's tags (`TagResource`, `AddTagsToStream`, `UntagResource`, Lambda's
/// `POST /tags/…`, S3's `?tagging`), or delete a resource: the tags the IAM check read are then forgotten.
fn changes_tags(call: &Call) -> bool {
    let writes = call.method() != axum::http::Method::GET;
    let by_operation = call
        .operation
        .as_deref()
        .is_some_and(|op| (op.contains("Tag") && !op.starts_with("List")) || op.starts_with("Delete"));
    by_operation
        || (writes && (call.path().contains("/tags") || call.path().contains("tagging")))
        || call.method() == axum::http::Method::DELETE
}

/// Where the gateway answers with its access report (JSON), for `cloud up`'s users: not an AWS path (no bucket
/// name may start with `_`).
pub const ACCESS_REPORT_PATH: &str = "/_lab/access-report";

/// The stream a shard iterator reads: `GetRecords` names only its iterator, and the IAM check needs the stream's
/// ARN (the engine's iterators name it).
pub(crate) fn stream_of_iterator(iterator: &str, _region: &str) -> Option<String> {
    kinesis::stream_arn_of_iterator(iterator)
}

/// The call, served by the gateway's own services or passed on to the emulator.
async fn serve(shared: Arc<Shared>, principal: authenticate::Principal, call: Call) -> Response<Body> {
    if call.service == Service::Sts {
        return sts::serve(&call, &principal, &shared.sessions, &shared.roles).await;
    }
    if call.service == Service::CloudWatch {
        return cloudwatch::serve(&shared.upstream, call).await;
    }
    if call.service != Service::Kinesis {
        let changes_iam = call.service == Service::Iam
            && call
                .operation
                .as_deref()
                .is_some_and(authorize::actions::iam_changes_something);
        let (parts, body) = call.into_request();
        let response = shared.upstream.forward(parts, body).await;
        if changes_iam {
            // After the emulator has applied it: a role read in between would be the old one again.
            shared.roles.forget();
        }
        return response;
    }
    // On a task of its own: a client that stops waiting (its SDK's timeout) drops this handler, but what the engine
    // stores it stores whole, and the books count it.
    let kinesis = shared.kinesis.clone();
    let task = tokio::spawn(async move { kinesis.serve(&call).await });
    task.await
        .unwrap_or_else(|error| error_response("InternalFailure", &format!("the front door failed: {error}")))
}
