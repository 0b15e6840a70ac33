//! The contract between `cargo xtask` and `lab-cloud`: the arguments of every `lab-cloud` command, as types.
//!
//! xtask builds these and turns them into a command line ([`LabCloud::to_args`]); lab-cloud parses the same types
//! back with clap. Both sides compile against this crate, so a flag renamed or retyped on one side fails to compile
//! on the other, and the round-trip tests below hold the rendering and the parsing to each other.
//!
//! [`trace`] is the one other thing both sides read: step 1's reference trace, which lab-cloud's runs make and xtask
//! writes and checks.

pub mod trace;

/// The local cloud's administrator: what xtask's tools, the tests and `cargo xtask cloud up`'s printed environment
/// sign with. The local cloud checks every signature as AWS does and knows no other long-term key. Not a secret:
/// valid nowhere but on 127.0.0.1.
pub const LOCAL_ADMIN_ACCESS_KEY: &str = "testing";
pub const LOCAL_ADMIN_SECRET_KEY: &str = "testing";

use clap::{Args, Parser, Subcommand};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// `lab-cloud --state FOLDER <command>`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "lab-cloud",
    about = "The local cloud's data plane and the deploy path, run by cargo xtask"
)]
pub struct LabCloud {
    /// The folder holding functions/, logs/ and failures/.
    #[arg(long)]
    pub state: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run event source mappings and Firehose pumps for what the emulator holds, until stopped.
    Serve(Serve),
    /// Invoke a deployed function (`--function`) or an executable (`--binary`) once.
    Invoke(Invoke),
    /// Deploy every stage, run the pipeline, check it, print a summary.
    Lab(Lab),
    /// What a deploy of stages 1..=STAGE makes and costs; with --ask, asks to go ahead (exit 1 when not).
    Plan(Plan),
    /// Deploy stages 1..=STAGE.
    Deploy(Deploy),
    /// What of the learner's exists, and what flows.
    Status(Status),
    /// Check stages 1..=STAGE as deployed, with data through them.
    CheckDeployed(CheckDeployed),
    /// Invoke the deployed producer.
    RunProducer(RunProducer),
    /// Remove everything of the learner's (found by name prefix and tags), then list what remains.
    Destroy(Destroy),
}

/// A named file: `NAME=PATH` on the command line (a step's executable, a function's zip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub path: PathBuf,
}

impl FromStr for Named {
    type Err = String;

    fn from_str(text: &str) -> Result<Named, String> {
        let (name, path) = text.split_once('=').ok_or("expected NAME=PATH")?;
        Ok(Named {
            name: name.to_owned(),
            path: PathBuf::from(path),
        })
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.path.display())
    }
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Invoke {
    #[arg(long, conflicts_with = "binary", required_unless_present = "binary")]
    pub function: Option<String>,
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// The timeout of a `--binary` function, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[arg(long)]
    pub event: PathBuf,
    /// A `--binary` runs with the environment of the function deployed from this step binary (`producer`), when
    /// one is deployed for the learner on this cloud.
    #[arg(long, conflicts_with = "function")]
    pub env_of: Option<String>,
    /// Variables of the function's environment, over any other: KEY=VALUE, repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<EnvVar>,
}

/// One variable of a function's environment: `KEY=VALUE` on the command line (the value may hold `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
}

impl FromStr for EnvVar {
    type Err = String;

    fn from_str(text: &str) -> Result<EnvVar, String> {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => Ok(EnvVar {
                key: key.to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(format!(
                "expected KEY=VALUE (a variable name, `=`, its value), not {text:?}"
            )),
        }
    }
}

impl fmt::Display for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

#[derive(Args, Debug, Clone, PartialEq, Eq, Default)]
pub struct Serve {
    /// No shard limits at the Kinesis front door: the emulator's own behaviour, which refuses nothing.
    #[arg(long)]
    pub no_limits: bool,
    /// How long a Kinesis stream is CREATING, UPDATING or DELETING, in milliseconds [default: 2000].
    #[arg(long)]
    pub stream_lifecycle_ms: Option<u64>,
    /// The local CloudWatch's "minute", in milliseconds [default: 60000, AWS's]: metrics are aggregated and
    /// published, and alarms evaluated, once per such minute. Shorter only for tests and quick demonstrations (an
    /// alarm with Period 60 and 2 evaluation periods then fires after two short minutes).
    #[arg(long)]
    pub cloudwatch_minute_ms: Option<u64>,
    /// No IAM: every call allowed, whoever signs it (the emulator's own behaviour).
    #[arg(long)]
    pub no_iam: bool,
    /// Only the front door (AWS's rules and the Kinesis engine), no data plane and no dashboard: the cloud that
    /// `cargo xtask check` and `verify` give the step tests, which run their own mappings.
    #[arg(long)]
    pub front_door_only: bool,
    /// Stop once the front door has had no request for this many seconds, and stop the emulator named by
    /// `--emulator-pid` with it: the cloud `cargo xtask check` keeps warm between checks, never left running for good.
    #[arg(long)]
    pub idle_exit_seconds: Option<u64>,
    /// The emulator behind the front door, stopped with it when it stops for idleness (checked to be the emulator's
    /// launcher first: a PID the system gave to another process since is left alone).
    #[arg(long, requires = "idle_exit_seconds")]
    pub emulator_pid: Option<u32>,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// The dashboard: the data plane watched live in a browser, on 127.0.0.1 (`GET /`, `GET /api/metrics`).
#[derive(Args, Debug, Clone, PartialEq, Eq, Default)]
pub struct DashboardArgs {
    /// The dashboard's port on 127.0.0.1 [default: a free one, printed].
    #[arg(long, conflicts_with = "no_dashboard")]
    pub dashboard_port: Option<u16>,
    /// No dashboard.
    #[arg(long)]
    pub no_dashboard: bool,
}

/// Faults injected on purpose, and the seed that makes them the same run after run.
#[derive(Args, Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultArgs {
    /// Faults to inject, as KIND=RATE,... (put-internal, put-5xx, function-error, function-timeout, s3-error).
    #[arg(long)]
    pub faults: Option<Faults>,
    /// The seed the faults are drawn from: the same seed, the same faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How long Firehose keeps retrying a failed S3 write before it drops the data, in seconds [default: 30 when
    /// --faults asks for s3-error, else 86,400: a day, the retention of a Kinesis source, as on AWS].
    #[arg(long)]
    pub s3_retry_seconds: Option<u64>,
}

/// A fault the local cloud can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// One record of a successful `PutRecords` refused with `InternalFailure` (not stored).
    PutInternal,
    /// A whole `PutRecords` or `PutRecord` call answered HTTP 500 `InternalFailure` or 503 `ServiceUnavailable`.
    Put5xx,
    /// A mapped function's invocation ending in an `Unhandled` error.
    FunctionError,
    /// A mapped function's invocation timing out.
    FunctionTimeout,
    /// One of Firehose's S3 writes failing (and retried).
    S3Error,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::PutInternal,
        FaultKind::Put5xx,
        FaultKind::FunctionError,
        FaultKind::FunctionTimeout,
        FaultKind::S3Error,
    ];

    /// Its name in a fault spec.
    pub fn key(self) -> &'static str {
        match self {
            FaultKind::PutInternal => "put-internal",
            FaultKind::Put5xx => "put-5xx",
            FaultKind::FunctionError => "function-error",
            FaultKind::FunctionTimeout => "function-timeout",
            FaultKind::S3Error => "s3-error",
        }
    }

    fn keys() -> String {
        FaultKind::ALL.map(FaultKind::key).join(", ")
    }
}

/// What share of the chances each fault takes: `put-internal=0.01,put-5xx=0.02`. Rates are kept to the millionth,
/// so that a spec renders back exactly (and the type can be compared).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Faults {
    millionths: BTreeMap<FaultKind, u32>,
}

impl Faults {
    /// The rate of `kind`, 0 to 1 (0 when the spec does not name it).
    pub fn rate(&self, kind: FaultKind) -> f64 {
        f64::from(self.millionths.get(&kind).copied().unwrap_or(0)) / 1e6
    }

    /// Sets `kind`'s rate; `rate` must be 0 to 1.
    pub fn with(mut self, kind: FaultKind, rate: f64) -> Faults {
        assert!((0.0..=1.0).contains(&rate), "a fault rate is 0 to 1, not {rate}");
        self.millionths.insert(kind, (rate * 1e6).round() as u32);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.millionths.values().all(|&rate| rate == 0)
    }
}

impl FromStr for Faults {
    type Err = String;

    fn from_str(text: &str) -> Result<Faults, String> {
        let accepted = || {
            format!(
                "expected KIND=RATE,... with KIND one of {} and RATE 0 to 1",
                FaultKind::keys()
            )
        };
        let mut faults = Faults::default();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (key, rate) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} has no rate: {}", accepted()))?;
            let kind = FaultKind::ALL
                .into_iter()
                .find(|kind| kind.key() == key.trim())
                .ok_or_else(|| format!("unknown fault {:?}: {}", key.trim(), accepted()))?;
            // `contains` is false for NaN.
            let rate: f64 = rate.trim().parse().map_err(|_| format!("{part:?}: {}", accepted()))?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{part:?}: the rate is outside 0 to 1; {}", accepted()));
            }
            faults = faults.with(kind, rate);
        }
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .millionths
            .iter()
            .map(|(kind, &rate)| format!("{}={}", kind.key(), f64::from(rate) / 1e6))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// `{"put-internal": 0.01, ...}`, as the lab's summary shows it.
impl Serialize for Faults {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.millionths.len()))?;
        for &kind in self.millionths.keys() {
            map.serialize_entry(kind.key(), &self.rate(kind))?;
        }
        map.end()
    }
}

/// What the lab's run provokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// The producer at 95% of the stream's write capacity.
    #[default]
    Steady,
    /// Every record under one partition key (the original lab's "geolocation"): one shard hot, the others idle.
    HotKey,
    /// The producer asks for twice the stream's capacity.
    Burst,
    /// A few malformed records among the good ones.
    Poison,
    /// Every fault at a modest rate.
    Flaky,
    /// The producer asks for twice the stream's capacity; a third of the way in, the lab (as an operator would)
    /// doubles the shards with `UpdateShardCount`, and checks that each vehicle's readings kept their order.
    Reshard,
    /// Step 6 graded on outcome: the producer at 90% of the stream's capacity for two CloudWatch minutes, then at
    /// twice that for eight more; the learner's alarms and scaler (deployed with stage 6) must double the stream, and
    /// the refused writes must fall.
    LoadDoubles,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Steady,
        Scenario::HotKey,
        Scenario::Burst,
        Scenario::Poison,
        Scenario::Flaky,
        Scenario::Reshard,
        Scenario::LoadDoubles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::HotKey => "hot-key",
            Scenario::Burst => "burst",
            Scenario::Poison => "poison",
            Scenario::Flaky => "flaky",
            Scenario::Reshard => "reshard",
            Scenario::LoadDoubles => "load-doubles",
        }
    }

    /// The records a run asks for when `--records` does not say: `reshard` needs a run long enough for the stream
    /// to work a while with its new shards after the reshard (which takes a couple of seconds).
    pub fn default_records(self) -> u64 {
        match self {
            Scenario::Reshard => 20_000,
            _ => 5_000,
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(text: &str) -> Result<Scenario, String> {
        Scenario::ALL.into_iter().find(|s| s.name() == text).ok_or_else(|| {
            let names = Scenario::ALL.map(Scenario::name).join(", ");
            format!("unknown scenario {text:?}: the scenarios are {names}")
        })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Lab {
    /// The steps' executables, as NAME=PATH (ensure-stream, policies, producer, consumer, ...).
    #[arg(long = "bin")]
    pub binaries: Vec<Named>,
    /// The records to make [default: 5000; 20000 for the reshard scenario].
    #[arg(long)]
    pub records: Option<u64>,
    /// The producer's rate [default: 95% of the stream's write capacity, 1,000 records/s per shard].
    #[arg(long)]
    pub records_per_second: Option<u64>,
    /// No shard limits at the Kinesis front door: the emulator's own behaviour, which refuses nothing.
    #[arg(long)]
    pub no_limits: bool,
    /// How long a Kinesis stream is CREATING, UPDATING or DELETING, in milliseconds [default: 2000].
    #[arg(long)]
    pub stream_lifecycle_ms: Option<u64>,
    /// The local CloudWatch's "minute", in milliseconds [default: 60000, AWS's]: metrics are aggregated and
    /// published, and alarms evaluated, once per such minute. Shorter only for tests and quick demonstrations (an
    /// alarm with Period 60 and 2 evaluation periods then fires after two short minutes).
    #[arg(long)]
    pub cloudwatch_minute_ms: Option<u64>,
    /// No IAM: every call allowed, whoever signs it (the emulator's own behaviour).
    #[arg(long)]
    pub no_iam: bool,
    /// Firehose's buffering interval, in seconds [default: step 4's definition's].
    #[arg(long)]
    pub firehose_interval: Option<u32>,
    /// Firehose's compression (UNCOMPRESSED, GZIP, Snappy, HADOOP_SNAPPY) [default: step 4's definition's].
    #[arg(long)]
    pub firehose_compression: Option<String>,
    /// The analysis' tumbling window, in seconds.
    #[arg(long, default_value_t = 5)]
    pub window: u32,
    #[arg(long)]
    pub json: bool,
    /// What the run provokes: steady, hot-key, burst, poison, flaky, reshard or load-doubles.
    #[arg(long, default_value_t = Scenario::Steady)]
    pub scenario: Scenario,
    /// For the demonstration only: the mappings and the Firehose pump read a reshard's children without waiting for
    /// their parents (AWS never does), so that the order check shows what that breaks.
    #[arg(long, hide = true)]
    pub no_parents_first: bool,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    /// Keep the dashboard up after the summary, until Ctrl-C.
    #[arg(long)]
    pub hold: bool,
}

/// Where a learner's deployment is: the local cloud (the endpoint xtask set), or an AWS account (`--aws`).
#[derive(Args, Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// The learner whose resources these are [default: $KINESIS_LAB_LEARNER; locally, else $USER].
    #[arg(long)]
    pub learner: Option<String>,
    #[arg(long)]
    pub aws: bool,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub stage: u8,
    #[arg(long)]
    pub ask: bool,
    /// How long the deployment lives (`90m`, `2h`, `1d`) [default: its current deadline, or 4 hours].
    #[arg(long = "for")]
    pub lifetime: Option<String>,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub stage: u8,
    /// The steps' executables, as NAME=PATH.
    #[arg(long = "bin")]
    pub binaries: Vec<Named>,
    /// The functions' zip archives (for AWS), as NAME=PATH.
    #[arg(long = "zip")]
    pub zips: Vec<Named>,
    /// The zips' architecture: arm64 or x86_64.
    #[arg(long, default_value = "arm64")]
    pub architecture: String,
    /// Firehose's buffering interval in seconds [default: step 4's definition's].
    #[arg(long)]
    pub firehose_interval: Option<u32>,
    /// The analysis' tumbling window in seconds [default: 60 on AWS, 5 locally].
    #[arg(long)]
    pub window: Option<u32>,
    /// How long the deployment lives (`90m`, `2h`, `1d`) [default: its current deadline, or 4 hours].
    #[arg(long = "for")]
    pub lifetime: Option<String>,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Status {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CheckDeployed {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub stage: u8,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RunProducer {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Destroy {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub yes: bool,
}

/// A command line under construction: flags are only written when they carry something.
#[derive(Default)]
struct Argv(Vec<OsString>);

impl Argv {
    fn word(&mut self, word: impl Into<OsString>) -> &mut Self {
        self.0.push(word.into());
        self
    }

    fn value(&mut self, flag: &str, value: impl Into<OsString>) -> &mut Self {
        self.word(flag).word(value)
    }

    fn optional(&mut self, flag: &str, value: Option<impl Into<OsString>>) -> &mut Self {
        if let Some(value) = value {
            self.value(flag, value);
        }
        self
    }

    fn switch(&mut self, flag: &str, on: bool) -> &mut Self {
        if on {
            self.word(flag);
        }
        self
    }

    fn each(&mut self, flag: &str, values: &[Named]) -> &mut Self {
        for value in values {
            self.value(flag, value.to_string());
        }
        self
    }

    fn each_var(&mut self, flag: &str, values: &[EnvVar]) -> &mut Self {
        for value in values {
            self.value(flag, value.to_string());
        }
        self
    }

    fn target(&mut self, target: &Target) -> &mut Self {
        self.optional("--learner", target.learner.as_deref())
            .switch("--aws", target.aws)
    }

    fn dashboard(&mut self, dashboard: &DashboardArgs) -> &mut Self {
        self.optional(
            "--dashboard-port",
            dashboard.dashboard_port.map(|port| port.to_string()),
        )
        .switch("--no-dashboard", dashboard.no_dashboard)
    }

    fn faults(&mut self, faults: &FaultArgs) -> &mut Self {
        self.optional("--faults", faults.faults.as_ref().map(|f| f.to_string()))
            .value("--seed", faults.seed.to_string())
            .optional("--s3-retry-seconds", faults.s3_retry_seconds.map(|s| s.to_string()))
    }
}

impl LabCloud {
    /// The command line that parses back to this value (without the program's name).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut argv = Argv::default();
        argv.value("--state", &self.state);
        match &self.command {
            Command::Serve(serve) => argv
                .word("serve")
                .switch("--no-limits", serve.no_limits)
                .optional(
                    "--stream-lifecycle-ms",
                    serve.stream_lifecycle_ms.map(|ms| ms.to_string()),
                )
                .optional(
                    "--cloudwatch-minute-ms",
                    serve.cloudwatch_minute_ms.map(|ms| ms.to_string()),
                )
                .switch("--no-iam", serve.no_iam)
                .switch("--front-door-only", serve.front_door_only)
                .optional("--idle-exit-seconds", serve.idle_exit_seconds.map(|s| s.to_string()))
                .optional("--emulator-pid", serve.emulator_pid.map(|pid| pid.to_string()))
                .faults(&serve.faults)
                .dashboard(&serve.dashboard),
            Command::Invoke(invoke) => argv
                .word("invoke")
                .optional("--function", invoke.function.as_deref())
                .optional("--binary", invoke.binary.as_deref())
                .value("--timeout", invoke.timeout.to_string())
                .value("--event", &invoke.event)
                .optional("--env-of", invoke.env_of.as_deref())
                .each_var("--env", &invoke.env),
            Command::Lab(lab) => argv
                .word("lab")
                .each("--bin", &lab.binaries)
                .optional("--records", lab.records.map(|records| records.to_string()))
                .optional(
                    "--records-per-second",
                    lab.records_per_second.map(|rate| rate.to_string()),
                )
                .switch("--no-limits", lab.no_limits)
                .optional(
                    "--stream-lifecycle-ms",
                    lab.stream_lifecycle_ms.map(|ms| ms.to_string()),
                )
                .optional(
                    "--cloudwatch-minute-ms",
                    lab.cloudwatch_minute_ms.map(|ms| ms.to_string()),
                )
                .switch("--no-iam", lab.no_iam)
                .optional("--firehose-interval", lab.firehose_interval.map(|s| s.to_string()))
                .optional("--firehose-compression", lab.firehose_compression.clone())
                .value("--window", lab.window.to_string())
                .switch("--json", lab.json)
                .value("--scenario", lab.scenario.to_string())
                .switch("--no-parents-first", lab.no_parents_first)
                .faults(&lab.faults)
                .dashboard(&lab.dashboard)
                .switch("--hold", lab.hold),
            Command::Plan(plan) => argv
                .word("plan")
                .target(&plan.target)
                .value("--stage", plan.stage.to_string())
                .switch("--ask", plan.ask)
                .optional("--for", plan.lifetime.as_ref()),
            Command::Deploy(deploy) => argv
                .word("deploy")
                .target(&deploy.target)
                .value("--stage", deploy.stage.to_string())
                .each("--bin", &deploy.binaries)
                .each("--zip", &deploy.zips)
                .value("--architecture", &deploy.architecture)
                .optional("--firehose-interval", deploy.firehose_interval.map(|s| s.to_string()))
                .optional("--window", deploy.window.map(|s| s.to_string()))
                .optional("--for", deploy.lifetime.as_ref()),
            Command::Status(status) => argv.word("status").target(&status.target).switch("--json", status.json),
            Command::CheckDeployed(check) => argv
                .word("check-deployed")
                .target(&check.target)
                .value("--stage", check.stage.to_string()),
            Command::RunProducer(run) => argv
                .word("run-producer")
                .target(&run.target)
                .value("--records", run.records.to_string()),
            Command::Destroy(destroy) => argv
                .word("destroy")
                .target(&destroy.target)
                .switch("--yes", destroy.yes),
        };
        argv.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn named(name: &str, path: &str) -> Named {
        Named {
            name: name.to_owned(),
            path: PathBuf::from(path),
        }
    }

    fn learner(name: &str, aws: bool) -> Target {
        Target {
            learner: Some(name.to_owned()),
            aws,
        }
    }

    /// One value of every command, with every flag away from its default (and a few at it).
    fn one_of_each() -> Vec<Command> {
        vec![
            Command::Serve(Serve {
                no_limits: true,
                stream_lifecycle_ms: Some(50),
                cloudwatch_minute_ms: Some(500),
                no_iam: true,
                front_door_only: true,
                idle_exit_seconds: Some(600),
                emulator_pid: Some(4242),
                faults: FaultArgs::default(),
                dashboard: DashboardArgs {
                    dashboard_port: Some(8080),
                    no_dashboard: false,
                },
            }),
            Command::Serve(Serve {
                no_limits: false,
                stream_lifecycle_ms: None,
                cloudwatch_minute_ms: None,
                no_iam: false,
                front_door_only: false,
                idle_exit_seconds: None,
                emulator_pid: None,
                faults: FaultArgs {
                    faults: Some("s3-error=1,put-5xx=0.000001".parse().unwrap()),
                    seed: u64::MAX,
                    s3_retry_seconds: Some(2),
                },
                dashboard: DashboardArgs {
                    dashboard_port: None,
                    no_dashboard: true,
                },
            }),
            Command::Invoke(Invoke {
                function: Some("kinesis-lab-ada-produceKinesisEvents".into()),
                binary: None,
                timeout: 30,
                event: "/tmp/event one.json".into(),
                env_of: None,
                env: vec![],
            }),
            Command::Invoke(Invoke {
                function: None,
                binary: Some("/repo/target/debug/consumer".into()),
                timeout: 7,
                event: "event.json".into(),
                env_of: Some("consumer".into()),
                env: vec![
                    "STREAM_NAME=a b".parse().unwrap(),
                    "QUERY=x=1&y=2".parse().unwrap(),
                    "EMPTY=".parse().unwrap(),
                ],
            }),
            Command::Lab(Lab {
                binaries: vec![named("producer", "/b/producer"), named("heatmap", "/b/with=sign")],
                records: Some(12),
                records_per_second: Some(3),
                no_limits: true,
                stream_lifecycle_ms: Some(0),
                cloudwatch_minute_ms: Some(1),
                no_iam: true,
                firehose_interval: Some(9),
                firehose_compression: Some("GZIP".to_owned()),
                window: 4_000_000_000,
                json: true,
                scenario: Scenario::HotKey,
                no_parents_first: true,
                faults: FaultArgs {
                    faults: Some(
                        "put-internal=0.01,put-5xx=0.02,function-error=0.05,function-timeout=0.01,s3-error=0.02"
                            .parse()
                            .unwrap(),
                    ),
                    seed: 7,
                    s3_retry_seconds: None,
                },
                dashboard: DashboardArgs {
                    dashboard_port: Some(0),
                    no_dashboard: false,
                },
                hold: true,
            }),
            Command::Plan(Plan {
                target: learner("ada", true),
                stage: 4,
                ask: true,
                lifetime: Some("2h".into()),
            }),
            Command::Deploy(Deploy {
                target: learner("ada-42", true),
                stage: 5,
                binaries: vec![named("ensure-stream", "/b/ensure-stream")],
                zips: vec![
                    named("producer", "/z/producer.zip"),
                    named("consumer", "/z/consumer.zip"),
                ],
                architecture: "x86_64".into(),
                firehose_interval: Some(0),
                window: Some(60),
                lifetime: Some("90m".into()),
            }),
            Command::Deploy(Deploy {
                target: Target::default(),
                stage: 1,
                binaries: vec![],
                zips: vec![],
                architecture: "arm64".into(),
                firehose_interval: None,
                window: None,
                lifetime: None,
            }),
            Command::Status(Status {
                target: Target::default(),
                json: true,
            }),
            Command::CheckDeployed(CheckDeployed {
                target: learner("bo", false),
                stage: 3,
            }),
            Command::RunProducer(RunProducer {
                target: learner("bo", true),
                records: 50,
            }),
            Command::Destroy(Destroy {
                target: learner("bo", true),
                yes: true,
            }),
        ]
    }

    #[test]
    fn every_command_parses_back_from_the_arguments_it_renders() {
        for command in one_of_each() {
            let value = LabCloud {
                state: PathBuf::from("/repo/.lab/cloud"),
                command,
            };
            let argv = std::iter::once(OsString::from("lab-cloud")).chain(value.to_args());
            let parsed = LabCloud::try_parse_from(argv).unwrap_or_else(|error| panic!("{value:?}:\n{error}"));
            assert_eq!(parsed, value);
        }
    }

    #[test]
    fn an_environment_variable_is_key_equals_value_or_one_line_saying_so() {
        let var: EnvVar = "URL=http://h/?a=b".parse().unwrap();
        assert_eq!((var.key.as_str(), var.value.as_str()), ("URL", "http://h/?a=b"));
        for bad in ["NOVALUE", "=value", "TWO WORDS=x"] {
            let error = bad.parse::<EnvVar>().unwrap_err();
            assert!(
                error.starts_with("expected KEY=VALUE") && !error.contains('\n'),
                "{error}"
            );
        }
    }

    #[test]
    fn the_round_trip_covers_every_command() {
        let tested: Vec<String> = one_of_each()
            .into_iter()
            .map(|command| {
                let value = LabCloud {
                    state: PathBuf::from("s"),
                    command,
                };
                value.to_args()[2].to_string_lossy().into_owned()
            })
            .collect();
        for command in LabCloud::command().get_subcommands() {
            assert!(
                tested.iter().any(|name| name == command.get_name()),
                "`{}` has no round-trip case",
                command.get_name()
            );
        }
    }

    #[test]
    fn a_fault_spec_renders_back_to_itself() {
        let spec = "put-internal=0.01,put-5xx=0.02,function-error=0.05,function-timeout=0.01,s3-error=0.02";
        let faults: Faults = spec.parse().unwrap();
        assert_eq!(faults.to_string(), spec);
        assert_eq!(faults.rate(FaultKind::Put5xx), 0.02);
        assert_eq!(
            " s3-error = 1 ,".parse::<Faults>().unwrap().rate(FaultKind::S3Error),
            1.0
        );
        assert!("".parse::<Faults>().unwrap().is_empty());
    }

    #[test]
    fn a_bad_fault_spec_is_one_line_naming_the_accepted_keys() {
        for bad in [
            "put-internal=2",
            "disk-full=0.1",
            "put-5xx",
            "s3-error=-0.1",
            "s3-error=NaN",
            "put-5xx=lots",
        ] {
            let error = bad.parse::<Faults>().unwrap_err();
            assert!(!error.contains('\n'), "{error}");
            assert!(
                error.contains("put-internal, put-5xx, function-error, function-timeout, s3-error"),
                "{bad}: {error}"
            );
        }
        let error = LabCloud::try_parse_from(["lab-cloud", "--state", "s", "serve", "--faults", "disk-full=1"])
            .unwrap_err()
            .to_string();
        assert!(
            error.lines().next().unwrap().contains("unknown fault \"disk-full\""),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_scenario_is_one_line_naming_the_scenarios() {
        let error = "hot".parse::<Scenario>().unwrap_err();
        assert_eq!(
            error,
            "unknown scenario \"hot\": the scenarios are steady, hot-key, burst, poison, flaky, reshard, load-doubles"
        );
        for scenario in Scenario::ALL {
            assert_eq!(scenario.to_string().parse::<Scenario>(), Ok(scenario));
        }
    }

    #[test]
    fn a_dashboard_port_and_no_dashboard_are_refused_together() {
        let both = [
            "lab-cloud",
            "--state",
            "s",
            "serve",
            "--dashboard-port",
            "1",
            "--no-dashboard",
        ];
        let error = LabCloud::try_parse_from(both).unwrap_err().to_string();
        assert!(error.contains("cannot be used with"), "{error}");
    }

    #[test]
    fn the_definition_is_valid() {
        LabCloud::command().debug_assert();
    }
}
