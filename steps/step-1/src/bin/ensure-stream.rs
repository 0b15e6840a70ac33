//! Creates the TelemetricStream if it is missing and waits until it is ACTIVE (the deploy of step 1).
//! The AWS endpoint, region and credentials come from the standard AWS configuration; `STREAM_NAME`, if set,
//! names the stream (a learner's deploy to a shared sandbox account prefixes it).

use telemetric_stream::{ensure_stream, telemetric_stream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_kinesis::Client::new(&config);
    let mut stream = telemetric_stream();
    if let Ok(name) = std::env::var("STREAM_NAME") {
        stream.name = name;
    }
    let summary = ensure_stream(&client, &stream).await?;
    println!(
        "{} is {} with {} open shards",
        summary.stream_arn, summary.stream_status, summary.open_shard_count
    );
    Ok(())
}
