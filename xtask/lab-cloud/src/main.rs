//! `lab-cloud`: the local cloud's data plane, run by `cargo xtask` (never directly by learners).
//!
//! - `lab-cloud serve`: runs event source mappings for what the Lambda API (moto) holds, until stopped;
//! - `lab-cloud invoke --function NAME --event FILE`: invokes a deployed function once, prints its answer;
//! - `lab-cloud lab`: the whole pipeline, run and checked;
//! - `lab-cloud plan|deploy|status|check-deployed|run-producer|destroy`: a learner's own deployment, on the local
//!   cloud or, with `--aws`, in an AWS account.
//!
//! The AWS endpoint and credentials come from the environment: `AWS_ENDPOINT_URL`, set by xtask, for the local
//! cloud; the standard AWS chain with `--aws`.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use lab_cloud::commands::lab::{self, LabOptions, Summary};
use lab_cloud::control::deploy::{Artifacts, Settings};
use lab_cloud::control::sandbox::{self, Invoker, Patience};
use lab_cloud::naming::Naming;
use lab_cloud::runtime::event_source::Pacing;
use lab_cloud::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome, function_spec};
use lab_cloud::runtime::supervisor::{Folders, Supervisor};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    /// The folder holding functions/, logs/ and failures/.
    #[arg(long)]
    state: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Serve,
    /// Invoke a deployed function (`--function`) or an executable (`--binary`) once.
    Invoke {
        #[arg(long, conflicts_with = "binary", required_unless_present = "binary")]
        function: Option<String>,
        #[arg(long)]
        binary: Option<PathBuf>,
        /// The timeout of a `--binary` function, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        #[arg(long)]
        event: PathBuf,
    },
    /// Deploy every stage, run the pipeline, check it, print a summary.
    Lab {
        /// The steps' executables, as NAME=PATH (ensure-stream, policies, producer, consumer, ...).
        #[arg(long = "bin", value_parser = parse_binary)]
        binaries: Vec<(String, PathBuf)>,
        #[arg(long, default_value_t = 5000)]
        records: u64,
        /// The producer's rate. The emulator answers a 500-record PutRecords more slowly than AWS, and the producer's
        /// SDK timeouts are AWS-sized, so the local run writes in smaller batches.
        #[arg(long, default_value_t = 200)]
        records_per_second: u64,
        #[arg(long, default_value_t = 5)]
        firehose_interval: u32,
        #[arg(long, default_value_t = 5)]
        window: i32,
        #[arg(long)]
        json: bool,
    },
    /// What a deploy of stages 1..=STAGE makes and costs; with --ask, asks to go ahead (exit 1 when not).
    Plan {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        stage: u8,
        #[arg(long)]
        ask: bool,
    },
    /// Deploy stages 1..=STAGE.
    Deploy {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        stage: u8,
        /// The steps' executables, as NAME=PATH.
        #[arg(long = "bin", value_parser = parse_binary)]
        binaries: Vec<(String, PathBuf)>,
        /// The functions' zip archives (for AWS), as NAME=PATH.
        #[arg(long = "zip", value_parser = parse_binary)]
        zips: Vec<(String, PathBuf)>,
        /// The zips' architecture: arm64 or x86_64.
        #[arg(long, default_value = "arm64")]
        architecture: String,
        /// Firehose's buffering interval in seconds [default: 60 on AWS, 5 locally].
        #[arg(long)]
        firehose_interval: Option<u32>,
        /// The analysis' tumbling window in seconds [default: 60 on AWS, 5 locally].
        #[arg(long)]
        window: Option<i32>,
    },
    /// What of the learner's exists, and what flows.
    Status {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        json: bool,
    },
    /// Check stages 1..=STAGE as deployed, with data through them.
    CheckDeployed {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        stage: u8,
    },
    /// Invoke the deployed producer.
    RunProducer {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        records: u64,
    },
    /// Remove everything of the learner's (found by name prefix and tags), then list what remains.
    Destroy {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        yes: bool,
    },
}

/// Where a learner's deployment is: the local cloud (the endpoint xtask set), or an AWS account (`--aws`).
#[derive(Args)]
struct Target {
    /// The learner whose resources these are [default: $KINESIS_LAB_LEARNER; locally, else $USER].
    #[arg(long)]
    learner: Option<String>,
    #[arg(long)]
    aws: bool,
}

impl Target {
    /// The learner's names. In AWS the learner must name themselves: in a shared sandbox account `$USER` is often
    /// the same for everyone (`ec2-user`, `codespace`, `root`), and learners would deploy over, and destroy, each
    /// other's resources.
    fn naming(&self) -> Result<Naming> {
        let chosen = self
            .learner
            .clone()
            .or_else(|| std::env::var("KINESIS_LAB_LEARNER").ok());
        let learner = match chosen {
            Some(learner) => learner,
            None if self.aws => anyhow::bail!(
                "name yourself for AWS: --learner NAME, or KINESIS_LAB_LEARNER=NAME (1 to 20 of a-z, 0-9, '-'). \
                 The name prefixes and tags everything you deploy, so learners sharing an account never collide"
            ),
            None => Naming::learner_from(&std::env::var("USER").unwrap_or_default()),
        };
        Naming::for_learner(&learner)
    }

    /// Without `--aws`, every client must go to the local cloud: a local command never reaches a real account.
    fn check(&self, config: &aws_config::SdkConfig) -> Result<()> {
        if self.aws {
            return Ok(());
        }
        // Service-specific endpoints, or an instruction to ignore endpoints, would send some clients elsewhere.
        if let Some((key, _)) = std::env::vars()
            .find(|(key, _)| key.starts_with("AWS_ENDPOINT_URL_") || key == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        {
            anyhow::bail!("{key} is set; a local command only talks to the local cloud (unset it, or pass --aws)");
        }
        let endpoint = config.endpoint_url().unwrap_or_default();
        let host = endpoint
            .strip_prefix("http://")
            .and_then(|rest| rest.split([':', '/']).next())
            .unwrap_or_default();
        if host != "127.0.0.1" {
            anyhow::bail!("no local cloud endpoint ({endpoint:?}); run this through `cargo xtask`, or pass --aws");
        }
        Ok(())
    }

    /// Firehose's buffering interval and the analysis' window, in seconds: AWS-sized in AWS, short locally.
    fn default_seconds(&self) -> u32 {
        if self.aws { 60 } else { 5 }
    }

    fn invoker(&self, config: &aws_config::SdkConfig, state: &std::path::Path) -> Invoker {
        let lambda = aws_sdk_lambda::Client::new(config);
        if self.aws {
            return Invoker::Aws(lambda);
        }
        let folders = folders(state);
        Invoker::Local {
            lambda,
            host: LambdaHost::new(),
            functions: folders.functions,
            logs: folders.logs,
            environment: cloud_environment(),
        }
    }
}

fn parse_binary(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text.split_once('=').ok_or("expected NAME=PATH")?;
    Ok((name.to_owned(), PathBuf::from(path)))
}

/// The variables a function process needs to reach the local cloud: the standard AWS ones, as xtask set them.
fn cloud_environment() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(key, _)| key.starts_with("AWS_") && key != "AWS_LAMBDA_RUNTIME_API")
        .collect()
}

fn folders(state: &std::path::Path) -> Folders {
    Folders {
        functions: state.join("functions"),
        logs: state.join("logs"),
        failures: state.join("failures"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let config = aws_config::load_from_env().await;
    match cli.command {
        Command::Serve => {
            let mut supervisor = Supervisor::new(config, cloud_environment(), folders(&cli.state), Pacing::default());
            let mut stop = std::pin::pin!(shutdown_signal());
            loop {
                if let Err(error) = supervisor.sync().await {
                    eprintln!("lab-cloud: {error:#}");
                }
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            supervisor.shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Command::Lab {
            binaries,
            records,
            records_per_second,
            firehose_interval,
            window,
            json,
        } => {
            let options = LabOptions {
                records,
                records_per_second,
                state: cli.state.clone(),
                cloud_environment: cloud_environment(),
                settings: Settings {
                    stage: 5,
                    naming: Naming::plain(),
                    firehose_interval_seconds: firehose_interval,
                    analytics_window_seconds: window,
                    functions_dir: cli.state.join("functions"),
                },
            };
            let artifacts = Artifacts {
                binaries: binaries.into_iter().collect(),
                ..Artifacts::default()
            };
            let summary = tokio::select! {
                summary = lab::run(&config, &artifacts, &options) => summary?,
                () = shutdown_signal() => {
                    eprintln!("\nlab: interrupted; everything it started is being stopped");
                    return Ok(ExitCode::from(130));
                }
            };
            print_summary(&summary, &cli.state);
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            }
            // A run passes when the producer made every record it was asked for and none of them was lost.
            let producer_done = summary.producer_stopped.as_deref() == Some("max_records");
            Ok(if summary.lost == 0 && summary.produced > 0 && producer_done {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Plan { target, stage, ask } => {
            target.check(&config)?;
            let plan = sandbox::plan(&config, &target.naming()?, stage).await?;
            println!("{plan}");
            if ask && !sandbox::confirm("Deploy these?")? {
                println!("Nothing was deployed.");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            target,
            stage,
            binaries,
            zips,
            architecture,
            firehose_interval,
            window,
        } => {
            target.check(&config)?;
            let default_seconds = target.default_seconds();
            let settings = Settings {
                stage,
                naming: target.naming()?,
                firehose_interval_seconds: firehose_interval.unwrap_or(default_seconds),
                analytics_window_seconds: window.unwrap_or(default_seconds as i32),
                functions_dir: cli.state.join("functions"),
            };
            let artifacts = Artifacts {
                binaries: binaries.into_iter().collect(),
                zips: zips.into_iter().collect(),
                architecture: Some(aws_sdk_lambda::types::Architecture::from(architecture.as_str())),
            };
            let deployed = lab_cloud::control::deploy::deploy(&config, &artifacts, &settings).await?;
            for change in &deployed.changes {
                println!(
                    "  {:<9} {:<25} {}",
                    format!("{:?}", change.action).to_lowercase(),
                    change.kind,
                    change.name
                );
            }
            println!(
                "{} in account {}, region {}.",
                if deployed.changed() {
                    "Deployed"
                } else {
                    "Already deployed; nothing changed"
                },
                deployed.account_id,
                deployed.region
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { target, json } => {
            target.check(&config)?;
            let status = sandbox::status(&config, &target.naming()?).await?;
            if json {
                println!("{}", serde_json::to_string(&status)?);
            } else {
                println!("{status}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckDeployed { target, stage } => {
            target.check(&config)?;
            let naming = target.naming()?;
            let invoker = target.invoker(&config, &cli.state);
            // Firehose and the windows are configured by the deploy: a minute on AWS, seconds locally.
            let seconds = u64::from(target.default_seconds());
            let patience = Patience {
                delivery: Duration::from_secs(seconds * 4 + 30),
                window: Duration::from_secs(seconds * 4 + 30),
                window_seconds: seconds as i32,
            };
            let checks = sandbox::check_deployed(&config, &naming, stage, &invoker, patience).await?;
            let failed = checks.iter().filter(|c| !c.passed).count();
            println!("deployed: {} passed, {failed} failed", checks.len() - failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::RunProducer { target, records } => {
            target.check(&config)?;
            let naming = target.naming()?;
            let invoker = target.invoker(&config, &cli.state);
            let function = naming.function(lab_cloud::naming::PRODUCER);
            println!("Invoking {function} for {records} records...");
            let report = invoker
                .invoke(&function, &sandbox::producer_request(records, 200))
                .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Destroy { target, yes } => {
            target.check(&config)?;
            let naming = target.naming()?;
            let (account, region) = lab_cloud::aws::account(&config).await?;
            let found = sandbox::discover(&config, &naming).await?;
            if found.is_empty() {
                println!(
                    "Nothing of learner {} in account {account}, region {region}.",
                    naming.learner().unwrap_or("-")
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "In account {account}, region {region}, learner {}:",
                naming.learner().unwrap_or("-")
            );
            for resource in &found {
                println!("  {:<25} {}", resource.kind.to_string(), resource.name);
            }
            if !yes && !sandbox::confirm("Delete all of these, and every object in the bucket?")? {
                println!("Nothing was deleted.");
                return Ok(ExitCode::FAILURE);
            }
            let remaining = sandbox::destroy(&config, &naming, &found).await?;
            if remaining.is_empty() {
                println!("Nothing remains.");
                if target.aws {
                    println!(
                        "(Lambda's log groups, /aws/lambda/{}*, are kept: see the Clean-up chapter to remove them.)",
                        naming.prefix()
                    );
                }
                Ok(ExitCode::SUCCESS)
            } else {
                println!("Still there:");
                for resource in &remaining {
                    println!(
                        "  {:<25} {} ({})",
                        resource.kind.to_string(),
                        resource.name,
                        resource.state
                    );
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Invoke {
            function,
            binary,
            timeout,
            event,
        } => {
            let text = std::fs::read_to_string(&event).with_context(|| format!("reading {}", event.display()))?;
            let payload: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", event.display()))?;
            let folders = folders(&cli.state);
            let spec = match (function, binary) {
                (Some(function), _) => {
                    let lambda = aws_sdk_lambda::Client::new(&config);
                    function_spec(
                        &lambda,
                        &function,
                        &folders.functions,
                        &folders.logs,
                        &cloud_environment(),
                    )
                    .await?
                }
                (None, Some(binary)) => {
                    let name = binary
                        .file_name()
                        .map_or("function".into(), |n| n.to_string_lossy().into_owned());
                    FunctionSpec {
                        arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                        log_file: folders.logs.join(format!("{name}.log")),
                        name,
                        binary,
                        timeout: Duration::from_secs(timeout),
                        memory_mb: 128,
                        environment: cloud_environment(),
                    }
                }
                (None, None) => unreachable!("clap requires one of them"),
            };
            let host = LambdaHost::new();
            let outcome = host.invoke(&spec, &payload).await;
            host.shutdown();
            match outcome {
                Outcome::Response(body) => {
                    println!("{}", serde_json::to_string_pretty(&body)?);
                    Ok(ExitCode::SUCCESS)
                }
                other => {
                    let (error_type, message) = other.error().unwrap_or_default();
                    println!(
                        "{}",
                        serde_json::json!({ "errorType": error_type, "errorMessage": message })
                    );
                    eprintln!("the function failed; its output is in {}", spec.log_file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

fn print_summary(summary: &Summary, state: &std::path::Path) {
    println!("The pipeline ran in {:.1} s.", summary.wall_seconds);
    println!(
        "  produced        {:>8}  ({:.0} records/s; the producer stopped: {})",
        summary.produced,
        summary.produce_records_per_s,
        summary.producer_stopped.as_deref().unwrap_or("without answering")
    );
    println!(
        "  consumed        {:>8}  in {} invocations (put -> invocation p50 {:.0} ms, p99 {:.0} ms)",
        summary.consumed, summary.consumer_invocations, summary.invoke_latency_ms_p50, summary.invoke_latency_ms_p99
    );
    println!("  given up        {:>8}", summary.failed);
    for reason in &summary.failure_reasons {
        println!("                  {reason}");
    }
    println!(
        "  delivered to S3 {:>8}  in {} objects, {} bytes (put -> S3 p50 {:.0} ms, p99 {:.0} ms)",
        summary.delivered, summary.s3_objects, summary.s3_bytes, summary.s3_latency_ms_p50, summary.s3_latency_ms_p99
    );
    println!(
        "  lost            {:>8}  (records in the stream missing from S3)",
        summary.lost
    );
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
    println!("Function logs: {}", state.join("logs").display());
}
