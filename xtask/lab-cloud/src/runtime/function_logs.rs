//! A function's logs, as Lambda keeps them: everything the function prints, plus Lambda's own `START`, `END` and
//! `REPORT` lines, goes to its log group `/aws/lambda/<function>`, one log stream per execution environment
//! (`YYYY/MM/DD/[$LATEST]<id>`), written by Lambda **with the function's execution role** — which is why a function's
//! role needs `logs:CreateLogGroup`, `logs:CreateLogStream` and `logs:PutLogEvents` on its own log group, and why a
//! role without them leaves no logs (the function itself runs on). "Working with Lambda function logs" and
//! "Defining Lambda function permissions with an execution role" (the managed policy `AWSLambdaBasicExecutionRole`):
//! <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>.
//!
//! Locally every line also goes to `<logs>/<function>.log` (what `cargo xtask` points learners at), whatever IAM
//! says; the CloudWatch Logs copy is sent once a second, with the function's credentials, through the front door —
//! so a missing permission is refused, and shows in the access report, as on AWS.

use crate::logs::{LogEvent, Logs};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// One execution environment's logs: the local file, and the lines waiting to be sent.
pub struct FunctionLogs {
    file: Mutex<std::fs::File>,
    pending: Mutex<Vec<LogEvent>>,
    destination: Option<Destination>,
}

/// Where the CloudWatch Logs copy goes.
struct Destination {
    logs: Logs,
    group: String,
    stream: String,
}

/// How often the pending lines are sent.
const SEND_EVERY: Duration = Duration::from_secs(1);

impl FunctionLogs {
    /// The logs of one environment of `function`: appended to `file`, and sent (when `sent_with` holds the
    /// function's credentials and `config` the local cloud) to `/aws/lambda/<function>`.
    pub fn open(
        function: &str,
        file: &Path,
        sent_with: Option<(&aws_config::SdkConfig, &Credentials)>,
    ) -> std::io::Result<Arc<FunctionLogs>> {
        if let Some(folder) = file.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
        let destination = sent_with.map(|(config, credentials)| {
            let config = config
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(credentials.clone()))
                .build();
            Destination {
                logs: Logs::new(&config),
                group: format!("/aws/lambda/{function}"),
                stream: stream_name(),
            }
        });
        Ok(Arc::new(FunctionLogs {
            file: Mutex::new(file),
            pending: Mutex::new(Vec::new()),
            destination,
        }))
    }

    /// The log stream's name, as the function's `AWS_LAMBDA_LOG_STREAM_NAME` says it.
    pub fn stream(&self) -> Option<&str> {
        self.destination.as_ref().map(|d| d.stream.as_str())
    }

    /// One line: to the file at once, to CloudWatch Logs with the next send.
    pub fn line(&self, text: &str) {
        if let Ok(mut file) = self.file.lock() {
            let _ = writeln!(file, "{text}");
        }
        if self.destination.is_some() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as i64;
            let event = LogEvent {
                timestamp: now,
                message: text.to_owned(),
            };
            self.pending.lock().expect("not poisoned").push(event);
        }
    }

    /// Copies each line `output` prints into the logs, until it closes.
    pub fn follow(self: &Arc<Self>, output: impl AsyncRead + Unpin + Send + 'static) {
        let logs = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(output).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                logs.line(&line);
            }
        });
    }

    /// Creates the log group (if missing) and the environment's stream, then sends the pending lines every
    /// [`SEND_EVERY`] until the environment is gone (the last `Arc` dropped). A refusal (no permission) is not
    /// retried: Lambda then writes nothing for this environment, and the gateway's access report says why.
    pub fn start_sending(self: &Arc<Self>) {
        if self.destination.is_none() {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let Some(logs) = weak.upgrade() else { return };
            let Some(destination) = &logs.destination else { return };
            if !create(destination).await {
                logs.pending.lock().expect("not poisoned").clear();
                return;
            }
            drop(logs);
            loop {
                tokio::time::sleep(SEND_EVERY).await;
                let Some(logs) = weak.upgrade() else { return };
                if !logs.send().await {
                    return;
                }
            }
        });
    }

    /// Sends the pending lines; `false` when CloudWatch Logs refused them.
    async fn send(&self) -> bool {
        let Some(destination) = &self.destination else {
            return true;
        };
        let events: Vec<LogEvent> = std::mem::take(&mut *self.pending.lock().expect("not poisoned"));
        if events.is_empty() {
            return true;
        }
        let (group, stream) = (&destination.group, &destination.stream);
        destination.logs.put_log_events(group, stream, &events).await.is_ok()
    }
}

/// The group (unless it exists) and the stream; `false` when either was refused.
async fn create(destination: &Destination) -> bool {
    let group_ok = match destination.logs.create_log_group(&destination.group).await {
        Ok(()) => true,
        Err(error) => error.is("ResourceAlreadyExistsException"),
    };
    group_ok
        && destination
            .logs
            .create_log_stream(&destination.group, &destination.stream)
            .await
            .is_ok()
}

/// `2026/12/06/[$LATEST]<32 hex digits>`, as Lambda names an environment's stream.
fn stream_name() -> String {
    format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::new_v4().simple()
    )
}
