//! `lab-cloud serve`: the data plane of a cloud kept up, in step with the control plane every second until stopped,
//! and the Kinesis front door every client of that cloud goes through (its endpoint written to the state folder), the
//! dashboard (its address written there too), and CloudWatch's minute (metrics published, alarms evaluated).

use anyhow::Result;
use aws_config::SdkConfig;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::front_door;
use super::shutdown_signal;
use super::target::folders;
use crate::aws::s3_client;
use crate::dashboard;
use crate::gateway::Limits;
use crate::runtime::cloudwatch::Watcher;
use crate::runtime::event_source::Pacing;
use crate::runtime::faults::FaultPlan;
use crate::runtime::lambda_host::LambdaHost;
use crate::runtime::notifications::FunctionInvoker;
use crate::runtime::scheduler::Scheduler;
use crate::runtime::supervisor::Supervisor;

pub async fn run(config: SdkConfig, state: &Path, args: lab_contract::Serve) -> Result<ExitCode> {
    let limits = if args.no_limits {
        Limits::none()
    } else {
        Limits::default()
    };
    let faults = FaultPlan::from_args(&args.faults);
    if !faults.faults().is_empty() {
        eprintln!(
            "lab-cloud: injecting faults {} (seed {})",
            faults.faults(),
            faults.seed()
        );
    }
    let settings = front_door::DoorSettings {
        limits,
        faults: faults.clone(),
        stream_lifecycle_ms: args.stream_lifecycle_ms,
        iam: !args.no_iam,
        cloudwatch_minute_ms: args.cloudwatch_minute_ms,
    };
    let door = front_door::open(&config, settings).await?;
    if args.front_door_only {
        let idle = args.idle_exit_seconds.map(|seconds| IdleExit {
            after: Duration::from_secs(seconds),
            emulator_pid: args.emulator_pid,
        });
        return front_door_only(state, door, idle).await;
    }
    let context = dashboard::fault_context(&args.faults);
    let dashboard = dashboard::start_for(&args.dashboard, door.gateway.meter(), context).await?;
    // Written before the endpoint, which `cargo xtask cloud up` waits for: then it finds this too, and prints it.
    let dashboard_file = state.join("dashboard-url");
    if let Some(dashboard) = &dashboard {
        std::fs::write(&dashboard_file, dashboard.url())?;
    }
    let endpoint_file = front_door::endpoint_file(state);
    std::fs::write(&endpoint_file, door.gateway.endpoint())?;
    eprintln!("lab-cloud: the local cloud's endpoint is {}", door.gateway.endpoint());
    // Serve's host runs only what the mappings invoke: nothing is spared the faults.
    let mut scheduler = Scheduler::new(
        door.config.clone(),
        std::sync::Arc::new(LambdaHost::new()),
        &folders(state),
        door.environment.clone(),
    );
    let mut supervisor = Supervisor::new(door.config, door.environment, folders(state), Pacing::default())
        .with_faults(faults, &[])
        .with_metrics(door.gateway.metric_book());
    // CloudWatch's minute: the metrics published, the alarms evaluated and their actions carried out.
    let watcher = Watcher::new(&door.operator, door.gateway.metric_book(), supervisor.invoker());
    if let Some(dashboard) = &dashboard {
        dashboard.feed().watch_alarms(watcher.transitions());
    }
    let watcher = watcher.spawn();
    let s3 = s3_client(&config);
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        if let Err(error) = supervisor.sync().await {
            eprintln!("lab-cloud: {error:#}");
        }
        // One-time schedules due now (the clean-up guard's): fired by the scheduler, into a host of its own.
        if let Err(error) = scheduler.fire_due(chrono::Utc::now()).await {
            eprintln!("lab-cloud: scheduler: {error:#}");
        }
        if let Some(dashboard) = &dashboard {
            dashboard.feed().follow(&supervisor, &s3).await;
        }
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    watcher.abort();
    supervisor.shutdown();
    let _ = std::fs::remove_file(endpoint_file);
    let _ = std::fs::remove_file(dashboard_file);
    door.gateway.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `--idle-exit-seconds`: the warm check cloud stops itself, and its emulator, once nobody has called it for a while.
struct IdleExit {
    after: Duration,
    emulator_pid: Option<u32>,
}

/// Resolves once the gateway has been idle for `idle.after` (never without `idle`).
async fn idle(gateway: &crate::gateway::Gateway, idle: Option<&IdleExit>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    loop {
        let left = idle.after.saturating_sub(gateway.idle_for());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.max(Duration::from_millis(500))).await;
    }
}

/// Stops the emulator behind an idle front door, by PID, only if that PID still runs the emulator's launcher.
fn stop_emulator(pid: u32) {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let ours = String::from_utf8_lossy(&cmdline).contains("moto_server.py")
        || std::process::Command::new("ps")
            .args(["-p", &pid.to_string(), "-o", "command="])
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("moto_server.py"));
    if ours {
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    }
}

/// `--front-door-only`: the gateway alone, until stopped (the step tests' cloud: they run their own mappings), with
/// CloudWatch's minute (the metrics published, the alarms evaluated; an SNS action invokes a function whose code is
/// under the state folder, as `serve` would, and says so of any other). With `idle_exit`, it also stops (and stops
/// its emulator) once idle that long: the cloud `cargo xtask check` keeps warm.
async fn front_door_only(state: &Path, door: front_door::FrontDoor, idle_exit: Option<IdleExit>) -> Result<ExitCode> {
    let host = Arc::new(LambdaHost::new());
    host.set_metrics(door.gateway.metric_book());
    let folders = folders(state);
    let invoker = FunctionInvoker {
        lambda: aws_sdk_lambda::Client::new(&door.config),
        functions: folders.functions,
        logs: folders.logs,
        cloud_environment: door.environment.clone(),
        host,
    };
    let watcher = Watcher::new(&door.operator, door.gateway.metric_book(), invoker).spawn();
    let endpoint_file = front_door::endpoint_file(state);
    std::fs::write(&endpoint_file, door.gateway.endpoint())?;
    eprintln!(
        "lab-cloud: the local cloud's endpoint is {} (front door only)",
        door.gateway.endpoint()
    );
    let idled = tokio::select! {
        () = shutdown_signal() => false,
        () = idle(&door.gateway, idle_exit.as_ref()) => true,
    };
    watcher.abort();
    let _ = std::fs::remove_file(endpoint_file);
    door.gateway.shutdown().await;
    if idled && let Some(exit) = &idle_exit {
        eprintln!("lab-cloud: no request for {} s: stopping", exit.after.as_secs());
        if let Some(pid) = exit.emulator_pid {
            stop_emulator(pid);
        }
    }
    Ok(ExitCode::SUCCESS)
}
