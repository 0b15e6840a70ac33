//! Puts step 6's alarms into CloudWatch: your `write_throttled_alarm` and `iterator_age_alarm`, on the stream
//! `STREAM_NAME` (TelemetricStream by default), each notifying the SNS topic `TOPIC_ARN` when it goes to ALARM and
//! back to OK, named with `ALARM_NAME_PREFIX` before their names. Safe to run again: `PutMetricAlarm` replaces an
//! alarm's settings and keeps its state. The AWS endpoint, region and credentials come from the standard AWS
//! configuration.

use scaling::tool::{Settings, ensure_alarms};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = aws_config::load_from_env().await;
    match ensure_alarms(&aws_sdk_cloudwatch::Client::new(&config), &settings).await {
        Ok(said) => {
            print!("{said}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
