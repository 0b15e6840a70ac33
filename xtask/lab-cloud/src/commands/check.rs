//! `lab-cloud check-deployed`: stages 1..=STAGE of a learner's deployment checked with data through them.

use anyhow::Result;
use aws_config::SdkConfig;
use lab_contract::CheckDeployed;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::target::{check, default_seconds, invoker, naming};
use crate::control::sandbox::{self, Patience, Verdict};

pub async fn run(config: &SdkConfig, state: &Path, args: CheckDeployed) -> Result<ExitCode> {
    check(&args.target, config)?;
    let naming = naming(&args.target)?;
    let invoker = invoker(&args.target, config, state);
    // Firehose and the windows are configured by the deploy: a minute on AWS, seconds locally.
    let seconds = u64::from(default_seconds(&args.target));
    let patience = Patience {
        first_poll: Duration::from_secs(if args.target.aws { 300 } else { 90 }),
        delivery: Duration::from_secs(seconds * 4 + 30),
        window: Duration::from_secs(seconds * 4 + 30),
        window_seconds: seconds as i32,
    };
    let checks = sandbox::check_deployed(config, &naming, args.stage, &invoker, patience).await?;
    let count = |verdict: Verdict| checks.iter().filter(|c| c.verdict == verdict).count();
    let failed = count(Verdict::Failed);
    let not_yet = count(Verdict::NotYet);
    print!("deployed: {} passed, {failed} failed", count(Verdict::Passed));
    if not_yet > 0 {
        print!(", {not_yet} not polling yet (run the check again in a few minutes)");
    }
    println!();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
