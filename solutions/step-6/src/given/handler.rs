//! The scaler's Lambda machinery around your `decide`: SNS's event read, the stream read, your decision logged (one
//! JSON line per alarm change, on standard output, which Lambda sends to CloudWatch Logs) and carried out. The
//! chapter's "What is given" names it.

use super::decision::Decision;
use super::errors::ScalingError;
use super::notification::alarm_changes;
use super::stream::{read_stream, update_shard_count};
use aws_config::SdkConfig;
use aws_sdk_kinesis::Client;
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

/// The stream the scaler looks after when `STREAM_NAME` does not say.
pub const DEFAULT_STREAM: &str = "TelemetricStream";

/// The scaler: the one stream it may scale (`STREAM_NAME`), and its Kinesis client.
pub struct Scaler {
    kinesis: Client,
    stream: String,
}

impl Scaler {
    /// `lookup` reads the function's environment (`|name| std::env::var(name).ok()` in `main`).
    pub fn new(config: &SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Scaler {
        Scaler {
            kinesis: Client::new(config),
            stream: support::non_blank(lookup, "STREAM_NAME").unwrap_or_else(|| DEFAULT_STREAM.to_owned()),
        }
    }

    /// Answers an SNS event: each alarm change decided on the stream as it is now, logged, and carried out. The
    /// answer lists the log lines (Lambda discards an asynchronous invocation's answer; a test reads it).
    pub async fn answer(&self, event: &Value) -> Result<Value, ScalingError> {
        let mut decisions = vec![];
        for change in alarm_changes(event)? {
            let stream = read_stream(&self.kinesis, &self.stream).await?;
            let now = Utc::now();
            let decision = crate::decide(&change, &stream, now);
            let line = decision.log_line(&change, &stream);
            println!("{line}");
            if let Decision::Scale { to, .. } = decision {
                update_shard_count(&self.kinesis, &stream, to, now).await?;
            }
            decisions.push(line);
        }
        Ok(json!({ "decisions": decisions }))
    }
}

/// The function's handler: the event as JSON (so that an event of the wrong shape is refused in the scaler's own
/// words, not the runtime's), answered by [`Scaler::answer`]. An error fails the invocation: SNS's asynchronous
/// invocation is then retried by Lambda, twice.
pub async fn handler(scaler: &Scaler, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(scaler.answer(&event.payload).await?)
}
