//! The analytics Lambda's binary: JSON logs, one S3 client for the life of the process, the destination read once
//! from the environment, then the Lambda runtime's loop, which calls `handler` with each time-window event.

use analytics::{Destination, handler, s3_client};
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, run, service_fn};
use tracing::level_filters::LevelFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Lambda's logging settings pass the level the function should log at in AWS_LAMBDA_LOG_LEVEL.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(LevelFilter::INFO);
    let logs = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_max_level(level)
        .finish();
    tracing::subscriber::set_global_default(logs)?;

    // Built once, before the first event, and lent to every invocation: a warm function reuses its connections.
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let s3 = s3_client(&config);
    let destination = Destination::from_env()?;
    let (s3, destination) = (&s3, &destination);
    run(service_fn(
        move |event| async move { handler(s3, destination, event).await },
    ))
    .await
}
