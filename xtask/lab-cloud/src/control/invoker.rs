//! Invoking a deployed function: by Lambda in AWS, by the local Lambda host locally; and what shows that a mapped
//! function processes its batches.

use anyhow::{Result, bail};
use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::SystemTime;

use crate::aws::ErrorContext;
use crate::runtime::lambda_host::{LambdaHost, Outcome, function_spec};
use crate::stages::PRODUCER_TIMEOUT_SECONDS;

/// How a deployed function is invoked: by Lambda in AWS, or by the local Lambda host (moto keeps the function's
/// configuration; the executable the deploy installed runs here).
pub enum Invoker {
    Aws(aws_sdk_lambda::Client),
    Local {
        lambda: aws_sdk_lambda::Client,
        host: LambdaHost,
        functions: PathBuf,
        logs: PathBuf,
        environment: Vec<(String, String)>,
    },
}

impl Invoker {
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value> {
        match self {
            Invoker::Aws(lambda) => {
                let output = lambda
                    .invoke()
                    .function_name(function)
                    .payload(Blob::new(serde_json::to_vec(payload)?))
                    .send()
                    .await
                    .context_chain(format!("invoking {function}"))?;
                let body: Value = output
                    .payload
                    .as_ref()
                    .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                    .unwrap_or(Value::Null);
                if let Some(error) = output.function_error {
                    bail!("{function} failed ({error}): {body}");
                }
                Ok(body)
            }
            Invoker::Local {
                lambda,
                host,
                functions,
                logs,
                environment,
            } => {
                let spec = function_spec(lambda, function, functions, logs, environment).await?;
                match host.invoke(&spec, payload).await {
                    Outcome::Response(body) => Ok(body),
                    other => {
                        let (error_type, message) = other.error().unwrap_or_default();
                        bail!(
                            "{function} failed ({error_type}): {message}; its log: {}",
                            spec.log_file.display()
                        )
                    }
                }
            }
        }
    }

    /// What shows that a mapped function processes its batches. Locally: its log was written since `since`. In AWS
    /// (whose logs are in CloudWatch): its mapping's LastProcessingResult, the result of its latest batch — a
    /// statement about the latest batch, which may or may not hold records put since `since`.
    pub async fn batches(&self, function: &str, since: SystemTime) -> Result<Batches> {
        match self {
            Invoker::Aws(lambda) => {
                let mappings = lambda
                    .list_event_source_mappings()
                    .function_name(function)
                    .send()
                    .await?;
                let results: Vec<Option<&str>> = mappings
                    .event_source_mappings()
                    .iter()
                    .map(|m| m.last_processing_result())
                    .collect();
                Ok(Batches::from_last_processing_results(&results))
            }
            Invoker::Local { logs, .. } => {
                let ran = std::fs::metadata(logs.join(format!("{function}.log")))
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified >= since);
                Ok(if ran {
                    Batches::Processed
                } else {
                    Batches::NotProcessed("no invocation since the records were put".into())
                })
            }
        }
    }
}

/// The producer's request (step 2's `Request`): `records` at `per_second`, with time to spare but within the
/// function's timeout (so it stops by itself, having made them all, rather than at its deadline).
pub fn producer_request(records: u64, per_second: u64) -> Value {
    // Step 2 takes 1 to 10,000 records a second (`MAX_RECORDS_PER_SECOND`).
    let per_second = per_second.clamp(1, 10_000);
    let longest = PRODUCER_TIMEOUT_SECONDS as u64 - 20;
    json!({
        "records_per_second": per_second,
        "max_records": records,
        "max_seconds": (records / per_second + 30).min(longest),
    })
}

/// What a mapped function's batches show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batches {
    Processed,
    /// A new mapping in AWS that has not read a batch yet: "it may take several minutes to start polling events
    /// from the stream" (<https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>, "Polling and stream
    /// starting positions"). Not a failure; the check can be run again.
    NotPollingYet,
    NotProcessed(String),
}

impl Batches {
    /// From the LastProcessingResult of the function's mappings: `OK` for one is enough; none yet (absent, or
    /// Lambda's initial "No records processed") is a mapping that has not polled yet; anything else (`PROBLEM: ...`)
    /// is a batch that was not processed.
    pub fn from_last_processing_results(results: &[Option<&str>]) -> Batches {
        if results.contains(&Some("OK")) {
            return Batches::Processed;
        }
        match results.iter().flatten().find(|r| **r != "No records processed") {
            Some(problem) => Batches::NotProcessed((*problem).to_owned()),
            None => Batches::NotPollingYet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_that_has_not_polled_yet_is_not_yet_rather_than_failed() {
        use Batches::*;
        assert_eq!(Batches::from_last_processing_results(&[]), NotPollingYet);
        assert_eq!(Batches::from_last_processing_results(&[None]), NotPollingYet);
        assert_eq!(
            Batches::from_last_processing_results(&[Some("No records processed")]),
            NotPollingYet
        );
        assert_eq!(
            Batches::from_last_processing_results(&[Some("No records processed"), Some("OK")]),
            Processed
        );
        let problem = "PROBLEM: Function call failed";
        assert_eq!(
            Batches::from_last_processing_results(&[Some(problem)]),
            NotProcessed(problem.to_owned())
        );
    }
}
