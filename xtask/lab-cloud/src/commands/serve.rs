//! `lab-cloud serve`: the data plane of a cloud kept up, in step with the control plane every second until stopped.

use anyhow::Result;
use aws_config::SdkConfig;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::shutdown_signal;
use super::target::{cloud_environment, folders};
use crate::runtime::event_source::Pacing;
use crate::runtime::supervisor::Supervisor;

pub async fn run(config: SdkConfig, state: &Path) -> Result<ExitCode> {
    let mut supervisor = Supervisor::new(config, cloud_environment(), folders(state), Pacing::default());
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        if let Err(error) = supervisor.sync().await {
            eprintln!("lab-cloud: {error:#}");
        }
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    supervisor.shutdown();
    Ok(ExitCode::SUCCESS)
}
