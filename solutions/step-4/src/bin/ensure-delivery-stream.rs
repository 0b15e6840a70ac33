//! Sets up the delivery of step 4: the bucket, the role Firehose acts with, and the delivery stream from the
//! stream (made by step 1's `ensure-stream`) into the bucket. Safe to run again: what exists is left as it is.
//!
//! Each setting comes from an option, else from an environment variable, else from its default (`--help` lists
//! them; `delivery::tool` reads them). Given `--stream-arn` the stream is not looked up; given `--role-arn` that
//! role is used as it is. The AWS endpoint, region and credentials come from the standard AWS configuration.

use delivery::tool::{Settings, look_up_stream, s3_client, summary, usage, wants_help};
use delivery::{ensure_bucket, ensure_delivery_stream, ensure_firehose_role};
use std::process::ExitCode;

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if wants_help(&args) {
        print!("{}", usage());
        return Ok(());
    }
    let settings = Settings::parse(args, |name| std::env::var(name).ok())?;
    let config = aws_config::load_from_env().await;

    let stream_arn = match &settings.stream_arn {
        Some(arn) => arn.clone(),
        None => look_up_stream(&aws_sdk_kinesis::Client::new(&config), &settings.stream).await?,
    };
    let bucket = settings.bucket_name(&stream_arn);
    ensure_bucket(&s3_client(&config), &bucket).await?;
    let role_arn = match &settings.role_arn {
        Some(arn) => arn.clone(),
        None => {
            let iam = aws_sdk_iam::Client::new(&config);
            ensure_firehose_role(&iam, &settings.role, &stream_arn, &bucket).await?
        }
    };

    let definition = settings.definition(&stream_arn, &bucket, &role_arn);
    let firehose = aws_sdk_firehose::Client::new(&config);
    let description = ensure_delivery_stream(&firehose, &definition).await?;
    print!("{}", summary(&description));
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
