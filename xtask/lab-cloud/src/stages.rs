//! The one table of what each stage of the workshop deploys ([`STAGES`]), and the one vocabulary of the resources
//! it makes ([`ResourceKind`]). Deploy, plan, discover, destroy, status and the deployed checks read them; adding a
//! step that deploys something is an entry here (a test holds the table to `steps/steps.toml`).

use serde::Serialize;
use std::fmt;

/// The Lambda functions' names (prefixed by `Naming` for a learner).
pub const PRODUCER: &str = "produceKinesisEvents";
pub const CONSUMER: &str = "consumeKinesisEvents";
pub const ANALYTICS: &str = "analyzeKinesisEvents";
pub const SCALER: &str = "scaleKinesisStream";

/// The kinds of resource the workshop makes, in the order `destroy` removes them (users before what they use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ResourceKind {
    /// Step 6's alarms: first, so that none notifies a topic (and invokes a function) while the rest goes.
    #[serde(rename = "CloudWatch alarm")]
    Alarm,
    /// Step 6's SNS topic, its subscriptions deleted with it (`Unsubscribe` each, then `DeleteTopic`): before the
    /// functions they invoke.
    #[serde(rename = "SNS topic")]
    Topic,
    #[serde(rename = "event source mapping")]
    Mapping,
    #[serde(rename = "Lambda function")]
    Function,
    /// Made by Lambda, not by the deploy, at a function's first invocation: `/aws/lambda/<function>`. Deleted after
    /// the function, which would otherwise make it again.
    #[serde(rename = "CloudWatch log group")]
    LogGroup,
    #[serde(rename = "Firehose delivery stream")]
    DeliveryStream,
    #[serde(rename = "Kinesis stream")]
    Stream,
    #[serde(rename = "IAM role")]
    Role,
    #[serde(rename = "S3 bucket")]
    Bucket,
    /// The clean-up guard's one-time schedule (`control::guard`): removed with the guard, after everything else.
    #[serde(rename = "EventBridge schedule")]
    Schedule,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self).ok();
        write!(f, "{}", text.as_ref().and_then(|v| v.as_str()).unwrap_or("resource"))
    }
}

/// What one stage deploys, beyond the stages before it.
#[derive(Debug)]
pub struct Stage {
    pub number: u8,
    /// The step (`steps/steps.toml`'s `id`) whose code the stage runs.
    pub step: &'static str,
    /// The step's own tool that makes the stage's resource: step 1's `ensure-stream`, step 4's
    /// `ensure-delivery-stream` (run as processes, with the names in their environment: see `control::tools`).
    pub tool: Option<&'static str>,
    /// Whether the stage is the first to need the bucket.
    pub bucket: bool,
    /// Whether the stage makes step 6's watching resources: its alarms ([`ALARMS`]) and the topic they notify
    /// ([`SCALING_TOPIC`]), each tagged with `Naming::tags`.
    pub watch: bool,
    pub function: Option<FunctionStage>,
}

/// A stage's Lambda function: its code, role, settings and mapping.
#[derive(Debug)]
pub struct FunctionStage {
    /// The `[[bin]]` of the step (`steps/steps.toml`'s `lambda`), the executable or zip the deploy installs.
    pub binary: &'static str,
    pub name: &'static str,
    /// The role's piece of name (`Naming::role`).
    pub role: &'static str,
    /// Which of step 1's policy documents (`policies --json`) the role gets; `None`: a document of the stage's own
    /// statements ([`FunctionStage::iam_additions`]) and the function's logs, in step 1's shape (step 6's scaler:
    /// step 1 does not teach it).
    pub policy: Option<&'static str>,
    pub timeout_seconds: i32,
    pub mapping: Option<Mapping>,
    /// Statements the deploy adds to step 1's document (S3 access step 1 does not teach).
    pub iam_additions: &'static [Statement],
    /// The function's environment.
    pub environment: &'static [(&'static str, Setting)],
}

/// A function's event source mapping on the stream (settings in `control::deploy::MappingSpec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// Batches of up to 100, failed batches to the bucket.
    Consumer,
    /// Larger batches in tumbling windows.
    Analytics,
}

/// One statement added to a role's document.
#[derive(Debug)]
pub struct Statement {
    pub sid: &'static str,
    pub actions: &'static [&'static str],
    pub resource: Setting,
}

/// A value known only at deploy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    StreamName,
    Bucket,
    BucketArn,
    /// `arn:aws:s3:::<bucket>/*`
    BucketObjects,
    AnalyticsPrefix,
    /// `arn:aws:s3:::<bucket>/<analytics prefix>*`
    AnalyticsObjects,
    /// The stream's ARN.
    StreamArn,
    /// `*`: an action with no resource type (`kinesis:DescribeLimits`, the account's shard quota).
    AnyResource,
}

/// The step whose function a deployed function is: `name` is a stage's function name, or ends with one (a learner's
/// names carry a prefix, see `Naming`).
pub fn step_of_function(name: &str) -> Option<&'static str> {
    STAGES
        .iter()
        .find(|stage| stage.function.as_ref().is_some_and(|f| name.ends_with(f.name)))
        .map(|stage| stage.step)
}

/// The producer runs for minutes (it paces its writes), the longest of the three functions.
pub const PRODUCER_TIMEOUT_SECONDS: i32 = 300;

/// The scaler answers an alarm within seconds; a minute leaves room for a slow `UpdateShardCount`.
pub const SCALER_TIMEOUT_SECONDS: i32 = 60;

pub const STAGES: [Stage; 6] = [
    Stage {
        number: 1,
        step: "step-1",
        tool: Some("ensure-stream"),
        bucket: false,
        watch: false,
        function: None,
    },
    Stage {
        number: 2,
        step: "step-2",
        tool: None,
        bucket: false,
        watch: false,
        function: Some(FunctionStage {
            binary: "producer",
            name: PRODUCER,
            role: "producer",
            policy: Some("producer"),
            timeout_seconds: PRODUCER_TIMEOUT_SECONDS,
            mapping: None,
            iam_additions: &[],
            environment: &[("STREAM_NAME", Setting::StreamName)],
        }),
    },
    Stage {
        number: 3,
        step: "step-3",
        tool: None,
        bucket: true,
        watch: false,
        function: Some(FunctionStage {
            binary: "consumer",
            name: CONSUMER,
            role: "consumer",
            policy: Some("consumer"),
            timeout_seconds: 30,
            mapping: Some(Mapping::Consumer),
            // The mapping's on-failure destination is the bucket: Lambda writes there with the function's role.
            iam_additions: &[
                Statement {
                    sid: "WriteFailedBatches",
                    actions: &["s3:PutObject"],
                    resource: Setting::BucketObjects,
                },
                Statement {
                    sid: "FindFailedBatches",
                    actions: &["s3:ListBucket"],
                    resource: Setting::BucketArn,
                },
            ],
            environment: &[],
        }),
    },
    Stage {
        number: 4,
        step: "step-4",
        tool: Some("ensure-delivery-stream"),
        bucket: false,
        watch: false,
        function: None,
    },
    Stage {
        number: 5,
        step: "step-5",
        tool: None,
        bucket: false,
        watch: false,
        // The analysis reads the stream like the consumer, logs as itself, writes its window results, and reads the
        // previous window's result for its shard back (each vehicle's last reading carries into the next window:
        // Lambda gives a new window an empty state).
        function: Some(FunctionStage {
            binary: "analytics",
            name: ANALYTICS,
            role: "analytics",
            policy: Some("consumer"),
            timeout_seconds: 60,
            mapping: Some(Mapping::Analytics),
            iam_additions: &[
                Statement {
                    sid: "WriteAndReadWindowResults",
                    actions: &["s3:PutObject", "s3:GetObject"],
                    resource: Setting::AnalyticsObjects,
                },
                Statement {
                    sid: "FindThePreviousWindow",
                    actions: &["s3:ListBucket"],
                    resource: Setting::BucketArn,
                },
            ],
            environment: &[
                ("ANALYTICS_BUCKET", Setting::Bucket),
                ("ANALYTICS_PREFIX", Setting::AnalyticsPrefix),
            ],
        }),
    },
    // Step 6: the learner's alarms (by its `ensure-alarms`), the topic they notify, and the scaler it invokes. The
    // scaler's role is least privilege in step 1's style: what `given/stream.rs` calls, on the one stream, and its
    // logs (Service Authorization Reference, Kinesis:
    // <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesis.html>).
    Stage {
        number: 6,
        step: "step-6",
        tool: Some("ensure-alarms"),
        bucket: false,
        watch: true,
        function: Some(FunctionStage {
            binary: "scaler",
            name: SCALER,
            role: "scaler",
            policy: None,
            timeout_seconds: SCALER_TIMEOUT_SECONDS,
            mapping: None,
            iam_additions: &[
                Statement {
                    sid: "ReadAndReshardTheStream",
                    actions: &[
                        "kinesis:DescribeStreamSummary",
                        "kinesis:UpdateShardCount",
                        // The scaler keeps the times of its scalings in a tag of the stream (for its cool-down
                        // and AWS's ten a day): Lambda keeps nothing between invocations.
                        "kinesis:ListTagsForStream",
                        "kinesis:AddTagsToStream",
                    ],
                    resource: Setting::StreamArn,
                },
                Statement {
                    sid: "ReadTheShardQuota",
                    actions: &["kinesis:DescribeLimits"],
                    resource: Setting::AnyResource,
                },
            ],
            environment: &[("STREAM_NAME", Setting::StreamName)],
        }),
    },
];

/// The stages a deploy up to `last` makes, in order.
pub fn up_to(last: u8) -> impl Iterator<Item = &'static Stage> {
    STAGES.iter().filter(move |stage| stage.number <= last)
}

/// The functions of the stages up to `last`.
pub fn functions_up_to(last: u8) -> impl Iterator<Item = (&'static Stage, &'static FunctionStage)> {
    up_to(last).filter_map(|stage| stage.function.as_ref().map(|function| (stage, function)))
}

/// The function with this base name.
pub fn function(name: &str) -> &'static FunctionStage {
    STAGES
        .iter()
        .find_map(|stage| stage.function.as_ref().filter(|f| f.name == name))
        .expect("a function of the table")
}

/// Every name piece a deploy gives a resource after the learner's prefix, but the bucket's: the stream, the
/// delivery stream, each function and each role, step 6's alarms and topic (`Naming::owns_name` knows a learner's
/// names by these).
pub fn name_pieces() -> impl Iterator<Item = &'static str> {
    let functions = STAGES.iter().filter_map(|s| s.function.as_ref());
    let roles = functions
        .clone()
        .map(|f| f.role)
        .chain([FIREHOSE_ROLE, GUARD_ROLE, SCHEDULER_ROLE]);
    functions
        .map(|f| f.name)
        .chain([GUARD])
        .chain(roles)
        .chain(watch_name_pieces())
}

/// The role Firehose acts with (stage 4), by its piece of name.
pub const FIREHOSE_ROLE: &str = "firehose";

/// The clean-up guard (`control::guard`), deployed with the first stage of a learner's deployment: its function
/// (and one-time schedule) by this name, its executable or zip by [`GUARD_BINARY`], its role and the scheduler's by
/// their pieces of name.
pub const GUARD: &str = "expiryGuard";
pub const GUARD_BINARY: &str = "expiry-guard";
pub const GUARD_ROLE: &str = "expiry-guard";
pub const SCHEDULER_ROLE: &str = "expiry-scheduler";
/// The guard runs for minutes at most: deleting a delivery stream waits until it is gone.
pub const GUARD_TIMEOUT_SECONDS: i32 = 600;

/// Step 6's SNS topic, by its piece of name: what its alarms notify, and what invokes its scaler.
pub const SCALING_TOPIC: &str = "scaling";

/// Step 6's alarms, by their pieces of name: the stream's writes throttled, and its readers falling behind.
pub const ALARMS: [&str; 2] = ["write-throttled", "iterator-age"];

/// The pieces of name of step 6's watching resources (`Naming::owns_name` knows a learner's alarms and topic by
/// these, as well as by their tags).
pub fn watch_name_pieces() -> impl Iterator<Item = &'static str> {
    ALARMS.into_iter().chain([SCALING_TOPIC])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, lambda) of each step in `steps/steps.toml`, in order (read by hand: lab-cloud has no TOML parser).
    fn steps_table() -> Vec<(String, Option<String>)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../steps/steps.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let value = |line: &str, key: &str| {
            let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_owned())
        };
        let mut steps: Vec<(String, Option<String>)> = vec![];
        for line in text.lines().map(str::trim) {
            if let Some(id) = value(line, "id") {
                steps.push((id, None));
            } else if let (Some(lambda), Some(last)) = (value(line, "lambda"), steps.last_mut()) {
                last.1 = Some(lambda);
            }
        }
        steps
    }

    #[test]
    fn the_stages_are_the_steps_of_steps_toml_with_their_lambda_binaries() {
        let steps = steps_table();
        assert_eq!(steps.len(), STAGES.len(), "{steps:?}");
        for ((id, lambda), stage) in steps.iter().zip(&STAGES) {
            assert_eq!(stage.step, id, "stage {}", stage.number);
            assert_eq!(
                stage.function.as_ref().map(|f| f.binary),
                lambda.as_deref(),
                "stage {} ({id}): its function's binary is steps.toml's `lambda`",
                stage.number
            );
        }
        for (index, stage) in STAGES.iter().enumerate() {
            assert_eq!(usize::from(stage.number), index + 1);
        }
    }

    #[test]
    fn every_stage_makes_something_and_names_are_unique() {
        for stage in &STAGES {
            assert!(
                stage.tool.is_some() || stage.function.is_some(),
                "stage {}",
                stage.number
            );
        }
        let pieces: Vec<_> = name_pieces().collect();
        let mut unique = pieces.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), pieces.len(), "{pieces:?}");
    }
}
