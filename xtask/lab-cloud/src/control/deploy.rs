//! The one deploy path: the AWS SDK calls that make the workshop's resources, aimed at the local cloud or at AWS by
//! the endpoint alone. Steps' own code does what it teaches (step 1 makes the stream and writes the policies, step
//! 4 makes the delivery stream), run as processes from their binaries; this module makes the rest — bucket, roles,
//! functions, event source mappings — idempotently: running it twice changes nothing, and says so.
//!
//! Every resource is named by [`Naming`] (a learner's prefix, so learners can share a sandbox account) and carries
//! its tags, which is how `destroy` finds it again.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourceMappingConfiguration, EventSourcePosition, FunctionCode,
    FunctionResponseType, LastUpdateStatus, OnFailure, Runtime, State,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::aws::{Propagation, error_chain, region_of, retry_while_propagating, s3_client};
use crate::control::tools;
use crate::naming::{ANALYTICS_PREFIX, FIREHOSE_PREFIX, Naming, TAG_VALUE};
use crate::stages::{self, CONSUMER, FIREHOSE_ROLE, FunctionStage, Mapping, ResourceKind, STAGES, Setting};

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
    /// Seconds of Firehose buffering (AWS allows 0 to 900).
    pub firehose_interval_seconds: u32,
    /// Seconds of the analysis' tumbling windows.
    pub analytics_window_seconds: i32,
    /// Where the local cloud keeps each function's executable (`<functions>/<name>/bootstrap`).
    pub functions_dir: PathBuf,
}

/// The smallest valid zip (an empty archive): the Lambda API wants code; the local host runs the executable.
pub const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// What a deploy did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
}

/// What the deploy made, for the run that follows.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub account_id: String,
    pub region: String,
    pub stream_arn: String,
    pub bucket: String,
    pub firehose_prefix: String,
    pub analytics_prefix: String,
    pub functions: Vec<String>,
    pub changes: Vec<Change>,
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
pub async fn deploy(config: &SdkConfig, artifacts: &Artifacts, settings: &Settings) -> Result<Deployed> {
    check_code(artifacts, settings.stage)?;
    let naming = &settings.naming;
    let (stream_arn, stream_change) = stream_stage(config, artifacts, naming).await?;
    let account_id = stream_arn.split(':').nth(4).unwrap_or_default().to_owned();
    let region = region_of(config);
    let bucket = naming.bucket(&account_id, &region);
    let mut deployed = Deployed {
        account_id,
        region,
        stream_arn,
        bucket,
        firehose_prefix: FIREHOSE_PREFIX.to_owned(),
        analytics_prefix: ANALYTICS_PREFIX.to_owned(),
        functions: vec![],
        changes: vec![stream_change],
    };
    if settings.stage < 2 {
        return Ok(deployed);
    }
    if stages::up_to(settings.stage).any(|stage| stage.bucket) {
        let change = ensure_bucket(config, &deployed.bucket, &deployed.region, &naming.tags()).await?;
        deployed.changes.push(change);
    }
    for stage in stages::up_to(settings.stage).filter(|stage| stage.number > 1) {
        if let Some(function) = &stage.function {
            let changes = function_stage(config, artifacts, settings, &deployed, function).await?;
            deployed.changes.extend(changes);
            deployed.functions.push(naming.function(function.name));
        } else {
            let changes = deliver(config, settings, artifacts, &deployed).await?;
            deployed.changes.extend(changes);
        }
    }
    Ok(deployed)
}

/// Stage 1: the stream, by the learner's (or the solution's) own `ensure_stream`, then tagged as the learner's.
async fn stream_stage(config: &SdkConfig, artifacts: &Artifacts, naming: &Naming) -> Result<(String, Change)> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let stream_name = naming.stream();
    let existed = kinesis
        .describe_stream_summary()
        .stream_name(&stream_name)
        .send()
        .await
        .is_ok();
    tools::ensure_stream(tool(artifacts, "ensure-stream")?, naming)?;
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
    let missing = missing_tags(&naming.tags(), &present);
    if !missing.is_empty() {
        kinesis
            .add_tags_to_stream()
            .stream_name(&stream_name)
            .set_tags(Some(missing.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("tagging the stream: {}", error_chain(&e)))?;
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
fn setting(setting: Setting, naming: &Naming, bucket: &str) -> String {
    match setting {
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
    let mut document = policies[function.policy].clone();
    for statement in function.iam_additions {
        let resource = setting(statement.resource, naming, bucket);
        add_statement(&mut document, statement.sid, statement.actions, &resource);
    }
    let tags = naming.tags();
    let iam = aws_sdk_iam::Client::new(config);
    let role = naming.role(function.role);
    let (role_arn, role_change) = ensure_role(&iam, &role, &lambda_trust_policy(), &document, &tags).await?;
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
        .map(|(key, value)| ((*key).to_owned(), setting(*value, naming, bucket)))
        .collect();
    let spec = FunctionSettings {
        name: &name,
        role: &role_arn,
        timeout: function.timeout_seconds,
        environment,
        tags: &tags,
    };
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut changes = vec![role_change, ensure_function(&lambda, settings, &spec, &code).await?];
    if let Some(mapping) = function.mapping {
        let spec = MappingSpec::of(mapping, bucket, settings.analytics_window_seconds);
        changes.push(ensure_mapping(&lambda, &name, &deployed.stream_arn, &spec, &tags).await?);
    }
    Ok(changes)
}

/// Stage 4: Firehose's role, then the delivery stream by the learner's (or the solution's) own code.
async fn deliver(
    config: &SdkConfig,
    settings: &Settings,
    artifacts: &Artifacts,
    deployed: &Deployed,
) -> Result<Vec<Change>> {
    let naming = &settings.naming;
    let tags = naming.tags();
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
        &tags,
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
    };
    let binary = tool(artifacts, "ensure-delivery-stream")?;
    // A role made a moment ago may not be usable by Firehose yet (IAM is eventually consistent): try a few times.
    let mut attempt = 1;
    loop {
        match tools::ensure_delivery_stream(binary, naming, &delivery) {
            Ok(()) => break,
            Err(error) if attempt < 4 && !existed => {
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
    let action = tag_delivery_stream(&firehose, &name, &tags, existed).await?;
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
        .map_err(|e| anyhow::anyhow!("reading the delivery stream's tags: {}", error_chain(&e)))?
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
            .map_err(|e| anyhow::anyhow!("tagging the delivery stream: {}", error_chain(&e)))?;
    }
    Ok(match (existed, missing.is_empty()) {
        (false, _) => Action::Created,
        (true, false) => Action::Updated,
        (true, true) => Action::Unchanged,
    })
}

fn missing_tags(wanted: &BTreeMap<String, String>, present: &HashMap<String, String>) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter(|(key, value)| present.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Adds to one of step 1's documents what the deploy needs beyond it (S3 destinations the step-1 policies do not
/// cover).
fn add_statement(document: &mut Value, sid: &str, actions: &[&str], resource: &str) {
    if let Some(statements) = document["Statement"].as_array_mut() {
        statements.push(serde_json::json!({
            "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": [resource]
        }));
    }
}

async fn ensure_bucket(
    config: &SdkConfig,
    bucket: &str,
    region: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Change> {
    let s3 = s3_client(config);
    let mut action = Action::Unchanged;
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        let mut request = s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region where a location constraint must not be given.
        if region != "us-east-1" {
            let location = aws_sdk_s3::types::BucketLocationConstraint::from(region);
            request = request.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(location)
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => action = Action::Created,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
            Err(error) => bail!("creating bucket {bucket}: {}", error_chain(&error)),
        }
    }
    let present: HashMap<String, String> = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(output) => output.tag_set.into_iter().map(|tag| (tag.key, tag.value)).collect(),
        Err(error) if error.code() == Some("NoSuchTagSet") => HashMap::new(),
        // Anything else (access denied, say) must not be taken for "no tags": PutBucketTagging replaces them all.
        Err(error) => bail!("reading the tags of bucket {bucket}: {}", error_chain(&error)),
    };
    if !missing_tags(tags, &present).is_empty() {
        // PutBucketTagging replaces the whole set: keep what is there, add ours.
        let mut all: BTreeMap<String, String> = present.into_iter().collect();
        all.extend(tags.clone());
        let tag_set = all
            .into_iter()
            .map(|(key, value)| aws_sdk_s3::types::Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()?;
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("tagging bucket {bucket}: {}", error_chain(&e)))?;
        if action == Action::Unchanged {
            action = Action::Updated;
        }
    }
    Ok(Change {
        kind: ResourceKind::Bucket,
        name: bucket.to_owned(),
        action,
    })
}

/// Who may act with a function's role: Lambda.
fn lambda_trust_policy() -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Who may act with Firehose's role: Firehose, on behalf of this account only — the `sts:ExternalId` condition AWS
/// recommends against the confused deputy
/// (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3>). The same document as
/// step 4's `firehose_trust_policy`, which the deploy cannot link (it runs the steps as processes); the sandbox
/// test compares the role the deploy makes with the one step 4's own tool makes.
pub fn firehose_trust_policy(account_id: &str) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "firehose.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": account_id } }
        }]
    })
}

/// A policy document as IAM returned it, in either form (plain JSON or URL-encoded JSON).
pub fn policy_value(document: &str) -> Option<Value> {
    serde_json::from_str(document)
        .ok()
        // IAM hands policy documents back URL-encoded (RFC 3986).
        .or_else(|| serde_json::from_str(&percent_encoding::percent_decode_str(document).decode_utf8_lossy()).ok())
}

/// A role with its trust policy and one inline policy (put again only when step 1's document changed).
async fn ensure_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    trust: &Value,
    policy: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<(String, Change)> {
    let (arn, mut action) = match iam.get_role().role_name(name).send().await {
        Ok(output) => {
            let role = output.role.context("no role")?;
            let updated = align_role(iam, &role, trust, tags).await?;
            (role.arn, if updated { Action::Updated } else { Action::Unchanged })
        }
        Err(_) => {
            let created = iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .set_tags(Some(iam_tags(tags)?))
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("creating role {name}: {}", error_chain(&e)))?;
            (created.role.context("no role")?.arn, Action::Created)
        }
    };
    let current = iam
        .get_role_policy()
        .role_name(name)
        .policy_name(TAG_VALUE)
        .send()
        .await
        .ok()
        .and_then(|output| policy_value(&output.policy_document));
    if current.as_ref() != Some(policy) {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(TAG_VALUE)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("attaching the policy of {name}: {}", error_chain(&e)))?;
        if action == Action::Unchanged {
            action = Action::Updated;
        }
    }
    let change = Change {
        kind: ResourceKind::Role,
        name: name.to_owned(),
        action,
    };
    Ok((arn, change))
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    Ok(tags
        .iter()
        .map(|(key, value)| aws_sdk_iam::types::Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()?)
}

/// Brings an existing role's tags and trust policy in line; whether anything changed. A role made before its trust
/// policy changed (by an older deploy, say) gets the current one.
async fn align_role(
    iam: &aws_sdk_iam::Client,
    role: &aws_sdk_iam::types::Role,
    trust: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<bool> {
    let name = role.role_name();
    let present: HashMap<String, String> = role
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect();
    let missing = missing_tags(tags, &present);
    if !missing.is_empty() {
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(iam_tags(&missing)?))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("tagging role {name}: {}", error_chain(&e)))?;
    }
    let trusted = role.assume_role_policy_document().and_then(policy_value);
    if trusted.as_ref() != Some(trust) {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("updating the trust policy of {name}: {}", error_chain(&e)))?;
    }
    Ok(!missing.is_empty() || trusted.as_ref() != Some(trust))
}

/// A function's code: an executable the local Lambda host runs, or a zip archive for AWS.
enum Code<'a> {
    Local(&'a Path),
    Zip { bytes: Vec<u8>, architecture: Architecture },
}

impl Code<'_> {
    fn zip(&self) -> &[u8] {
        match self {
            Code::Local(_) => EMPTY_ZIP,
            Code::Zip { bytes, .. } => bytes,
        }
    }

    fn architecture(&self) -> Architecture {
        match self {
            Code::Local(_) => Architecture::X8664,
            Code::Zip { architecture, .. } => architecture.clone(),
        }
    }

    /// The SHA-256 of the archive, base64, as Lambda reports it in `CodeSha256`.
    fn sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(self.zip()))
    }
}

struct FunctionSettings<'a> {
    name: &'a str,
    role: &'a str,
    timeout: i32,
    environment: BTreeMap<String, String>,
    tags: &'a BTreeMap<String, String>,
}

const MEMORY_MB: i32 = 128;

async fn ensure_function(
    lambda: &aws_sdk_lambda::Client,
    settings: &Settings,
    spec: &FunctionSettings<'_>,
    code: &Code<'_>,
) -> Result<Change> {
    let name = spec.name;
    // Locally the Lambda API holds an empty zip and the code is the executable the host runs: a new executable is
    // a code update, as a new zip is in AWS.
    let new_local_code = match code {
        Code::Local(binary) => install_local_code(&settings.functions_dir.join(name), binary)?,
        Code::Zip { .. } => false,
    };
    let action = match lambda.get_function().function_name(name).send().await {
        Ok(existing) => {
            let configuration = existing.configuration.context("no configuration")?;
            let updated = update_function(lambda, spec, code, &configuration).await?;
            if updated || new_local_code {
                Action::Updated
            } else {
                Action::Unchanged
            }
        }
        Err(_) => {
            create_function(lambda, spec, code).await?;
            Action::Created
        }
    };
    Ok(Change {
        kind: ResourceKind::Function,
        name: name.to_owned(),
        action,
    })
}

/// Installs the executable as `<folder>/bootstrap`; whether it was new. Copied aside and renamed into place: a warm
/// environment may be running the old executable, which keeps its file until it exits (as in Lambda, the next cold
/// start runs the new code).
fn install_local_code(folder: &Path, binary: &Path) -> Result<bool> {
    let installed = folder.join("bootstrap");
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    if std::fs::read(&installed).ok().as_deref() == Some(bytes.as_slice()) {
        return Ok(false);
    }
    std::fs::create_dir_all(folder)?;
    let incoming = folder.join("bootstrap.new");
    std::fs::write(&incoming, &bytes)?;
    std::fs::set_permissions(&incoming, std::fs::metadata(binary)?.permissions())?;
    std::fs::rename(&incoming, &installed)?;
    Ok(true)
}

fn environment(spec: &FunctionSettings<'_>) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

/// Brings an existing function's code, configuration and tags in line with the spec; whether anything changed.
async fn update_function(
    lambda: &aws_sdk_lambda::Client,
    spec: &FunctionSettings<'_>,
    code: &Code<'_>,
    configuration: &aws_sdk_lambda::types::FunctionConfiguration,
) -> Result<bool> {
    let name = spec.name;
    let mut updated = false;
    let architecture_now = configuration.architectures().first().cloned();
    if configuration.code_sha256() != Some(code.sha256().as_str())
        || architecture_now.is_some_and(|a| a != code.architecture())
    {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(code.zip()))
            .architectures(code.architecture())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("updating the code of {name}: {}", error_chain(&e)))?;
        wait_until_ready(lambda, name).await?;
        updated = true;
    }
    if !same_configuration(spec, configuration) {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(spec.role)
            .timeout(spec.timeout)
            .memory_size(MEMORY_MB)
            .handler("bootstrap")
            .runtime(Runtime::Providedal2023)
            .environment(environment(spec))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("updating function {name}: {}", error_chain(&e)))?;
        wait_until_ready(lambda, name).await?;
        updated = true;
    }
    if let Some(arn) = configuration.function_arn() {
        updated |= tag_function(lambda, name, arn, spec.tags).await?;
    }
    Ok(updated)
}

fn same_configuration(
    spec: &FunctionSettings<'_>,
    configuration: &aws_sdk_lambda::types::FunctionConfiguration,
) -> bool {
    let variables = configuration
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    configuration.role() == Some(spec.role)
        && configuration.timeout() == Some(spec.timeout)
        && configuration.memory_size() == Some(MEMORY_MB)
        && configuration.handler() == Some("bootstrap")
        && configuration.runtime() == Some(&Runtime::Providedal2023)
        && variables.into_iter().collect::<BTreeMap<_, _>>() == spec.environment
}

/// Adds the tags a function lacks; whether it lacked any.
async fn tag_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<bool> {
    let present: HashMap<String, String> = lambda
        .list_tags()
        .resource(arn)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("reading the tags of {name}: {}", error_chain(&e)))?
        .tags
        .unwrap_or_default();
    let missing = missing_tags(tags, &present);
    if missing.is_empty() {
        return Ok(false);
    }
    lambda
        .tag_resource()
        .resource(arn)
        .set_tags(Some(missing.into_iter().collect()))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("tagging {name}: {}", error_chain(&e)))?;
    Ok(true)
}

async fn create_function(lambda: &aws_sdk_lambda::Client, spec: &FunctionSettings<'_>, code: &Code<'_>) -> Result<()> {
    let name = spec.name;
    // A role made a moment ago cannot be assumed by Lambda for a few seconds (IAM is eventually consistent).
    retry_while_propagating(
        name,
        Propagation::IAM,
        |error: &SdkError<CreateFunctionError>| {
            error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_value_exception() && role_not_yet_assumable(e.message().unwrap_or_default())
            })
        },
        || {
            lambda
                .create_function()
                .function_name(name)
                .runtime(Runtime::Providedal2023)
                .handler("bootstrap")
                .role(spec.role)
                .timeout(spec.timeout)
                .memory_size(MEMORY_MB)
                .architectures(code.architecture())
                .environment(environment(spec))
                .set_tags(Some(spec.tags.clone().into_iter().collect()))
                .code(FunctionCode::builder().zip_file(Blob::new(code.zip())).build())
                .send()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating function {name}: {}", error_chain(&e)))?;
    wait_until_ready(lambda, name).await
}

/// Lambda's answer to CreateFunction while a new role is not yet visible to it: "The role defined for the function
/// cannot be assumed by Lambda". A bad zip or setting fails at once, with another message.
fn role_not_yet_assumable(message: &str) -> bool {
    message.contains("cannot be assumed")
}

/// Lambda's answer to CreateEventSourceMapping while the role's new policy is not yet visible to it: "Cannot access
/// stream <arn>. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and
/// ListShards Actions on your stream in IAM."
fn stream_not_yet_readable(message: &str) -> bool {
    message.contains("Cannot access stream") && message.contains("ensure the role can perform")
}

/// Waits until a function is Active and its last update is done (AWS refuses another update before that).
async fn wait_until_ready(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let configuration = lambda.get_function_configuration().function_name(name).send().await?;
        let pending = matches!(configuration.state(), Some(State::Pending))
            || matches!(configuration.last_update_status(), Some(LastUpdateStatus::InProgress));
        if !pending {
            if matches!(configuration.state(), Some(State::Failed)) {
                bail!(
                    "function {name} failed to become active: {}",
                    configuration.state_reason().unwrap_or("no reason given")
                );
            }
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!("function {name} is still not ready after 3 minutes");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The settings of one event source mapping.
pub struct MappingSpec {
    pub batch_size: i32,
    pub batching_window: i32,
    pub tumbling_window: Option<i32>,
    pub on_failure_destination: Option<String>,
}

/// AWS's recommended settings for a consumer that must not block its shard: report item failures, bisect, a few
/// retries, an age limit, an on-failure destination.
pub const MAXIMUM_RETRY_ATTEMPTS: i32 = 3;
pub const MAXIMUM_RECORD_AGE_SECONDS: i32 = 3600;

impl MappingSpec {
    /// The settings of a mapping of the table.
    pub fn of(mapping: Mapping, bucket: &str, window_seconds: i32) -> MappingSpec {
        match mapping {
            Mapping::Consumer => MappingSpec::consumer(bucket),
            Mapping::Analytics => MappingSpec::analytics(window_seconds),
        }
    }

    /// The consumer's mapping (step 3): batches of up to 100 within a second; failed batches to the bucket.
    pub fn consumer(bucket: &str) -> MappingSpec {
        MappingSpec {
            batch_size: 100,
            batching_window: 1,
            tumbling_window: None,
            on_failure_destination: Some(format!("arn:aws:s3:::{bucket}")),
        }
    }

    /// The analysis' mapping (step 5): larger batches, tumbling windows of `window_seconds`.
    pub fn analytics(window_seconds: i32) -> MappingSpec {
        MappingSpec {
            batch_size: 500,
            batching_window: 1,
            tumbling_window: Some(window_seconds),
            on_failure_destination: None,
        }
    }

    /// Whether a mapping as Lambda describes it already has these settings.
    pub fn matches(&self, mapping: &EventSourceMappingConfiguration) -> bool {
        let destination = mapping
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination())
            .map(str::to_owned);
        mapping.batch_size() == Some(self.batch_size)
            && mapping.maximum_batching_window_in_seconds() == Some(self.batching_window)
            && mapping.tumbling_window_in_seconds().filter(|w| *w > 0) == self.tumbling_window
            && mapping.bisect_batch_on_function_error() == Some(true)
            && mapping.maximum_retry_attempts() == Some(MAXIMUM_RETRY_ATTEMPTS)
            && mapping.maximum_record_age_in_seconds() == Some(MAXIMUM_RECORD_AGE_SECONDS)
            && mapping
                .function_response_types()
                .contains(&FunctionResponseType::ReportBatchItemFailures)
            && destination == self.on_failure_destination
    }

    fn destination_config(&self) -> Option<DestinationConfig> {
        self.on_failure_destination.as_ref().map(|destination| {
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(destination).build())
                .build()
        })
    }
}

/// One mapping per function and stream: created once, updated when its settings differ.
async fn ensure_mapping(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    stream_arn: &str,
    spec: &MappingSpec,
    tags: &BTreeMap<String, String>,
) -> Result<Change> {
    let existing = lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await?;
    let name = format!("{function} <- {}", stream_arn.rsplit('/').next().unwrap_or(stream_arn));
    let found = existing
        .event_source_mappings
        .unwrap_or_default()
        .into_iter()
        .find(|mapping| mapping.event_source_arn.as_deref() == Some(stream_arn));
    if let Some(mapping) = found {
        if spec.matches(&mapping) {
            return Ok(Change {
                kind: ResourceKind::Mapping,
                name,
                action: Action::Unchanged,
            });
        }
        lambda
            .update_event_source_mapping()
            .uuid(mapping.uuid().unwrap_or_default())
            .batch_size(spec.batch_size)
            .maximum_batching_window_in_seconds(spec.batching_window)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .bisect_batch_on_function_error(true)
            .maximum_retry_attempts(MAXIMUM_RETRY_ATTEMPTS)
            .maximum_record_age_in_seconds(MAXIMUM_RECORD_AGE_SECONDS)
            .set_tumbling_window_in_seconds(spec.tumbling_window)
            .set_destination_config(spec.destination_config())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("updating the mapping of {function}: {}", error_chain(&e)))?;
        return Ok(Change {
            kind: ResourceKind::Mapping,
            name,
            action: Action::Updated,
        });
    }
    create_mapping(lambda, function, stream_arn, spec, tags).await?;
    Ok(Change {
        kind: ResourceKind::Mapping,
        name,
        action: Action::Created,
    })
}

async fn create_mapping(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    stream_arn: &str,
    spec: &MappingSpec,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let name = format!("{function} <- {}", stream_arn.rsplit('/').next().unwrap_or(stream_arn));
    // Lambda checks the function's role can read the stream when the mapping is made: right after the role's policy
    // was put, IAM may not show it yet (see `Propagation`).
    retry_while_propagating(
        &name,
        Propagation::IAM,
        |error: &SdkError<CreateEventSourceMappingError>| {
            error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_value_exception() && stream_not_yet_readable(e.message().unwrap_or_default())
            })
        },
        || {
            lambda
                .create_event_source_mapping()
                .function_name(function)
                .event_source_arn(stream_arn)
                .starting_position(EventSourcePosition::TrimHorizon)
                .batch_size(spec.batch_size)
                .maximum_batching_window_in_seconds(spec.batching_window)
                .function_response_types(FunctionResponseType::ReportBatchItemFailures)
                .bisect_batch_on_function_error(true)
                .maximum_retry_attempts(MAXIMUM_RETRY_ATTEMPTS)
                .maximum_record_age_in_seconds(MAXIMUM_RECORD_AGE_SECONDS)
                .set_tumbling_window_in_seconds(spec.tumbling_window)
                .set_destination_config(spec.destination_config())
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("mapping {function}: {}", error_chain(&e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_role_not_yet_visible_to_lambda_is_waited_for() {
        let mapping = "Cannot access stream arn:aws:kinesis:eu-west-1:123456789012:stream/kinesis-lab-ada-TelemetricStream. \
                       Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and \
                       ListShards Actions on your stream in IAM.";
        assert!(stream_not_yet_readable(mapping));
        assert!(!stream_not_yet_readable("Unsupported MaximumBatchingWindowInSeconds"));
        assert!(!stream_not_yet_readable(
            "Stream not found: arn:aws:kinesis:eu-west-1:1:stream/x"
        ));
        assert!(role_not_yet_assumable(
            "The role defined for the function cannot be assumed by Lambda."
        ));
        assert!(!role_not_yet_assumable("Could not unzip uploaded file."));
    }

    #[test]
    fn policies_come_back_from_iam_url_encoded() {
        let document = serde_json::json!({"Statement": [{"Resource": "arn:aws:s3:::b/*"}]});
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D";
        assert_eq!(policy_value(encoded), Some(document.clone()));
        assert_eq!(policy_value(&document.to_string()), Some(document));
    }
}
