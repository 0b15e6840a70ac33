//! `lab-cloud`: the local cloud's data plane, run by `cargo xtask` (never directly by learners).
//!
//! - `lab-cloud serve`: runs event source mappings for what the Lambda API (moto) holds, until stopped;
//! - `lab-cloud invoke --function NAME --event FILE`: invokes a deployed function once, prints its answer.
//!
//! The AWS endpoint and credentials come from the environment (`AWS_ENDPOINT_URL`, set by xtask).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use lab_cloud::deploy::{Artifacts, Settings};
use lab_cloud::event_source::Pacing;
use lab_cloud::lab::{self, LabOptions, Summary};
use lab_cloud::lambda_host::{FunctionSpec, LambdaHost, Outcome, function_spec};
use lab_cloud::supervisor::{Folders, Supervisor};
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
                    firehose_interval_seconds: firehose_interval,
                    analytics_window_seconds: window,
                    functions_dir: cli.state.join("functions"),
                },
            };
            let artifacts = Artifacts {
                binaries: binaries.into_iter().collect(),
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
