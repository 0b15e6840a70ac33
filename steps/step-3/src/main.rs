//! The consumer Lambda's binary: JSON logs, then the Lambda runtime's loop, which calls `handler` with each batch
//! the event source mapping sends. Everything else lives in the library, where the tests reach it.

use consumer::{handler, json_logs};
use lambda_runtime::{Error, run, service_fn};
use tracing::level_filters::LevelFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Lambda's logging settings pass the level the function should log at in AWS_LAMBDA_LOG_LEVEL.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing::subscriber::set_global_default(json_logs(std::io::stdout, level))?;
    run(service_fn(handler)).await
}
