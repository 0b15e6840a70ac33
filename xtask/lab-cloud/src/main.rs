//! `lab-cloud`: the local cloud's data plane, run by `cargo xtask` (never directly by learners).
//!
//! - `lab-cloud serve`: runs event source mappings for what the Lambda API (moto) holds, until stopped;
//! - `lab-cloud invoke --function NAME --event FILE`: invokes a deployed function once, prints its answer.
//!
//! The AWS endpoint and credentials come from the environment (`AWS_ENDPOINT_URL`, set by xtask).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use lab_cloud::event_source::Pacing;
use lab_cloud::lambda_host::{LambdaHost, Outcome, function_spec};
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
    Invoke {
        #[arg(long)]
        function: String,
        #[arg(long)]
        event: PathBuf,
    },
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
        Command::Invoke { function, event } => {
            let text = std::fs::read_to_string(&event).with_context(|| format!("reading {}", event.display()))?;
            let payload: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", event.display()))?;
            let lambda = aws_sdk_lambda::Client::new(&config);
            let folders = folders(&cli.state);
            let spec = function_spec(
                &lambda,
                &function,
                &folders.functions,
                &folders.logs,
                &cloud_environment(),
            )
            .await?;
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
