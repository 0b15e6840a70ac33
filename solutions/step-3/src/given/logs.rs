//! The consumer's logs: one warning per rejected record and one line per batch ([`Batch::log`]), in the JSON
//! format [`json_logs`] sets. The chapter's "One log line per batch" explains both.

use crate::Batch;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

// ANCHOR: log
impl Batch {
    /// Logs the batch: a warning for each rejected record, with its reason, then one line for the whole batch with
    /// the count and the records (`data`, a JSON array), the duplicates and the number rejected.
    pub fn log(&self) {
        for rejected in &self.rejected {
            tracing::warn!(
                sequence_number = %rejected.sequence_number,
                reason = %rejected.error,
                "record rejected"
            );
        }
        // Ids and numbers always serialise; were that ever to fail, the line would still carry the counts.
        let data = serde_json::to_string(&self.records).unwrap_or_default();
        tracing::info!(
            count = self.records.len(),
            duplicates = self.duplicates,
            rejected = self.rejected.len(),
            data,
            "batch processed"
        );
    }
}
// ANCHOR_END: log

// ANCHOR: json_logs
/// The function's log format: one JSON object a line, the event's fields at the top level, the runtime's span
/// (with the request id) under `span`, and no timestamp, since CloudWatch Logs stamps every line it receives.
pub fn json_logs<W>(writer: W, level: LevelFilter) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_max_level(level)
        .with_writer(writer)
        .finish()
}
// ANCHOR_END: json_logs
