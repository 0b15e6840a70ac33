//! Test support for the step crates: an AWS configuration that points at the local cloud.
//!
//! The step tests talk to the real AWS SDK, but only ever to the emulator that `cargo xtask check` starts on
//! 127.0.0.1. If no local endpoint is set, a test fails with a message naming the command to run; it never falls
//! back to the learner's own credentials or to a real AWS endpoint.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::env;

pub mod fake;

/// The variable the SDK (and `cargo xtask`) use to point every client at one endpoint.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";

/// The region the local cloud uses when none is set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Returns the local cloud's endpoint, or an explanation of why it is not usable.
pub fn local_endpoint() -> Result<String, String> {
    let endpoint = env::var(ENDPOINT_VARIABLE).map_err(|_| {
        format!(
            "this test needs the local cloud, and {ENDPOINT_VARIABLE} is not set.\n\
             Run the step's tests with `cargo xtask check step-N`: it starts the local AWS emulator and sets it."
        )
    })?;
    if !is_loopback(&endpoint) {
        return Err(format!(
            "{ENDPOINT_VARIABLE} is {endpoint:?}, which is not on this machine; the step tests only ever talk to the \
             local emulator. Run them with `cargo xtask check step-N`."
        ));
    }
    Ok(endpoint)
}

fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}

/// The local cloud's administrator, which the tests act as (the local cloud checks every signature as AWS does, and
/// knows only its own keys; `lab-cloud`'s `gateway::authenticate` holds the same pair, and a test there keeps the two
/// equal). Not a secret: they are valid nowhere but on 127.0.0.1.
pub const ADMIN_ACCESS_KEY: &str = "testing";
pub const ADMIN_SECRET_KEY: &str = "testing";

/// The administrator's credentials.
pub fn admin_credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, None, None, "lab-testkit")
}

/// An SDK configuration for the local cloud: its endpoint, the local administrator's credentials (never the
/// learner's) and a region. Panics with a message naming `cargo xtask check` when the local cloud is not set up.
pub async fn local_aws() -> SdkConfig {
    let endpoint = local_endpoint().unwrap_or_else(|why| panic!("{why}"));
    let region = env::var("AWS_REGION").unwrap_or_else(|_| DEFAULT_REGION.to_owned());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region))
        .credentials_provider(admin_credentials())
        .load()
        .await
}

#[cfg(feature = "s3")]
/// An S3 client for the local cloud. S3 needs path-style addressing there: with virtual-host addressing the SDK
/// would look up `<bucket>.127.0.0.1`, which does not resolve.
pub fn local_s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// A name no other test run uses, so that tests sharing one emulator never see each other's resources: the process,
/// the microsecond, and a count of the names this process has made. The clock alone is not enough within a process:
/// tests start together on several threads, and two names from one reading of it would be one resource for two tests.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static MADE: AtomicU32 = AtomicU32::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_micros())
        .unwrap_or(0);
    let count = MADE.fetch_add(1, Ordering::Relaxed) % 1000;
    // Nine digits, as before: the microsecond's six, then the count's three.
    format!("{prefix}-{}-{micros:06}{count:03}", std::process::id())
}

#[cfg(test)]
mod unique_name_tests {
    /// Names made at once on many threads are all different.
    #[test]
    fn unique_names_made_together_differ() {
        let names: Vec<String> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| (0..100).map(|_| super::unique_name("s")).collect::<Vec<_>>()))
                .collect();
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
        });
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
    }
}

/// How often [`wait_until_active`] asks: the local cloud's streams are CREATING for about 2 s.
const ACTIVE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// How long [`wait_until_active`] waits before it fails the test: far longer than the local cloud's lifecycle, for
/// a machine under load.
const ACTIVE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until the stream `name` is ACTIVE and returns its summary; panics, saying what it saw, when it is not
/// ACTIVE within a minute or a call fails.
///
/// A new stream is CREATING for a moment, on the local cloud as on AWS, and refuses writes and reads until it is
/// ACTIVE. The SDK's own waiter (`wait_until_stream_exists`) polls no more often than every 10 s (its `min_delay`),
/// which made each test that creates a stream wait 10 s for a 2 s lifecycle; this one asks `DescribeStreamSummary`
/// five times a second.
pub async fn wait_until_active(
    kinesis: &aws_sdk_kinesis::Client,
    name: &str,
) -> aws_sdk_kinesis::types::StreamDescriptionSummary {
    use aws_sdk_kinesis::types::StreamStatus;
    let started = std::time::Instant::now();
    loop {
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap_or_else(|error| panic!("DescribeStreamSummary {name}: {:?}", error.into_service_error()))
            .stream_description_summary
            .unwrap_or_else(|| panic!("DescribeStreamSummary {name} answered without a summary"));
        match summary.stream_status {
            StreamStatus::Active => return summary,
            StreamStatus::Creating | StreamStatus::Updating if started.elapsed() < ACTIVE_PATIENCE => {
                tokio::time::sleep(ACTIVE_POLL).await;
            }
            status => panic!(
                "the test stream {name} is {status} after {:.1} s, not ACTIVE",
                started.elapsed().as_secs_f64()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_endpoints_are_local() {
        assert!(is_loopback("http://127.0.0.1:5000"));
        assert!(is_loopback("http://localhost:5000/"));
        assert!(!is_loopback("https://kinesis.us-east-1.amazonaws.com"));
        assert!(!is_loopback("http://127.0.0.1.example.com:5000"));
        assert!(!is_loopback("http://10.0.0.1:5000"));
    }
}
