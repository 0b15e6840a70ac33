//! The sandbox deploy path (`cargo xtask deploy --aws`, `status`, `destroy`) run against the local emulator's
//! control plane: the same calls a learner's deploy makes in AWS, aimed at moto through the local cloud's front door
//! (which bridges the SDK's CloudWatch CBOR and serves Kinesis; everything else is moto's).
//! The functions' code is a small zip here (moto stores it, never runs it); the steps' own tools are the solutions'.

use lab_cloud::control::accounts::Accounts;
use lab_cloud::control::change::Action;
use lab_cloud::control::deploy::{self, Artifacts, Settings};
use lab_cloud::control::{destroy, inventory, plan, status};
use lab_cloud::gateway::{Gateway, GatewayOptions};
use lab_cloud::naming::Naming;
use lab_cloud::stages::{ANALYTICS, CONSUMER, PRODUCER, ResourceKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A valid, empty zip archive whose comment makes it differ from another (a stand-in for changed code).
fn zip_with_comment(comment: &str) -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 16]);
    zip.extend((comment.len() as u16).to_le_bytes());
    zip.extend(comment.as_bytes());
    zip
}

/// The emulator behind the local cloud's front door, as `cargo xtask deploy` finds it: the deploy path lists
/// CloudWatch alarms (step 6's), and the Rust SDK speaks CloudWatch in CBOR, which only the front door turns into
/// what moto speaks. Every other call reaches moto's control plane as before (Kinesis is the front door's engine).
async fn local_cloud() -> (Gateway, aws_config::SdkConfig) {
    let admin = lab_testkit::local_aws().await;
    let options = GatewayOptions {
        stream_lifecycle: std::time::Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(admin.endpoint_url().unwrap(), options)
        .await
        .unwrap();
    let config = lab_cloud::commands::front_door::config_at(&admin, &gateway.endpoint()).await;
    (gateway, config)
}

/// A learner name no other test run uses.
fn learner(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}{}{:05}", std::process::id() % 100_000, nanos % 100_000)
}

struct Workspace {
    dir: PathBuf,
    artifacts: Artifacts,
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Workspace {
    /// The solutions' tools, copied aside (another build may write executables of the same names), and one zip
    /// per function.
    fn new() -> Workspace {
        let dir = std::env::temp_dir().join(format!("sandbox-test-{}", learner("w")));
        std::fs::create_dir_all(&dir).unwrap();
        let mut binaries = BTreeMap::new();
        for package in ["step-1-solution", "step-4-solution", "step-6-solution"] {
            for (name, path) in lab_cloud::testing::step_binaries(package).expect("the solutions build") {
                let copy = dir.join(&name);
                std::fs::copy(&path, &copy).unwrap();
                binaries.insert(name, copy);
            }
        }
        let mut workspace = Workspace {
            dir,
            artifacts: Artifacts {
                binaries,
                zips: BTreeMap::new(),
                architecture: Some(aws_sdk_lambda::types::Architecture::Arm64),
            },
        };
        for function in ["producer", "consumer", "analytics", "scaler", "expiry-guard"] {
            workspace.write_zip(function, "version 1");
        }
        workspace
    }

    fn write_zip(&mut self, function: &str, version: &str) {
        let path = self.dir.join(format!("{function}.zip"));
        std::fs::write(&path, zip_with_comment(&format!("{function} {version}"))).unwrap();
        self.artifacts.zips.insert(function.to_owned(), path);
    }

    fn settings(&self, naming: &Naming, stage: u8) -> Settings {
        Settings {
            stage,
            naming: naming.clone(),
            firehose_interval_seconds: Some(60),
            firehose_compression: None,
            analytics_window_seconds: 60,
            functions_dir: self.dir.join("functions"),
            // The local cloud's account, named as a sandbox.
            accounts: Accounts::named(Some("123456789012"), &self.dir.join("no-file")).unwrap(),
            lifetime: None,
        }
    }
}

/// What must not change when nothing was changed: code, configuration revisions, mappings, the stream's birth.
async fn fingerprint(config: &aws_config::SdkConfig, naming: &Naming) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut prints = vec![];
    for resource in inventory::discover(config, naming).await.unwrap() {
        match resource.kind {
            ResourceKind::Function => {
                let c = lambda
                    .get_function_configuration()
                    .function_name(&resource.name)
                    .send()
                    .await
                    .unwrap();
                prints.push(format!(
                    "{} {:?} {:?} {:?}",
                    resource.name,
                    c.code_sha256(),
                    c.last_modified(),
                    c.revision_id()
                ));
            }
            ResourceKind::Mapping => {
                let m = lambda
                    .get_event_source_mapping()
                    .uuid(&resource.id)
                    .send()
                    .await
                    .unwrap();
                prints.push(format!("{} {:?} {:?}", resource.id, m.last_modified(), m.batch_size()));
            }
            ResourceKind::Stream => {
                let s = aws_sdk_kinesis::Client::new(config)
                    .describe_stream_summary()
                    .stream_name(&resource.name)
                    .send()
                    .await
                    .unwrap()
                    .stream_description_summary
                    .unwrap();
                prints.push(format!("{} {:?}", resource.name, s.stream_creation_timestamp));
            }
            ResourceKind::DeliveryStream => {
                let d = aws_sdk_firehose::Client::new(config)
                    .describe_delivery_stream()
                    .delivery_stream_name(&resource.name)
                    .send()
                    .await
                    .unwrap()
                    .delivery_stream_description
                    .unwrap();
                prints.push(format!("{} {}", resource.name, d.version_id));
            }
            _ => prints.push(format!("{:?} {}", resource.kind, resource.name)),
        }
    }
    prints
}

fn kinds(found: &[inventory::Found]) -> BTreeMap<ResourceKind, usize> {
    let mut counts = BTreeMap::new();
    for resource in found {
        *counts.entry(resource.kind).or_default() += 1;
    }
    counts
}

// Multi-threaded: the steps' tools run as processes, waited for on a thread, while the front door answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_twice_changes_nothing_then_destroy_leaves_nothing_and_spares_other_learners() {
    let (_front_door, config) = local_cloud().await;
    let mut workspace = Workspace::new();
    let me = learner("a");
    let naming = Naming::for_learner(&me).unwrap();
    // Another learner in the same account, whose names start with this learner's prefix (`kinesis-lab-a…-x-…`).
    let neighbour = Naming::for_learner(&format!("{me}-x")).unwrap();
    deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&neighbour, 5))
        .await
        .expect("the neighbour's deploy");
    let theirs = inventory::discover(&config, &neighbour).await.unwrap();
    // The 12 of the five stages, and the clean-up guard's 4 (function, its role, the scheduler's, the schedule).
    assert_eq!(theirs.len(), 16, "{theirs:#?}");

    let plan = plan::plan(&config, &naming, 5, true).await.unwrap();
    assert_eq!(plan.resources.len(), 16, "{plan}");
    assert!(plan.resources.iter().all(|r| !r.exists), "{plan}");
    assert!(
        plan.to_string().contains("$0.03"),
        "the plan names the hourly cost:\n{plan}"
    );

    let first = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 5))
        .await
        .expect("the first deploy");
    assert!(
        first.changes.iter().all(|c| c.action == Action::Created),
        "{:#?}",
        first.changes
    );
    let found = inventory::discover(&config, &naming).await.unwrap();
    assert_eq!(
        kinds(&found),
        BTreeMap::from([
            (ResourceKind::Mapping, 2),
            (ResourceKind::Function, 4),
            (ResourceKind::DeliveryStream, 1),
            (ResourceKind::Stream, 1),
            (ResourceKind::Role, 6),
            (ResourceKind::Bucket, 1),
            (ResourceKind::Schedule, 1)
        ]),
        "{found:#?}"
    );
    assert!(
        plan::plan(&config, &naming, 5, true)
            .await
            .unwrap()
            .resources
            .iter()
            .all(|r| r.exists)
    );
    let before = fingerprint(&config, &naming).await;

    let second = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 5))
        .await
        .expect("the second deploy");
    assert!(
        !second.changed(),
        "a second deploy changed something: {:#?}",
        second.changes
    );
    assert_eq!(fingerprint(&config, &naming).await, before);

    // Changed code updates that function, and only it.
    workspace.write_zip("producer", "version 2");
    let third = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 5))
        .await
        .unwrap();
    let updated: Vec<_> = third.changes.iter().filter(|c| c.action != Action::Unchanged).collect();
    assert_eq!(updated.len(), 1, "{updated:#?}");
    assert_eq!(updated[0].name, naming.function(PRODUCER));

    let status = status::status(&config, &naming).await.unwrap();
    assert_eq!(status.resources.len(), 16);
    assert_eq!(status.records_in_stream, Some(0));
    assert!(status.to_string().contains("ACTIVE"), "{status}");

    // The deployed check of stage 1 reads the stream's state and tags.
    let invoker = lab_cloud::control::invoker::Invoker::Aws(aws_sdk_lambda::Client::new(&config));
    let patience = lab_cloud::commands::check::Patience {
        first_poll: std::time::Duration::ZERO,
        delivery: std::time::Duration::ZERO,
        window: std::time::Duration::ZERO,
        window_seconds: 60,
    };
    let checks = lab_cloud::commands::check::check_deployed(&config, &naming, 1, &invoker, patience)
        .await
        .unwrap();
    assert_eq!(checks.len(), 2, "{checks:#?}");
    assert!(
        checks
            .iter()
            .all(|c| c.verdict == lab_cloud::commands::check::Verdict::Passed),
        "{checks:#?}"
    );

    // Firehose's role trusts Firehose on behalf of this account only, as step 4 teaches.
    let (account, _) = lab_cloud::aws::account(&config).await.unwrap();
    assert_eq!(
        trust_policy(&config, &naming.role("firehose")).await,
        lab_cloud::control::iam::firehose_trust_policy(&account)
    );

    // Lambda makes a log group per function at its first invocation (moto's functions never run: made here).
    make_log_groups(&config, &naming).await;
    make_log_groups(&config, &neighbour).await;
    let found = inventory::discover(&config, &naming).await.unwrap();
    assert_eq!(kinds(&found).get(&ResourceKind::LogGroup), Some(&3), "{found:#?}");

    let remaining = destroy::destroy(&config, &naming, &found).await.unwrap();
    assert!(remaining.is_empty(), "left behind: {remaining:#?}");
    assert!(inventory::discover(&config, &naming).await.unwrap().is_empty());
    assert!(log_groups(&config, &naming).await.is_empty());

    // The neighbour's resources are all still there, log groups too, and theirs to remove.
    let still_theirs = inventory::discover(&config, &neighbour).await.unwrap();
    let (their_log_groups, rest): (Vec<_>, Vec<_>) = still_theirs
        .iter()
        .cloned()
        .partition(|r| r.kind == ResourceKind::LogGroup);
    assert_eq!(rest, theirs);
    assert_eq!(their_log_groups.len(), 3, "{still_theirs:#?}");
    assert!(
        destroy::destroy(&config, &neighbour, &still_theirs)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(log_groups(&config, &neighbour).await.is_empty());
}

// Stage 6 on top of the five: the scaler (role, function), the topic it is subscribed to, the learner's two alarms
// put by step 6's own `ensure-alarms`, each tagged; a second deploy changes nothing; the deployed check of the
// alarms, topic, subscription, permission and role passes but for invoking the scaler (moto's functions never
// run); destroy removes it all, alarms first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_6_deploys_the_alarms_topic_and_scaler_once_and_destroy_removes_them() {
    let (_front_door, config) = local_cloud().await;
    let workspace = Workspace::new();
    let naming = Naming::for_learner(&learner("w")).unwrap();
    let plan = plan::plan(&config, &naming, 6, true).await.unwrap();
    assert_eq!(plan.resources.len(), 21, "the five stages' 16, and 5: {plan}");
    let first = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 6))
        .await
        .expect("the first deploy");
    assert!(
        first.changes.iter().all(|c| c.action == Action::Created),
        "{:#?}",
        first.changes
    );
    let found = inventory::discover(&config, &naming).await.unwrap();
    let counts = kinds(&found);
    assert_eq!(
        (
            counts[&ResourceKind::Alarm],
            counts[&ResourceKind::Topic],
            counts[&ResourceKind::Function],
            counts[&ResourceKind::Role]
        ),
        (2, 1, 5, 7),
        "{found:#?}"
    );
    let scaler = naming.function(lab_cloud::stages::SCALER);
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = found.iter().find(|r| r.kind == ResourceKind::Topic).unwrap();
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic.id)
        .send()
        .await
        .unwrap();
    assert!(
        subscriptions
            .subscriptions()
            .iter()
            .any(|s| s.protocol() == Some("lambda")
                && s.endpoint()
                    .is_some_and(|e| e.ends_with(&format!(":function:{scaler}")))),
        "{subscriptions:#?}"
    );

    let second = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 6))
        .await
        .expect("the second deploy");
    assert!(
        !second.changed(),
        "a second deploy changed something: {:#?}",
        second.changes
    );

    let invoker = lab_cloud::control::invoker::Invoker::Aws(aws_sdk_lambda::Client::new(&config));
    let patience = lab_cloud::commands::check::Patience {
        first_poll: std::time::Duration::ZERO,
        delivery: std::time::Duration::ZERO,
        window: std::time::Duration::ZERO,
        window_seconds: 60,
    };
    let checks = lab_cloud::commands::check::check_deployed(&config, &naming, 6, &invoker, patience)
        .await
        .unwrap();
    let watched: Vec<_> = checks.iter().filter(|c| c.stage == 6).collect();
    let (passed, failed): (Vec<&&lab_cloud::commands::check::Check>, Vec<_>) = watched
        .iter()
        .partition(|c| c.verdict == lab_cloud::commands::check::Verdict::Passed);
    assert_eq!(
        passed.len(),
        5,
        "two alarms, subscription, permission, role: {watched:#?}"
    );
    assert!(
        failed.len() == 1 && failed[0].what.starts_with("the scaler, sent"),
        "only the invocation fails (moto's functions never run): {watched:#?}"
    );

    let remaining = destroy::destroy(&config, &naming, &found).await.unwrap();
    assert!(remaining.is_empty(), "left behind: {remaining:#?}");
}

const FUNCTIONS: [&str; 3] = [PRODUCER, CONSUMER, ANALYTICS];

async fn make_log_groups(config: &aws_config::SdkConfig, naming: &Naming) {
    let logs = lab_cloud::logs::Logs::new(config);
    for function in FUNCTIONS {
        let group = format!("/aws/lambda/{}", naming.function(function));
        logs.create_log_group(&group).await.unwrap();
    }
}

/// The log groups of the learner's functions that exist.
async fn log_groups(config: &aws_config::SdkConfig, naming: &Naming) -> Vec<String> {
    let logs = lab_cloud::logs::Logs::new(config);
    let mut found = vec![];
    for function in FUNCTIONS {
        let name = format!("/aws/lambda/{}", naming.function(function));
        let groups = logs.describe_log_groups(&name).await.unwrap();
        found.extend(groups.into_iter().map(|g| g.name).filter(|g| *g == name));
    }
    found
}

/// A role's trust policy, as a JSON value.
async fn trust_policy(config: &aws_config::SdkConfig, role: &str) -> serde_json::Value {
    let role = aws_sdk_iam::Client::new(config)
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    lab_cloud::control::iam::policy_value(role.assume_role_policy_document().unwrap()).unwrap()
}

// Multi-threaded: the steps' tools run as processes, waited for on a thread, while the front door answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploys_firehose_trust_policy_is_the_one_step_4s_own_tool_makes() {
    let (_front_door, config) = local_cloud().await;
    let workspace = Workspace::new();
    let naming = Naming::for_learner(&learner("t")).unwrap();
    let (account, region) = lab_cloud::aws::account(&config).await.unwrap();
    run(
        &config,
        &workspace.artifacts.binaries["ensure-stream"],
        &[("STREAM_NAME", naming.stream())],
    );
    // Step 4's tool makes its own role when it is given none (named here as the deploy names it, so that destroy
    // finds it).
    run(
        &config,
        &workspace.artifacts.binaries["ensure-delivery-stream"],
        &[
            ("STREAM_NAME", naming.stream()),
            ("BUCKET", naming.bucket(&account, &region)),
            ("FIREHOSE_ROLE_NAME", naming.role("firehose")),
            ("DELIVERY_STREAM_NAME", naming.delivery_stream()),
        ],
    );
    assert_eq!(
        trust_policy(&config, &naming.role("firehose")).await,
        lab_cloud::control::iam::firehose_trust_policy(&account)
    );
    let found = inventory::discover(&config, &naming).await.unwrap();
    assert!(destroy::destroy(&config, &naming, &found).await.unwrap().is_empty());
}

/// Runs a step tool the way a half-finished deploy would have, at `config`'s endpoint (the front door).
fn run(config: &aws_config::SdkConfig, binary: &Path, env: &[(&str, String)]) {
    let status = std::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_ENDPOINT_URL", config.endpoint_url().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
}

// Multi-threaded: the steps' tools run as processes, waited for on a thread, while the front door answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_made_deploy_is_repaired_by_deploy_and_found_by_destroy() {
    let (_front_door, config) = local_cloud().await;
    let workspace = Workspace::new();
    let naming = Naming::for_learner(&learner("c")).unwrap();

    // A deploy that stopped after the stream: the stream exists, no function does.
    run(
        &config,
        &workspace.artifacts.binaries["ensure-stream"],
        &[("STREAM_NAME", naming.stream())],
    );
    // And a bucket by another name, found by its tags alone.
    let s3 = lab_cloud::aws::s3_client(&config);
    let stray = format!("stray-{}", naming.learner().unwrap());
    s3.create_bucket().bucket(&stray).send().await.unwrap();
    let tags = naming
        .tags()
        .into_iter()
        .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build().unwrap())
        .collect::<Vec<_>>();
    s3.put_bucket_tagging()
        .bucket(&stray)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(tags))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&stray)
        .key("telemetry/x.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();

    let repaired = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 3))
        .await
        .expect("deploy repairs");
    let action = |kind: ResourceKind, name: &str| {
        repaired
            .changes
            .iter()
            .find(|c| c.kind == kind && c.name == name)
            .map(|c| c.action)
    };
    // The stream was there with step 1's tags only; the deploy adds the learner's.
    assert_eq!(action(ResourceKind::Stream, &naming.stream()), Some(Action::Updated));
    assert_eq!(
        action(ResourceKind::Function, &naming.function(PRODUCER)),
        Some(Action::Created)
    );

    // A function deleted by hand comes back with the next deploy.
    aws_sdk_lambda::Client::new(&config)
        .delete_function()
        .function_name(naming.function(PRODUCER))
        .send()
        .await
        .unwrap();
    let again = deploy::deploy(&config, &workspace.artifacts, &workspace.settings(&naming, 3))
        .await
        .unwrap();
    let recreated: Vec<_> = again.changes.iter().filter(|c| c.action != Action::Unchanged).collect();
    assert_eq!(recreated.len(), 1, "{recreated:#?}");
    assert_eq!(recreated[0].name, naming.function(PRODUCER));

    let found = inventory::discover(&config, &naming).await.unwrap();
    assert!(
        found.iter().any(|r| r.kind == ResourceKind::Bucket && r.name == stray),
        "{found:#?}"
    );
    let remaining = destroy::destroy(&config, &naming, &found).await.unwrap();
    assert!(remaining.is_empty(), "left behind: {remaining:#?}");
    assert!(
        s3.head_bucket().bucket(&stray).send().await.is_err(),
        "the stray bucket is gone"
    );
}

/// Terraform's `allowed_account_ids`: a deploy into an account the learner has not named as a sandbox is refused,
/// after `GetCallerIdentity` and before anything is made; naming it (the file) lets the same deploy through; the
/// deployment expires (`expires-at` on every resource, the guard's schedule at that time), `--for` moves the
/// deadline, `status` meters age and cost so far; `destroy` needs no allow-list.
// Multi-threaded: the steps' tools run as processes, waited for on a thread, while the front door answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_named_sandbox_account_is_deployed_to_and_the_deployment_expires() {
    let (_front_door, config) = local_cloud().await;
    let workspace = Workspace::new();
    let naming = Naming::for_learner(&learner("s")).unwrap();
    let file = workspace.dir.join("sandbox-accounts");
    let mut settings = workspace.settings(&naming, 5);
    settings.accounts = Accounts::named(Some("111122223333"), &file).unwrap();
    let refusal = format!(
        "{:#}",
        deploy::deploy(&config, &workspace.artifacts, &settings)
            .await
            .unwrap_err()
    );
    println!("the refusal: {refusal}");
    assert!(
        refusal.starts_with("account 123456789012 is not one of your sandbox accounts, so nothing was deployed"),
        "{refusal}"
    );
    assert!(
        refusal.contains(&format!("echo 123456789012 >> {}", file.display())),
        "{refusal}"
    );
    assert!(
        inventory::discover(&config, &naming).await.unwrap().is_empty(),
        "a refused deploy made nothing"
    );

    std::fs::write(&file, "# the workshop's sandbox\n123456789012\n").unwrap();
    settings.accounts = Accounts::named(None, &file).unwrap();
    settings.stage = 1;
    let deployed = deploy::deploy(&config, &workspace.artifacts, &settings).await.unwrap();
    let found = inventory::discover(&config, &naming).await.unwrap();
    assert_eq!(found.len(), 5, "the stream and the guard's four: {found:#?}");
    let expires_at = deployed.expires_at.clone().unwrap();
    let deadline = lab_cloud::control::guard::parse_time(&expires_at).unwrap();
    let ahead = (deadline - chrono::Utc::now()).num_minutes();
    assert!((235..=240).contains(&ahead), "4 hours by default: {expires_at}");
    for resource in found.iter().filter(|r| r.kind != ResourceKind::LogGroup) {
        assert_eq!(
            resource.expires_at.as_deref(),
            Some(expires_at.as_str()),
            "{resource:#?}"
        );
    }

    // Deployed again, the deadline stays; with --for it moves, schedule and tags together.
    let again = deploy::deploy(&config, &workspace.artifacts, &settings).await.unwrap();
    assert!(!again.changed(), "{:#?}", again.changes);
    settings.lifetime = Some(std::time::Duration::from_secs(90 * 60));
    let moved = deploy::deploy(&config, &workspace.artifacts, &settings).await.unwrap();
    let new_deadline = moved.expires_at.clone().unwrap();
    assert_ne!(new_deadline, expires_at);
    let schedule = moved.changes.iter().find(|c| c.kind == ResourceKind::Schedule).unwrap();
    assert_eq!(schedule.action, Action::Updated);

    let status = status::status(&config, &naming).await.unwrap();
    println!("{status}");
    let stream = status
        .resources
        .iter()
        .position(|r| r.kind == ResourceKind::Stream)
        .unwrap();
    let meter = &status.meter[stream];
    assert!(meter.age_seconds.is_some_and(|a| a < 600), "{meter:?}");
    assert!((meter.per_hour_usd - 0.03).abs() < 1e-9, "2 shards: {meter:?}");
    assert!(
        meter.expires_in_seconds.is_some_and(|s| (5300..=5400).contains(&s)),
        "{meter:?}"
    );
    assert!(status.to_string().contains("expires in 1h 29m"), "{status}");

    // Cleaning up works without any allow-list.
    let remaining = destroy::destroy(&config, &naming, &status.resources).await.unwrap();
    assert!(remaining.is_empty(), "{remaining:#?}");
}
