//! The clean-up guard: a Lambda function that a one-time EventBridge schedule invokes when a learner's deployment
//! expires (`expires-at`), so that a forgotten stream stops costing money even when the learner's laptop is closed.
//!
//! It finds the learner's resources as `cargo xtask destroy` does (`lab_cloud::control::inventory::discover`, by
//! their names and tags) and removes them as `destroy` does (`lab_cloud::control::destroy`), with its own role,
//! which IAM lets delete only resources tagged as this learner's (`lab_cloud::control::guard::guard_policy`). Its
//! own function and role stay (they cost nothing idle, and a role cannot delete itself once its policy is gone);
//! `cargo xtask destroy` removes them. The learner is the function's `KINESIS_LAB_LEARNER`, set by the deploy:
//! never the event's, so that whoever may invoke it cannot point it at another learner.

use lab_cloud::control::guard::is_guards_own;
use lab_cloud::control::{destroy, inventory};
use lab_cloud::naming::Naming;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let learner = std::env::var("KINESIS_LAB_LEARNER").map_err(|_| "KINESIS_LAB_LEARNER is not set")?;
    let naming = Naming::for_learner(&learner)?;
    println!("expiry guard for learner {learner}: invoked with {}", event.payload);
    let config = aws_config::load_from_env().await;
    let found = inventory::discover(&config, &naming).await?;
    let to_remove: Vec<_> = found
        .into_iter()
        .filter(|r| !is_guards_own(&naming, r.kind, &r.name))
        .collect();
    let remaining: Vec<String> = destroy::destroy(&config, &naming, &to_remove)
        .await?
        .into_iter()
        .filter(|r| !is_guards_own(&naming, r.kind, &r.name))
        .map(|r| format!("{} {} ({})", r.kind, r.name, r.state))
        .collect();
    println!(
        "expiry guard: removed {} resources; {} remain",
        to_remove.len() - remaining.len().min(to_remove.len()),
        remaining.len()
    );
    if !remaining.is_empty() {
        // An error, so that Lambda retries the asynchronous invocation (twice) and the failure shows in its metrics.
        return Err(format!("could not remove: {}", remaining.join("; ")).into());
    }
    Ok(json!({ "learner": learner, "removed": to_remove.len() }))
}
