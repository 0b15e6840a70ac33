//! Where the results go, and how they come back (the chapter's "The result, and where it goes"): the
//! [`Destination`] read from the function's environment, a result's key, the S3 client, [`carried`] (the previous
//! window's result read back for its vehicles), and [`read_source`] for the binaries. Writing a result, [`crate::emit`],
//! is the learner's.

use crate::{Carry, TimeRange, WindowResult};
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use lambda_runtime::Error;
use std::collections::BTreeMap;

/// Where the results go: a bucket, and a prefix for the keys (empty, or ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub bucket: String,
    pub prefix: String,
}

pub const BUCKET_VARIABLE: &str = "ANALYTICS_BUCKET";
pub const PREFIX_VARIABLE: &str = "ANALYTICS_PREFIX";
pub const DEFAULT_PREFIX: &str = "analytics/";

impl Destination {
    /// Reads the function's environment: `ANALYTICS_BUCKET` (required) and `ANALYTICS_PREFIX` (`analytics/` when
    /// unset).
    pub fn from_env() -> Result<Destination, Error> {
        Destination::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, from any lookup (a test passes a closure instead of changing the process's environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Destination, Error> {
        // A blank bucket is as good as none; a blank prefix is a choice: no prefix at all.
        let bucket = support::non_blank(&lookup, BUCKET_VARIABLE)
            .ok_or_else(|| format!("{BUCKET_VARIABLE} is not set: the function needs a bucket for its results"))?;
        let mut prefix = lookup(PREFIX_VARIABLE).unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Destination { bucket, prefix })
    }
}

impl WindowResult {
    /// The result's key: `<prefix><window start>/<shard id>.json`, the start in ISO 8601's basic format
    /// (`20261127T101500Z`: no colons to escape, and keys sort by time). One key per window and shard, so a final
    /// invocation that Lambda runs again overwrites its own object instead of adding a second one.
    pub fn key(&self, prefix: &str) -> String {
        result_key(prefix, &self.window, &self.shard_id)
    }
}

/// The key of the result of `window` on `shard_id` (see [`WindowResult::key`]).
pub fn result_key(prefix: &str, window: &TimeRange, shard_id: &str) -> String {
    format!("{prefix}{}/{shard_id}.json", window.start.format("%Y%m%dT%H%M%SZ"))
}

/// An S3 client for the function's configuration. On the local cloud (an endpoint set in `AWS_ENDPOINT_URL`) S3
/// needs path-style addresses; on AWS the default, virtual-hosted style, is the right one.
pub fn s3_client(config: &SdkConfig) -> Client {
    let local = config.endpoint_url().is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(local)
        .build();
    Client::from_conf(s3_config)
}

/// The vehicles' last readings that the window before `window` left in its result on this shard: nothing when
/// there is no such result (the first window, or a shard that was quiet for a whole window).
pub async fn carried(
    s3: &Client,
    destination: &Destination,
    window: &TimeRange,
    shard_id: &str,
) -> Result<BTreeMap<String, Carry>, Error> {
    let key = result_key(&destination.prefix, &window.previous(), shard_id);
    let object = match s3.get_object().bucket(&destination.bucket).key(&key).send().await {
        Ok(object) => object,
        Err(error) => match error_code(&error) {
            Some("NoSuchKey" | "NoSuchBucket") => return Ok(BTreeMap::new()),
            // Without s3:ListBucket, S3 answers a missing key with 403; without s3:GetObject, every key. Either way
            // the window can still be counted: failing would hold the shard on a window that can never succeed.
            Some("AccessDenied") => {
                tracing::warn!(
                    key,
                    "cannot read the previous window's result (s3:GetObject, s3:ListBucket?)"
                );
                return Ok(BTreeMap::new());
            }
            _ => return Err(error.into()),
        },
    };
    let bytes = object.body.collect().await?.into_bytes();
    let previous: WindowResult = serde_json::from_slice(&bytes)?;
    Ok(previous.carry)
}

/// The S3 error code of a failed `GetObject`, if S3 answered at all.
fn error_code<R>(
    error: &aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError, R>,
) -> Option<&str> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    error.as_service_error().and_then(|service| service.code())
}

/// Reads a JSON document from a file, or from S3 for `s3://BUCKET/KEY` (with the usual AWS configuration: on the
/// local cloud, `AWS_ENDPOINT_URL` points at it). For the binaries.
pub async fn read_source(source: &str) -> Result<Vec<u8>, Error> {
    match source.strip_prefix("s3://") {
        Some(location) => {
            let (bucket, key) = location
                .split_once('/')
                .ok_or_else(|| format!("{source}: expected s3://BUCKET/KEY"))?;
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let object = s3_client(&config).get_object().bucket(bucket).key(key).send().await?;
            Ok(object.body.collect().await?.into_bytes().to_vec())
        }
        None => Ok(std::fs::read(source).map_err(|error| format!("reading {source}: {error}"))?),
    }
}
