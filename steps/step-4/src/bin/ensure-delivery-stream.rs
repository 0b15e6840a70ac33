//! Sets up the delivery of step 4: the bucket, the role Firehose acts with, and the delivery stream from the
//! stream (made by step 1's `ensure-stream`) into the bucket. Safe to run again: what exists is left as it is.
//!
//! Each setting comes from an option, else from an environment variable, else from its default (`--help` lists
//! them). Given `--stream-arn` the stream is not looked up; given `--role-arn` that role is used as it is. The AWS
//! endpoint, region and credentials come from the standard AWS configuration.

use delivery::{
    BUCKET_NAME_PREFIX, Buffering, DELIVERY_STREAM_NAME, ROLE_NAME, STREAM_NAME, arn_field, ensure_bucket,
    ensure_delivery_stream, ensure_firehose_role, kinesis_error, telemetric_delivery,
};
use std::collections::BTreeMap;
use std::process::ExitCode;

/// (option, environment variable, what it is and its default).
const OPTIONS: [(&str, &str, &str); 9] = [
    (
        "--stream",
        "STREAM_NAME",
        "the Kinesis stream to read [TelemetricStream]",
    ),
    (
        "--stream-arn",
        "STREAM_ARN",
        "the same, by ARN (then it is not looked up)",
    ),
    (
        "--bucket",
        "BUCKET",
        "the bucket to write into [kinesis-lab-telemetry-<account id>]",
    ),
    (
        "--role",
        "FIREHOSE_ROLE_NAME",
        "the role Firehose acts with [TelemetricDeliveryRole]",
    ),
    ("--role-arn", "ROLE_ARN", "an existing role to use as it is, by ARN"),
    (
        "--delivery-stream",
        "DELIVERY_STREAM_NAME",
        "the delivery stream's name [TelemetricDelivery]",
    ),
    (
        "--prefix",
        "PREFIX",
        "where objects go [telemetry/!{timestamp:yyyy/MM/dd/HH}/]",
    ),
    (
        "--buffer-seconds",
        "BUFFER_INTERVAL_SECONDS",
        "write an object at least this often [60]",
    ),
    (
        "--buffer-mib",
        "BUFFER_SIZE_MIB",
        "write an object when this many MiB are buffered [1]",
    ),
];

fn usage() -> String {
    let mut text = "usage: ensure-delivery-stream [OPTION VALUE]...\n".to_owned();
    for (option, variable, what) in OPTIONS {
        text.push_str(&format!("  {option:<17} ${variable:<24} {what}\n"));
    }
    text
}

/// The settings given, by option name: from the command line, else from the environment (`variable`).
fn settings(
    args: impl IntoIterator<Item = String>,
    variable: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<&'static str, String>, String> {
    let mut values = BTreeMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let Some((option, ..)) = OPTIONS.iter().find(|(option, ..)| *option == name) else {
            return Err(format!("unknown argument {name:?}\n{}", usage()));
        };
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{name} needs a value"))?;
        values.insert(*option, value);
    }
    for (option, name, _) in OPTIONS {
        if let Some(value) = variable(name).filter(|value| !value.trim().is_empty()) {
            values.entry(option).or_insert(value);
        }
    }
    Ok(values)
}

fn number(values: &BTreeMap<&str, String>, option: &str, default: i32) -> Result<i32, String> {
    values.get(option).map_or(Ok(default), |value| {
        value
            .trim()
            .parse()
            .map_err(|_| format!("{option}: {value:?} is not a whole number"))
    })
}

/// S3 on the local cloud needs path-style addressing (`http://127.0.0.1:PORT/bucket/key`); real AWS prefers the
/// bucket in the host name. A custom endpoint means an emulator.
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        print!("{}", usage());
        return Ok(());
    }
    let mut values = settings(std::env::args().skip(1), |name| std::env::var(name).ok())?;
    let interval_seconds = number(&values, "--buffer-seconds", 60)?;
    let size_mib = number(&values, "--buffer-mib", 1)?;
    let config = aws_config::load_from_env().await;

    let stream_arn = match values.remove("--stream-arn") {
        Some(arn) => arn,
        None => {
            let stream = values.remove("--stream").unwrap_or_else(|| STREAM_NAME.to_owned());
            let kinesis = aws_sdk_kinesis::Client::new(&config);
            match kinesis.describe_stream_summary().stream_name(&stream).send().await {
                Ok(output) => output.stream_description_summary.map(|summary| summary.stream_arn),
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    None
                }
                Err(error) => return Err(kinesis_error(error).into()),
            }
            .ok_or_else(|| format!("the stream {stream} does not exist: make it first (step 1's `ensure-stream`)"))?
        }
    };

    let bucket = values
        .remove("--bucket")
        .unwrap_or_else(|| format!("{BUCKET_NAME_PREFIX}-{}", arn_field(&stream_arn, 4)));
    ensure_bucket(&s3_client(&config), &bucket).await?;

    let role_arn = match values.remove("--role-arn") {
        Some(arn) => arn,
        None => {
            let role = values.remove("--role").unwrap_or_else(|| ROLE_NAME.to_owned());
            let iam = aws_sdk_iam::Client::new(&config);
            ensure_firehose_role(&iam, &role, &stream_arn, &bucket).await?
        }
    };

    let mut definition = telemetric_delivery(&stream_arn, &bucket, &role_arn);
    definition.name = values
        .remove("--delivery-stream")
        .unwrap_or_else(|| DELIVERY_STREAM_NAME.to_owned());
    if let Some(prefix) = values.remove("--prefix") {
        definition.prefix = prefix;
    }
    definition.buffering = Buffering {
        size_mib,
        interval_seconds,
    };

    let firehose = aws_sdk_firehose::Client::new(&config);
    let description = ensure_delivery_stream(&firehose, &definition).await?;
    println!(
        "{} is {}: {}",
        description.delivery_stream_name, description.delivery_stream_status, description.delivery_stream_arn
    );
    // What AWS says, which is what an existing delivery stream does even if this run asked for something else.
    let source = description
        .source
        .as_ref()
        .and_then(|source| source.kinesis_stream_source_description());
    if let Some(stream_arn) = source.and_then(|source| source.kinesis_stream_arn()) {
        println!("  reads   {stream_arn}");
    }
    let destination = description.destinations.first();
    if let Some(s3) = destination.and_then(|destination| destination.extended_s3_destination_description.as_ref()) {
        let hints = s3.buffering_hints.as_ref();
        println!(
            "  writes  {}/{} every {} s or {} MiB",
            s3.bucket_arn,
            s3.prefix.as_deref().unwrap_or(""),
            hints.and_then(|hints| hints.interval_in_seconds).unwrap_or_default(),
            hints.and_then(|hints| hints.size_in_mbs).unwrap_or_default()
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn given(args: &[&str], environment: &[(&str, &str)]) -> Result<BTreeMap<&'static str, String>, String> {
        let environment: BTreeMap<String, String> = environment
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        settings(args.iter().map(|arg| arg.to_string()), |name| {
            environment.get(name).cloned()
        })
    }

    #[test]
    fn a_setting_comes_from_its_option_else_its_environment_variable() {
        let values = given(
            &["--stream", "a", "--bucket=b"],
            &[("STREAM_NAME", "ignored"), ("PREFIX", "p/"), ("BUFFER_SIZE_MIB", " ")],
        )
        .unwrap();
        let expected = BTreeMap::from([
            ("--bucket", "b".to_owned()),
            ("--prefix", "p/".to_owned()),
            ("--stream", "a".to_owned()),
        ]);
        assert_eq!(values, expected, "the option wins; a blank variable is not set");
        assert!(given(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn a_bad_argument_is_refused_with_what_is_accepted() {
        let unknown = given(&["--strem", "a"], &[]).unwrap_err();
        assert!(
            unknown.starts_with("unknown argument \"--strem\"\nusage: ensure-delivery-stream"),
            "{unknown}"
        );
        assert_eq!(given(&["--bucket"], &[]).unwrap_err(), "--bucket needs a value");
        let values = BTreeMap::from([
            ("--buffer-mib", "two".to_owned()),
            ("--buffer-seconds", " 5 ".to_owned()),
        ]);
        assert_eq!(number(&values, "--buffer-seconds", 60), Ok(5));
        assert_eq!(number(&values, "--prefix", 60), Ok(60), "the default when not given");
        assert_eq!(
            number(&values, "--buffer-mib", 1),
            Err("--buffer-mib: \"two\" is not a whole number".to_owned())
        );
    }

    #[test]
    fn usage_lists_every_option_with_its_variable() {
        let usage = usage();
        assert!(usage.starts_with("usage: ensure-delivery-stream [OPTION VALUE]...\n"));
        for (option, variable, what) in OPTIONS {
            let line = format!("  {option:<17} ${variable:<24} {what}\n");
            assert!(usage.contains(&line), "{line:?} in {usage}");
        }
    }
}
