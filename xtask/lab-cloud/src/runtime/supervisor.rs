//! Runs the data plane for what the control plane (moto's Lambda and Firehose APIs, here) says exists: a poller per
//! shard for each enabled Kinesis event source mapping (the shards followed across a reshard, parents first: see
//! `shard_lineage`), and a pump for each delivery stream reading a Kinesis stream into S3; each stopped when its
//! resource is deleted (or the mapping disabled).

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::aws::{error_chain, s3_client};
use crate::runtime::credentials;
use crate::runtime::event_source::{
    Destinations, MappingSettings, MappingStats, Pacing, ShardPoller, StartingPosition,
};
use crate::runtime::faults::FaultPlan;
use crate::runtime::firehose::{DeliverySettings, DeliveryStats, Pump};
use crate::runtime::lambda_host::{LambdaHost, function_spec};
use crate::runtime::metrics::MetricBook;
use crate::runtime::notifications::FunctionInvoker;
use crate::runtime::read_pacing::ShardCheckpoint;
use crate::runtime::shard_lineage::{self, Checkpoints, ShardStart, Source};

/// Where the local cloud keeps its files (under `.lab/` in the workshop).
#[derive(Debug, Clone)]
pub struct Folders {
    /// `<functions>/<name>/bootstrap`: each deployed function's executable.
    pub functions: PathBuf,
    /// `<logs>/<name>.log`: what each function printed.
    pub logs: PathBuf,
    /// `<failures>/<mapping>/<shard>/*.json`: batches given up by event source mappings.
    pub failures: PathBuf,
    /// `<checkpoints>/mappings/<mapping>/<shard>.json` and `<checkpoints>/firehose/<delivery stream>/<shard>.json`:
    /// the last sequence number each poller and pump finished, where a restarted data plane resumes.
    pub checkpoints: PathBuf,
}

/// How long a replaced pump or poller may take to finish what it is doing before its successor starts anyway.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(30);

struct RunningPump {
    settings: DeliverySettings,
    stop: Arc<AtomicBool>,
    stats: Arc<DeliveryStats>,
    task: JoinHandle<()>,
}

struct RunningMapping {
    settings: MappingSettings,
    stop: Arc<AtomicBool>,
    stats: Arc<MappingStats>,
    /// The task that follows the stream's shards and runs a poller per shard (it ends once they have).
    task: JoinHandle<()>,
}

pub struct Supervisor {
    config: SdkConfig,
    cloud_environment: Vec<(String, String)>,
    folders: Folders,
    pacing: Pacing,
    host: Arc<LambdaHost>,
    mappings: HashMap<String, RunningMapping>,
    pumps: HashMap<String, RunningPump>,
    /// When set, only delivery streams with these names are pumped (tests sharing one emulator use it).
    only_delivery_streams: Option<Vec<String>>,
    /// Mappings not run, by UUID, and why (each said once on stderr, the supervisor's log).
    refused: HashMap<String, String>,
    /// Faults injected on purpose (none unless [`Supervisor::with_faults`] says).
    faults: Arc<FaultPlan>,
}

impl Supervisor {
    /// `cloud_environment` is what every function process gets to reach the local cloud (endpoint, region, dummy
    /// credentials); the function's own variables come on top.
    pub fn new(config: SdkConfig, cloud_environment: Vec<(String, String)>, folders: Folders, pacing: Pacing) -> Self {
        Supervisor {
            config,
            cloud_environment,
            folders,
            pacing,
            host: Arc::new(LambdaHost::new()),
            mappings: HashMap::new(),
            pumps: HashMap::new(),
            only_delivery_streams: None,
            refused: HashMap::new(),
            faults: FaultPlan::none(),
        }
    }

    /// Injects `faults` into what it runs: the functions' invocations (all but the `spared` functions') and the
    /// Firehose pumps' S3 writes.
    pub fn with_faults(mut self, faults: Arc<FaultPlan>, spared: &[&str]) -> Self {
        let spared = spared.iter().map(|name| (*name).to_owned()).collect();
        let metrics = self.host.metrics();
        self.host = Arc::new(LambdaHost::with_faults(faults.clone(), spared));
        self.host.set_metrics(metrics);
        self.faults = faults;
        self
    }

    /// Pumps only the named delivery streams. Several supervisors sharing one emulator (tests) would otherwise all
    /// deliver every stream, and each record would land once per supervisor.
    pub fn only_delivery_streams(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.only_delivery_streams = Some(names.into_iter().collect());
        self
    }

    pub fn host(&self) -> Arc<LambdaHost> {
        self.host.clone()
    }

    /// Counts what it runs (functions, mappings, pumps) in `book`, CloudWatch's metrics.
    pub fn with_metrics(self, book: Arc<MetricBook>) -> Self {
        self.host.set_metrics(book);
        self
    }

    /// What invokes this supervisor's functions for another service (SNS): Lambda's API, where their code is, the
    /// host.
    pub fn invoker(&self) -> FunctionInvoker {
        FunctionInvoker {
            lambda: aws_sdk_lambda::Client::new(&self.config),
            functions: self.folders.functions.clone(),
            logs: self.folders.logs.clone(),
            cloud_environment: self.cloud_environment.clone(),
            host: self.host.clone(),
        }
    }

    /// The book this supervisor's functions and pumps are counted in.
    pub fn metrics(&self) -> Arc<MetricBook> {
        self.host.metrics()
    }

    /// The statistics of a running mapping.
    pub fn stats(&self, uuid: &str) -> Option<Arc<MappingStats>> {
        self.mappings.get(uuid).map(|mapping| mapping.stats.clone())
    }

    /// Why a mapping is not run, if the supervisor refused it (`ParallelizationFactor` above 1).
    pub fn refusal(&self, uuid: &str) -> Option<String> {
        self.refused.get(uuid).cloned()
    }

    pub fn all_stats(&self) -> Vec<(MappingSettings, Arc<MappingStats>)> {
        self.mappings
            .values()
            .map(|m| (m.settings.clone(), m.stats.clone()))
            .collect()
    }

    pub fn delivery_stats(&self) -> Vec<(DeliverySettings, Arc<DeliveryStats>)> {
        self.pumps
            .values()
            .map(|p| (p.settings.clone(), p.stats.clone()))
            .collect()
    }

    /// Brings the data plane in line with the control plane: event source mappings and Firehose pumps.
    pub async fn sync(&mut self) -> Result<()> {
        self.sync_mappings().await?;
        self.sync_pumps().await
    }

    /// The delivery streams to pump (a Kinesis source, an S3 destination), by name and version.
    async fn wanted_pumps(&self) -> Result<HashMap<String, DeliverySettings>> {
        let firehose = aws_sdk_firehose::Client::new(&self.config);
        let mut wanted: HashMap<String, DeliverySettings> = HashMap::new();
        let mut start_name: Option<String> = None;
        loop {
            let page = firehose
                .list_delivery_streams()
                .set_exclusive_start_delivery_stream_name(start_name.clone())
                .send()
                .await
                .context("listing delivery streams")?;
            for name in &page.delivery_stream_names {
                if self
                    .only_delivery_streams
                    .as_ref()
                    .is_some_and(|only| !only.contains(name))
                {
                    continue;
                }
                let description = match firehose
                    .describe_delivery_stream()
                    .delivery_stream_name(name)
                    .send()
                    .await
                {
                    Ok(output) => output.delivery_stream_description,
                    Err(error) => {
                        eprintln!("firehose {name}: cannot be described: {}", error_chain(&error));
                        continue;
                    }
                };
                match description.as_ref().map(DeliverySettings::from_description) {
                    Some(Ok(Some(settings))) => {
                        wanted.insert(format!("{}@{}", settings.name, settings.version_id), settings);
                    }
                    Some(Err(error)) => eprintln!("firehose {name}: not delivered locally: {error:#}"),
                    _ => {}
                }
            }
            if !page.has_more_delivery_streams || page.delivery_stream_names.is_empty() {
                break;
            }
            start_name = page.delivery_stream_names.last().cloned();
        }
        Ok(wanted)
    }

    /// Starts a pump for each delivery stream with a Kinesis source and an S3 destination; stops those deleted.
    async fn sync_pumps(&mut self) -> Result<()> {
        let wanted = self.wanted_pumps().await?;
        let gone: Vec<String> = self
            .pumps
            .keys()
            .filter(|key| !wanted.contains_key(*key))
            .cloned()
            .collect();
        let mut replaced = vec![];
        for key in gone {
            let pump = self.pumps.remove(&key).expect("listed");
            pump.stop.store(true, Ordering::Relaxed);
            if wanted.values().any(|settings| settings.name == pump.settings.name) {
                replaced.push(pump.task);
            }
        }
        // An updated delivery stream's new pump resumes at the old one's checkpoints: the old one first writes
        // what it holds and checkpoints it, or the new one would read those records again.
        wait_for_handover(replaced, "firehose pump").await;
        for (key, settings) in wanted {
            if self.pumps.contains_key(&key) {
                continue;
            }
            // Firehose reads its source and writes its destination with the delivery stream's roles.
            let acting = |role: String| {
                let config = self.config.clone();
                let session = credentials::session_name(&settings.name);
                async move {
                    let external_id = Some(credentials::firehose_external_id());
                    credentials::acting_as(&config, "firehose.amazonaws.com", &role, &session, external_id).await
                }
            };
            let reader = acting(settings.source_role.clone()).await?;
            let writer = acting(settings.destination_role.clone()).await?;
            let stop = Arc::new(AtomicBool::new(false));
            let stats = Arc::new(DeliveryStats::default());
            let pump = Pump {
                settings: settings.clone(),
                kinesis: aws_sdk_kinesis::Client::new(&reader),
                s3: s3_client(&writer),
                poll_interval: self.pacing.poll_interval,
                stats: stats.clone(),
                stop: stop.clone(),
                checkpoints: self.folders.checkpoints.join("firehose").join(&settings.name),
                faults: self.faults.clone(),
                following: self.pacing.following.clone(),
                metrics: self.host.metrics(),
            };
            let name = settings.name.clone();
            let task = tokio::spawn(async move {
                if let Err(error) = pump.run().await {
                    eprintln!("firehose {name}: the pump stopped: {error:#}");
                }
            });
            self.pumps.insert(
                key,
                RunningPump {
                    settings,
                    stop,
                    stats,
                    task,
                },
            );
        }
        Ok(())
    }

    /// The enabled Kinesis mappings the control plane holds, by UUID.
    async fn wanted_mappings(&self) -> Result<HashMap<String, MappingSettings>> {
        let lambda = aws_sdk_lambda::Client::new(&self.config);
        let mut wanted: HashMap<String, MappingSettings> = HashMap::new();
        let mut pages = lambda.list_event_source_mappings().into_paginator().send();
        while let Some(page) = pages.next().await {
            for configuration in page
                .context("listing event source mappings")?
                .event_source_mappings
                .unwrap_or_default()
            {
                if let Ok(settings) = MappingSettings::from_configuration(&configuration)
                    && settings.enabled
                {
                    wanted.insert(settings.uuid.clone(), settings);
                }
            }
        }
        Ok(wanted)
    }

    /// Starts pollers for new (or changed) enabled Kinesis mappings; stops those of deleted or disabled ones. A
    /// changed mapping's pollers are stopped and new ones started, which resume at the old ones' checkpoints.
    async fn sync_mappings(&mut self) -> Result<()> {
        let wanted = self.wanted_mappings().await?;
        let gone: Vec<String> = self
            .mappings
            .iter()
            .filter(|(uuid, running)| wanted.get(*uuid) != Some(&running.settings))
            .map(|(uuid, _)| uuid.clone())
            .collect();
        let mut replaced = vec![];
        for uuid in gone {
            if let Some(running) = self.mappings.remove(&uuid) {
                running.stop.store(true, Ordering::Relaxed);
                if wanted.contains_key(&uuid) {
                    replaced.push(running.task);
                }
            }
        }
        // The old pollers finish (or abandon) their batch before the new ones read the checkpoints.
        wait_for_handover(replaced, "event source mapping poller").await;
        self.refused.retain(|uuid, _| wanted.contains_key(uuid));
        for (uuid, settings) in wanted {
            // A function with no local code here was deployed by someone else: not ours to run.
            if !self
                .folders
                .functions
                .join(&settings.function_name)
                .join("bootstrap")
                .exists()
            {
                continue;
            }
            if self.refuse(&settings) || self.mappings.contains_key(&uuid) {
                continue;
            }
            match self.start(settings.clone()).await {
                Ok(running) => {
                    self.mappings.insert(uuid, running);
                }
                Err(error) => eprintln!("event source mapping {uuid}: not started: {error:#}"),
            }
        }
        Ok(())
    }

    /// Refuses a mapping the local cloud cannot run as AWS would, saying why once. `ParallelizationFactor` lets
    /// Lambda process up to 10 batches of a shard at once, in order per partition key
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>, "Polling and batching streams"); these
    /// pollers run one batch per shard at a time, so a mapping asking for more would silently run slower and in a
    /// stricter order than on AWS. Refusing it says so.
    ///
    /// A mapping starting `AT_TIMESTAMP` whose timestamp the control plane did not return (an emulator without
    /// `moto_server.py`'s patch) is refused too: reading from any other position would deliver other records.
    fn refuse(&mut self, settings: &MappingSettings) -> bool {
        let why = if settings.parallelization_factor > 1 {
            format!(
                "ParallelizationFactor {} is not supported by the local cloud (it runs one batch per shard at a \
                 time); update the mapping with ParallelizationFactor 1 to run it locally",
                settings.parallelization_factor
            )
        } else if settings.starting_position == StartingPosition::AtTimestamp(None) {
            "StartingPosition AT_TIMESTAMP, but the control plane did not return its StartingPositionTimestamp (start \
             the emulator with xtask/cloud/moto_server.py)"
                .to_owned()
        } else {
            self.refused.remove(&settings.uuid);
            return false;
        };
        if self.refused.get(&settings.uuid) != Some(&why) {
            eprintln!("event source mapping {}: refused: {why}", settings.uuid);
            self.refused.insert(settings.uuid.clone(), why);
        }
        true
    }

    async fn start(&self, settings: MappingSettings) -> Result<RunningMapping> {
        let lambda = aws_sdk_lambda::Client::new(&self.config);
        let function = function_spec(
            &lambda,
            &settings.function_name,
            &self.folders.functions,
            &self.folders.logs,
            &self.cloud_environment,
        )
        .await?;
        // The events' invokeIdentityArn: the function's execution role.
        let role = lambda
            .get_function()
            .function_name(&settings.function_name)
            .send()
            .await
            .context("GetFunction")?
            .configuration
            .and_then(|configuration| configuration.role)
            .with_context(|| format!("function {} has no execution role", settings.function_name))?;
        // The mapping reads the stream, and writes its on-failure destination, with the function's role.
        let session = credentials::session_name(&settings.function_name);
        let acting = credentials::acting_as(&self.config, "lambda.amazonaws.com", &role, &session, None).await?;
        let kinesis = aws_sdk_kinesis::Client::new(&acting);
        // Listed once here, so that a stream the role cannot list fails the mapping's start, said once.
        let shards = shard_lineage::list_shards(&kinesis, settings.stream_name()).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(MappingStats::default());
        let poller = ShardPoller {
            settings: settings.clone(),
            shard_id: String::new(),
            function,
            invoke_identity_arn: role,
            checkpoint: ShardCheckpoint::new(PathBuf::new(), "", ""),
            kinesis: kinesis.clone(),
            host: self.host.clone(),
            destinations: Destinations {
                failures_dir: self.folders.failures.clone(),
                s3: Some(s3_client(&acting)),
            },
            pacing: self.pacing.clone(),
            stats: stats.clone(),
            stop: stop.clone(),
            from_its_start: false,
        };
        let checkpoints = MappingCheckpoints {
            folder: self.folders.checkpoints.join("mappings").join(&settings.uuid),
            owner: settings.stream_arn.clone(),
        };
        let source = Source {
            kinesis,
            stream_name: settings.stream_name().to_owned(),
            initial: shards,
        };
        let task = tokio::spawn(shard_lineage::follow(
            source,
            self.pacing.following.clone(),
            stop.clone(),
            checkpoints.clone(),
            {
                let stats = stats.clone();
                move |shard, parents| stats.order.lock().expect("not poisoned").learn(shard, parents)
            },
            move |start: ShardStart| {
                // One poller per shard, each a copy of the mapping's with its shard and checkpoint.
                let poller = ShardPoller {
                    checkpoint: checkpoints.of(&start.shard_id),
                    shard_id: start.shard_id,
                    from_its_start: start.from_its_start,
                    ..poller.clone()
                };
                poller.run()
            },
        ));
        Ok(RunningMapping {
            settings,
            stop,
            stats,
            task,
        })
    }

    /// Stops every poller and every function process.
    pub fn shutdown(&mut self) {
        for (_, running) in self.mappings.drain() {
            running.stop.store(true, Ordering::Relaxed);
        }
        for (_, pump) in self.pumps.drain() {
            pump.stop.store(true, Ordering::Relaxed);
        }
        self.host.shutdown();
    }
}

/// A mapping's checkpoints: one file per shard, owned by the stream (a stream made again under the same name
/// starts afresh).
#[derive(Clone)]
struct MappingCheckpoints {
    folder: PathBuf,
    owner: String,
}

impl MappingCheckpoints {
    fn of(&self, shard_id: &str) -> ShardCheckpoint {
        ShardCheckpoint::new(self.folder.clone(), shard_id, self.owner.clone())
    }
}

impl Checkpoints for MappingCheckpoints {
    fn exists(&self, shard_id: &str) -> bool {
        self.of(shard_id).exists()
    }

    fn finished(&self, shard_id: &str) -> bool {
        self.of(shard_id).is_finished()
    }
}

/// Waits (up to [`HANDOVER_TIMEOUT`]) for stopped tasks to end, so that their successors start from their last
/// checkpoints.
async fn wait_for_handover(tasks: Vec<JoinHandle<()>>, what: &str) {
    for task in tasks {
        if tokio::time::timeout(HANDOVER_TIMEOUT, task).await.is_err() {
            eprintln!(
                "lab-cloud: a stopped {what} is still busy after {} s; its successor starts anyway (some records may be delivered twice)",
                HANDOVER_TIMEOUT.as_secs()
            );
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
