//! Given code shared by the steps (and their solutions): the plumbing every AWS program needs and no chapter
//! teaches. A step's own given code lives in that step's crate, next to the file the learner edits; what two or
//! more steps need lives here, once, so that it is never copied (as 100-exercises-to-learn-rust keeps its shared
//! helpers in one crate).
//!
//! Nothing here makes a decision a chapter asks of the learner: what counts as a failure, what to resend and when
//! to stop are in the steps.

use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

/// An error and every error behind it, joined with `: `.
///
/// The AWS SDK's `Display` says only which kind of failure it was ("service error", "dispatch failure"); the
/// source chain says what actually went wrong ("connection refused", "ResourceNotFoundException: Stream … not
/// found"). Every message the steps show about a failed AWS call is built with this.
pub fn error_chain(error: &dyn Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source's text in their own; say it once.
        if !message.ends_with(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

/// Runs `attempt` until it succeeds, or fails with an error `is_transient` does not accept, or `patience` has run
/// out since the first attempt; waits `pause` between attempts. Returns the last answer.
///
/// For AWS's eventually consistent answers: a role created a moment ago that another service cannot assume yet
/// ("IAM is eventually consistent", <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html>),
/// a resource still being created. Not for throttling or partial failures: those get backoff with jitter, which
/// step 2 teaches.
pub async fn retry_while<T, E, F, Fut>(
    patience: Duration,
    pause: Duration,
    is_transient: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    loop {
        match attempt().await {
            Err(error) if is_transient(&error) && started.elapsed() + pause <= patience => {
                tokio::time::sleep(pause).await;
            }
            answer => return answer,
        }
    }
}

/// The value of an environment variable as `lookup` reads it, or `None` when it is unset or blank.
///
/// The functions take a `lookup` (`|name| std::env::var(name).ok()` in `main`) rather than reading the process's
/// environment, so that a test can pass a closure instead of changing a variable every test thread shares.
pub fn non_blank(lookup: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::fmt;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|layer| layer as &(dyn Error + 'static))
        }
    }

    #[test]
    fn an_error_chain_names_every_cause_once_outermost_first() {
        let error = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer("connection refused", None))),
            ))),
        );
        assert_eq!(error_chain(&error), "dispatch failure: io error: connection refused");
        let repeated = Layer("service error: throttled", Some(Box::new(Layer("throttled", None))));
        assert_eq!(error_chain(&repeated), "service error: throttled");
        assert_eq!(error_chain(&Layer("alone", None)), "alone");
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_until_success_and_any_other_failure_ends_at_once() {
        let attempts = Cell::new(0);
        let answer: Result<u32, &str> = retry_while(
            Duration::from_secs(60),
            Duration::from_millis(1),
            |e| *e == "not yet",
            || {
                attempts.set(attempts.get() + 1);
                let n = attempts.get();
                async move { if n < 3 { Err("not yet") } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(answer, Ok(3));

        attempts.set(0);
        let answer: Result<u32, &str> = retry_while(
            Duration::from_secs(60),
            Duration::from_millis(1),
            |e| *e == "not yet",
            || {
                attempts.set(attempts.get() + 1);
                async { Err("refused") }
            },
        )
        .await;
        assert_eq!((answer, attempts.get()), (Err("refused"), 1));
    }

    #[tokio::test]
    async fn a_transient_failure_is_given_up_before_a_pause_would_outlast_the_patience() {
        let attempts = Cell::new(0);
        let started = Instant::now();
        let answer: Result<(), &str> = retry_while(
            Duration::from_millis(1_000),
            Duration::from_millis(300),
            |_| true,
            || {
                attempts.set(attempts.get() + 1);
                async { Err("not yet") }
            },
        )
        .await;
        assert_eq!(answer, Err("not yet"));
        // Attempts at 0, 300, 600 and 900 ms on an idle machine (fewer when sleeps oversleep); a pause after the one
        // at 900 ms would end past the 1,000 ms of patience, so the last answer is returned at once.
        assert!((2..=4).contains(&attempts.get()), "{} attempts", attempts.get());
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_blank_or_missing_variable_is_none() {
        let lookup = |name: &str| match name {
            "SET" => Some("value".to_owned()),
            "BLANK" => Some("  ".to_owned()),
            _ => None,
        };
        assert_eq!(non_blank(lookup, "SET").as_deref(), Some("value"));
        assert_eq!(non_blank(lookup, "BLANK"), None);
        assert_eq!(non_blank(lookup, "MISSING"), None);
    }
}
