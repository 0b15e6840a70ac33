//! What happened to the records: the chapter's "`PutRecords`: batches, limits and partial failure". Your `send`
//! fills a [`Tally`] per batch and `run` adds them up.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::AddAssign;

// ANCHOR: tally
/// What happened to the records of one batch, or of a whole invocation (tallies add up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Records Kinesis accepted.
    pub sent: u64,
    /// Records sent again because Kinesis refused them the time before.
    pub retried: u64,
    /// Records given up on: still refused after the last attempt, or their call failed as a whole. (A call that timed
    /// out may have been written all the same: nobody can tell, which is one reason consumers meet duplicates.)
    pub failed: u64,
    /// `PutRecords` calls made.
    pub calls: u64,
    /// The failed records, counted by the error that made them fail last.
    pub errors: BTreeMap<String, u64>,
    /// A call that failed as a whole, after the SDK's own retries (a missing stream, say): it ends the invocation.
    pub error: Option<String>,
}

impl Tally {
    /// Counts `count` records as failed, for `reason`.
    pub fn give_up(&mut self, count: usize, reason: &str) {
        self.failed += count as u64;
        *self.errors.entry(reason.to_owned()).or_default() += count as u64;
    }
}
// ANCHOR_END: tally

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.calls += other.calls;
        for (reason, count) in other.errors {
            *self.errors.entry(reason).or_default() += count;
        }
        if other.error.is_some() {
            self.error = other.error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_every_count_and_keep_the_last_call_error() {
        let mut total = Tally {
            sent: 10,
            retried: 4,
            failed: 2,
            calls: 3,
            errors: BTreeMap::from([("InternalFailure".to_owned(), 2)]),
            error: None,
        };
        total += Tally {
            sent: 5,
            retried: 1,
            failed: 3,
            calls: 2,
            errors: BTreeMap::from([
                ("InternalFailure".to_owned(), 1),
                ("ProvisionedThroughputExceededException".to_owned(), 2),
            ]),
            error: Some("PutRecords failed: no stream".to_owned()),
        };
        // A batch without a call error leaves the one already reported.
        total += Tally::default();
        let expected = Tally {
            sent: 15,
            retried: 5,
            failed: 5,
            calls: 5,
            errors: BTreeMap::from([
                ("InternalFailure".to_owned(), 3),
                ("ProvisionedThroughputExceededException".to_owned(), 2),
            ]),
            error: Some("PutRecords failed: no stream".to_owned()),
        };
        assert_eq!(total, expected);
    }
}
