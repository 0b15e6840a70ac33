//! The dashboard: the data plane watched live in a browser, on 127.0.0.1 only. `GET /` is the page (HTML, script and
//! style compiled in from `xtask/lab-cloud/dashboard/`, nothing from the internet), `GET /api/metrics` the figures as
//! JSON ([`metrics::Snapshot`]), which the page asks for twice a second; `GET /api/heatmap.svg` the analysis' latest
//! window as step 5's `heatmap` drew it ([`picture`]).
//!
//! Whoever runs the data plane gives the dashboard its handles as they come: the front door's
//! [`crate::gateway::TrafficMeter`], the supervisor's statistics ([`Feed::watch_supervisor`]), where the analysis
//! writes its windows ([`Feed::watch_analysis`]) and step 5's tools that add them up and draw them
//! ([`Feed::draw_with`]), what the run is (scenario, faults: [`Feed::set_context`]) and at the end its summary
//! ([`Feed::finish`]). A task samples the counters every half second; the page reads the latest
//! sample. The handles stay after the data plane has stopped, so the last figures are still there with `--hold`.

pub mod analysis;
pub mod metrics;
pub mod picture;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Response, StatusCode, header};
use axum::routing::get;
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::gateway::{Limits, TrafficMeter};
use crate::runtime::cloudwatch::Transition;
use crate::runtime::supervisor::Supervisor;
use analysis::Windows;
use metrics::{Sampler, Snapshot, Sources};
use picture::{Drawing, StepTools};

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

/// How often the counters are sampled; the page asks as often.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// How often the analysis' results are looked for in S3 (a window is seconds long).
const ANALYSIS_EVERY: Duration = Duration::from_secs(2);

/// What the dashboard knows, shared by the server, the sampler and the dashboard's owner.
struct Board {
    limits: Limits,
    sources: Mutex<Sources>,
    sampler: Mutex<Sampler>,
    context: Mutex<Value>,
    summary: Mutex<Option<Value>>,
    analysis: tokio::sync::Mutex<Option<Windows>>,
    /// Step 5's `merge-window` and `heatmap` (`None`: the panel says the picture cannot be drawn).
    tools: Mutex<Option<StepTools>>,
    /// The latest window as step 5's tools made it, and how many pictures were made (the page's cue to fetch one).
    drawing: Mutex<(Option<Drawing>, u64)>,
    /// The latest snapshot, as the JSON `/api/metrics` answers.
    latest: Mutex<Arc<String>>,
    /// The CloudWatch watcher's changes of alarm state (`None`: nothing evaluates alarms here).
    alarms: Mutex<Option<Arc<Mutex<Vec<Transition>>>>>,
}

/// A cheap handle on a running dashboard, for the code that runs the data plane.
#[derive(Clone)]
pub struct Feed(Arc<Board>);

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Feed")
    }
}

impl Feed {
    pub fn watch_gateway(&self, meter: TrafficMeter) {
        self.0.sources.lock().expect("not poisoned").meter = Some(meter);
    }

    /// Takes the supervisor's mappings and pumps as they are now (call it after each `sync`).
    pub fn watch_supervisor(&self, supervisor: &Supervisor) {
        let mut sources = self.0.sources.lock().expect("not poisoned");
        sources.mappings = supervisor.all_stats();
        sources.deliveries = supervisor.delivery_stats();
    }

    /// For a cloud kept up, after each `sync`: the supervisor's mappings and pumps, and the analysis' bucket once
    /// there is one (under the workshop's prefix).
    pub async fn follow(&self, supervisor: &Supervisor, s3: &aws_sdk_s3::Client) {
        self.watch_supervisor(supervisor);
        if !self.watches_analysis().await {
            self.find_analysis(s3, crate::naming::ANALYTICS_PREFIX).await;
        }
    }

    /// Whether it knows where the analysis writes.
    pub async fn watches_analysis(&self) -> bool {
        self.0.analysis.lock().await.is_some()
    }

    /// For a cloud kept up, where nobody says which bucket the analysis writes to: the first bucket holding
    /// objects under `prefix`, once there is one.
    pub async fn find_analysis(&self, s3: &aws_sdk_s3::Client, prefix: &str) {
        let Ok(buckets) = s3.list_buckets().send().await else {
            return;
        };
        for bucket in buckets.buckets().iter().filter_map(|b| b.name()) {
            let listed = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .max_keys(1)
                .send()
                .await;
            if listed.is_ok_and(|listed| listed.key_count().unwrap_or(0) > 0) {
                self.watch_analysis(s3.clone(), bucket, prefix).await;
                return;
            }
        }
    }

    /// Where the analysis writes its window results: `s3://bucket/prefix`.
    pub async fn watch_analysis(&self, s3: aws_sdk_s3::Client, bucket: &str, prefix: &str) {
        *self.0.analysis.lock().await = Some(Windows::new(s3, bucket, prefix));
    }

    /// Step 5's tools, which add the analysis' windows up and draw them for the panel (the lab has them; a cloud kept
    /// up does not). The window on show is drawn again with them.
    pub fn draw_with(&self, tools: StepTools) {
        *self.0.tools.lock().expect("not poisoned") = Some(tools);
        self.0.drawing.lock().expect("not poisoned").0 = None;
    }

    /// The CloudWatch watcher's changes of alarm state: each alarm shown as its last change left it.
    pub fn watch_alarms(&self, transitions: Arc<Mutex<Vec<Transition>>>) {
        *self.0.alarms.lock().expect("not poisoned") = Some(transitions);
    }

    /// Each alarm's latest state, as the page shows it.
    fn alarm_states(&self) -> Vec<Value> {
        let Some(transitions) = self.0.alarms.lock().expect("not poisoned").clone() else {
            return vec![];
        };
        let transitions = transitions.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut latest: std::collections::BTreeMap<String, &Transition> = Default::default();
        for transition in &transitions {
            latest.insert(transition.alarm.clone(), transition);
        }
        latest
            .values()
            .map(|t| {
                serde_json::json!({"name": t.alarm, "state": t.to.as_str(), "since_ms": t.at_ms, "reason": t.reason})
            })
            .collect()
    }

    /// What the run is (the scenario and faults in effect): shown as it is given.
    pub fn set_context(&self, context: Value) {
        *self.0.context.lock().expect("not poisoned") = context;
    }

    /// The run is over: its summary, shown beside the last figures (which stop changing).
    pub async fn finish(&self, summary: Value) {
        self.refresh_analysis().await;
        *self.0.summary.lock().expect("not poisoned") = Some(summary);
        self.sample();
    }

    /// Samples every counter now and keeps the snapshot for `/api/metrics`.
    pub fn sample(&self) -> Snapshot {
        let sources = self.0.sources.lock().expect("not poisoned").clone();
        let mut snapshot = self
            .0
            .sampler
            .lock()
            .expect("not poisoned")
            .sample(&sources, &self.0.limits);
        snapshot.context = self.0.context.lock().expect("not poisoned").clone();
        snapshot.analysis = (self.0.drawing.lock().expect("not poisoned").0)
            .as_ref()
            .map(|drawing| drawing.analysis.clone());
        snapshot.summary = self.0.summary.lock().expect("not poisoned").clone();
        snapshot.alarms = self.alarm_states();
        if snapshot.summary.is_some() {
            "done".clone_into(&mut snapshot.phase);
        }
        let json = serde_json::to_string(&snapshot).expect("a snapshot is JSON");
        *self.0.latest.lock().expect("not poisoned") = Arc::new(json);
        snapshot
    }

    /// Reads the analysis' new results; when the latest closed window is another (or has another shard), has step
    /// 5's tools make its figures and picture. (The lock on the windows is held meanwhile: one drawing at a time.)
    async fn refresh_analysis(&self) {
        let mut analysis = self.0.analysis.lock().await;
        let Some(windows) = analysis.as_mut() else { return };
        if let Err(error) = windows.refresh().await {
            eprintln!("dashboard: reading the analysis' windows: {error:#}");
        }
        let Some(closed) = windows.latest() else { return };
        let serial = {
            let drawing = self.0.drawing.lock().expect("not poisoned");
            if drawing.0.as_ref().is_some_and(|drawn| drawn.key == closed.key()) {
                return;
            }
            drawing.1 + 1
        };
        let tools = self.0.tools.lock().expect("not poisoned").clone();
        let drawing = picture::draw(tools.as_ref(), &closed, serial).await;
        *self.0.drawing.lock().expect("not poisoned") = (Some(drawing), serial);
    }
}

/// The run's context as the page shows it: the faults injected on purpose and their seed (and, for the lab, the
/// scenario, which the lab adds).
pub fn fault_context(faults: &lab_contract::FaultArgs) -> Value {
    serde_json::json!({
        "faults": faults.faults.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string),
        "seed": faults.seed,
    })
}

/// Starts the dashboard the flags ask for (none with `--no-dashboard`; a free port without `--dashboard-port`),
/// watching `meter`, and says where it is on standard error, before anything else runs.
pub async fn start_for(
    args: &lab_contract::DashboardArgs,
    meter: TrafficMeter,
    context: Value,
) -> Result<Option<Dashboard>> {
    if args.no_dashboard {
        return Ok(None);
    }
    let dashboard = Dashboard::start(args.dashboard_port.unwrap_or(0), meter.limits().clone()).await?;
    let feed = dashboard.feed();
    feed.watch_gateway(meter);
    feed.set_context(context);
    eprintln!("Dashboard: {}", dashboard.url());
    Ok(Some(dashboard))
}

/// A running dashboard; dropping it stops it.
pub struct Dashboard {
    local_addr: SocketAddr,
    feed: Feed,
    stop: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Dashboard {
    /// Serves the dashboard on 127.0.0.1:`port` (0: a free port). `limits` are the shards' when no front door is
    /// watched.
    pub async fn start(port: u16, limits: Limits) -> Result<Dashboard> {
        let listen: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
                "the dashboard's port {port} on 127.0.0.1 is taken; --dashboard-port picks another (0: any free \
                 one), --no-dashboard turns it off"
            ),
            Err(error) => return Err(error).with_context(|| format!("the dashboard could not listen on {listen}")),
        };
        let local_addr = listener.local_addr()?;
        let feed = Feed(Arc::new(Board {
            limits,
            sources: Mutex::default(),
            sampler: Mutex::default(),
            context: Mutex::new(Value::Null),
            summary: Mutex::default(),
            analysis: tokio::sync::Mutex::default(),
            tools: Mutex::default(),
            drawing: Mutex::default(),
            latest: Mutex::new(Arc::new(String::new())),
            alarms: Mutex::new(None),
        }));
        feed.sample();
        let router = Router::new()
            .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
            .route(
                "/app.js",
                get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
            )
            .route(
                "/style.css",
                get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
            )
            .route("/api/metrics", get(metrics_json))
            .route("/api/heatmap.svg", get(heatmap_svg))
            .with_state(feed.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                eprintln!("dashboard: the server stopped: {error}");
            }
        });
        let sampler = feed.clone();
        let sampling = tokio::spawn(async move {
            loop {
                tokio::time::sleep(SAMPLE_EVERY).await;
                sampler.sample();
            }
        });
        let reader = feed.clone();
        let reading = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ANALYSIS_EVERY).await;
                reader.refresh_analysis().await;
            }
        });
        Ok(Dashboard {
            local_addr,
            feed,
            stop: Some(stop),
            tasks: vec![server, sampling, reading],
        })
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    pub fn feed(&self) -> Feed {
        self.feed.clone()
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in &self.tasks[1..] {
            task.abort();
        }
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("a valid response")
}

fn json(body: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("a valid response")
}

async fn metrics_json(State(feed): State<Feed>) -> Response<Body> {
    let latest = feed.0.latest.lock().expect("not poisoned").clone();
    json(latest.as_ref().clone())
}

/// The latest picture step 5's `heatmap` drew, as it drew it; 404 before the first.
async fn heatmap_svg(State(feed): State<Feed>) -> Response<Body> {
    let svg = (feed.0.drawing.lock().expect("not poisoned").0)
        .as_ref()
        .and_then(|drawing| drawing.svg.clone());
    let response = Response::builder().header(header::CACHE_CONTROL, "no-store");
    match svg {
        Some(svg) => response
            .header(header::CONTENT_TYPE, "image/svg+xml")
            .body(Body::from(svg.as_ref().clone())),
        None => response
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("no heat map drawn yet")),
    }
    .expect("a valid response")
}
