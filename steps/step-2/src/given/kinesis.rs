//! The Kinesis side of the producer: the SDK client with settings that fit Lambda's clock (the chapter's "Two layers
//! of retries, one clock"), the stream the function's environment names, and [`Producer`] with its one raw
//! `PutRecords` call (the chapter's "`PutRecords`: batches, limits and partial failure"). Your `send` and `run` are
//! methods of [`Producer`] too, in `lib.rs`.

use super::invocation::DEADLINE_MARGIN;
use super::records::Entry;
use crate::RetryPolicy;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use lambda_runtime::Error;
use std::fmt;
use std::time::Duration;
use support::{error_chain, non_blank};

/// Per attempt, the most a call may take; a `PutRecords` of 5 MiB within a region takes a fraction of it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The most a call may take, its retries included: less than [`DEADLINE_MARGIN`].
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(1_500);
const _: () = assert!(OPERATION_TIMEOUT.as_millis() < DEADLINE_MARGIN.as_millis());

/// How the SDK retries a call that failed as a whole (a dropped connection, a 500, a throttled request): three
/// attempts at most, quickly, since the whole call must fit in [`OPERATION_TIMEOUT`].
pub fn sdk_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(400))
}

/// No call may outlive the margin the producer keeps before Lambda's deadline.
pub fn sdk_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// A Kinesis client with the producer's retries and timeouts, on top of wherever `config` points (the region,
/// credentials and endpoint come from the standard chain: `AWS_ENDPOINT_URL` selects the local cloud).
pub fn kinesis_client(config: &SdkConfig) -> Client {
    let kinesis = aws_sdk_kinesis::config::Builder::from(config)
        .retry_config(sdk_retry_config())
        .timeout_config(sdk_timeout_config())
        .build();
    Client::from_conf(kinesis)
}

/// The stream to write to, as the function's environment names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// `STREAM_ARN`: unambiguous, and what an IAM policy names.
    Arn(String),
    /// `STREAM_NAME`: the stream of that name in the function's own account and region.
    Name(String),
}

impl Stream {
    /// Reads `STREAM_ARN`, or else `STREAM_NAME`, from the environment.
    pub fn from_env() -> Result<Stream, Error> {
        Stream::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Stream::from_env`] with the variables read by `lookup` (a blank one counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Stream, Error> {
        match (non_blank(&lookup, "STREAM_ARN"), non_blank(&lookup, "STREAM_NAME")) {
            (Some(arn), _) => Ok(Stream::Arn(arn)),
            (None, Some(name)) => Ok(Stream::Name(name)),
            (None, None) => Err("set STREAM_ARN (or STREAM_NAME) in the function's environment".into()),
        }
    }
}

/// A `PutRecords` call that failed as a whole: nothing in it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailed {
    /// The AWS error code (`ResourceNotFoundException`, …), or what went wrong before AWS answered.
    pub code: String,
    pub message: String,
}

impl<E, R> From<SdkError<E, R>> for CallFailed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    fn from(error: SdkError<E, R>) -> CallFailed {
        let code = match &error {
            SdkError::ServiceError(_) => error.code().unwrap_or("ServiceError").to_owned(),
            SdkError::TimeoutError(_) => "Timeout".to_owned(),
            SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
            _ => "RequestFailed".to_owned(),
        };
        // The SDK's Display is terse; the chain of sources says what actually went wrong.
        CallFailed {
            code,
            message: error_chain(&error),
        }
    }
}

/// Everything an invocation needs, built once when the function starts.
#[derive(Debug, Clone)]
pub struct Producer {
    pub client: Client,
    pub stream: Stream,
    pub retry: RetryPolicy,
    /// Every record under this one key instead of its own (`PARTITION_KEY`, which `cargo xtask lab --scenario
    /// hot-key` sets, as the original lab keyed everything "geolocation"): one shard takes all the traffic. Keep it
    /// no longer than the entries' own keys, which their calls' sizes were counted with.
    pub partition_key: Option<String>,
}

impl Producer {
    pub fn new(client: Client, stream: Stream) -> Producer {
        Producer {
            client,
            stream,
            retry: RetryPolicy::default(),
            partition_key: None,
        }
    }

    /// The producer with every record keyed `key` (none: each record's own key).
    pub fn with_partition_key(mut self, key: Option<String>) -> Producer {
        self.partition_key = key.filter(|key| !key.is_empty());
        self
    }

    /// One `PutRecords` call. Kinesis answers with one result per entry, in the order sent: `Ok` if it wrote the
    /// entry, else the entry's `ErrorCode` (`ProvisionedThroughputExceededException` or `InternalFailure`).
    pub async fn put_records(&self, entries: &[Entry]) -> Result<Vec<Result<(), String>>, CallFailed> {
        let records = entries
            .iter()
            .map(|entry| {
                PutRecordsRequestEntry::builder()
                    .partition_key(self.partition_key.as_deref().unwrap_or(entry.partition_key()))
                    .data(Blob::new(entry.data()))
                    .build()
                    .expect("partition key and data are set")
            })
            .collect();
        let call = self.client.put_records().set_records(Some(records));
        let call = match &self.stream {
            Stream::Arn(arn) => call.stream_arn(arn),
            Stream::Name(name) => call.stream_name(name),
        };
        let output = call.send().await?;
        if output.records.len() != entries.len() {
            return Err(CallFailed {
                code: "IncompleteResponse".to_owned(),
                message: format!("{} results for {} records", output.records.len(), entries.len()),
            });
        }
        let results = output.records.into_iter().map(|result| match result.error_code {
            None => Ok(()),
            Some(code) => Err(code),
        });
        Ok(results.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::config::BehaviorVersion;

    #[test]
    fn an_empty_partition_key_setting_means_each_records_own_key() {
        let producer = |key: Option<&str>| {
            let client = Client::from_conf(
                aws_sdk_kinesis::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .build(),
            );
            Producer::new(client, Stream::Name("TelemetricStream".to_owned()))
                .with_partition_key(key.map(str::to_owned))
        };
        assert_eq!(
            producer(Some("geolocation")).partition_key.as_deref(),
            Some("geolocation")
        );
        assert_eq!(producer(Some("")).partition_key, None, "PARTITION_KEY set but empty");
        assert_eq!(producer(None).partition_key, None);
    }

    /// A producer whose client goes to `endpoint` with the producer's own timeouts and no retries.
    fn producer_at(endpoint: &str, timeout: TimeoutConfig) -> Producer {
        let config = aws_sdk_kinesis::config::Builder::from(&lab_testkit::fake::config_at(endpoint))
            .timeout_config(timeout)
            .build();
        Producer::new(Client::from_conf(config), Stream::Name("TelemetricStream".to_owned()))
    }

    fn one_entry() -> Vec<Entry> {
        vec![Entry::new("vehicle-00001", "{}\n").unwrap()]
    }

    #[tokio::test]
    async fn a_call_that_reaches_no_server_fails_as_a_dispatch_failure() {
        // A port nobody listens on any more: the connection is refused before any request is sent.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let producer = producer_at(&format!("http://127.0.0.1:{port}"), sdk_timeout_config());
        let failed = producer.put_records(&one_entry()).await.unwrap_err();
        assert_eq!(failed.code, "DispatchFailure", "{failed:?}");
        // The message follows the error's sources down to the cause, beyond the SDK's terse "dispatch failure".
        assert!(
            failed.message.starts_with("dispatch failure: ") && failed.message.contains("onnection refused"),
            "{}",
            failed.message
        );
    }

    #[tokio::test]
    async fn a_call_left_unanswered_fails_as_a_timeout() {
        // A server that accepts the connection (the kernel does, from its backlog) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        let quick = TimeoutConfig::builder()
            .operation_timeout(Duration::from_millis(200))
            .build();
        let failed = producer_at(&endpoint, quick)
            .put_records(&one_entry())
            .await
            .unwrap_err();
        assert_eq!(failed.code, "Timeout", "{failed:?}");
        drop(silent);
    }
}
