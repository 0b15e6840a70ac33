//! Resharding: what `SplitShard`, `MergeShards` and `UpdateShardCount` do to a stream's shards once the update
//! completes (pure changes of the shard list; the checks are the operations').
//!
//! - `SplitShard` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_SplitShard.html>): the parent is
//!   closed and two children take its range, split at `NewStartingHashKey`; each child's `ParentShardId` is the
//!   parent.
//! - `MergeShards` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_MergeShards.html>): two adjacent
//!   shards ("the union of their hash key ranges forms a contiguous set with no gaps") are closed and one child takes
//!   both ranges: `ParentShardId` the `ShardToMerge`, `AdjacentParentShardId` the `AdjacentShardToMerge`.
//! - `UpdateShardCount` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html>):
//!   "Kinesis Data Streams performs splits or merges on individual shards. This can cause short-lived shards to be
//!   created, in addition to the final shards." Here: every open shard is split at each of the target's uniform
//!   boundaries inside it, then the pieces of each target range are merged pairwise, so that every shard has at most
//!   two parents and a reader can follow the lineage as after any split or merge.
//!
//! A closed shard keeps its records and its `EndingSequenceNumber`; new shard ids continue the stream's numbering.

use super::store::{Stream, uniform_ranges};

pub fn split(stream: &mut Stream, shard_id: &str, new_starting_hash_key: u128, at_ms: u64) {
    let Some(parent) = stream.shard_mut(shard_id) else {
        return;
    };
    parent.close(at_ms);
    let (first, last) = (parent.first_hash_key, parent.last_hash_key);
    let parents = (Some(shard_id.to_owned()), None);
    stream.add_shard((first, new_starting_hash_key - 1), at_ms, parents.clone());
    stream.add_shard((new_starting_hash_key, last), at_ms, parents);
}

/// Merges two adjacent open shards; the child's id.
pub fn merge(stream: &mut Stream, shard_id: &str, adjacent_id: &str, at_ms: u64) -> Option<String> {
    let mut range = (u128::MAX, 0u128);
    for id in [shard_id, adjacent_id] {
        let shard = stream.shard_mut(id)?;
        shard.close(at_ms);
        range = (range.0.min(shard.first_hash_key), range.1.max(shard.last_hash_key));
    }
    let parents = (Some(shard_id.to_owned()), Some(adjacent_id.to_owned()));
    Some(stream.add_shard(range, at_ms, parents))
}

/// Splits and merges until the open shards are `target` shards of equal ranges.
pub fn scale(stream: &mut Stream, target: u32, at_ms: u64) {
    let ranges = uniform_ranges(target);
    // Splits at every target boundary inside an open shard.
    for &(boundary, _) in ranges.iter().skip(1) {
        let inside = stream
            .open_shards()
            .find(|shard| shard.first_hash_key < boundary && boundary <= shard.last_hash_key)
            .map(|shard| shard.id.clone());
        if let Some(id) = inside {
            split(stream, &id, boundary, at_ms);
        }
    }
    // Then each target range's pieces, merged pairwise from the lowest.
    for (first, last) in ranges {
        loop {
            let mut pieces: Vec<(u128, String)> = stream
                .open_shards()
                .filter(|shard| first <= shard.first_hash_key && shard.last_hash_key <= last)
                .map(|shard| (shard.first_hash_key, shard.id.clone()))
                .collect();
            if pieces.len() < 2 {
                break;
            }
            pieces.sort();
            merge(stream, &pieces[0].1, &pieces[1].1, at_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lifecycle::Status;
    use super::super::store::{MAX_HASH_KEY, Mode, StreamKey};
    use super::*;

    fn stream(shards: u32) -> Stream {
        let key = StreamKey {
            region: "us-east-1".into(),
            name: "s".into(),
        };
        let mut stream = Stream {
            arn: key.arn(),
            key,
            created_ms: 0,
            status: Status::Active,
            ready_at_ms: 0,
            pending: None,
            mode: Mode::Provisioned,
            retention_hours: 24,
            tags: Default::default(),
            shard_level_metrics: Default::default(),
            encryption: None,
            shards: vec![],
            next_shard_index: 0,
            scalings_ms: vec![],
        };
        for range in uniform_ranges(shards) {
            stream.add_shard(range, 0, (None, None));
        }
        stream
    }

    fn open(stream: &Stream) -> Vec<(u128, u128)> {
        let mut ranges: Vec<_> = stream
            .open_shards()
            .map(|shard| (shard.first_hash_key, shard.last_hash_key))
            .collect();
        ranges.sort();
        ranges
    }

    #[test]
    fn a_split_closes_the_parent_and_numbering_continues() {
        let mut stream = stream(2);
        split(&mut stream, "shardId-000000000000", 1000, 5);
        let ids: Vec<_> = stream.shards.iter().map(|shard| shard.id.as_str()).collect();
        assert_eq!(ids[2..], ["shardId-000000000002", "shardId-000000000003"]);
        assert!(stream.shards[0].closed.is_some());
        assert_eq!(stream.shards[2].parent.as_deref(), Some("shardId-000000000000"));
        assert_eq!(
            (stream.shards[2].first_hash_key, stream.shards[2].last_hash_key),
            (0, 999)
        );
        assert_eq!(stream.shards[3].first_hash_key, 1000);
    }

    #[test]
    fn a_merge_has_two_parents_and_the_union_of_their_ranges() {
        let mut stream = stream(2);
        let child = merge(&mut stream, "shardId-000000000001", "shardId-000000000000", 5).unwrap();
        let child = stream.shard(&child).unwrap();
        assert_eq!((child.first_hash_key, child.last_hash_key), (0, MAX_HASH_KEY));
        assert_eq!(child.parent.as_deref(), Some("shardId-000000000001"));
        assert_eq!(child.adjacent_parent.as_deref(), Some("shardId-000000000000"));
    }

    #[test]
    fn scaling_ends_with_the_targets_uniform_ranges_and_at_most_two_parents_each() {
        for (from, to) in [(2, 4), (4, 2), (5, 3), (3, 5), (1, 2), (4, 7)] {
            let mut stream = stream(from);
            scale(&mut stream, to, 5);
            assert_eq!(open(&stream), uniform_ranges(to), "{from} -> {to}");
            for shard in &stream.shards {
                let closed_parent =
                    |id: &Option<String>| id.as_ref().is_none_or(|id| stream.shard(id).unwrap().closed.is_some());
                assert!(closed_parent(&shard.parent) && closed_parent(&shard.adjacent_parent));
            }
        }
    }
}
