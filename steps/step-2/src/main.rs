//! The producer's Lambda function: builds the Kinesis client once, then hands each invocation to the handler.

use lambda_runtime::{Error, service_fn};
use producer::{Producer, Stream, handler, kinesis_client};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines on stderr, which Lambda sends to CloudWatch Logs. `RUST_LOG` sets the level (info by default).
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();

    // Region, credentials and endpoint from the standard chain (AWS_ENDPOINT_URL points it at the local cloud).
    let config = aws_config::load_from_env().await;
    let producer = Producer::new(kinesis_client(&config), Stream::from_env()?)
        .with_partition_key(std::env::var("PARTITION_KEY").ok());
    lambda_runtime::run(service_fn(|event| handler(&producer, event))).await
}
