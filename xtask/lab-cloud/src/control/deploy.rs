//! The one deploy path: the AWS SDK calls that make the workshop's resources, aimed at the local cloud or at AWS by
//! the endpoint alone. Steps' own code does what it teaches (step 1 makes the stream and writes the policies, step
//! 4 makes the delivery stream), run as processes from their binaries; this module makes the rest — bucket, roles,
//! functions, event source mappings — idempotently: running it twice changes nothing, and says so.
//!
//! Every resource is named by [`Naming`] (a learner's prefix, so learners can share a sandbox account) and carries
//! its tags, which is how `destroy` finds it again.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::types::Architecture;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::accounts::Accounts;
use super::bucket::ensure_bucket;
use super::change::{Action, Change};
use super::function::{Code, FunctionSettings, ensure_function};
use super::guard::{DEFAULT_LIFETIME, EXPIRES_AT_TAG, GuardDeploy, Place, ensure_guard, format_time, parse_time};
use super::iam::{add_statement, ensure_role, firehose_trust_policy, lambda_trust_policy, own_document};
use super::mapping::{MappingSpec, ensure_mapping};
use super::tools;
use super::watch::ensure_watch;
use crate::aws::{ErrorContext, account};
use crate::naming::{ANALYTICS_PREFIX, Naming, missing_tags};
use crate::readback::DeliveryLayout;
use crate::stages::{self, CONSUMER, FIREHOSE_ROLE, FunctionStage, GUARD_BINARY, ResourceKind, STAGES, Setting};
use chrono::{DateTime, Utc};

/// The executables built from the steps (the learner's or the solutions'), and the functions' zip archives when
/// the functions run in AWS rather than in the local Lambda host.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// Executables by name: `ensure-stream`, `policies`, `ensure-delivery-stream`, and the functions' `producer`,
    /// `consumer`, `analytics` for the local Lambda host.
    pub binaries: BTreeMap<String, PathBuf>,
    /// Zip archives by function binary name (`producer`, ...), built by cargo-lambda for `provided.al2023`.
    pub zips: BTreeMap<String, PathBuf>,
    /// The architecture the zips were built for.
    pub architecture: Option<Architecture>,
}

impl Artifacts {
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.binaries.get(name).map(PathBuf::as_path)
    }
}

/// Settings of a deploy that differ between a quick local run and a real account.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deploy stages 1 to this one (1 stream, 2 producer, 3 consumer, 4 delivery stream, 5 analysis).
    pub stage: u8,
    pub naming: Naming,
    /// Seconds of Firehose buffering (AWS allows 0 to 900), replacing step 4's definition's; `None`: the
    /// definition's own.
    pub firehose_interval_seconds: Option<u32>,
    /// Firehose's `CompressionFormat`, replacing step 4's definition's; `None`: the definition's own.
    pub firehose_compression: Option<String>,
    /// Seconds of the analysis' tumbling windows.
    pub analytics_window_seconds: i32,
    /// Where the local cloud keeps each function's executable (`<functions>/<name>/bootstrap`).
    pub functions_dir: PathBuf,
    /// The accounts the deploy may go to (`--aws`: the learner's sandbox accounts only).
    pub accounts: Accounts,
    /// How long the deployment lives from now (`--for`); `None`: as long as it was given, or
    /// [`DEFAULT_LIFETIME`](super::guard::DEFAULT_LIFETIME) for a new one.
    pub lifetime: Option<Duration>,
}

/// What the deploy made, for the run that follows.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub account_id: String,
    pub region: String,
    pub stream_arn: String,
    pub bucket: String,
    /// Where and how the delivery stream writes, as Firehose describes it once made (stage 4).
    pub firehose: Option<DeliveryLayout>,
    pub analytics_prefix: String,
    pub functions: Vec<String>,
    pub changes: Vec<Change>,
    /// When the clean-up guard removes the deployment (`None` for the plain names of a private cloud).
    pub expires_at: Option<String>,
}

impl Deployed {
    /// Whether the deploy changed anything at all.
    pub fn changed(&self) -> bool {
        self.changes.iter().any(|change| change.action != Action::Unchanged)
    }
}

/// The executable or zip each function of the stages needs, checked before anything is made.
fn check_code(artifacts: &Artifacts, last_stage: u8) -> Result<()> {
    for (stage, function) in stages::functions_up_to(last_stage) {
        if !artifacts.zips.contains_key(function.binary) && artifacts.get(function.binary).is_none() {
            bail!("stage {} needs the `{}` function's code", stage.number, function.binary);
        }
    }
    Ok(())
}

/// The guard's code: a zip for AWS, or the executable for the local Lambda host.
fn guard_code(artifacts: &Artifacts) -> Result<Code<'_>> {
    match artifacts.zips.get(GUARD_BINARY) {
        Some(zip) => Ok(Code::Zip {
            bytes: std::fs::read(zip).with_context(|| format!("reading {}", zip.display()))?,
            architecture: artifacts.architecture.clone().unwrap_or(Architecture::Arm64),
        }),
        None => artifacts
            .get(GUARD_BINARY)
            .map(Code::Local)
            .with_context(|| format!("the clean-up guard's `{GUARD_BINARY}` code is needed (xtask/guard)")),
    }
}

/// When the deployment expires: `--for` from now; else the deadline it already has (the stream's `expires-at`),
/// if still ahead; else the default lifetime from now.
async fn expiry(config: &SdkConfig, naming: &Naming, lifetime: Option<Duration>) -> DateTime<Utc> {
    let now = Utc::now();
    let from_now =
        |lifetime: Duration| now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(4));
    if let Some(lifetime) = lifetime {
        return from_now(lifetime);
    }
    let tags = aws_sdk_kinesis::Client::new(config)
        .list_tags_for_stream()
        .stream_name(naming.stream())
        .send()
        .await
        .map(|output| output.tags)
        .unwrap_or_default();
    tags.iter()
        .find(|tag| tag.key == EXPIRES_AT_TAG)
        .and_then(|tag| tag.value.as_deref().and_then(parse_time))
        .filter(|at| *at > now)
        .unwrap_or_else(|| from_now(DEFAULT_LIFETIME))
}

/// A step tool the stages need, by name.
fn tool<'a>(artifacts: &'a Artifacts, name: &str) -> Result<&'a Path> {
    let step = STAGES
        .iter()
        .find(|stage| stage.tool == Some(name))
        .map_or("step-1", |stage| stage.step);
    artifacts
        .get(name)
        .with_context(|| format!("{step}'s `{name}` binary is needed"))
}

/// Deploys stages 1..=`settings.stage`, in the order of [`STAGES`] (the bucket first of all, once a stage needs
/// it).
///
/// Before anything is made: the account is one the deploy may go to (`settings.accounts`), and the code of every
/// function (the guard's too, for a learner) is there.
pub async fn deploy(config: &SdkConfig, artifacts: &Artifacts, settings: &Settings) -> Result<Deployed> {
    let (account_id, region) = account(config).await?;
    settings.accounts.check(&account_id)?;
    check_code(artifacts, settings.stage)?;
    let naming = &settings.naming;
    let guard = match naming.learner() {
        Some(_) => Some(guard_code(artifacts)?),
        None => None,
    };
    let expires_at = match guard {
        Some(_) => Some(expiry(config, naming, settings.lifetime).await),
        None => None,
    };
    let mut tags = naming.tags();
    if let Some(at) = expires_at {
        tags.insert(EXPIRES_AT_TAG.to_owned(), format_time(at));
    }
    let (stream_arn, stream_change) = stream_stage(config, artifacts, naming, &tags).await?;
    let bucket = naming.bucket(&account_id, &region);
    let mut deployed = Deployed {
        account_id,
        region,
        stream_arn,
        bucket,
        firehose: None,
        analytics_prefix: ANALYTICS_PREFIX.to_owned(),
        functions: vec![],
        changes: vec![stream_change],
        expires_at: expires_at.map(format_time),
    };
    if let (Some(code), Some(expires_at)) = (guard, expires_at) {
        let guard = GuardDeploy {
            naming,
            place: Place {
                account: &deployed.account_id,
                region: &deployed.region,
                bucket: &deployed.bucket,
            },
            code,
            tags: &tags,
            expires_at,
            functions_dir: &settings.functions_dir,
        };
        deployed.changes.extend(ensure_guard(config, guard).await?);
    }
    if settings.stage < 2 {
        return Ok(deployed);
    }
    if stages::up_to(settings.stage).any(|stage| stage.bucket) {
        let change = ensure_bucket(config, &deployed.bucket, &deployed.region, &tags).await?;
        deployed.changes.push(change);
    }
    for stage in stages::up_to(settings.stage).filter(|stage| stage.number > 1) {
        if let Some(function) = &stage.function {
            let changes = function_stage(config, artifacts, settings, &deployed, function, &tags).await?;
            deployed.changes.extend(changes);
            deployed.functions.push(naming.function(function.name));
        }
        if stage.watch {
            let function = stage.function.as_ref().context("a watching stage has its scaler")?;
            let alarms = tool(artifacts, stage.tool.context("a watching stage has its alarms' tool")?)?;
            let changes = ensure_watch(config, naming, &deployed, function, alarms, &tags).await?;
            deployed.changes.extend(changes);
        } else if stage.function.is_none() {
            let changes = deliver(config, settings, artifacts, &deployed, &tags).await?;
            deployed.changes.extend(changes);
            deployed.firehose = DeliveryLayout::describe(config, &naming.delivery_stream()).await?;
        }
    }
    Ok(deployed)
}

/// Stage 1: the stream, by the learner's (or the solution's) own `ensure_stream`, then tagged as the learner's.
async fn stream_stage(
    config: &SdkConfig,
    artifacts: &Artifacts,
    naming: &Naming,
    tags: &BTreeMap<String, String>,
) -> Result<(String, Change)> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let stream_name = naming.stream();
    let existed = kinesis
        .describe_stream_summary()
        .stream_name(&stream_name)
        .send()
        .await
        .is_ok();
    tools::ensure_stream(tool(artifacts, "ensure-stream")?, naming, config.endpoint_url())?;
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&stream_name)
        .send()
        .await
        .context("the stream")?;
    let stream_arn = summary.stream_description_summary.context("no summary")?.stream_arn;
    let present: HashMap<String, String> = kinesis
        .list_tags_for_stream()
        .stream_name(&stream_name)
        .send()
        .await?
        .tags
        .into_iter()
        .map(|tag| (tag.key, tag.value.unwrap_or_default()))
        .collect();
    let missing = missing_tags(tags, &present);
    if !missing.is_empty() {
        kinesis
            .add_tags_to_stream()
            .stream_name(&stream_name)
            .set_tags(Some(missing.clone().into_iter().collect()))
            .send()
            .await
            .context_chain("tagging the stream")?;
    }
    let action = match (existed, missing.is_empty()) {
        (false, _) => Action::Created,
        (true, false) => Action::Updated,
        (true, true) => Action::Unchanged,
    };
    let change = Change {
        kind: ResourceKind::Stream,
        name: stream_name,
        action,
    };
    Ok((stream_arn, change))
}

/// A value of the table, at deploy time.
pub(crate) fn setting(setting: Setting, naming: &Naming, bucket: &str, stream_arn: &str) -> String {
    match setting {
        Setting::StreamArn => stream_arn.to_owned(),
        Setting::AnyResource => "*".to_owned(),
        Setting::StreamName => naming.stream(),
        Setting::Bucket => bucket.to_owned(),
        Setting::BucketArn => format!("arn:aws:s3:::{bucket}"),
        Setting::BucketObjects => format!("arn:aws:s3:::{bucket}/*"),
        Setting::AnalyticsPrefix => ANALYTICS_PREFIX.to_owned(),
        Setting::AnalyticsObjects => format!("arn:aws:s3:::{bucket}/{ANALYTICS_PREFIX}*"),
    }
}

/// A function's stage: its role (step 1's document and the table's additions), the function, its mapping.
async fn function_stage(
    config: &SdkConfig,
    artifacts: &Artifacts,
    settings: &Settings,
    deployed: &Deployed,
    function: &FunctionStage,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Change>> {
    let naming = &settings.naming;
    let name = naming.function(function.name);
    let bucket = &deployed.bucket;
    let policies = tools::policies(
        tool(artifacts, "policies")?,
        naming,
        &deployed.account_id,
        &deployed.region,
        bucket,
        &name,
    )?;
    let mut document = match function.policy {
        Some(policy) => policies[policy].clone(),
        None => own_document(&deployed.region, &deployed.account_id, &name),
    };
    for statement in function.iam_additions {
        let resource = setting(statement.resource, naming, bucket, &deployed.stream_arn);
        add_statement(&mut document, statement.sid, statement.actions, &resource);
    }
    let iam = aws_sdk_iam::Client::new(config);
    let role = naming.role(function.role);
    let (role_arn, role_change) = ensure_role(&iam, &role, &lambda_trust_policy(), &document, tags).await?;
    let code = match artifacts.zips.get(function.binary) {
        Some(zip) => Code::Zip {
            bytes: std::fs::read(zip).with_context(|| format!("reading {}", zip.display()))?,
            architecture: artifacts.architecture.clone().unwrap_or(Architecture::Arm64),
        },
        None => Code::Local(artifacts.get(function.binary).expect("checked by check_code")),
    };
    let environment = function
        .environment
        .iter()
        .map(|(key, value)| ((*key).to_owned(), setting(*value, naming, bucket, &deployed.stream_arn)))
        .collect();
    let spec = FunctionSettings {
        name: &name,
        role: &role_arn,
        timeout: function.timeout_seconds,
        environment,
        tags,
    };
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut changes = vec![
        role_change,
        ensure_function(&lambda, &settings.functions_dir, &spec, &code).await?,
    ];
    if let Some(mapping) = function.mapping {
        let spec = MappingSpec::of(mapping, bucket, settings.analytics_window_seconds);
        changes.push(ensure_mapping(&lambda, &name, &deployed.stream_arn, &spec, tags).await?);
    }
    Ok(changes)
}

/// Stage 4: Firehose's role, then the delivery stream by the learner's (or the solution's) own code.
async fn deliver(
    config: &SdkConfig,
    settings: &Settings,
    artifacts: &Artifacts,
    deployed: &Deployed,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Change>> {
    let naming = &settings.naming;
    let documents = tools::policies(
        tool(artifacts, "policies")?,
        naming,
        &deployed.account_id,
        &deployed.region,
        &deployed.bucket,
        &naming.function(CONSUMER),
    )?;
    let iam = aws_sdk_iam::Client::new(config);
    let (role_arn, role_change) = ensure_role(
        &iam,
        &naming.role(FIREHOSE_ROLE),
        &firehose_trust_policy(&deployed.account_id),
        &documents["firehose"],
        tags,
    )
    .await?;
    let firehose = aws_sdk_firehose::Client::new(config);
    let name = naming.delivery_stream();
    let existed = firehose
        .describe_delivery_stream()
        .delivery_stream_name(&name)
        .send()
        .await
        .is_ok();
    let delivery = tools::Delivery {
        stream_arn: &deployed.stream_arn,
        bucket: &deployed.bucket,
        role_arn: &role_arn,
        buffer_interval_seconds: settings.firehose_interval_seconds,
        compression: settings.firehose_compression.as_deref(),
    };
    let binary = tool(artifacts, "ensure-delivery-stream")?;
    // A role made a moment ago may not be usable by Firehose yet (IAM is eventually consistent): try a few times.
    let mut attempt = 1;
    loop {
        match tools::ensure_delivery_stream(binary, naming, &delivery, config.endpoint_url()) {
            Ok(()) => break,
            // Only Firehose's own word for a role it cannot assume yet: "Firehose is unable to assume role <arn>"
            // (CreateDeliveryStream, InvalidArgumentException). Anything else, a learner's todo!() included, is final.
            Err(error) if attempt < 4 && !existed && format!("{error:#}").contains("unable to assume role") => {
                eprintln!(
                    "deploy: making the delivery stream failed (attempt {attempt}: a new role takes seconds to be \
                     usable); trying again in 10 s. It said: {error:#}"
                );
                tokio::time::sleep(Duration::from_secs(10)).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
    let action = tag_delivery_stream(&firehose, &name, tags, existed).await?;
    let change = Change {
        kind: ResourceKind::DeliveryStream,
        name,
        action,
    };
    Ok(vec![role_change, change])
}

/// Adds the learner's tags the delivery stream lacks; what the stage did to it.
async fn tag_delivery_stream(
    firehose: &aws_sdk_firehose::Client,
    name: &str,
    tags: &BTreeMap<String, String>,
    existed: bool,
) -> Result<Action> {
    let present: HashMap<String, String> = firehose
        .list_tags_for_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
        .context_chain("reading the delivery stream's tags")?
        .tags
        .into_iter()
        .map(|tag| (tag.key, tag.value.unwrap_or_default()))
        .collect();
    let missing = missing_tags(tags, &present);
    if !missing.is_empty() {
        let tags = missing
            .iter()
            .map(|(key, value)| aws_sdk_firehose::types::Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()?;
        firehose
            .tag_delivery_stream()
            .delivery_stream_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .context_chain("tagging the delivery stream")?;
    }
    Ok(match (existed, missing.is_empty()) {
        (false, _) => Action::Created,
        (true, false) => Action::Updated,
        (true, true) => Action::Unchanged,
    })
}
