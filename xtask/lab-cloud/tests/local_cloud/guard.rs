//! The clean-up guard end to end on the local cloud: two learners deploy (through the front door, so IAM and the
//! Kinesis engine are AWS's rules), one with a deadline seconds away; the scheduler fires that learner's one-time
//! schedule (assuming its role as scheduler.amazonaws.com, the front door authorising lambda:InvokeFunction), the
//! local Lambda host runs the real `expiry-guard` executable with its role's credentials, and the guard removes that
//! learner's resources — allowed, resource by resource, by the `aws:ResourceTag` conditions of its role — while the
//! other learner's are all still there.

use lab_cloud::control::accounts::Accounts;
use lab_cloud::control::deploy::{self, Artifacts, Settings};
use lab_cloud::control::guard::parse_time;
use lab_cloud::control::inventory::{self, Found};
use lab_cloud::control::{destroy, status};
use lab_cloud::gateway::{Gateway, GatewayOptions};
use lab_cloud::naming::Naming;
use lab_cloud::runtime::lambda_host::LambdaHost;
use lab_cloud::runtime::scheduler::Scheduler;
use lab_cloud::runtime::supervisor::Folders;
use lab_cloud::stages::ResourceKind;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn counts(found: &[Found]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for resource in found {
        *counts.entry(resource.kind.to_string()).or_default() += 1;
    }
    counts
}

// Multi-threaded: the deploy runs step 1's tool as a blocking process, and the front door it talks to runs here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_removes_an_expired_learners_resources_and_spares_another_learners() {
    let emulator = lab_testkit::local_aws().await.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let admin = lab_cloud::commands::front_door::config_at(&lab_testkit::local_aws().await, &gateway.endpoint()).await;
    let dir = std::env::temp_dir().join(lab_testkit::unique_name("guard-test"));
    let folders = Folders {
        functions: dir.join("functions"),
        logs: dir.join("logs"),
        failures: dir.join("failures"),
        checkpoints: dir.join("checkpoints"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut binaries = BTreeMap::new();
    for package in ["step-1-solution", "lab-guard"] {
        for (name, path) in lab_cloud::testing::step_binaries(package).expect("the package builds") {
            let copy = dir.join(&name);
            std::fs::copy(&path, &copy).unwrap();
            binaries.insert(name, copy);
        }
    }
    // The steps' functions as stand-in zips (the control plane stores them; nothing here runs them).
    let zip = dir.join("function.zip");
    std::fs::write(&zip, lab_cloud::control::function::EMPTY_ZIP).unwrap();
    let artifacts = Artifacts {
        binaries,
        zips: BTreeMap::from([("producer".to_owned(), zip.clone()), ("consumer".to_owned(), zip)]),
        architecture: None,
    };
    let settings = |naming: &Naming, lifetime: Option<Duration>| Settings {
        stage: 3,
        naming: naming.clone(),
        firehose_interval_seconds: Some(60),
        firehose_compression: None,
        analytics_window_seconds: 60,
        functions_dir: folders.functions.clone(),
        accounts: Accounts::Any,
        lifetime,
    };
    let ada = Naming::for_learner(&lab_testkit::unique_name("ada").to_lowercase().replace('_', "-")[..16]).unwrap();
    let bob = Naming::for_learner(&lab_testkit::unique_name("bob").to_lowercase().replace('_', "-")[..16]).unwrap();
    let ada_deployed = deploy::deploy(&admin, &artifacts, &settings(&ada, Some(Duration::from_secs(3))))
        .await
        .expect("ada's deploy, expiring in 3 s");
    deploy::deploy(&admin, &artifacts, &settings(&bob, None))
        .await
        .expect("bob's deploy");

    let ada_before = inventory::discover(&admin, &ada).await.unwrap();
    let bob_before = inventory::discover(&admin, &bob).await.unwrap();
    println!("before: ada {:?}", counts(&ada_before));
    println!("before: bob {:?}", counts(&bob_before));
    assert_eq!(ada_before.len(), 11, "{ada_before:#?}");
    assert_eq!(bob_before.len(), 11, "{bob_before:#?}");

    // Nothing is due before the deadline; once it has passed, ada's schedule (and only it) fires.
    let environment = vec![
        ("AWS_ENDPOINT_URL".to_owned(), gateway.endpoint()),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ];
    let mut scheduler = Scheduler::new(admin.clone(), Arc::new(LambdaHost::new()), &folders, environment);
    let deadline = parse_time(ada_deployed.expires_at.as_deref().unwrap()).unwrap();
    let mine = |fired: &[String]| {
        fired
            .iter()
            .filter(|f| f.contains(ada.learner().unwrap()) || f.contains(bob.learner().unwrap()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let early = scheduler
        .fire_due(deadline - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(mine(&early).is_empty(), "{early:?}");
    while chrono::Utc::now() <= deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fired = scheduler.fire_due(chrono::Utc::now()).await.unwrap();
    assert_eq!(mine(&fired), vec![ada.function(lab_cloud::stages::GUARD)], "{fired:?}");

    // The guard runs asynchronously: ada's resources go, all but the guard's own function and roles.
    let started = Instant::now();
    let ada_after = loop {
        let found = inventory::discover(&admin, &ada).await.unwrap();
        let only_the_guard = found.iter().all(|r| {
            lab_cloud::control::guard::is_guards_own(&ada, r.kind, &r.name) && r.kind != ResourceKind::Schedule
        });
        if only_the_guard || started.elapsed() > Duration::from_secs(120) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let bob_after = inventory::discover(&admin, &bob).await.unwrap();
    println!("after:  ada {:?}", counts(&ada_after));
    println!("after:  bob {:?}", counts(&bob_after));
    let log = std::fs::read_to_string(
        folders
            .logs
            .join(format!("{}.log", ada.function(lab_cloud::stages::GUARD))),
    )
    .unwrap_or_default();
    assert_eq!(
        counts(&ada_after),
        BTreeMap::from([("IAM role".to_owned(), 2), ("Lambda function".to_owned(), 1)]),
        "{ada_after:#?}\nthe guard's log:\n{log}"
    );
    assert_eq!(bob_after.len(), bob_before.len(), "{bob_after:#?}");
    // The schedule deleted itself (ActionAfterCompletion), and status says what is left of ada's.
    println!("{}", status::status(&admin, &ada).await.unwrap());

    for naming in [&ada, &bob] {
        let found = inventory::discover(&admin, naming).await.unwrap();
        assert!(destroy::destroy(&admin, naming, &found).await.unwrap().is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
