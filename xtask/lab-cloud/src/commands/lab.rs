//! `cargo xtask lab`: the whole pipeline on the local cloud. Deploys every stage, runs the producer, lets the
//! event source mappings and the Firehose pump do their work, then checks the result the hard way: every record
//! read back from the stream is looked for in the objects Firehose wrote, so `lost` is measured, not assumed.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::front_door;
use super::shutdown_signal;
use crate::aws::s3_client;
use crate::control::deploy::{self, Artifacts, Deployed, Settings};
use crate::control::invoker::producer_request;
use crate::control::producing;
use crate::dashboard::picture::StepTools;
use crate::dashboard::{self, Dashboard, Feed};
use crate::gateway::access_report::RoleReport;
use crate::gateway::{Limits, ShardKey, ShardTraffic, TrafficMeter};
use crate::naming::Naming;
use crate::readback::{DeliveryLayout, objects, positions, stream_data, stream_ids};
use crate::runtime::cloudwatch::Watcher;
use crate::runtime::event_source::Pacing;
use crate::runtime::faults::FaultPlan;
use crate::runtime::lambda_host::{FunctionSpec, Outcome, function_spec};
use crate::runtime::metrics::MetricBook;
use crate::runtime::supervisor::{Folders, Supervisor};
use crate::stages::{ANALYTICS, CONSUMER, PRODUCER};
use lab_contract::{Faults, Scenario};

pub mod doubling;
pub mod scenario;
pub mod trace;
use scenario::Poison;

#[derive(Debug, Clone)]
pub struct LabOptions {
    pub records: u64,
    /// The producer's rate; `None`: 95% of the stream's write capacity.
    pub records_per_second: Option<u64>,
    pub state: PathBuf,
    pub cloud_environment: Vec<(String, String)>,
    /// The data plane's configuration (pollers, Firehose pump), through the Kinesis front door; the run's own
    /// deploy and read-back use the gateway's operator door (the run's configuration), so that they never compete
    /// with the pipeline for a shard's reads nor show in its figures. `None`: the same as the run's.
    pub data_plane: Option<SdkConfig>,
    pub settings: Settings,
    pub scenario: Scenario,
    /// Whether the mappings and the pump read a reshard's parents before its children (AWS's way; `false` only for
    /// the hidden `--no-parents-first`, to see the order check fail).
    pub parents_first: bool,
    /// Faults the data plane injects (the front door's are given to it when it is opened).
    pub faults: Arc<FaultPlan>,
    /// The dashboard, told what the run deploys (`None`: `--no-dashboard`).
    pub dashboard: Option<Feed>,
    /// The front door's counts and its IAM check's log (the run stops on a denial, and reports each role's access).
    pub meter: Option<TrafficMeter>,
    /// Where the run's services record CloudWatch's metrics, published (and alarms evaluated) once a CloudWatch
    /// minute (`None`: nothing is published).
    pub metric_book: Option<Arc<MetricBook>>,
}

/// The run's outcome; with `--json` it is the last line printed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub scenario: String,
    /// The faults injected on purpose (`--faults`, or the `flaky` scenario's), and their seed.
    pub faults: Faults,
    pub seed: u64,
    /// Records the producer was asked for.
    pub requested: u64,
    /// Distinct valid records in the stream (read back from it).
    pub produced: u64,
    /// Records asked for that never reached the stream (the producer gave them up, or dropped them unsaid).
    pub never_stored: u64,
    /// Why the producer stopped (`max_records` when it made them all).
    pub producer_stopped: Option<String>,
    /// How often the lab invoked the producer: more than once when it stopped on a transient failure.
    pub producer_invocations: u64,
    /// Why each invocation but the last stopped (see `control::producing`).
    pub producer_restarts: Vec<String>,
    /// Why the run failed, in words; `None` when it passed.
    pub failure: Option<String>,
    pub consumed: u64,
    pub failed: u64,
    pub failure_reasons: Vec<String>,
    pub delivered: u64,
    pub duplicates_in_s3: u64,
    pub lost: u64,
    pub s3_objects: u64,
    /// The objects' bytes as stored (compressed), their mean, and their bytes once decompressed.
    pub s3_bytes: u64,
    pub s3_mean_object_bytes: u64,
    pub s3_raw_bytes: u64,
    /// How the delivery stream wrote them: step 4's definition, with the lab's `--firehose-*` replacements.
    pub firehose: Option<DeliveryLayout>,
    pub consumer_invocations: u64,
    pub windows_closed: u64,
    pub latest_window: Option<Value>,
    /// The heat map of the latest window, drawn by step 5's `heatmap`.
    pub heatmap: Option<String>,
    /// The fleet's injected glitches against the analysis' anomalies (`None`: the steps have no tools for it).
    pub glitches: Option<GlitchCheck>,
    pub produce_records_per_s: f64,
    pub invoke_latency_ms_p50: f64,
    pub invoke_latency_ms_p99: f64,
    pub s3_latency_ms_p50: f64,
    pub s3_latency_ms_p99: f64,
    pub wall_seconds: f64,
    /// Write entries the front door refused with `ProvisionedThroughputExceededException`, every shard together.
    pub throttled: u64,
    /// Records the stream took more than once: what its shards accepted beyond the distinct records produced (a
    /// producer that sends accepted entries again).
    pub duplicates_in_stream: u64,
    /// Records the producer sent again after a refusal (its own count).
    pub retried: u64,
    /// Records given up, by who gave them up and why.
    pub given_up: GivenUp,
    /// How long the producer ran, in seconds.
    pub produce_seconds: f64,
    /// The stream's name (the front door's counts are picked by it).
    #[serde(skip)]
    pub stream: String,
    #[serde(skip)]
    pub shard_ids: Vec<String>,
    /// `GetRecords` calls refused for the shard's read allowance (pollers and the Firehose pump).
    pub read_throttled: u64,
    /// Firehose's S3 writes that failed and were tried again.
    pub s3_retries: u64,
    /// Records Firehose dropped: S3 refused their object for the whole retry window.
    pub s3_dropped: u64,
    /// Each role's access, as the IAM check saw it: actions used, calls denied, grants never used.
    pub access: Vec<RoleReport>,
    /// The run's part of step 1's reference trace (`cargo xtask lab --write-trace` merges them).
    pub trace: Option<lab_contract::trace::Trace>,
    /// The names of the run's resources, for the trace.
    #[serde(skip)]
    pub names: Option<trace::Names>,
    /// Each shard's writes over the producer's run.
    pub shards: Vec<ShardFigures>,
    /// Faults injected, by kind.
    pub faults_injected: BTreeMap<String, u64>,
    /// The `poison` scenario's malformed records: how many were written, and where they ended up.
    pub poison: Option<Poison>,
    /// The `reshard` scenario's shards and throughput before and after the reshard.
    pub reshard: Option<scenario::Reshard>,
    /// The `load-doubles` scenario's outcome: the alarms, the scaler's answers, the shards and refused writes.
    pub load_doubles: Option<doubling::Scaling>,
    /// Records the consumer's mapping delivered after a record of the same partition key (vehicle) that the stream
    /// accepted later: 0 when every vehicle's readings reached the consumer in the stream's order.
    pub order_violations: u64,
    /// The first few, in words.
    pub order_examples: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GivenUp {
    /// The producer's failed records, by the error that made them fail last (its report's `errors`).
    pub producer: BTreeMap<String, u64>,
    /// Records of the batches the consumer's mapping gave up, by condition (`RetryAttemptsExhausted`, ...).
    pub consumer: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ShardFigures {
    pub shard_id: String,
    /// Records the shard accepted.
    pub records: u64,
    /// `records` over the producer's run.
    pub records_per_s: f64,
    /// Write entries it refused.
    pub throttled: u64,
    /// `GetRecords` calls it served.
    pub reads: u64,
    /// Reads it refused.
    pub read_throttled: u64,
}

pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// One progress line, redrawn in place on a terminal; elsewhere (CI logs) one line every few seconds.
fn progress(line: &str, elapsed: Duration) {
    use std::io::IsTerminal;
    let mut stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
    } else if elapsed.as_millis() % 5000 < 500 {
        let _ = writeln!(stderr, "{line}");
    }
}

/// `lab-cloud lab`: deploys, runs and checks the pipeline, prints the summary (and with `--json`, it as JSON). A run
/// passes when the producer made every record it was asked for and none of them was lost.
pub async fn command(config: &SdkConfig, state: &Path, mut args: lab_contract::Lab) -> Result<ExitCode> {
    let limits = if args.no_limits {
        Limits::none()
    } else {
        Limits::default()
    };
    if args.scenario == Scenario::Flaky && args.faults.faults.is_none() {
        args.faults.faults = Some(FLAKY.parse().map_err(anyhow::Error::msg)?);
    }
    let faults = FaultPlan::from_args(&args.faults);
    let settings = front_door::DoorSettings {
        limits,
        faults: faults.clone(),
        stream_lifecycle_ms: args.stream_lifecycle_ms,
        iam: !args.no_iam,
        cloudwatch_minute_ms: args.cloudwatch_minute_ms,
    };
    let door = front_door::open(config, settings).await?;
    let mut context = dashboard::fault_context(&args.faults);
    context["scenario"] = json!(args.scenario.to_string());
    let board = dashboard::start_for(&args.dashboard, door.gateway.meter(), context).await?;
    let options = LabOptions {
        records: args.records.unwrap_or(args.scenario.default_records()),
        records_per_second: args.records_per_second,
        state: state.to_owned(),
        cloud_environment: door.environment.clone(),
        data_plane: Some(door.config.clone()),
        settings: Settings {
            // `load-doubles` grades step 6: its alarms, topic and scaler are deployed too.
            stage: if args.scenario == Scenario::LoadDoubles { 6 } else { 5 },
            naming: Naming::plain(),
            firehose_interval_seconds: args.firehose_interval,
            firehose_compression: args.firehose_compression.clone(),
            analytics_window_seconds: i32::try_from(args.window).context("--window is too long")?,
            functions_dir: state.join("functions"),
            accounts: crate::control::accounts::Accounts::Any,
            lifetime: None,
        },
        scenario: args.scenario,
        parents_first: !args.no_parents_first,
        faults,
        dashboard: board.as_ref().map(Dashboard::feed),
        meter: Some(door.gateway.meter()),
        metric_book: Some(door.gateway.metric_book()),
    };
    let artifacts = Artifacts {
        binaries: args.binaries.into_iter().map(|file| (file.name, file.path)).collect(),
        ..Artifacts::default()
    };
    let summary = tokio::select! {
        // Every call of the run's own goes through the operator door: Kinesis is the gateway's, never the emulator's.
        summary = run(&door.operator, &artifacts, &options) => summary?,
        () = shutdown_signal() => {
            eprintln!("\nlab: interrupted; everything it started is being stopped");
            return Ok(ExitCode::from(130));
        }
    };
    let mut summary = summary;
    add_traffic(&mut summary, &door.gateway.traffic());
    summary.access = door.gateway.meter().access_report().await;
    if let Some(names) = summary.names.clone() {
        trace::set_aside_documented(&mut summary.access, &names);
        summary.trace = Some(trace::of_run(
            &summary.access,
            &names,
            args.scenario.name(),
            args.records.unwrap_or(args.scenario.default_records()),
        ));
    }
    summary.failure = failure(&summary);
    if let Some(board) = &board {
        board.feed().finish(json_summary(&summary)?).await;
    }
    print_summary(&summary, state);
    if args.json {
        println!("{}", serde_json::to_string(&json_summary(&summary)?)?);
    }
    if let Some(board) = board.as_ref().filter(|_| args.hold) {
        eprintln!("lab: the dashboard stays up at {} until Ctrl-C (--hold)", board.url());
        shutdown_signal().await;
    }
    Ok(if summary.failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Why a run failed, in the learner's words, or `None`: nothing stored, records lost or never stored, or a producer
/// that did not finish.
fn failure(summary: &Summary) -> Option<String> {
    let mut reasons = vec![];
    if summary.produced == 0 {
        reasons.push("nothing reached the stream".to_owned());
    }
    if summary.producer_stopped.as_deref() != Some("max_records") {
        let stopped = summary.producer_stopped.as_deref().unwrap_or("without answering");
        let restarts = match summary.producer_restarts.len() {
            0 => String::new(),
            n => format!(" after {n} restarts"),
        };
        reasons.push(format!("the producer stopped: {stopped}{restarts} (its log says why)"));
    }
    // In `load-doubles`, what the producer gave up while the stream was too small is the cost of the alarm's delay,
    // shown in the summary; the outcome is graded by the scaling.
    if summary.never_stored > 0 && summary.load_doubles.is_none() {
        reasons.push(format!(
            "{} records asked for never reached the stream",
            summary.never_stored
        ));
    }
    if summary.lost > 0 {
        reasons.push(format!("{} records in the stream never reached S3", summary.lost));
    }
    if summary.order_violations > 0 {
        reasons.push(format!(
            "{} records reached the consumer after a later record of the same vehicle",
            summary.order_violations
        ));
    }
    if let Some(failure) = summary.load_doubles.as_ref().and_then(doubling::Scaling::failure) {
        reasons.push(failure);
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The `flaky` scenario's faults, when `--faults` does not say otherwise: each at a modest rate.
pub const FLAKY: &str = "put-internal=0.01,put-5xx=0.02,function-error=0.05,function-timeout=0.01,s3-error=0.2";

/// The front door's per-shard counts of the run's stream into the summary.
fn add_traffic(summary: &mut Summary, traffic: &BTreeMap<ShardKey, ShardTraffic>) {
    let seconds = summary.produce_seconds.max(f64::EPSILON);
    // Every shard of the stream, those the front door never counted (an idle shard) too.
    let mut shards: BTreeMap<String, ShardTraffic> = summary
        .shard_ids
        .iter()
        .map(|id| (id.clone(), ShardTraffic::default()))
        .collect();
    for (shard, counts) in traffic.iter().filter(|(shard, _)| shard.stream == summary.stream) {
        shards.insert(shard.shard_id.clone(), counts.clone());
    }
    let accepted: u64 = shards.values().map(|counts| counts.records_accepted).sum();
    summary.duplicates_in_stream = accepted.saturating_sub(summary.produced);
    for (shard_id, counts) in shards {
        summary.throttled += counts.writes_throttled;
        summary.read_throttled += counts.read_throttles;
        summary.shards.push(ShardFigures {
            shard_id,
            records: counts.records_accepted,
            records_per_s: (counts.records_accepted as f64 / seconds * 10.0).round() / 10.0,
            throttled: counts.writes_throttled,
            reads: counts.read_calls,
            read_throttled: counts.read_throttles,
        });
    }
}

/// The summary as one JSON line: the latest window's result without its per-vehicle tables (the state carried to the
/// next window and every vehicle's figures, thousands of entries), which stay in the result's file in S3.
fn json_summary(summary: &Summary) -> Result<Value> {
    let mut json = serde_json::to_value(summary)?;
    if let Some(Value::Object(result)) = json.pointer_mut("/latest_window/result") {
        result.remove("carry");
        if let Some(vehicles) = result.remove("vehicles").and_then(|v| v.as_object().map(|v| v.len())) {
            result.insert("vehicles".to_owned(), json!(vehicles));
        }
    }
    Ok(json)
}

pub async fn run(config: &SdkConfig, artifacts: &Artifacts, options: &LabOptions) -> Result<Summary> {
    let started = Instant::now();
    crate::aws::deploying_locally();
    eprintln!("lab: deploying every stage to the local cloud");
    let deployed = match deploy::deploy(config, artifacts, &options.settings).await {
        Ok(deployed) => deployed,
        // AWS's refusal of a mapping names the stream and five actions, not the role nor the action it lacks; the
        // local cloud's IAM check knows both (the mapping's check is logged as the role's own).
        Err(error) => match options
            .meter
            .as_ref()
            .and_then(|meter| meter.denials().into_iter().next())
        {
            Some(denial) => {
                return Err(error.context(format!(
                    "the local cloud refused it, as AWS would: {denial}. What each role may do is step 1's \
                     policies (`cargo xtask check step-1`); `cargo xtask lab --no-iam` runs without IAM"
                )));
            }
            None => return Err(error),
        },
    };
    eprintln!(
        "lab: deployed {} and the stream {}",
        deployed.functions.join(", "),
        deployed.stream_arn
    );

    let folders = Folders {
        functions: options.settings.functions_dir.clone(),
        logs: options.state.join("logs"),
        failures: options.state.join("failures"),
        checkpoints: options.state.join("checkpoints"),
    };
    let mut pacing = Pacing::default();
    if !options.parents_first {
        // The demonstration's readers start every shard the moment they see it, and look four times a second.
        pacing.following.parents_first = false;
        pacing.following.discovery_interval = Duration::from_millis(250);
    }
    let mut supervisor = Supervisor::new(
        options.data_plane.clone().unwrap_or_else(|| config.clone()),
        options.cloud_environment.clone(),
        folders.clone(),
        pacing,
    )
    // The faults are for what the pipeline runs, not for the producer the lab invokes itself.
    .with_faults(options.faults.clone(), &[PRODUCER]);
    // CloudWatch's minute, over the run: its metrics published, alarms evaluated (the run's config is the
    // operator door's).
    if let Some(book) = &options.metric_book {
        supervisor = supervisor.with_metrics(book.clone());
    }
    let watcher = (options.metric_book.clone()).map(|book| Watcher::new(config, book, supervisor.invoker()));
    let transitions = watcher.as_ref().map(Watcher::transitions);
    if let (Some(feed), Some(transitions)) = (&options.dashboard, &transitions) {
        feed.watch_alarms(transitions.clone());
    }
    let watcher = watcher.map(Watcher::spawn);
    supervisor.sync().await?;
    if let Some(feed) = &options.dashboard {
        feed.watch_supervisor(&supervisor);
        feed.watch_analysis(s3_client(config), &deployed.bucket, &deployed.analytics_prefix)
            .await;
        // The panel shows what step 5's own tools make of each window (the learner's, with `--mine`).
        if let (Some(merge_window), Some(heatmap)) = (artifacts.get("merge-window"), artifacts.get("heatmap")) {
            feed.draw_with(StepTools {
                merge_window: merge_window.to_owned(),
                heatmap: heatmap.to_owned(),
                folder: options.state.join("dashboard"),
            });
        }
    }

    if options.scenario == Scenario::LoadDoubles {
        doubling::start_small(&aws_sdk_kinesis::Client::new(config), &deployed.stream_arn).await?;
    }
    let (producer, request, rate) = producer_and_request(config, options, &folders, &deployed).await?;
    let host = supervisor.host();
    let produce_started = Instant::now();
    let started_ms = epoch_ms();
    // `load-doubles` runs by CloudWatch minutes: its records follow from the stream's capacity and the minute.
    let doubling = match (options.scenario, &options.metric_book) {
        (Scenario::LoadDoubles, Some(book)) => Some(doubling::Plan::of(
            rate * 100 / doubling::FIRST_SHARE_PERCENT,
            book.minute_ms(),
        )),
        (Scenario::LoadDoubles, None) => anyhow::bail!("the load-doubles scenario needs CloudWatch's metrics"),
        _ => None,
    };
    let doubled_at: Arc<Mutex<Option<u64>>> = Arc::default();
    let shard_watch = doubling.map(|_| {
        doubling::watch_shards(
            aws_sdk_kinesis::Client::new(config),
            deployed.stream_arn.rsplit('/').next().unwrap_or_default().to_owned(),
        )
    });
    let doubled_options;
    let options = match doubling {
        Some(plan) => {
            doubled_options = LabOptions {
                records: plan.records(),
                ..options.clone()
            };
            &doubled_options
        }
        None => options,
    };
    let invocation = match doubling {
        Some(plan) => tokio::spawn(doubling::produce(host, producer, request, plan, doubled_at.clone())),
        None => {
            let max_seconds_for = |records, rate| producer_request(records, rate)["max_seconds"].as_u64().unwrap_or(60);
            tokio::spawn(async move { producing::until_done(&host, &producer, &request, max_seconds_for).await })
        }
    };
    let poison = (options.scenario == Scenario::Poison).then(|| scenario::write_poison(config, &deployed.stream_arn));
    let reshard = match (&options.meter, options.scenario) {
        (Some(meter), Scenario::Reshard) => {
            let (stream_arn, third) = (&deployed.stream_arn, options.records / 3);
            Some(scenario::reshard_midway(
                config,
                meter.clone(),
                stream_arn,
                third,
                produce_started,
            ))
        }
        (None, Scenario::Reshard) => anyhow::bail!("the reshard scenario needs the front door's counts"),
        _ => None,
    };

    let produced = wait_for_pipeline(
        options,
        rate,
        &supervisor,
        &deployed,
        invocation,
        produce_started,
        started,
    )
    .await?;

    let poison = match poison {
        Some(writing) => Some(writing.await??),
        None => None,
    };
    let mut summary = summarise(
        config,
        &supervisor,
        &deployed,
        produced,
        &folders,
        started,
        poison.as_ref(),
    )
    .await?;
    add_scenario(&mut summary, options);
    if let Some(resharding) = reshard {
        add_reshard(&mut summary, options, resharding).await?;
    }
    if let (Some(plan), Some((task, shards)), Some(book)) = (doubling, shard_watch, &options.metric_book) {
        task.abort();
        let transitions = transitions
            .map(|t| t.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default();
        let shards = shards.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let produce_seconds = (summary.produce_seconds * 1000.0) as u64;
        summary.load_doubles = Some(doubling::Scaling::of(&doubling::Seen {
            plan,
            stream: &summary.stream,
            started_ms,
            ended_ms: started_ms + produce_seconds,
            doubled_ms: *doubled_at.lock().unwrap_or_else(|p| p.into_inner()),
            shards: &shards,
            transitions: &transitions,
            book,
        }));
    }
    summary.names = Some(trace::Names::of(&deployed, &options.settings.naming));
    if let Some(poison) = summary.poison.as_mut() {
        poison.redrive = Some(redrive_given_up(config, options, &supervisor, &folders).await?);
    }
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    supervisor.shutdown();
    if let (Some(glitches), Some(merge)) = (artifacts.get("glitches"), artifacts.get("merge-window")) {
        let (check, windows) =
            check_glitches(config, &deployed, &options.state, [glitches, merge], poison.as_ref()).await?;
        summary.glitches = Some(check);
        if let (Some(window), Some(heatmap)) = (stream_window_to_draw(&windows), artifacts.get("heatmap")) {
            summary.heatmap = draw_heatmap(&options.state, window, heatmap)?;
        }
    }
    Ok(summary)
}

/// The `reshard` scenario's figures; an error when the reshard did not happen (the run ended first, or the call
/// failed).
async fn add_reshard(
    summary: &mut Summary,
    options: &LabOptions,
    resharding: tokio::task::JoinHandle<Result<scenario::Resharded>>,
) -> Result<()> {
    if !resharding.is_finished() {
        resharding.abort();
        anyhow::bail!("the run ended before the reshard was done (ask for more --records)");
    }
    let resharded = resharding.await?.context("resharding the stream")?;
    let meter = options.meter.as_ref().context("the front door's counts")?;
    let at_end = scenario::Writes::of(meter, &summary.stream);
    summary.reshard = Some(resharded.figures(at_end, summary.produce_seconds));
    Ok(())
}

/// The producer as the run invokes it (through the local Lambda host, like a Lambda function), its request and rate.
async fn producer_and_request(
    config: &SdkConfig,
    options: &LabOptions,
    folders: &Folders,
    deployed: &Deployed,
) -> Result<(FunctionSpec, Value, u64)> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut producer = function_spec(
        &lambda,
        PRODUCER,
        &folders.functions,
        &folders.logs,
        &options.cloud_environment,
    )
    .await?;
    if options.scenario == Scenario::HotKey {
        // Step 2's producer keys every record with PARTITION_KEY when it is set: one key, one shard.
        producer
            .environment
            .push(("PARTITION_KEY".to_owned(), HOT_KEY.to_owned()));
    }
    let rate = match options.records_per_second {
        Some(rate) => rate,
        None => scenario_rate(config, &deployed.stream_arn, options.scenario).await?,
    };
    let mut request = producer_request(options.records, rate);
    // The fleet the glitch check recomputes: its seed and glitch rate, said rather than left to defaults.
    request["seed"] = json!(FLEET_SEED);
    request["glitch_rate"] = json!(FLEET_GLITCH_RATE);
    Ok((producer, request, rate))
}

/// What the run was asked to provoke, and the faults it injected.
fn add_scenario(summary: &mut Summary, options: &LabOptions) {
    summary.requested = options.records;
    summary.never_stored = options.records.saturating_sub(summary.produced);
    summary.scenario = options.scenario.to_string();
    summary.faults = options.faults.faults().clone();
    summary.seed = options.faults.seed();
    summary.faults_injected = options.faults.injected();
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// What AWS lets a stream take, per open shard: 1,000 records a second
/// (<https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>).
pub const SHARD_RECORDS_PER_SECOND: u64 = 1_000;

/// The one partition key of the `hot-key` scenario: the original lab's producer keyed every record with it.
pub const HOT_KEY: &str = "geolocation";

/// The producer's rate for a scenario: 95% of the stream's write capacity (so that the run is close to what the
/// stream takes without a steady stream of refusals: the front door holds each shard to AWS's limits), or twice
/// the capacity for `burst`.
async fn scenario_rate(config: &SdkConfig, stream_arn: &str, scenario: Scenario) -> Result<u64> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let summary = kinesis
        .describe_stream_summary()
        .stream_arn(stream_arn)
        .send()
        .await
        .context("describing the stream for its shard count")?;
    let shards = summary
        .stream_description_summary()
        .map_or(1, |description| description.open_shard_count().max(1)) as u64;
    let capacity = shards * SHARD_RECORDS_PER_SECOND;
    let (rate, share) = match scenario {
        Scenario::Burst | Scenario::Reshard => (capacity * 2, "twice"),
        Scenario::LoadDoubles => (
            capacity * doubling::FIRST_SHARE_PERCENT / 100,
            "first 90% of, then twice that,",
        ),
        _ => (capacity * 95 / 100, "95% of"),
    };
    eprintln!("lab: the producer asks for {rate} records/s, {share} the stream's {capacity} ({shards} shards)");
    Ok(rate)
}

/// Watches the pipeline until the producer has answered and every record it sent is consumed and delivered (and the
/// last tumbling window has had time to close), or until the run's deadline; a progress line meanwhile. The
/// producer's answer and how long it took.
async fn wait_for_pipeline(
    options: &LabOptions,
    rate: u64,
    supervisor: &Supervisor,
    deployed: &Deployed,
    invocation: tokio::task::JoinHandle<Outcome>,
    produce_started: Instant,
    started: Instant,
) -> Result<Option<(Value, f64)>> {
    let mut produced: Option<(Value, f64)> = None;
    let mut invocation = Some(invocation);
    let mut settled_since: Option<Instant> = None;
    let deadline = Duration::from_secs(options.records / rate.max(1) + 120)
        + Duration::from_secs(
            deployed
                .firehose
                .as_ref()
                .map_or(300, |f| f.interval_seconds.max(0) as u64)
                * 2,
        );
    loop {
        if let Some(handle) = invocation.as_ref()
            && handle.is_finished()
        {
            let outcome = invocation.take().expect("checked").await?;
            let seconds = produce_started.elapsed().as_secs_f64();
            match outcome {
                Outcome::Response(body) => produced = Some((body, seconds)),
                other => {
                    let (error_type, message) = other.error().unwrap_or_default();
                    if let Some(panic) = crate::unfinished::panic_in(&message) {
                        let step = crate::stages::step_of_function(PRODUCER).unwrap_or("step-2");
                        anyhow::bail!(crate::unfinished::stopped_by(step, "producer", &panic));
                    }
                    anyhow::bail!("the producer failed: {error_type}: {message}")
                }
            }
        }
        // A call IAM refused stays refused (a mapping would retry its read for ever): the run stops, saying who was
        // refused what, on which resource, in AWS's words. Not for a function's logs: without them Lambda writes no
        // logs and the pipeline runs on, as on AWS (the summary's access report lists the denial).
        let blocking = |denial: &String| !denial.contains("to perform: logs:");
        if let Some(denial) = options
            .meter
            .as_ref()
            .and_then(|meter| meter.denials().into_iter().find(blocking))
        {
            anyhow::bail!(
                "the local cloud refused a call, as AWS would: {denial}. What each role may do is step 1's policies \
                 (`cargo xtask check step-1`); `cargo xtask lab --no-iam` runs without IAM"
            );
        }
        // A mapping retries a batch its function fails on, as AWS does; a learner's todo!() would fail it forever.
        if let Some((function, panic)) = mapping_panic(supervisor) {
            let step = crate::stages::step_of_function(&function).unwrap_or("its step");
            anyhow::bail!(crate::unfinished::stopped_by(
                step,
                &format!("function {function}"),
                &panic
            ));
        }
        let (consumed, lag) = mapping_progress(supervisor, CONSUMER);
        let delivered: u64 = supervisor
            .delivery_stats()
            .iter()
            .map(|(_, s)| s.records.load(Ordering::Relaxed))
            .sum();
        // Records Firehose dropped after its S3 retry window are done with too (and lost): said apart, so that the
        // live line never counts them as delivered.
        let dropped: u64 = supervisor
            .delivery_stats()
            .iter()
            .map(|(_, s)| s.records_dropped.load(Ordering::Relaxed))
            .sum();
        let dropped_note = if dropped > 0 {
            format!(" (dropped {dropped})")
        } else {
            String::new()
        };
        let sent = produced.as_ref().map(|(body, _)| body["sent"].as_u64().unwrap_or(0));
        progress(
            &format!(
                "produced {:>7}  consumed {consumed:>7}  delivered to S3 {delivered:>7}{dropped_note}  iterator lag {lag:>5} ms  ({:.0} s)",
                sent.map_or_else(|| "…".to_owned(), |n| n.to_string()),
                started.elapsed().as_secs_f64()
            ),
            started.elapsed(),
        );
        if let Some(sent) = sent {
            let consumer_done = !deployed.functions.contains(&CONSUMER.to_owned()) || consumed >= sent;
            let firehose_done = supervisor.delivery_stats().is_empty() || delivered + dropped >= sent;
            // The analysis too must have read every record: a window it has not reached yet is never closed.
            let analysed = mapping_progress(supervisor, ANALYTICS).0;
            let analysis_done = !deployed.functions.contains(&ANALYTICS.to_owned()) || analysed >= sent;
            if consumer_done && firehose_done && analysis_done {
                // Let the last tumbling window close (its end, then the final invocation).
                let settle = Duration::from_secs(options.settings.analytics_window_seconds.max(0) as u64 + 2);
                let since = *settled_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= settle || !deployed.functions.contains(&ANALYTICS.to_owned()) {
                    break;
                }
            }
        }
        if started.elapsed() > deadline {
            eprintln!("\nlab: gave up waiting after {:.0} s", started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!();
    Ok(produced)
}

/// The stream-wide window to draw: the latest one that every shard's result is in (the run's last window is
/// usually cut short by its end, and holds one shard only).
fn stream_window_to_draw(windows: &[Value]) -> Option<&Value> {
    let shards = |window: &Value| window["shards"].as_array().map_or(0, Vec::len);
    let most = windows.iter().map(shards).max()?;
    windows.iter().rev().find(|window| shards(window) == most)
}

/// A merged window's heat map, drawn by step 5's `heatmap` into `<state>/heatmap.svg`; its path when drawn.
fn draw_heatmap(state: &Path, window: &Value, heatmap: &Path) -> Result<Option<String>> {
    let result = state.join("stream-window.json");
    let picture = state.join("heatmap.svg");
    std::fs::write(&result, serde_json::to_string_pretty(window)?)?;
    let drawn = std::process::Command::new(heatmap)
        .arg(&result)
        .arg(&picture)
        .output()?;
    if drawn.status.success() {
        return Ok(Some(picture.display().to_string()));
    }
    eprintln!(
        "lab: the heat map could not be drawn: {}",
        String::from_utf8_lossy(&drawn.stderr)
    );
    Ok(None)
}

/// The fleet the lab's producer simulates: step 2's defaults, said explicitly because the glitch check recomputes it.
const FLEET_SEED: u64 = 1;
const FLEET_GLITCH_RATE: f64 = 0.01;

/// Every reading the fleet sent hundreds of km off (recomputed from the fleet, not read from the data: a receiver
/// never labels its mistakes) against what the analysis flagged, over the whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GlitchCheck {
    pub injected: u64,
    pub flagged: u64,
    /// Injected but not flagged.
    pub missed: u64,
    /// Flagged but not injected.
    pub false_positives: u64,
}

/// Runs step 2's `glitches` over what Firehose delivered and step 5's `merge-window` over every window result, and
/// compares the two sets of reading ids; returns the comparison and the stream's windows `merge-window` printed.
async fn check_glitches(
    config: &SdkConfig,
    deployed: &Deployed,
    state: &Path,
    [glitches, merge]: [&Path; 2],
    poison: Option<&scenario::Written>,
) -> Result<(GlitchCheck, Vec<Value>)> {
    let s3 = s3_client(config);
    // The readings as the stream holds them, which is what the analysis read: the glitches injected are those the
    // producer made, whatever Firehose delivered (under `--faults s3-error` it may have delivered nothing).
    let produced = state.join("produced.ndjson");
    let readings: String = stream_data(config, &deployed.stream_arn)
        .await?
        .iter()
        .map(|data| String::from_utf8_lossy(data).trim_end().to_owned())
        // The `poison` scenario's malformed records are the lab's own, not the fleet's readings.
        .filter(|line| positions(line).all(|id| id.is_ok_and(|id| poison.is_none_or(|p| !p.ids.contains(&id)))))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&produced, readings)?;
    let listed = run_tool(
        std::process::Command::new(glitches)
            .args([
                "--seed",
                &FLEET_SEED.to_string(),
                "--glitch-rate",
                &FLEET_GLITCH_RATE.to_string(),
            ])
            .arg(&produced),
    )?;
    let injected: HashSet<String> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();

    let folder = state.join("windows");
    std::fs::create_dir_all(&folder)?;
    let mut results = vec![];
    for (index, (_, body)) in objects(&s3, &deployed.bucket, &deployed.analytics_prefix)
        .await?
        .into_iter()
        .enumerate()
    {
        let path = folder.join(format!("{index:05}.json"));
        std::fs::write(&path, body)?;
        results.push(path);
    }
    let merged: Value = serde_json::from_str(&run_tool(std::process::Command::new(merge).args(&results))?)?;
    let mut flagged = HashSet::new();
    let mut withdrawn = HashSet::new();
    for window in merged.as_array().into_iter().flatten() {
        let ids = |field: &str| -> Vec<String> {
            window[field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let anomalies = window["anomalies"].as_array().into_iter().flatten();
        flagged.extend(anomalies.filter_map(|anomaly| anomaly["id"].as_str().map(str::to_owned)));
        withdrawn.extend(ids("withdrawn"));
    }
    let flagged: HashSet<String> = flagged.difference(&withdrawn).cloned().collect();
    let check = GlitchCheck {
        injected: injected.len() as u64,
        flagged: flagged.len() as u64,
        missed: injected.difference(&flagged).count() as u64,
        false_positives: flagged.difference(&injected).count() as u64,
    };
    let windows = match merged {
        Value::Array(windows) => windows,
        _ => vec![],
    };
    Ok((check, windows))
}

/// A step tool's standard output; its error output in the error when it fails.
fn run_tool(command: &mut std::process::Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !output.status.success() {
        anyhow::bail!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Records done and the iterator lag of a function's mapping.
/// A function a mapping invokes that panicked (a `todo!()` reached, say), and how.
fn mapping_panic(supervisor: &Supervisor) -> Option<(String, String)> {
    supervisor.all_stats().into_iter().find_map(|(settings, stats)| {
        let panic = stats.last_panic.lock().unwrap().clone()?;
        Some((settings.function_name.clone(), panic))
    })
}

fn mapping_progress(supervisor: &Supervisor, function: &str) -> (u64, u64) {
    supervisor
        .all_stats()
        .iter()
        .filter(|(settings, _)| settings.function_name == function)
        .map(|(_, stats)| {
            (
                stats.records_done.load(Ordering::Relaxed) + stats.records_given_up.load(Ordering::Relaxed),
                stats.iterator_age_ms.load(Ordering::Relaxed),
            )
        })
        .fold((0, 0), |(done, lag), (d, l)| (done + d, lag.max(l)))
}

async fn summarise(
    config: &SdkConfig,
    supervisor: &Supervisor,
    deployed: &Deployed,
    produced: Option<(Value, f64)>,
    folders: &Folders,
    started: Instant,
    poison: Option<&scenario::Written>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let (report, seconds) = produced.unwrap_or((Value::Null, 0.0));

    // What was produced, read back from the stream itself (not taken from the producer's word); the malformed
    // records the lab wrote itself are not the producer's.
    let mut in_stream = stream_ids(config, &deployed.stream_arn, None, usize::MAX).await?;
    if let Some(poison) = poison {
        in_stream.retain(|id| !poison.ids.contains(id));
    }
    summary.produced = in_stream.len() as u64;
    summary.stream = deployed
        .stream_arn
        .rsplit_once(":stream/")
        .map_or("", |(_, name)| name)
        .to_owned();
    summary.shard_ids = shard_ids(config, &deployed.stream_arn).await?;
    add_producer_report(&mut summary, &report, seconds);

    for (settings, stats) in supervisor.all_stats() {
        if settings.function_name == CONSUMER {
            summary.consumed += stats.records_done.load(Ordering::Relaxed);
            summary.failed += stats.records_given_up.load(Ordering::Relaxed);
            summary.consumer_invocations += stats.invocations.load(Ordering::Relaxed);
            let order = stats.order.lock().expect("not poisoned");
            summary.order_violations += order.violations;
            summary.order_examples.extend(order.examples.iter().cloned());
            drop(order);
            let latencies = stats.arrival_to_invoke_ms.lock().expect("not poisoned").clone();
            summary.invoke_latency_ms_p50 = percentile(&latencies, 50.0);
            summary.invoke_latency_ms_p99 = percentile(&latencies, 99.0);
        }
        if settings.function_name == ANALYTICS {
            summary.windows_closed += stats.windows_closed.load(Ordering::Relaxed);
        }
    }
    summary.failure_reasons = failure_reasons(&folders.failures);
    summary.given_up.consumer = scenario::given_up_by_condition(&walk(&folders.failures));
    summary.poison = poison.map(|written| written.found(&walk(&folders.failures)));

    // What Firehose delivered: every object under the prefix, read back, decompressed, every line parsed.
    let s3 = s3_client(config);
    let mut delivered: HashMap<String, u64> = HashMap::new();
    summary.firehose = deployed.firehose.clone();
    let written = match &deployed.firehose {
        Some(layout) => layout.objects(&s3).await?,
        None => vec![],
    };
    for object in written {
        summary.s3_objects += 1;
        summary.s3_bytes += object.stored_bytes;
        let body = object.text.unwrap_or_else(|why| {
            eprintln!("lab: {} does not decompress: {why}", object.key);
            String::new()
        });
        summary.s3_raw_bytes += body.len() as u64;
        let poisoned = |id: &String| poison.is_some_and(|p| p.ids.contains(id));
        for id in positions(&body).filter_map(Result::ok).filter(|id| !poisoned(id)) {
            *delivered.entry(id).or_default() += 1;
        }
    }
    summary.s3_mean_object_bytes = summary.s3_bytes.checked_div(summary.s3_objects).unwrap_or(0);
    summary.delivered = in_stream.iter().filter(|id| delivered.contains_key(*id)).count() as u64;
    summary.duplicates_in_s3 = delivered.values().map(|n| n.saturating_sub(1)).sum();
    if !supervisor.delivery_stats().is_empty() {
        summary.lost = in_stream.iter().filter(|id| !delivered.contains_key(*id)).count() as u64;
    }
    add_delivery_stats(&mut summary, supervisor);

    // The newest window result of the analysis.
    let mut windows = objects(&s3, &deployed.bucket, &deployed.analytics_prefix).await?;
    windows.sort_by(|a, b| a.0.cmp(&b.0));
    summary.latest_window = windows.last().and_then(|(key, body)| {
        serde_json::from_str::<Value>(body)
            .ok()
            .map(|result| json!({ "key": key, "result": result }))
    });
    summary.wall_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn shard_ids(config: &SdkConfig, stream_arn: &str) -> Result<Vec<String>> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let listed = kinesis.list_shards().stream_arn(stream_arn).send().await;
    Ok(listed
        .context("listing the stream's shards")?
        .shards
        .unwrap_or_default()
        .into_iter()
        .map(|shard| shard.shard_id)
        .collect())
}

/// What the producer said of its run (`report`, over `seconds`): its retries, give-ups, restarts and rate.
fn add_producer_report(summary: &mut Summary, report: &Value, seconds: f64) {
    summary.produce_seconds = seconds;
    summary.retried = report["retried"].as_u64().unwrap_or(0);
    if let Some(errors) = report["errors"].as_object() {
        summary.given_up.producer = errors
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
            .collect();
    }
    summary.producer_stopped = report["stopped"].as_str().map(str::to_owned);
    summary.producer_invocations = report["invocations"].as_u64().unwrap_or(0);
    summary.producer_restarts = report["restarts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|reason| reason.as_str().map(str::to_owned))
        .collect();
    summary.produce_records_per_s = if seconds > 0.0 {
        report["sent"].as_f64().unwrap_or(0.0) / seconds
    } else {
        0.0
    };
}

/// Firehose's latencies, retried S3 writes and dropped records.
fn add_delivery_stats(summary: &mut Summary, supervisor: &Supervisor) {
    let latencies: Vec<f64> = supervisor
        .delivery_stats()
        .iter()
        .flat_map(|(_, stats)| stats.arrival_to_s3_ms.lock().expect("not poisoned").clone())
        .collect();
    summary.s3_latency_ms_p50 = percentile(&latencies, 50.0);
    summary.s3_latency_ms_p99 = percentile(&latencies, 99.0);
    for (_, stats) in supervisor.delivery_stats() {
        summary.s3_retries += stats.s3_retries.load(Ordering::Relaxed);
        summary.s3_dropped += stats.records_dropped.load(Ordering::Relaxed);
    }
}

/// Each role's access in a line or two: what it used, what was denied, what it was granted and never used. Of the
/// patterns wider than their use, only the actions' and a bare `*` resource are listed: a resource wildcard under
/// one bucket or log group (`.../*`) stands for keys the role cannot know in advance. The grants never used that AWS
/// documents as required of the role's service are listed apart, not counted.
fn print_access(access: &[RoleReport]) {
    for role in access {
        let name = role.role.rsplit('/').next().unwrap_or(&role.role);
        let mut used: Vec<String> = role.used.iter().map(|u| u.action.clone()).collect();
        used.dedup();
        let wider: Vec<_> = role
            .wider_than_used
            .iter()
            .filter(|grant| grant.element.ends_with("Action") || grant.pattern == "*")
            .collect();
        println!(
            "  role {name:<26} used {}; denied {}; granted, never used {}",
            used.join(", "),
            role.denied.len(),
            role.unused.len() + wider.len()
        );
        for denial in &role.denied {
            println!("       denied: {}", denial.message);
        }
        for grant in role.unused.iter().chain(wider) {
            let used_for = if grant.used_for.is_empty() {
                String::new()
            } else {
                format!(" (used only for {})", grant.used_for.join(", "))
            };
            println!(
                "       {} {} in {}{used_for}",
                grant.element, grant.pattern, grant.statement
            );
        }
        // Actions and resources apart: a bucket's ARN in a list of actions reads as one of them.
        for (element, kind) in [("Action", "actions"), ("Resource", "resources")] {
            let patterns: Vec<&str> = role
                .documented
                .iter()
                .filter(|grant| grant.element.ends_with(element))
                .map(|grant| grant.pattern.as_str())
                .collect();
            if !patterns.is_empty() {
                println!(
                    "       never used here, but AWS documents them as required ({kind}): {}",
                    patterns.join(", ")
                );
            }
        }
    }
}

/// The `load-doubles` scenario: when the load doubled, each alarm's change and the scaler's answer, the shards, and
/// the refused writes per CloudWatch minute before and after the scale.
fn print_load_doubles(scaling: &doubling::Scaling) {
    let at = |s: Option<f64>| s.map_or_else(|| "never".to_owned(), |s| format!("{s:.1} s"));
    let per_minute = |n: Option<f64>| n.map_or_else(|| "none measured".to_owned(), |n| format!("{n:.0}"));
    println!(
        "  load doubled    at {} ({} -> {} records/s; CloudWatch minute {} ms)",
        at(scaling.doubled_at_s),
        scaling.first_rate,
        scaling.first_rate * 2,
        scaling.minute_ms
    );
    for event in &scaling.alarms {
        println!(
            "  alarm           {:>8}  {} at {:.1} s; the scaler: {}",
            event.state,
            event.alarm,
            event.at_s,
            if event.scaler.is_empty() {
                "not notified".to_owned()
            } else {
                event.scaler.join("; ")
            }
        );
    }
    println!(
        "  scaled          {:>8}  -> {} shards (first alarm at {}, open shards changed at {})",
        scaling.shards_before,
        scaling.shards_after,
        at(scaling.alarm_at_s),
        at(scaling.scaled_at_s)
    );
    let minutes: Vec<String> = scaling.throttled_by_minute.iter().map(|n| format!("{n:.0}")).collect();
    let share = |p: Option<f64>| p.map_or_else(String::new, |p| format!(" ({p:.0}% of the writes)"));
    println!(
        "  refused writes  {:>8}  a CloudWatch minute before the scale{}, {}{} after (by minute: {})",
        per_minute(scaling.throttled_per_minute_before),
        share(scaling.refused_percent_before),
        per_minute(scaling.throttled_per_minute_after),
        share(scaling.refused_percent_after),
        minutes.join(" ")
    );
}

/// The reshard's shards and the stream's writes before and after it.
fn print_reshard(reshard: &scenario::Reshard) {
    let after =
        |rate: Option<f64>| rate.map_or_else(|| "none (the producer was done)".to_owned(), |r| format!("{r:.0}"));
    println!(
        "  resharded       {:>8}  -> {} shards (UpdateShardCount at {:.1} s, ACTIVE again at {:.1} s)",
        reshard.shards_before, reshard.shards_after, reshard.requested_at_s, reshard.active_at_s
    );
    println!(
        "                  records accepted/s {:.0} before, {} after (as fast as the producer goes); refusals/s {:.0} \
         before, {} after",
        reshard.produce_records_per_s_before,
        after(reshard.produce_records_per_s_after),
        reshard.refusals_per_s_before,
        after(reshard.refusals_per_s_after)
    );
}

/// Throttling, retries, give-ups, each shard's writes, the faults injected and the poison's fate.
fn print_pressure(summary: &Summary) {
    let counts = |map: &BTreeMap<String, u64>| {
        let parts: Vec<String> = map.iter().map(|(why, n)| format!("{n} {why}")).collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    };
    println!(
        "  throttled       {:>8}  write entries refused; {} records sent again by the producer; {} reads refused",
        summary.throttled, summary.retried, summary.read_throttled
    );
    println!(
        "  duplicates      {:>8}  in the stream (accepted more than once); {} in S3",
        summary.duplicates_in_stream, summary.duplicates_in_s3
    );
    println!(
        "  given up        producer: {}; consumer: {}",
        counts(&summary.given_up.producer),
        counts(&summary.given_up.consumer)
    );
    for shard in &summary.shards {
        println!(
            "  {:<20} {:>8} records ({:.0}/s), {} writes and {} reads refused",
            shard.shard_id, shard.records, shard.records_per_s, shard.throttled, shard.read_throttled
        );
    }
    if !summary.faults_injected.is_empty() {
        println!("  faults injected {}", counts(&summary.faults_injected));
    }
    if summary.s3_retries + summary.s3_dropped > 0 {
        println!(
            "  firehose        {:>8}  S3 writes retried; {} records dropped after the retry window",
            summary.s3_retries, summary.s3_dropped
        );
    }
    if let Some(poison) = &summary.poison {
        println!(
            "  poison          {:>8}  malformed records written; {} found at the on-failure destination, {} valid records given up with them",
            poison.written, poison.at_on_failure_destination, poison.valid_given_up
        );
        if let Some(redrive) = &poison.redrive {
            println!(
                "  redriven        {:>8}  records of {} on-failure records read back from the stream and sent to the consumer again: {} consumed, {} rejected again; consumed in all {}",
                redrive.records,
                redrive.batches,
                redrive.consumed,
                redrive.rejected_again,
                summary.consumed + redrive.consumed
            );
        }
    }
}

/// The `poison` scenario's last act: the consumer's given-up batches redriven to it from the stream (see
/// [`scenario::redrive`]), so that the summary can show every valid record consumed in the end.
async fn redrive_given_up(
    config: &SdkConfig,
    options: &LabOptions,
    supervisor: &Supervisor,
    folders: &Folders,
) -> Result<scenario::Redrive> {
    let Some((settings, _)) = supervisor
        .all_stats()
        .into_iter()
        .find(|(s, _)| s.function_name == CONSUMER)
    else {
        anyhow::bail!("no mapping of {CONSUMER} to redrive to");
    };
    let lambda = aws_sdk_lambda::Client::new(config);
    let consumer = function_spec(
        &lambda,
        CONSUMER,
        &folders.functions,
        &folders.logs,
        &options.cloud_environment,
    )
    .await?;
    let role = lambda
        .get_function_configuration()
        .function_name(CONSUMER)
        .send()
        .await?
        .role
        .unwrap_or_default();
    let kinesis = aws_sdk_kinesis::Client::new(options.data_plane.as_ref().unwrap_or(config));
    let host = supervisor.host();
    scenario::redrive(&kinesis, &host, &consumer, &settings, &role, &walk(&folders.failures)).await
}

/// Why batches were given up, from the on-failure records (`condition: errorMessage`).
fn failure_reasons(folder: &std::path::Path) -> Vec<String> {
    let mut reasons = vec![];
    for path in walk(folder) {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(record) = serde_json::from_str::<Value>(&text)
        {
            let condition = record["requestContext"]["condition"].as_str().unwrap_or("?");
            // The error is in the local copy's diagnostics: AWS's record carries only `functionError`.
            let message = record["lab"]["errorMessage"].as_str().unwrap_or("");
            reasons.push(format!("{condition} {message} ({})", path.display()));
        }
    }
    reasons
}

fn walk(folder: &std::path::Path) -> Vec<PathBuf> {
    let mut files = vec![];
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path)
            } else {
                files.push(path)
            }
        }
    }
    files
}

/// Bytes in KiB, one decimal.
fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn print_summary(summary: &Summary, state: &Path) {
    println!(
        "The pipeline ran in {:.1} s (scenario {}{}).",
        summary.wall_seconds,
        summary.scenario,
        if summary.faults.is_empty() {
            String::new()
        } else {
            format!(", faults {} with seed {}", summary.faults, summary.seed)
        }
    );
    println!(
        "  produced        {:>8}  ({:.0} records/s; the producer stopped: {})",
        summary.produced,
        summary.produce_records_per_s,
        summary.producer_stopped.as_deref().unwrap_or("without answering")
    );
    // A latency of records that never arrived is no latency at all (not 0 ms).
    let latency = |to: &str, count: u64, p50: f64, p99: f64| {
        if count == 0 {
            format!("put -> {to}: none arrived")
        } else {
            format!("put -> {to} p50 {p50:.0} ms, p99 {p99:.0} ms")
        }
    };
    println!(
        "  consumed        {:>8}  in {} invocations ({})",
        summary.consumed,
        summary.consumer_invocations,
        latency(
            "invocation",
            summary.consumer_invocations,
            summary.invoke_latency_ms_p50,
            summary.invoke_latency_ms_p99
        )
    );
    println!("  given up        {:>8}", summary.failed);
    for reason in &summary.failure_reasons {
        println!("                  {reason}");
    }
    if let Some(layout) = &summary.firehose {
        println!(
            "  firehose        every {} s or {} MiB, {}, under {}",
            layout.interval_seconds, layout.size_mib, layout.compression, layout.prefix
        );
    }
    println!(
        "  delivered to S3 {:>8}  in {} objects of {} on average, {} stored ({} uncompressed) ({})",
        summary.delivered,
        summary.s3_objects,
        kib(summary.s3_mean_object_bytes),
        kib(summary.s3_bytes),
        kib(summary.s3_raw_bytes),
        latency(
            "S3",
            summary.delivered,
            summary.s3_latency_ms_p50,
            summary.s3_latency_ms_p99
        )
    );
    println!(
        "  lost            {:>8}  (records in the stream missing from S3; {} asked for never stored)",
        summary.lost, summary.never_stored
    );
    println!(
        "  out of order    {:>8}  (records the consumer got after a later reading of the same vehicle){}",
        summary.order_violations,
        summary
            .order_examples
            .first()
            .map_or(String::new(), |e| format!("; the first: {e}"))
    );
    if let Some(reshard) = &summary.reshard {
        print_reshard(reshard);
    }
    if let Some(scaling) = &summary.load_doubles {
        print_load_doubles(scaling);
    }
    print_pressure(summary);
    if let Some(check) = &summary.glitches {
        println!(
            "  glitches        {:>8}  injected; {} flagged by the analysis, {} missed, {} false positives",
            check.injected, check.flagged, check.missed, check.false_positives
        );
    }
    if let Some(window) = &summary.latest_window {
        let result = &window["result"];
        println!(
            "  analysis        {:>8} windows closed; the latest: {}",
            summary.windows_closed, window["key"]
        );
        println!(
            "                  {} positions from {} to {}; busiest cells (row, column, count): {}",
            result["count"],
            result["window"]["start"],
            result["window"]["end"],
            result["busiest"].as_array().map_or_else(String::new, |cells| cells
                .iter()
                .map(|c| format!("({}, {}, {})", c["row"], c["column"], c["count"]))
                .collect::<Vec<_>>()
                .join(" "))
        );
    }
    if let Some(heatmap) = &summary.heatmap {
        println!("  heat map        {heatmap}");
    }
    print_access(&summary.access);
    for reason in &summary.producer_restarts {
        println!("  producer        invoked again after: {reason}");
    }
    println!("Function logs: {}", state.join("logs").display());
    if let Some(failure) = &summary.failure {
        println!("FAILED: {failure}");
    }
}
