//! When the front door last served a client: the cloud `cargo xtask check` keeps warm between checks stops itself
//! once nobody has called it for a while (`serve --idle-exit-seconds`), so that it never outlives the learner's
//! session. Only the public door counts: the local cloud's own bookkeeping (the operator door, CloudWatch's minute)
//! keeps no cloud alive. A request still in flight (a long poll, a function running) counts as activity until it ends.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    /// A request begins; it counts as activity until the returned guard is dropped.
    pub fn begin(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        InFlight(self)
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
    }

    /// How long nothing has been asked of the front door: zero while a request is in flight.
    pub fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .elapsed()
    }
}

/// A request in flight (see [`Activity::begin`]).
pub struct InFlight<'a>(&'a Activity);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_flight_keeps_the_door_busy_and_its_end_restarts_the_idle_time() {
        let activity = Activity::default();
        std::thread::sleep(Duration::from_millis(20));
        assert!(activity.idle_for() >= Duration::from_millis(20), "idle since it opened");
        let request = activity.begin();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(activity.idle_for(), Duration::ZERO, "busy while a request is in flight");
        drop(request);
        assert!(
            activity.idle_for() < Duration::from_millis(20),
            "idle only since the request ended"
        );
    }
}
