//! `lab-cloud check-deployed`: stages 1..=STAGE of a learner's deployment checked with data through them.

mod watch;

use anyhow::Result;
use aws_config::SdkConfig;
use lab_contract::CheckDeployed;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::target::{check, default_seconds, invoker, naming};
use crate::aws::account;
use crate::aws::s3_client;
use crate::control::inventory::tags_map;
use crate::control::invoker::{Batches, Invoker, producer_request};
use crate::control::mapping::MappingSpec;
use crate::naming::{ANALYTICS_PREFIX, Naming};
use crate::readback::{DeliveredObject, DeliveryLayout, positions, stream_ids};
use crate::stages::{self, ANALYTICS, CONSUMER, PRODUCER};
use serde::Serialize;
use std::collections::HashSet;
use std::time::{Instant, SystemTime};

pub async fn run(config: &SdkConfig, state: &Path, args: CheckDeployed) -> Result<ExitCode> {
    check(&args.target, config)?;
    let naming = naming(&args.target)?;
    let invoker = invoker(&args.target, config, state);
    // Firehose and the windows are configured by the deploy: a minute on AWS, seconds locally.
    let seconds = u64::from(default_seconds(&args.target));
    let patience = Patience {
        first_poll: Duration::from_secs(if args.target.aws { 300 } else { 90 }),
        delivery: Duration::from_secs(seconds * 4 + 30),
        window: Duration::from_secs(seconds * 4 + 30),
        window_seconds: seconds as i32,
    };
    let checks = check_deployed(config, &naming, args.stage, &invoker, patience).await?;
    let count = |verdict: Verdict| checks.iter().filter(|c| c.verdict == verdict).count();
    let failed = count(Verdict::Failed);
    let not_yet = count(Verdict::NotYet);
    print!("deployed: {} passed, {failed} failed", count(Verdict::Passed));
    if not_yet > 0 {
        print!(", {not_yet} not polling yet (run the check again in a few minutes)");
    }
    println!();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The outcome of one check: a mapping that has not started polling yet is neither a pass nor a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    NotYet,
}

/// One check of a deployed stage.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub stage: u8,
    pub what: String,
    pub verdict: Verdict,
    pub detail: String,
}

/// The checks made so far, each printed as it is made.
#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn record(&mut self, stage: u8, what: &str, passed: bool, detail: String) {
        let verdict = if passed { Verdict::Passed } else { Verdict::Failed };
        self.add(stage, what, verdict, detail);
    }

    fn add(&mut self, stage: u8, what: &str, verdict: Verdict, detail: String) {
        let mark = match verdict {
            Verdict::Passed => "✓",
            Verdict::Failed => "✗",
            Verdict::NotYet => "…",
        };
        let detail_text = if detail.is_empty() {
            String::new()
        } else {
            format!(" — {detail}")
        };
        println!("{mark} stage {stage}: {what}{detail_text}");
        self.checks.push(Check {
            stage,
            what: what.to_owned(),
            verdict,
            detail,
        });
    }
}

/// How long `check --deployed` waits for Firehose and the windows (AWS buffers for a minute by default).
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// How long a new mapping may take to read its first batch (minutes in AWS, moments locally).
    pub first_poll: Duration,
    pub delivery: Duration,
    pub window: Duration,
    /// The tumbling window the deploy gave the analysis' mapping, in seconds.
    pub window_seconds: i32,
}

/// What every stage's checks need: the deployment's names, how to invoke, how long to wait.
struct Deployment<'a> {
    config: &'a SdkConfig,
    naming: &'a Naming,
    invoker: &'a Invoker,
    patience: Patience,
    bucket: String,
    lambda: aws_sdk_lambda::Client,
}

/// Checks stages 1..=stage of the learner's deployment for real: resources in the right state and settings, and
/// data through them — records produced and read back, consumed, delivered as NDJSON, analysed. A stage whose
/// resource is missing ends the checks.
pub async fn check_deployed(
    config: &SdkConfig,
    naming: &Naming,
    stage: u8,
    invoker: &Invoker,
    patience: Patience,
) -> Result<Vec<Check>> {
    let mut report = Report::default();
    let (account_id, region) = account(config).await?;
    let deployment = Deployment {
        config,
        naming,
        invoker,
        patience,
        bucket: naming.bucket(&account_id, &region),
        lambda: aws_sdk_lambda::Client::new(config),
    };
    let Some(stream_arn) = check_stream(&deployment, &mut report).await? else {
        return Ok(report.checks);
    };
    if stage < 2 {
        return Ok(report.checks);
    }
    let Some((since, produced)) = check_producer(&deployment, &mut report, &stream_arn).await? else {
        return Ok(report.checks);
    };
    if stage >= 3 {
        check_consumer(&deployment, &mut report, &stream_arn, since).await?;
    }
    if stage >= 4 && !check_delivery(&deployment, &mut report, &stream_arn, &produced).await? {
        return Ok(report.checks);
    }
    if stage >= 5 {
        check_analysis(&deployment, &mut report, &stream_arn, since).await?;
    }
    if stage >= 6 {
        watch::check_watch(&deployment, &mut report, &stream_arn).await?;
    }
    Ok(report.checks)
}

/// Stage 1: the stream, ACTIVE and tagged. Its ARN, when it exists.
async fn check_stream(deployment: &Deployment<'_>, report: &mut Report) -> Result<Option<String>> {
    let Deployment { config, naming, .. } = deployment;
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let stream = naming.stream();
    let summary = kinesis.describe_stream_summary().stream_name(&stream).send().await;
    let Some(summary) = summary.ok().and_then(|s| s.stream_description_summary) else {
        report.record(
            1,
            &format!("the stream {stream} exists"),
            false,
            "not found: deploy step-1 first".into(),
        );
        return Ok(None);
    };
    let stream_arn = summary.stream_arn.clone();
    report.record(
        1,
        "the stream is ACTIVE",
        summary.stream_status.as_str() == "ACTIVE",
        format!("{}, {} open shards", summary.stream_status, summary.open_shard_count),
    );
    let tags = kinesis.list_tags_for_stream().stream_name(&stream).send().await?;
    let tags = tags_map(tags.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default())));
    report.record(
        1,
        "the stream carries the workshop's tags",
        naming.owns("", &tags),
        format!("{tags:?}"),
    );
    Ok(Some(stream_arn))
}

/// Stage 2: the producer writes records that can be read back. When they were put, and their ids.
async fn check_producer(
    deployment: &Deployment<'_>,
    report: &mut Report,
    stream_arn: &str,
) -> Result<Option<(SystemTime, HashSet<String>)>> {
    let Deployment {
        config,
        naming,
        invoker,
        lambda,
        ..
    } = deployment;
    let stream = naming.stream();
    let producer = naming.function(PRODUCER);
    let configuration = lambda
        .get_function_configuration()
        .function_name(&producer)
        .send()
        .await;
    let Ok(configuration) = configuration else {
        report.record(
            2,
            &format!("the function {producer} exists"),
            false,
            "not found: deploy step-2".into(),
        );
        return Ok(None);
    };
    let target = configuration
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get("STREAM_NAME").cloned())
        .unwrap_or_default();
    report.record(
        2,
        "the producer writes to the stream",
        target == stream,
        format!("STREAM_NAME={target}"),
    );
    let since = SystemTime::now() - Duration::from_secs(2);
    let records = 50;
    let answer = invoker.invoke(&producer, &producer_request(records, records)).await;
    let sent = answer.as_ref().ok().and_then(|r| r["sent"].as_u64()).unwrap_or(0);
    report.record(
        2,
        &format!("the producer, invoked, sends {records} records"),
        sent == records,
        match &answer {
            Ok(answer) => answer.to_string(),
            Err(error) => format!("{error:#}"),
        },
    );
    let produced = stream_ids(config, stream_arn, Some(since), usize::MAX).await?;
    report.record(
        2,
        "they are read back from the stream",
        produced.len() as u64 >= sent && sent > 0,
        format!("{} records since the invocation", produced.len()),
    );
    Ok(Some((since, produced)))
}

/// Stage 3: the consumer's mapping, enabled with the right settings, and the consumer running.
async fn check_consumer(
    deployment: &Deployment<'_>,
    report: &mut Report,
    stream_arn: &str,
    since: SystemTime,
) -> Result<()> {
    let Deployment {
        naming,
        invoker,
        patience,
        bucket,
        lambda,
        ..
    } = deployment;
    let consumer = naming.function(CONSUMER);
    let expected = expected_mapping(CONSUMER, bucket, patience.window_seconds);
    check_mapping(lambda, report, 3, &consumer, stream_arn, &expected).await?;
    let batches = wait_for_batches(invoker, &consumer, since, patience.first_poll).await;
    let what = match invoker {
        Invoker::Aws(_) => "the consumer's latest batch was processed OK (its mapping's LastProcessingResult)",
        Invoker::Local { .. } => "the consumer ran on the new records",
    };
    match batches {
        Batches::Processed => report.record(3, what, true, String::new()),
        Batches::NotPollingYet => report.add(
            3,
            what,
            Verdict::NotYet,
            format!(
                "not polling yet after {} s: a new mapping may take several minutes to start; check again soon",
                patience.first_poll.as_secs()
            ),
        ),
        Batches::NotProcessed(why) => report.record(3, what, false, why),
    }
    Ok(())
}

/// Stage 4: the delivery stream, and the records in S3 as NDJSON. Whether the delivery stream exists.
async fn check_delivery(
    deployment: &Deployment<'_>,
    report: &mut Report,
    stream_arn: &str,
    produced: &HashSet<String>,
) -> Result<bool> {
    let Deployment {
        config,
        naming,
        patience,
        bucket,
        ..
    } = deployment;
    let firehose = aws_sdk_firehose::Client::new(config);
    let delivery = firehose
        .describe_delivery_stream()
        .delivery_stream_name(naming.delivery_stream())
        .send()
        .await
        .ok()
        .and_then(|d| d.delivery_stream_description);
    let Some(delivery) = delivery else {
        report.record(
            4,
            "the delivery stream exists",
            false,
            "not found: deploy step-4".into(),
        );
        return Ok(false);
    };
    let source = delivery
        .source
        .as_ref()
        .and_then(|s| s.kinesis_stream_source_description())
        .and_then(|k| k.kinesis_stream_arn())
        .unwrap_or_default()
        .to_owned();
    report.record(
        4,
        "the delivery stream is ACTIVE and reads the stream",
        delivery.delivery_stream_status.as_str() == "ACTIVE" && source == stream_arn,
        format!("{}, source {source}", delivery.delivery_stream_status.as_str()),
    );
    // Read as the learner laid the objects out and compressed them (step 4's definition), as Firehose says.
    let Some(layout) = DeliveryLayout::describe(config, &naming.delivery_stream()).await? else {
        report.record(4, "the delivery stream writes to S3", false, "no S3 destination".into());
        return Ok(true);
    };
    let _ = bucket;
    let s3 = s3_client(config);
    let started = Instant::now();
    // The learner's interval decides how long the last records wait in Firehose's buffer.
    let patience_for_delivery = patience
        .delivery
        .max(Duration::from_secs(layout.interval_seconds.max(0) as u64 * 2 + 30));
    let found = loop {
        let found = Ndjson::read(&layout.objects(&s3).await.unwrap_or_default());
        if produced.iter().all(|id| found.delivered.contains(id)) || started.elapsed() > patience_for_delivery {
            break found;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    let missing = produced.iter().filter(|id| !found.delivered.contains(*id)).count();
    report.record(
        4,
        "every record read back is in S3, one JSON object per line",
        !produced.is_empty() && missing == 0 && found.is_clean(),
        format!(
            "{} records found, {missing} missing, {}",
            found.delivered.len(),
            found.findings()
        ),
    );
    Ok(true)
}

/// What the objects under Firehose's prefix hold, line by line.
#[derive(Debug, Default)]
struct Ndjson {
    /// The ids of the positions found.
    delivered: HashSet<String>,
    /// "key: line" for each line that is not a position.
    bad_lines: Vec<String>,
    /// Empty lines between records: the newline added twice, by the producer and by AppendDelimiterToRecord.
    blank_lines: usize,
}

impl Ndjson {
    fn read(objects: &[DeliveredObject]) -> Ndjson {
        let mut found = Ndjson::default();
        for object in objects {
            let key = &object.key;
            let body = match &object.text {
                Ok(body) => body,
                Err(why) => {
                    found.bad_lines.push(format!("{key}: {why}"));
                    continue;
                }
            };
            // `lines()` gives no empty line for the newline that ends the last record: only a doubled one counts.
            found.blank_lines += body.lines().filter(|line| line.trim().is_empty()).count();
            for position in positions(body) {
                match position {
                    Ok(id) => {
                        found.delivered.insert(id);
                    }
                    Err(line) => found.bad_lines.push(format!("{key}: {line}")),
                }
            }
        }
        found
    }

    fn is_clean(&self) -> bool {
        self.bad_lines.is_empty() && self.blank_lines == 0
    }

    fn findings(&self) -> String {
        let mut findings = format!("{} lines that are not a position", self.bad_lines.len());
        if self.blank_lines > 0 {
            findings.push_str(&format!(
                ", {} blank lines (a record's newline added twice: keep the delimiter in Firehose only)",
                self.blank_lines
            ));
        }
        findings
    }
}

/// Stage 5: the analysis' windowed mapping and its results.
async fn check_analysis(
    deployment: &Deployment<'_>,
    report: &mut Report,
    stream_arn: &str,
    since: SystemTime,
) -> Result<()> {
    let Deployment {
        config,
        naming,
        patience,
        bucket,
        lambda,
        ..
    } = deployment;
    let s3 = s3_client(config);
    let analytics = naming.function(ANALYTICS);
    let expected = expected_mapping(ANALYTICS, bucket, patience.window_seconds);
    check_mapping(lambda, report, 5, &analytics, stream_arn, &expected).await?;
    let started = Instant::now();
    let results = loop {
        let listing = s3
            .list_objects_v2()
            .bucket(bucket.as_str())
            .prefix(ANALYTICS_PREFIX)
            .send()
            .await;
        let results = listing.map_or(0, |o| {
            o.contents()
                .iter()
                .filter(|object| {
                    object
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok())
                        .is_some_and(|t| t >= since)
                })
                .count()
        });
        if results > 0 || started.elapsed() > patience.window {
            break results;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    report.record(
        5,
        "a window's result was written to S3",
        results > 0,
        format!("{results} new results"),
    );
    Ok(())
}

/// The settings the deploy gives a function's mapping, by the table of stages.
fn expected_mapping(function: &str, bucket: &str, window_seconds: i32) -> MappingSpec {
    let mapping = stages::function(function).mapping.expect("a mapped function");
    MappingSpec::of(mapping, bucket, window_seconds)
}

/// Waits up to `limit` for the function's batches to be processed; what they show then.
async fn wait_for_batches(invoker: &Invoker, function: &str, since: SystemTime, limit: Duration) -> Batches {
    let started = Instant::now();
    loop {
        let batches = invoker
            .batches(function, since)
            .await
            .unwrap_or_else(|error| Batches::NotProcessed(format!("{error:#}")));
        if batches == Batches::Processed || started.elapsed() > limit {
            return batches;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn check_mapping(
    lambda: &aws_sdk_lambda::Client,
    report: &mut Report,
    stage: u8,
    function: &str,
    stream_arn: &str,
    expected: &MappingSpec,
) -> Result<()> {
    let mut state = String::from("missing");
    let mut settings_match = false;
    // A new mapping is Creating for a moment, then Enabled.
    let started = Instant::now();
    while state != "Enabled" && started.elapsed() < Duration::from_secs(60) {
        let mapping = lambda
            .list_event_source_mappings()
            .function_name(function)
            .send()
            .await
            .ok()
            .and_then(|m| {
                m.event_source_mappings
                    .unwrap_or_default()
                    .into_iter()
                    .find(|m| m.event_source_arn() == Some(stream_arn))
            });
        if let Some(mapping) = mapping {
            state = mapping.state().unwrap_or("unknown").to_owned();
            settings_match = expected.matches(&mapping);
        }
        if state != "Enabled" {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    report.record(
        stage,
        &format!("the mapping of {function} is Enabled"),
        state == "Enabled",
        state,
    );
    report.record(stage, &settings_line(expected), settings_match, String::new());
    Ok(())
}

/// The check's line for a mapping's settings, in the words of its chapter. The consumer reports item failures; the
/// analysis reports none (a window's records are one state: it fails or succeeds whole), so its line does not
/// speak of them.
fn settings_line(expected: &MappingSpec) -> String {
    let settings = match expected.tumbling_window {
        None => format!(
            "batches of up to {}, item failures reported, bisect, finite retries and age, failed batches to the bucket",
            expected.batch_size
        ),
        Some(seconds) => format!(
            "tumbling windows of {seconds} s, batches of up to {}, bisect, finite retries and age",
            expected.batch_size
        ),
    };
    format!("the mapping has the settings of the chapter ({settings})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_objects_with_a_doubled_newline_are_not_ndjson() {
        let line = |id: &str| format!(r#"{{"id":"{id}","latitude":1.5,"longitude":2.5}}"#);
        let once = format!("{}\n{}\n", line("a"), line("b"));
        let twice = format!("{}\n\n{}\n\n", line("c"), line("d"));
        let object = |key: &str, text: &str| DeliveredObject {
            key: key.to_owned(),
            stored_bytes: text.len() as u64,
            text: Ok(text.to_owned()),
        };
        let clean = Ndjson::read(&[object("one", &once)]);
        assert!(clean.is_clean(), "{clean:?}");
        assert_eq!(clean.delivered.len(), 2);

        let doubled = Ndjson::read(&[object("one", &once), object("two", &twice)]);
        assert_eq!(doubled.delivered.len(), 4, "every record is still found");
        assert_eq!(
            doubled.blank_lines, 2,
            "one blank line after each record of the second object"
        );
        assert!(!doubled.is_clean());
        assert!(doubled.findings().contains("2 blank lines"), "{}", doubled.findings());
    }

    #[test]
    fn each_mappings_settings_line_names_what_its_function_does() {
        let consumer = settings_line(&MappingSpec::consumer("bucket"));
        assert!(consumer.contains("item failures reported"), "{consumer}");
        let analysis = settings_line(&MappingSpec::analytics(20));
        assert!(
            !analysis.contains("item failures"),
            "the analysis reports no item failures: {analysis}"
        );
        assert!(analysis.contains("tumbling windows of 20 s"), "{analysis}");
    }
}
