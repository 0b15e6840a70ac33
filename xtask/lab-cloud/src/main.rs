//! `lab-cloud`: the local cloud's data plane and the deploy path, run by `cargo xtask` (never directly by learners).
//! The arguments are `lab-contract`'s types, the same xtask renders; each command lives in `lab_cloud::commands`.
//!
//! The AWS endpoint and credentials come from the environment: `AWS_ENDPOINT_URL`, set by xtask, for the local
//! cloud; the standard AWS chain with `--aws`.

use clap::Parser;
use lab_cloud::commands::{check, deployment, invoke, lab, serve};
use lab_contract::{Command, LabCloud};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let LabCloud { state, command } = LabCloud::parse();
    let config = aws_config::load_from_env().await;
    let outcome = match command {
        Command::Serve(args) => serve::run(config, &state, args).await,
        Command::Invoke(args) => invoke::run(&config, &state, args).await,
        Command::Lab(args) => lab::command(&config, &state, args).await,
        Command::Plan(args) => deployment::plan(&config, &state, args).await,
        Command::Deploy(args) => deployment::deploy(&config, &state, args).await,
        Command::Status(args) => deployment::status(&config, args).await,
        Command::CheckDeployed(args) => check::run(&config, &state, args).await,
        Command::RunProducer(args) => deployment::run_producer(&config, &state, args).await,
        Command::Destroy(args) => deployment::destroy(&config, args).await,
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
