//! Faults injected on purpose (`--faults put-internal=0.01,... --seed N`), so that a learner can watch the pipeline
//! absorb what AWS does now and then: a record refused with `InternalFailure`, a whole call answered 500 or 503, an
//! invocation that errors or times out, an S3 write that fails.
//!
//! Each kind of fault draws its own sequence of chances: chance number `n` of kind `k` strikes when the first 53
//! bits of SHA-256(seed, k, n), read as a number in [0, 1), are below `k`'s rate. The same seed gives the same
//! sequence of decisions run after run (which request meets which decision still depends on the order requests
//! arrive in). No random number generator is involved, so no dependency either.

use lab_contract::{FaultArgs, FaultKind, Faults};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long Firehose retries a failed S3 delivery from a Kinesis source: the stream's retention, 24 hours by default
/// ("Amazon S3" in <https://docs.aws.amazon.com/firehose/latest/dev/retry.html>).
pub const S3_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The retry window when `s3-error` is injected and `--s3-retry-seconds` says nothing: short enough to see it end.
pub const S3_RETRY_WITH_FAULTS: Duration = Duration::from_secs(30);

/// The faults of one cloud: their rates, the seed, and what has been injected so far.
#[derive(Debug)]
pub struct FaultPlan {
    faults: Faults,
    seed: u64,
    /// How long the Firehose pump retries a failed S3 write before it drops the data (AWS: the source stream's
    /// retention period, 24 h by default).
    pub s3_retry_window: Duration,
    /// Chances drawn, per kind (in `FaultKind::ALL`'s order).
    drawn: [AtomicU64; 5],
    /// Faults injected, per kind.
    injected: [AtomicU64; 5],
}

fn index(kind: FaultKind) -> usize {
    FaultKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

impl FaultPlan {
    pub fn new(faults: Faults, seed: u64, s3_retry_window: Duration) -> FaultPlan {
        FaultPlan {
            faults,
            seed,
            s3_retry_window,
            drawn: Default::default(),
            injected: Default::default(),
        }
    }

    /// No fault at all; a failing S3 write is retried for a day, the retention of a Kinesis source by default.
    pub fn none() -> Arc<FaultPlan> {
        Arc::new(FaultPlan::new(Faults::default(), 0, S3_RETENTION))
    }

    /// From `--faults`, `--seed` and `--s3-retry-seconds` (by default 30 s when the faults include s3-error, so that
    /// a run sees the window end; else a day, as AWS).
    pub fn from_args(args: &FaultArgs) -> Arc<FaultPlan> {
        let faults = args.faults.clone().unwrap_or_default();
        let default = if faults.rate(FaultKind::S3Error) > 0.0 {
            S3_RETRY_WITH_FAULTS
        } else {
            S3_RETENTION
        };
        let window = args.s3_retry_seconds.map_or(default, Duration::from_secs);
        Arc::new(FaultPlan::new(faults, args.seed, window))
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws `kind`'s next chance: `Some(n)` (the chance's number) when the fault is to be injected now, counted as
    /// injected; `None` otherwise. A kind at rate 0 draws nothing.
    pub fn strike(&self, kind: FaultKind) -> Option<u64> {
        let rate = self.faults.rate(kind);
        if rate <= 0.0 {
            return None;
        }
        let n = self.drawn[index(kind)].fetch_add(1, Ordering::Relaxed);
        if unit(self.seed, kind, n) >= rate {
            return None;
        }
        self.injected[index(kind)].fetch_add(1, Ordering::Relaxed);
        Some(n)
    }

    /// Whether `kind`'s next chance strikes.
    pub fn strikes(&self, kind: FaultKind) -> bool {
        self.strike(kind).is_some()
    }

    /// How many faults of each kind were injected, by the kind's name (only the kinds the spec names).
    pub fn injected(&self) -> BTreeMap<String, u64> {
        FaultKind::ALL
            .into_iter()
            .filter(|&kind| self.faults.rate(kind) > 0.0)
            .map(|kind| {
                (
                    kind.key().to_owned(),
                    self.injected[index(kind)].load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    pub fn injected_of(&self, kind: FaultKind) -> u64 {
        self.injected[index(kind)].load(Ordering::Relaxed)
    }
}

/// Chance `n` of `kind` under `seed`, as a number in [0, 1).
pub fn unit(seed: u64, kind: FaultKind, n: u64) -> f64 {
    let mut hash = Sha256::new();
    hash.update(seed.to_le_bytes());
    hash.update(kind.key().as_bytes());
    hash.update(n.to_le_bytes());
    let digest = hash.finalize();
    let bits = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(spec: &str, seed: u64) -> FaultPlan {
        FaultPlan::new(spec.parse().unwrap(), seed, Duration::from_secs(1))
    }

    fn decisions(plan: &FaultPlan, kind: FaultKind, count: usize) -> Vec<bool> {
        (0..count).map(|_| plan.strikes(kind)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_and_another_seed_others() {
        let first = decisions(&plan("put-5xx=0.3", 7), FaultKind::Put5xx, 200);
        assert_eq!(first, decisions(&plan("put-5xx=0.3", 7), FaultKind::Put5xx, 200));
        assert_ne!(first, decisions(&plan("put-5xx=0.3", 8), FaultKind::Put5xx, 200));
    }

    #[test]
    fn faults_strike_at_about_their_rate_and_are_counted() {
        let plan = plan("function-error=0.05,s3-error=1", 1);
        let struck = decisions(&plan, FaultKind::FunctionError, 10_000)
            .into_iter()
            .filter(|&hit| hit)
            .count();
        assert!((400..=600).contains(&struck), "{struck} of 10,000 at 5%");
        assert!(decisions(&plan, FaultKind::S3Error, 10).into_iter().all(|hit| hit));
        assert!(
            !plan.strikes(FaultKind::PutInternal),
            "a kind the spec leaves out never strikes"
        );
        let injected = plan.injected();
        assert_eq!(injected["function-error"], struck as u64);
        assert_eq!(injected["s3-error"], 10);
        assert!(!injected.contains_key("put-internal"));
    }

    #[test]
    fn s3_writes_are_retried_for_a_day_unless_s3_errors_are_injected_or_the_window_is_said() {
        let args = |faults: Option<&str>, seconds: Option<u64>| FaultArgs {
            faults: faults.map(|spec| spec.parse().unwrap()),
            seed: 0,
            s3_retry_seconds: seconds,
        };
        assert_eq!(FaultPlan::from_args(&args(None, None)).s3_retry_window, S3_RETENTION);
        let put_faults = args(Some("put-5xx=0.5"), None);
        assert_eq!(FaultPlan::from_args(&put_faults).s3_retry_window, S3_RETENTION);
        let s3_faults = args(Some("s3-error=0.1"), None);
        assert_eq!(FaultPlan::from_args(&s3_faults).s3_retry_window, S3_RETRY_WITH_FAULTS);
        let said = args(None, Some(5));
        assert_eq!(FaultPlan::from_args(&said).s3_retry_window, Duration::from_secs(5));
    }

    #[test]
    fn each_kind_draws_its_own_sequence() {
        // Drawing put-internal chances does not move function-timeout's sequence.
        let alone = decisions(&plan("function-timeout=0.5", 3), FaultKind::FunctionTimeout, 50);
        let mixed = plan("function-timeout=0.5,put-internal=0.5", 3);
        let interleaved: Vec<bool> = (0..50)
            .map(|_| {
                mixed.strikes(FaultKind::PutInternal);
                mixed.strikes(FaultKind::FunctionTimeout)
            })
            .collect();
        assert_eq!(alone, interleaved);
    }
}
