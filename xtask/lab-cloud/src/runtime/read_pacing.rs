//! How the local pollers read a shard: one `GetRecords` call per poll interval, as AWS's pollers do (Lambda's
//! event source mappings and Firehose poll each shard about once a second), and longer after a read throttle.
//!
//! A shard serves 5 `GetRecords` calls per second shared by all its readers (Kinesis "Quotas and limits",
//! <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>); the lab's stream has three (two
//! mappings and Firehose), so a poller that called faster would be refused by the local cloud's gateway as by AWS.

use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use std::time::{Duration, Instant};

/// After this many throttles in a row the pause stops growing: 2^4 = 16 poll intervals.
const MAX_DOUBLINGS: u32 = 4;

pub struct ReadPacer {
    interval: Duration,
    next_call: Instant,
    throttles_in_a_row: u32,
}

impl ReadPacer {
    /// A reader whose first call may go now.
    pub fn new(interval: Duration) -> Self {
        ReadPacer {
            interval,
            next_call: Instant::now(),
            throttles_in_a_row: 0,
        }
    }

    /// How long until this reader may call `GetRecords` again (zero: now).
    pub fn until_next_call(&self) -> Duration {
        self.next_call.saturating_duration_since(Instant::now())
    }

    /// After a call: the next one a poll interval later, or, after a throttle, twice as long as the last pause
    /// (up to 16 intervals) until a call is served again.
    pub fn called(&mut self, throttled: bool) {
        self.throttles_in_a_row = if throttled {
            (self.throttles_in_a_row + 1).min(MAX_DOUBLINGS)
        } else {
            0
        };
        self.next_call = Instant::now() + self.interval * 2u32.pow(self.throttles_in_a_row);
    }
}

/// Whether a `GetRecords` failure is the shard's read limit (a pause, not a fault).
pub fn is_read_throttle<R>(error: &SdkError<GetRecordsError, R>) -> bool {
    error
        .as_service_error()
        .is_some_and(GetRecordsError::is_provisioned_throughput_exceeded_exception)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_reader_waits_longer_each_time_and_recovers_after_a_served_call() {
        let mut pacer = ReadPacer::new(Duration::from_secs(1));
        assert_eq!(pacer.until_next_call(), Duration::ZERO);
        pacer.called(false);
        assert!(pacer.until_next_call() > Duration::from_millis(900));
        let mut pauses = vec![];
        for _ in 0..6 {
            pacer.called(true);
            pauses.push(pacer.until_next_call().as_secs_f64().round() as u64);
        }
        assert_eq!(pauses, [2, 4, 8, 16, 16, 16]);
        pacer.called(false);
        assert!(pacer.until_next_call() <= Duration::from_secs(1));
    }
}
