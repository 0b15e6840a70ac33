//! The lab's producer, run until it has made the records it was asked for.
//!
//! Step 2's producer stops at the first call that fails as a whole (its SDK retries used up within
//! `OPERATION_TIMEOUT`): in AWS a scheduled producer is simply invoked again by its next schedule. The local cloud is a
//! Python emulator sharing the learner's two cores with an IDE, a browser or a build, and there a `PutRecords` that
//! AWS answers in milliseconds can take longer than the producer's 1.5 s (measured: with three busy processes beside
//! it, a 20,000-record lab run stopped after 9,491 records on "operation timeout … after 1.5s"). So the lab does what
//! the schedule would, and what a producer that meets timeouts should: it invokes the producer again for the records
//! not yet made, at half the rate (the emulator's reads and writes compete for the same core), and says so in the
//! summary. Only a failure that says the cloud was slow or briefly unavailable is retried this way; any other (the
//! stream missing, access denied, a bug) ends the run with its reason.

use serde_json::{Map, Value, json};

use crate::runtime::lambda_host::{FunctionSpec, LambdaHost, Outcome};

/// How often the lab invokes the producer again after a transient stop, at most.
pub const MAX_RESTARTS: usize = 5;

/// The lowest rate a restart slows the producer to.
pub const SLOWEST_RECORDS_PER_SECOND: u64 = 100;

/// What the producer reports as a whole-call failure's code when the cloud was slow or briefly unreachable, and the
/// per-record codes Kinesis refuses entries with: a run whose every error is one of these may go on.
const TRANSIENT: &[&str] = &[
    "Timeout",
    "DispatchFailure",
    "InternalFailure",
    "ServiceUnavailable",
    "ProvisionedThroughputExceededException",
];

/// Why a producer's report allows another invocation: it stopped on a failed call, and every error it counted is
/// transient. `None` when it did not stop on an error, or stopped on one that another invocation would meet again.
pub fn transient_stop(report: &Value) -> Option<String> {
    if report["stopped"] != "error" {
        return None;
    }
    let errors = report["errors"].as_object()?;
    if errors.is_empty() || !errors.keys().all(|code| TRANSIENT.contains(&code.as_str())) {
        return None;
    }
    Some(report["error"].as_str().unwrap_or("a call failed").to_owned())
}

/// The records an invocation made: those it wrote and those it gave up on.
fn made(report: &Value) -> u64 {
    report["sent"].as_u64().unwrap_or(0) + report["failed"].as_u64().unwrap_or(0)
}

/// The reports of several invocations as one: counts added up, errors merged, the last one's stop and error, and
/// `invocations` and `restarts` (the reason of each invocation that was followed by another).
pub fn combine(reports: &[Value]) -> Value {
    let sum = |field: &str| reports.iter().map(|r| r[field].as_u64().unwrap_or(0)).sum::<u64>();
    let mut errors = Map::new();
    for report in reports {
        for (code, count) in report["errors"].as_object().into_iter().flatten() {
            let total = errors.get(code).and_then(Value::as_u64).unwrap_or(0) + count.as_u64().unwrap_or(0);
            errors.insert(code.clone(), json!(total));
        }
    }
    let last = reports.last().cloned().unwrap_or(Value::Null);
    let restarts: Vec<String> = reports[..reports.len().saturating_sub(1)]
        .iter()
        .map(|report| transient_stop(report).unwrap_or_default())
        .collect();
    json!({
        "sent": sum("sent"),
        "retried": sum("retried"),
        "failed": sum("failed"),
        "calls": sum("calls"),
        "elapsed_ms": sum("elapsed_ms"),
        "errors": errors,
        "error": last["error"],
        "stopped": last["stopped"],
        "invocations": reports.len(),
        "restarts": restarts,
    })
}

/// Invokes the producer with `request` (whose `max_records` it must make), and again for the rest, at half the rate,
/// while it stops on a transient failure, at most [`MAX_RESTARTS`] times. The outcome is the last invocation's when
/// it did not answer, else the reports [`combine`]d. `max_seconds_for(records, rate)` gives the next invocation's
/// `max_seconds`.
pub async fn until_done(
    host: &LambdaHost,
    producer: &FunctionSpec,
    request: &Value,
    max_seconds_for: impl Fn(u64, u64) -> u64,
) -> Outcome {
    let wanted = request["max_records"].as_u64().unwrap_or(0);
    let mut reports: Vec<Value> = vec![];
    let mut next = request.clone();
    loop {
        let report = match host.invoke(producer, &next).await {
            Outcome::Response(report) => report,
            other => return other,
        };
        let reason = transient_stop(&report);
        reports.push(report);
        let left = wanted.saturating_sub(reports.iter().map(made).sum());
        let Some(reason) = reason else { break };
        if left == 0 || reports.len() > MAX_RESTARTS {
            break;
        }
        let rate = next["records_per_second"]
            .as_u64()
            .unwrap_or(SLOWEST_RECORDS_PER_SECOND);
        let slower = (rate / 2).max(SLOWEST_RECORDS_PER_SECOND);
        eprintln!(
            "\nlab: the producer stopped on a transient failure ({reason}); invoking it again for the {left} records \
             it has not made, at {slower} records/s instead of {rate}, as its next scheduled run would"
        );
        next["max_records"] = json!(left);
        next["records_per_second"] = json!(slower);
        next["max_seconds"] = json!(max_seconds_for(left, slower));
    }
    Outcome::Response(combine(&reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sent: u64, failed: u64, stopped: &str, errors: Value) -> Value {
        json!({"sent": sent, "retried": 0, "failed": failed, "calls": 1, "elapsed_ms": 10,
               "errors": errors, "error": if stopped == "error" { json!("PutRecords failed: timed out") } else { Value::Null },
               "stopped": stopped})
    }

    #[test]
    fn a_stop_on_a_timed_out_call_may_be_followed_by_another_invocation() {
        let timed_out = report(9_000, 500, "error", json!({"Timeout": 500}));
        assert_eq!(
            transient_stop(&timed_out).as_deref(),
            Some("PutRecords failed: timed out")
        );
        let throttled_then_5xx = report(
            10,
            20,
            "error",
            json!({"ServiceUnavailable": 10, "ProvisionedThroughputExceededException": 10}),
        );
        assert!(transient_stop(&throttled_then_5xx).is_some());
    }

    #[test]
    fn a_stop_that_another_invocation_would_meet_again_is_final() {
        let missing = report(0, 500, "error", json!({"ResourceNotFoundException": 500}));
        assert_eq!(transient_stop(&missing), None);
        let mixed = report(0, 500, "error", json!({"Timeout": 1, "AccessDeniedException": 499}));
        assert_eq!(transient_stop(&mixed), None);
        let done = report(500, 0, "max_records", json!({}));
        assert_eq!(transient_stop(&done), None);
    }

    #[test]
    fn combined_reports_add_up_and_keep_the_last_stop_and_each_restart_reason() {
        let first = report(9_000, 500, "error", json!({"Timeout": 500}));
        let second = report(
            10_500,
            0,
            "max_records",
            json!({"ProvisionedThroughputExceededException": 0}),
        );
        let combined = combine(&[first, second]);
        assert_eq!(combined["sent"], 19_500);
        assert_eq!(combined["failed"], 500);
        assert_eq!(combined["calls"], 2);
        assert_eq!(combined["stopped"], "max_records");
        assert_eq!(combined["error"], Value::Null);
        assert_eq!(combined["invocations"], 2);
        assert_eq!(combined["restarts"], json!(["PutRecords failed: timed out"]));
        assert_eq!(
            combined["errors"],
            json!({"Timeout": 500, "ProvisionedThroughputExceededException": 0})
        );
    }
}
