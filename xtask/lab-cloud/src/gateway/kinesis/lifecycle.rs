//! A stream's status over time, as `DescribeStreamSummary`'s `StreamStatus` reports it
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StreamDescriptionSummary.html>):
//! - `CREATING`: "The stream is being created. Kinesis Data Streams immediately returns and sets StreamStatus to
//!   CREATING."; no shard can be read or written yet;
//! - `ACTIVE`: "The stream exists and is ready for read and write operations or deletion.";
//! - `UPDATING`: "Shards in the stream are being merged or split. Read and write operations continue to work while
//!   the stream is in the UPDATING state." (also retention, mode and encryption changes);
//! - `DELETING`: "The stream is being deleted."; then it is gone.
//!
//! Each of CREATING, UPDATING and DELETING lasts the gateway's `stream_lifecycle` (AWS: seconds to minutes). The
//! change happens when the stream is next looked at (lazily): a reshard takes effect as the UPDATING ends, as in
//! AWS, where the child shards appear when the operation completes.

use super::reshard;
use super::store::Stream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "CREATING",
            Status::Active => "ACTIVE",
            Status::Updating => "UPDATING",
            Status::Deleting => "DELETING",
        }
    }
}

/// What an UPDATING stream does when the update completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Split { shard: String, new_starting_hash_key: u128 },
    Merge { shard: String, adjacent: String },
    Scale { target: u32 },
}

/// Brings the stream's status up to `now_ms`; `true` when a DELETING stream is now gone.
pub fn advance(stream: &mut Stream, now_ms: u64) -> bool {
    if now_ms < stream.ready_at_ms {
        return false;
    }
    match stream.status {
        Status::Creating => stream.status = Status::Active,
        Status::Updating => {
            let at = stream.ready_at_ms;
            match stream.pending.take() {
                Some(Pending::Split {
                    shard,
                    new_starting_hash_key,
                }) => reshard::split(stream, &shard, new_starting_hash_key, at),
                Some(Pending::Merge { shard, adjacent }) => {
                    reshard::merge(stream, &shard, &adjacent, at);
                }
                Some(Pending::Scale { target }) => reshard::scale(stream, target, at),
                None => {}
            }
            stream.status = Status::Active;
        }
        Status::Deleting => return true,
        Status::Active => {}
    }
    false
}

/// Starts an UPDATING that lasts `duration_ms` and then does `pending`.
pub fn start_update(stream: &mut Stream, pending: Option<Pending>, now_ms: u64, duration_ms: u64) {
    stream.status = Status::Updating;
    stream.pending = pending;
    stream.ready_at_ms = now_ms + duration_ms;
    advance(stream, now_ms);
}
