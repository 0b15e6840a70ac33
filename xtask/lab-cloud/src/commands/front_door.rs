//! The local cloud's Kinesis front door (`crate::gateway`) for `serve` and `lab`: started in front of the emulator
//! that `AWS_ENDPOINT_URL` names, with AWS's shard limits, and the configuration and environment that send the data
//! plane's clients (functions, pollers, Firehose pump, producer) through it.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use std::path::{Path, PathBuf};

use super::target::cloud_environment;
use crate::gateway::{DEFAULT_STREAM_LIFECYCLE, Gateway, GatewayOptions, Limits};
use crate::runtime::faults::FaultPlan;
use crate::runtime::metrics::{self, MetricBook};
use std::sync::Arc;
use std::time::Duration;

/// The file in the state folder where `serve` writes its front door's endpoint, for xtask to hand to clients.
pub fn endpoint_file(state: &Path) -> PathBuf {
    state.join("gateway-endpoint")
}

pub struct FrontDoor {
    pub gateway: Gateway,
    /// `config` with the gateway as its endpoint.
    pub config: SdkConfig,
    /// `config` with the gateway's operator door as its endpoint: the same streams, Kinesis neither limited nor
    /// counted, for the local cloud's own bookkeeping (a lab's deploy and read-back).
    pub operator: SdkConfig,
    /// The AWS environment of this process with `AWS_ENDPOINT_URL` set to the gateway.
    pub environment: Vec<(String, String)>,
}

/// How the front door is opened.
pub struct DoorSettings {
    pub limits: Limits,
    /// Faults injected into writes (put-internal, put-5xx).
    pub faults: Arc<FaultPlan>,
    /// How long its streams are CREATING, UPDATING and DELETING (`None`: the gateway's default).
    pub stream_lifecycle_ms: Option<u64>,
    /// Whether calls are authenticated and authorised (`--no-iam`: not).
    pub iam: bool,
    /// The local CloudWatch's minute in ms (`--cloudwatch-minute-ms`; `None`: AWS's 60,000).
    pub cloudwatch_minute_ms: Option<u64>,
}

/// The front door, in front of the emulator `AWS_ENDPOINT_URL` names.
pub async fn open(config: &SdkConfig, settings: DoorSettings) -> Result<FrontDoor> {
    let DoorSettings {
        limits,
        faults,
        stream_lifecycle_ms,
        iam,
        cloudwatch_minute_ms,
    } = settings;
    let emulator = config
        .endpoint_url()
        .context("AWS_ENDPOINT_URL is not set: the local cloud's data plane runs through `cargo xtask`")?;
    let options = GatewayOptions {
        limits,
        faults,
        stream_lifecycle: stream_lifecycle_ms.map_or(DEFAULT_STREAM_LIFECYCLE, Duration::from_millis),
        iam,
        metric_book: Arc::new(MetricBook::new(
            cloudwatch_minute_ms.map_or(metrics::MINUTE, Duration::from_millis),
        )),
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(emulator, options).await?;
    let endpoint = gateway.endpoint();
    let environment = cloud_environment()
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "AWS_ENDPOINT_URL" => (key, endpoint.clone()),
            _ => (key, value),
        })
        .collect();
    // Not `config.to_builder().endpoint_url(..)`: a client built from that config still takes its endpoint from
    // AWS_ENDPOINT_URL (the emulator's), which the SDK reads again for each service when the endpoint was not set
    // in code; the data plane's pollers and pumps then went around the front door. A loader told the endpoint
    // ignores the environment's ("configured endpoint URLs" are ignored once one is set programmatically).
    Ok(FrontDoor {
        config: config_at(config, &endpoint).await,
        operator: config_at(config, &gateway.operator_endpoint()).await,
        environment,
        gateway,
    })
}

/// `config`'s region and credentials, with `endpoint` for every service.
pub async fn config_at(config: &SdkConfig, endpoint: &str) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(endpoint);
    if let Some(region) = config.region() {
        loader = loader.region(region.clone());
    }
    if let Some(credentials) = config.credentials_provider() {
        loader = loader.credentials_provider(credentials);
    }
    loader.load().await
}
