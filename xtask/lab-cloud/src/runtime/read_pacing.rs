//! How the local pollers read a shard: one `GetRecords` call per poll interval, as AWS's pollers do (Lambda's
//! event source mappings and Firehose poll each shard about once a second), and longer after a read throttle.
//!
//! A shard serves 5 `GetRecords` calls per second shared by all its readers (Kinesis "Quotas and limits",
//! <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>); the lab's stream has three (two
//! mappings and Firehose), so a poller that called faster would be refused by the local cloud's gateway as by AWS.
//!
//! Where a reader resumes: [`ShardCheckpoint`], the last sequence number it finished on a shard, in a file. Lambda
//! keeps a checkpoint per shard for each event source mapping and resumes after it when its pollers restart (the
//! mapping updated, a poller moved to another host), and Firehose does the same for a Kinesis source; the local
//! data plane keeps its checkpoints under `.lab/` so that a restart of `lab-cloud serve` resumes instead of
//! delivering the stream again from where it first started. A closed shard read to its end is checkpointed as
//! finished, so that a restarted reader goes on with its children (see [`super::shard_lineage`]).

use anyhow::{Context, Result};
use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use serde_json::{Value, json};
use std::path::PathBuf;
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

/// The last sequence number a reader finished on one shard, kept in one file (`<folder>/<shard>.json`).
///
/// `owner` says which resource the checkpoint belongs to (a stream ARN, a delivery stream's creation time): a
/// checkpoint left by an earlier resource of the same name, in an emulator since restarted, would name a sequence
/// number of another stream (moto's count from 1 again), and is ignored.
#[derive(Debug, Clone)]
pub struct ShardCheckpoint {
    path: PathBuf,
    owner: String,
}

impl ShardCheckpoint {
    pub fn new(folder: PathBuf, shard_id: &str, owner: impl Into<String>) -> ShardCheckpoint {
        ShardCheckpoint {
            path: folder.join(format!("{shard_id}.json")),
            owner: owner.into(),
        }
    }

    /// The same owner's checkpoint of another shard, in the same folder.
    pub fn sibling(&self, shard_id: &str) -> ShardCheckpoint {
        let folder = self.path.parent().map(PathBuf::from).unwrap_or_default();
        ShardCheckpoint::new(folder, shard_id, self.owner.clone())
    }

    /// What this owner left, if anything.
    fn saved(&self) -> Option<Value> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let saved: Value = serde_json::from_str(&text).ok()?;
        (saved["owner"].as_str() == Some(self.owner.as_str())).then_some(saved)
    }

    /// The sequence number to resume after, if this owner left one.
    pub fn load(&self) -> Option<String> {
        self.saved()?["sequenceNumber"].as_str().map(str::to_owned)
    }

    /// Whether this owner left a checkpoint at all (a shard it has read, finished or not).
    pub fn exists(&self) -> bool {
        self.saved().is_some()
    }

    /// Whether the reader read this (closed) shard to its end and delivered all of it: its children may be read.
    pub fn is_finished(&self) -> bool {
        self.saved().is_some_and(|saved| saved["finished"] == true)
    }

    /// Records that the shard is closed and done with (its last sequence number kept): a restarted reader skips it
    /// and goes on with its children.
    pub fn finish(&self) -> Result<()> {
        self.write(self.load().as_deref(), true)
    }

    /// Like [`finish`](Self::finish), reporting a failure on stderr (the shard is then read again after a restart).
    pub fn finish_or_warn(&self) {
        if let Err(error) = self.finish() {
            eprintln!("checkpoint {}: {error:#}", self.path.display());
        }
    }

    /// Records that everything up to `sequence_number` is done. Written to a temporary file and renamed over the
    /// old one, so that a reader killed halfway leaves the previous checkpoint, never half a file.
    pub fn save(&self, sequence_number: &str) -> Result<()> {
        self.write(Some(sequence_number), false)
    }

    fn write(&self, sequence_number: Option<&str>, finished: bool) -> Result<()> {
        let folder = self.path.parent().context("a checkpoint file has a folder")?;
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        let mut saved = json!({ "owner": self.owner, "sequenceNumber": sequence_number });
        if finished {
            saved["finished"] = json!(true);
        }
        let text = saved.to_string();
        let temporary = self.path.with_extension(format!(
            "json.{}-{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, &self.path).with_context(|| format!("renaming to {}", self.path.display()))
    }

    /// Like [`save`](Self::save), reporting a failure on stderr: a lost checkpoint means records delivered again
    /// after a restart, not a reason to stop delivering.
    pub fn save_or_warn(&self, sequence_number: &str) {
        if let Err(error) = self.save(sequence_number) {
            eprintln!("checkpoint {}: {error:#}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_read_back_by_its_owner_only() {
        let folder = std::env::temp_dir().join(format!("checkpoint-test-{}", uuid::Uuid::new_v4()));
        let checkpoint = ShardCheckpoint::new(folder.clone(), "shardId-000000000000", "stream-a");
        assert_eq!(checkpoint.load(), None, "nothing saved yet");
        checkpoint.save("41").unwrap();
        checkpoint.save("42").unwrap();
        assert_eq!(checkpoint.load().as_deref(), Some("42"), "the latest save wins");
        let stranger = ShardCheckpoint::new(folder.clone(), "shardId-000000000000", "stream-b");
        assert_eq!(stranger.load(), None, "another resource's checkpoint is not used");
        assert!(!checkpoint.is_finished(), "an open shard's checkpoint");
        checkpoint.finish().unwrap();
        assert!(checkpoint.is_finished(), "read to its end");
        assert_eq!(
            checkpoint.load().as_deref(),
            Some("42"),
            "a finished shard keeps its last sequence number"
        );
        assert!(!stranger.is_finished() && !stranger.exists());
        let never_read = ShardCheckpoint::new(folder.clone(), "shardId-000000000001", "stream-a");
        never_read.finish().unwrap();
        assert!(
            never_read.is_finished() && never_read.load().is_none(),
            "closed before it had a record"
        );
        std::fs::remove_file(folder.join("shardId-000000000001.json")).unwrap();
        let files: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "no temporary file left behind: {files:?}");
        std::fs::remove_dir_all(folder).unwrap();
    }

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
