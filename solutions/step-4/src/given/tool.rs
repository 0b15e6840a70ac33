//! The settings of the `ensure-delivery-stream` tool (`src/bin/ensure-delivery-stream.rs`), which the local cloud's
//! deploy runs: each comes from an option, else from an environment variable, else from its default (`--help`
//! lists them). The deploy writes the variables (`xtask/lab-cloud/src/control/tools.rs`); the names here are that
//! contract. Also the stream's lookup, the S3 client, and what the tool prints.

use super::bucket::arn_field;
use super::errors::kinesis_error;
use crate::{BUCKET_NAME_PREFIX, Compression, DELIVERY_STREAM_NAME, DeliveryDefinition, ROLE_NAME, STREAM_NAME};
use aws_sdk_firehose::types::DeliveryStreamDescription;
use std::collections::BTreeMap;
use std::error::Error;

/// (option, environment variable, what it is and its default).
pub const OPTIONS: [(&str, &str, &str); 10] = [
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
    ("--prefix", "PREFIX", "where objects go [your definition's]"),
    (
        "--buffer-seconds",
        "BUFFER_INTERVAL_SECONDS",
        "write an object at least this often [your definition's]",
    ),
    (
        "--buffer-mib",
        "BUFFER_SIZE_MIB",
        "write an object when this many MiB are buffered [your definition's]",
    ),
    (
        "--compression",
        "COMPRESSION",
        "UNCOMPRESSED, GZIP, Snappy or HADOOP_SNAPPY [your definition's]",
    ),
];

pub fn usage() -> String {
    let mut text = "usage: ensure-delivery-stream [OPTION VALUE]...\n".to_owned();
    for (option, variable, what) in OPTIONS {
        text.push_str(&format!("  {option:<17} ${variable:<24} {what}\n"));
    }
    text
}

/// Whether the arguments (without the program's name) ask for the usage, anywhere among them.
pub fn wants_help(args: &[String]) -> bool {
    args.iter().any(|arg| arg == "--help" || arg == "-h")
}

/// What the tool was asked to set up, each setting resolved to its option, its variable or its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The stream's name, looked up unless `stream_arn` is given.
    pub stream: String,
    pub stream_arn: Option<String>,
    /// `None`: the workshop's bucket of the stream's account ([`Settings::bucket_name`]).
    pub bucket: Option<String>,
    /// The role to make (or bring in line), unless `role_arn` names one to use as it is.
    pub role: String,
    pub role_arn: Option<String>,
    pub delivery_stream: String,
    /// What replaces the definition's choices, when given.
    pub prefix: Option<String>,
    pub interval_seconds: Option<i32>,
    pub size_mib: Option<i32>,
    pub compression: Option<Compression>,
}

impl Settings {
    /// Reads the settings from the arguments (without the program's name) and the environment (`variable`).
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let mut values = settings(args, variable)?;
        let interval_seconds = number(&values, "--buffer-seconds")?;
        let size_mib = number(&values, "--buffer-mib")?;
        let compression = values.get("--compression").map(|value| Compression::parse(value));
        let compression = compression.transpose().map_err(|why| format!("--compression: {why}"))?;
        let mut take = |option: &str| values.remove(option);
        Ok(Settings {
            stream: take("--stream").unwrap_or_else(|| STREAM_NAME.to_owned()),
            stream_arn: take("--stream-arn"),
            bucket: take("--bucket"),
            role: take("--role").unwrap_or_else(|| ROLE_NAME.to_owned()),
            role_arn: take("--role-arn"),
            delivery_stream: take("--delivery-stream").unwrap_or_else(|| DELIVERY_STREAM_NAME.to_owned()),
            prefix: take("--prefix"),
            interval_seconds,
            size_mib,
            compression,
        })
    }

    /// The bucket given, else `kinesis-lab-telemetry-<account id>`, the account being the stream's.
    pub fn bucket_name(&self, stream_arn: &str) -> String {
        self.bucket
            .clone()
            .unwrap_or_else(|| format!("{BUCKET_NAME_PREFIX}-{}", arn_field(stream_arn, 4)))
    }

    /// Your delivery stream (`telemetric_delivery`) with this run's name, and what the run replaces of your choices.
    pub fn definition(&self, stream_arn: &str, bucket: &str, role_arn: &str) -> DeliveryDefinition {
        let mut definition = crate::telemetric_delivery(stream_arn, bucket, role_arn);
        definition.name = self.delivery_stream.clone();
        if let Some(prefix) = &self.prefix {
            definition.prefix = prefix.clone();
        }
        let buffering = &mut definition.buffering;
        buffering.interval_seconds = self.interval_seconds.unwrap_or(buffering.interval_seconds);
        buffering.size_mib = self.size_mib.unwrap_or(buffering.size_mib);
        definition.compression = self.compression.unwrap_or(definition.compression);
        definition
    }
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
        if let Some(value) = support::non_blank(&variable, name) {
            values.entry(option).or_insert(value);
        }
    }
    Ok(values)
}

fn number(values: &BTreeMap<&str, String>, option: &str) -> Result<Option<i32>, String> {
    let parse = |value: &String| {
        value
            .trim()
            .parse()
            .map_err(|_| format!("{option}: {value:?} is not a whole number"))
    };
    values.get(option).map(parse).transpose()
}

/// The stream's ARN, looked up by its name. A stream Kinesis does not know is named as missing, with what makes
/// it; any other failure (no connection, no permission) is reported as it is, for a missing stream would be the
/// wrong advice.
pub async fn look_up_stream(kinesis: &aws_sdk_kinesis::Client, stream: &str) -> Result<String, Box<dyn Error>> {
    match kinesis.describe_stream_summary().stream_name(stream).send().await {
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
    .ok_or_else(|| format!("the stream {stream} does not exist: make it first (step 1's `ensure-stream`)").into())
}

/// S3 on the local cloud needs path-style addressing (`http://127.0.0.1:PORT/bucket/key`); real AWS prefers the
/// bucket in the host name. A custom endpoint means an emulator.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// What the tool prints about the delivery stream: what AWS says, which is what an existing delivery stream does
/// even if this run asked for something else.
pub fn summary(description: &DeliveryStreamDescription) -> String {
    let mut text = format!(
        "{} is {}: {}\n",
        description.delivery_stream_name, description.delivery_stream_status, description.delivery_stream_arn
    );
    let source = description
        .source
        .as_ref()
        .and_then(|source| source.kinesis_stream_source_description());
    if let Some(stream_arn) = source.and_then(|source| source.kinesis_stream_arn()) {
        text.push_str(&format!("  reads   {stream_arn}\n"));
    }
    let destination = description.destinations.first();
    if let Some(s3) = destination.and_then(|destination| destination.extended_s3_destination_description.as_ref()) {
        let hints = s3.buffering_hints.as_ref();
        text.push_str(&format!(
            "  writes  {}/{} every {} s or {} MiB, {}\n",
            s3.bucket_arn,
            s3.prefix.as_deref().unwrap_or(""),
            hints.and_then(|hints| hints.interval_in_seconds).unwrap_or_default(),
            hints.and_then(|hints| hints.size_in_mbs).unwrap_or_default(),
            s3.compression_format
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_testkit::fake::{FakeAws, Reply};

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
        assert_eq!(number(&values, "--buffer-seconds"), Ok(Some(5)));
        assert_eq!(number(&values, "--prefix"), Ok(None), "the definition's when not given");
        assert_eq!(
            number(&values, "--buffer-mib"),
            Err("--buffer-mib: \"two\" is not a whole number".to_owned())
        );
        let zip = Settings::parse(["--compression".to_owned(), "ZIP".to_owned()], |_| None).unwrap_err();
        assert!(zip.starts_with("--compression: \"ZIP\" is not"), "{zip}");
    }

    #[test]
    fn usage_lists_every_option_with_its_variable() {
        let usage = usage();
        assert!(usage.starts_with("usage: ensure-delivery-stream [OPTION VALUE]...\n"));
        for (option, variable, what) in OPTIONS {
            let line = format!("  {option:<17} ${variable:<24} {what}\n");
            assert!(usage.contains(&line), "{line:?} in {usage}");
        }
        let args = |list: &[&str]| list.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
        assert!(wants_help(&args(&["--stream", "s", "-h"])) && wants_help(&args(&["--help"])));
        assert!(!wants_help(&args(&["--stream", "help"])));
    }

    #[test]
    fn each_setting_not_given_is_its_default() {
        let stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
        let defaults = Settings::parse([], |_| None).unwrap();
        assert_eq!(defaults.bucket_name(stream_arn), "kinesis-lab-telemetry-123456789012");
        let definition = defaults.definition(stream_arn, "b", "arn:aws:iam::123456789012:role/R");
        assert_eq!(
            definition,
            crate::telemetric_delivery(stream_arn, "b", "arn:aws:iam::123456789012:role/R")
        );
        assert_eq!(
            (defaults.stream.as_str(), defaults.role.as_str()),
            (STREAM_NAME, ROLE_NAME)
        );

        let environment = BTreeMap::from([("ROLE_ARN", "arn:r"), ("BUFFER_INTERVAL_SECONDS", "5")]);
        let args = [
            "--stream-arn=arn:s",
            "--bucket",
            "b",
            "--delivery-stream",
            "d",
            "--prefix",
            "p/",
        ];
        let given = Settings::parse(args.map(String::from), |name| {
            environment.get(name).map(|value| value.to_string())
        })
        .unwrap();
        assert_eq!(given.bucket_name(stream_arn), "b");
        assert_eq!(
            (given.stream_arn.as_deref(), given.role_arn.as_deref()),
            (Some("arn:s"), Some("arn:r"))
        );
        let definition = given.definition(stream_arn, "b", "arn:r");
        assert_eq!((definition.name.as_str(), definition.prefix.as_str()), ("d", "p/"));
        let yours = crate::telemetric_delivery(stream_arn, "b", "arn:r");
        let buffering = crate::Buffering {
            interval_seconds: 5,
            ..yours.buffering
        };
        assert_eq!(definition.buffering, buffering, "the interval replaced, the size yours");
        assert_eq!(definition.compression, yours.compression);
    }

    /// A Kinesis client whose calls `fake` answers (the SDK's own retries off, so each call is one request).
    fn fake_kinesis(fake: &FakeAws) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&lab_testkit::fake::config(fake))
    }

    #[tokio::test]
    async fn only_a_stream_kinesis_does_not_know_is_reported_missing() {
        let missing = FakeAws::new(|_| Reply::client_error("ResourceNotFoundException", "Stream S not found."));
        let error = look_up_stream(&fake_kinesis(&missing), "S")
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "the stream S does not exist: make it first (step 1's `ensure-stream`)"
        );

        // Any other failure is the failure: telling the learner to make a stream that exists would mislead them.
        let refused =
            FakeAws::new(|_| Reply::client_error("AccessDeniedException", "not authorized: kinesis:Describe"));
        let error = look_up_stream(&fake_kinesis(&refused), "S")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("Kinesis call failed") && error.contains("not authorized") && !error.contains("exist"),
            "{error}"
        );

        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/S";
        let found = FakeAws::new(move |_| {
            Reply::Output(serde_json::json!({"StreamDescriptionSummary": {
                "StreamName": "S", "StreamARN": arn, "StreamStatus": "ACTIVE", "RetentionPeriodHours": 24,
                "StreamCreationTimestamp": 1_795_774_500.0, "EnhancedMonitoring": [], "OpenShardCount": 1,
            }}))
        });
        assert_eq!(look_up_stream(&fake_kinesis(&found), "S").await.unwrap(), arn);
        assert_eq!(found.calls()[0].body["StreamName"], "S", "looked up by the name given");
    }
}
