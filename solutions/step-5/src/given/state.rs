//! The window's state, as Lambda carries it between the calls of a window (the chapter's "The aggregate, and the
//! window after"): a window's time range, the aggregate in and out of the state's one JSON entry, and a new window's
//! aggregate resumed from the vehicles the previous window's result carried.

use crate::{Aggregate, Carry, Track};
use aws_lambda_events::time_window::Window;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

// ANCHOR: state
/// The one entry of the window's state, which holds the aggregate as JSON. (`aws_lambda_events` types the state as
/// a map of strings; one entry keeps it simple.)
pub const STATE_KEY: &str = "aggregate";

impl Aggregate {
    /// The aggregate that a window's state carries, or `None` for a state without one: a window's first call.
    pub fn from_state(state: &HashMap<String, String>) -> Result<Option<Aggregate>, serde_json::Error> {
        state.get(STATE_KEY).map(|json| serde_json::from_str(json)).transpose()
    }

    /// The state that carries this aggregate to the window's next invocation.
    pub fn to_state(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(self).expect("an aggregate holds only numbers and text: it always serialises");
        HashMap::from([(STATE_KEY.to_owned(), json)])
    }

    /// A new window's aggregate, which knows each vehicle's last readings from the window before (if any).
    pub fn resume(carried: &BTreeMap<String, Carry>) -> Aggregate {
        let vehicles = carried
            .iter()
            .map(|(vehicle, carry)| {
                let track = Track {
                    last: Some(carry.last),
                    suspect: carry.suspect,
                    ..Track::default()
                };
                (vehicle.clone(), track)
            })
            .collect();
        Aggregate {
            vehicles,
            ..Aggregate::default()
        }
    }
}
// ANCHOR_END: state

/// A window's time range, as Lambda gives it: from `start` (included) to `end` (excluded), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl From<&Window> for TimeRange {
    fn from(window: &Window) -> TimeRange {
        TimeRange {
            start: window.start,
            end: window.end,
        }
    }
}

impl TimeRange {
    /// The tumbling window just before this one: as long, ending where this one starts.
    pub fn previous(&self) -> TimeRange {
        TimeRange {
            start: self.start - (self.end - self.start),
            end: self.start,
        }
    }
}
