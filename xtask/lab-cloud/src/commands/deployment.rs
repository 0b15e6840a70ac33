//! `lab-cloud plan|deploy|status|run-producer|destroy`: a learner's deployment, on the local cloud or in AWS.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use lab_contract::{Deploy, Destroy, Named, Plan, RunProducer, Status};
use std::path::Path;
use std::process::ExitCode;

use super::target::{check, default_seconds, invoker, naming};
use crate::aws::account;
use crate::control::accounts::Accounts;
use crate::control::deploy::{self, Artifacts, Settings};
use crate::control::destroy;
use crate::control::guard::parse_lifetime;
use crate::control::inventory::{Found, discover};
use crate::control::invoker::producer_request;
use crate::control::plan;
use crate::control::status;
use crate::stages::PRODUCER;

fn by_name(files: Vec<Named>) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    files.into_iter().map(|file| (file.name, file.path)).collect()
}

/// Where a deploy may go: in AWS, the learner's sandbox accounts (`.lab/sandbox-accounts`, the state folder's
/// parent, and `KINESIS_LAB_SANDBOX_ACCOUNTS`); the local cloud is the learner's own.
fn accounts(target: &lab_contract::Target, state: &Path) -> Result<Accounts> {
    if !target.aws {
        return Ok(Accounts::Any);
    }
    Accounts::of_learner(state.parent().unwrap_or(state))
}

fn lifetime(text: Option<&str>) -> Result<Option<std::time::Duration>> {
    text.map(parse_lifetime).transpose()
}

pub async fn plan(config: &SdkConfig, state: &Path, args: Plan) -> Result<ExitCode> {
    check(&args.target, config)?;
    lifetime(args.lifetime.as_deref())?;
    // Refused before anything else is looked at: the account comes from STS's GetCallerIdentity alone.
    let (account_id, _) = account(config).await?;
    accounts(&args.target, state)?.check(&account_id)?;
    let plan = plan::plan(config, &naming(&args.target)?, args.stage, !args.target.aws).await?;
    println!("{plan}");
    if args.ask && !confirm("Deploy these?")? {
        println!("Nothing was deployed.");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn deploy(config: &SdkConfig, state: &Path, args: Deploy) -> Result<ExitCode> {
    check(&args.target, config)?;
    let default_seconds = default_seconds(&args.target);
    let window = args.window.unwrap_or(default_seconds);
    let settings = Settings {
        stage: args.stage,
        naming: naming(&args.target)?,
        firehose_interval_seconds: args.firehose_interval,
        firehose_compression: None,
        analytics_window_seconds: i32::try_from(window).context("--window is too long")?,
        functions_dir: state.join("functions"),
        accounts: accounts(&args.target, state)?,
        lifetime: lifetime(args.lifetime.as_deref())?,
    };
    let artifacts = Artifacts {
        binaries: by_name(args.binaries),
        zips: by_name(args.zips),
        architecture: Some(aws_sdk_lambda::types::Architecture::from(args.architecture.as_str())),
    };
    let deployed = deploy::deploy(config, &artifacts, &settings).await?;
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
    if let Some(at) = &deployed.expires_at {
        println!(
            "It expires at {at}: then the clean-up guard removes it, wherever you are. `cargo xtask deploy ... --for \
             2h` sets another deadline; `cargo xtask destroy{}` removes it now.",
            if args.target.aws { " --aws" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn status(config: &SdkConfig, args: Status) -> Result<ExitCode> {
    check(&args.target, config)?;
    let status = status::status(config, &naming(&args.target)?).await?;
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        println!("{status}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_producer(config: &SdkConfig, state: &Path, args: RunProducer) -> Result<ExitCode> {
    check(&args.target, config)?;
    let function = naming(&args.target)?.function(PRODUCER);
    println!("Invoking {function} for {} records...", args.records);
    let report = invoker(&args.target, config, state)
        .invoke(&function, &producer_request(args.records, 200))
        .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(config: &SdkConfig, args: Destroy) -> Result<ExitCode> {
    check(&args.target, config)?;
    let naming = naming(&args.target)?;
    let learner = naming.learner().unwrap_or("-").to_owned();
    let (account, region) = account(config).await?;
    let found = discover(config, &naming).await?;
    if found.is_empty() {
        println!("Nothing of learner {learner} in account {account}, region {region}.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("In account {account}, region {region}, learner {learner}:");
    for resource in &found {
        println!("  {:<25} {}", resource.kind.to_string(), resource.name);
    }
    if !args.yes && !confirm("Delete all of these, and every object in the bucket?")? {
        println!("Nothing was deleted.");
        return Ok(ExitCode::FAILURE);
    }
    let remaining = destroy::destroy(config, &naming, &found).await?;
    print_remaining(&remaining);
    Ok(if remaining.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_remaining(remaining: &[Found]) {
    if remaining.is_empty() {
        println!("Nothing remains.");
        return;
    }
    println!("Still there:");
    for resource in remaining {
        println!(
            "  {:<25} {} ({})",
            resource.kind.to_string(),
            resource.name,
            resource.state
        );
    }
}

/// Asks a yes/no question on the terminal; refuses to guess when nobody is there to answer.
pub fn confirm(question: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("{question} — nobody can answer on this input; pass --yes to go ahead without asking");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
