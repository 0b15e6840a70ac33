//! What every part that talks to AWS shares: the clients that need more than `Client::new`, errors on one line,
//! the account a configuration points at, and waiting for a condition.

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use std::time::{Duration, Instant};

/// An error and its sources on one line (the SDK's `Display` alone says little). A cause whose text the line already
/// ends with is said once: the SDK's service errors repeat their source's `Code: message`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// An AWS SDK error turned into an `anyhow::Error` that says what was being done and every cause on one line — the
/// SDK's own `Display` says little ("service error").
pub trait ErrorContext<T> {
    /// `what: error: cause: ...`
    fn context_chain(self, what: impl std::fmt::Display) -> Result<T>;
    /// `error: cause: ...`, when the caller says what was being done.
    fn chained(self) -> Result<T>;
}

impl<T, E: std::error::Error> ErrorContext<T> for std::result::Result<T, E> {
    fn context_chain(self, what: impl std::fmt::Display) -> Result<T> {
        self.map_err(|error| anyhow::anyhow!("{what}: {}", error_chain(&error)))
    }

    fn chained(self) -> Result<T> {
        self.map_err(|error| anyhow::anyhow!(error_chain(&error)))
    }
}

pub fn region_of(config: &SdkConfig) -> String {
    config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    // Path-style: on 127.0.0.1 the virtual-host name `<bucket>.127.0.0.1` does not resolve (and AWS accepts both).
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// The account and region the configuration points at (STS `GetCallerIdentity` needs no permission).
pub async fn account(config: &SdkConfig) -> Result<(String, String)> {
    let identity = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "no usable AWS credentials ({}). Configure them the standard way (`aws configure`, `aws sso login`, \
                 or AWS_PROFILE) and try again",
                error_chain(&e)
            )
        })?;
    Ok((identity.account.unwrap_or_default(), region_of(config)))
}

pub async fn wait_for<F, Fut>(limit: Duration, mut done: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        if started.elapsed() > limit {
            bail!("gave up waiting after {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

/// How long to keep trying a call that IAM's eventual consistency makes fail for a while after a role or its
/// policy was created or changed, and how long to wait between tries. "Changes that you make in IAM ... take time to
/// become visible": <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>
#[derive(Debug, Clone, Copy)]
pub struct Propagation {
    pub limit: Duration,
    pub interval: Duration,
}

impl Propagation {
    /// Bounded, as a deploy should be: a role that is not usable after this is a real error, reported as such.
    pub const IAM: Propagation = Propagation {
        limit: Duration::from_secs(90),
        interval: Duration::from_secs(5),
    };

    /// The local cloud's IAM shows a change at once (its front door forgets the roles it read when an IAM call
    /// changes one), so a refusal that lasts a few seconds there is the role as it is: the learner hears it in
    /// seconds, not after AWS's 90.
    pub const LOCAL_IAM: Propagation = Propagation {
        limit: Duration::from_secs(6),
        interval: Duration::from_secs(1),
    };

    /// [`IAM`](Self::IAM), or [`LOCAL_IAM`](Self::LOCAL_IAM) once [`deploying_locally`] was called.
    pub fn iam() -> Propagation {
        if LOCAL_DEPLOY.load(std::sync::atomic::Ordering::Relaxed) {
            Propagation::LOCAL_IAM
        } else {
            Propagation::IAM
        }
    }
}

static LOCAL_DEPLOY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process deploys to the local cloud (set where the target is decided: `commands/target.rs`, the lab).
pub fn deploying_locally() {
    LOCAL_DEPLOY.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes `attempt` until it succeeds, fails in a way `propagating` does not recognise, or `patience.limit` has
/// passed; an error `propagating` recognises is reported on stderr as `what` waiting for its role (once per distinct
/// message), and when the limit passes with it the last line says so: IAM has had its time, so the refusal is
/// AWS's answer to the role as it is, reported by the caller.
pub async fn retry_while_propagating<T, E, Fut>(
    what: &str,
    patience: Propagation,
    propagating: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> std::result::Result<T, E>
where
    E: std::error::Error,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    let started = Instant::now();
    let mut reported = String::new();
    loop {
        match attempt().await {
            Err(error) if started.elapsed() < patience.limit && propagating(&error) => {
                let text = error_chain(&error);
                if text != reported {
                    eprintln!("deploy: {what} waits for its new role to be usable ({text})");
                    reported = text;
                }
                tokio::time::sleep(patience.interval).await;
            }
            Err(error) if propagating(&error) => {
                eprintln!(
                    "deploy: {what} is still refused after {} s: not IAM propagating, but the role as it is",
                    patience.limit.as_secs()
                );
                return Err(error);
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug)]
    struct Failure(&'static str);

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failure {}

    /// An error with a text and, maybe, a source.
    #[derive(Debug)]
    struct Caused(&'static str, Option<Box<Caused>>);

    impl std::fmt::Display for Caused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Caused {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|cause| cause as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn a_chain_says_each_cause_once() {
        let repeated = Caused("X: no", Some(Box::new(Caused("X: no", None))));
        let error = Caused("service error", Some(Box::new(repeated)));
        assert_eq!(error_chain(&error), "service error: X: no");
        let distinct = Caused("dispatch failure", Some(Box::new(Caused("connection refused", None))));
        assert_eq!(error_chain(&distinct), "dispatch failure: connection refused");
    }

    const QUICK: Propagation = Propagation {
        limit: Duration::from_millis(300),
        interval: Duration::from_millis(10),
    };

    #[tokio::test]
    async fn a_propagation_error_is_retried_until_the_call_succeeds() {
        let calls = Cell::new(0);
        let outcome = retry_while_propagating(
            "x",
            QUICK,
            |e: &Failure| e.0 == "propagating",
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err(Failure("propagating")) } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(outcome.unwrap(), 3);
    }

    #[tokio::test]
    async fn another_error_fails_at_once_and_propagation_gives_up_at_the_limit() {
        let calls = Cell::new(0);
        let other = retry_while_propagating(
            "x",
            QUICK,
            |e: &Failure| e.0 == "propagating",
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(Failure("bad zip")) }
            },
        )
        .await;
        assert_eq!(other.unwrap_err().0, "bad zip");
        assert_eq!(calls.get(), 1);
        let started = Instant::now();
        let forever = retry_while_propagating(
            "x",
            QUICK,
            |_: &Failure| true,
            || async { Err::<(), _>(Failure("propagating")) },
        )
        .await;
        assert!(forever.is_err());
        assert!(started.elapsed() >= QUICK.limit);
    }
}
