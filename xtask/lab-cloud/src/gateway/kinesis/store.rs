//! The streams, their shards and their records, held in memory for the life of the gateway.
//!
//! Each stream has a lock of its own, held for the whole of one call's work on it (a `PutRecords` of 500 records
//! is one append under one lock), so concurrent writers to one shard get distinct, increasing sequence numbers and
//! lose nothing; the map of streams is locked only to find or add one.
//!
//! What a shard is, from "Kinesis Data Streams Terminology and Concepts"
//! (<https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html>): a sequence of records with a hash-key
//! range; a record is its sequence number, partition key, data blob and approximate arrival time. A closed shard
//! (after a split or merge) keeps its records until the retention period trims them.

use super::lifecycle::{Pending, Status};
use super::sequence::{Sequence, shard_id};
use bytes::Bytes;
use md5::{Digest, Md5};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The local cloud's one account.
pub const ACCOUNT: &str = "123456789012";

/// The highest hash key: 2^128 - 1.
pub const MAX_HASH_KEY: u128 = u128::MAX;

/// A stream as the account knows it: its region and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub region: String,
    pub name: String,
}

impl StreamKey {
    pub fn arn(&self) -> String {
        format!("arn:aws:kinesis:{}:{ACCOUNT}:stream/{}", self.region, self.name)
    }
}

/// A stream's capacity mode (`StreamModeDetails`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Provisioned,
    OnDemand,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Provisioned => "PROVISIONED",
            Mode::OnDemand => "ON_DEMAND",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub position: u64,
    pub arrival_ms: u64,
    pub partition_key: Arc<str>,
    pub data: Bytes,
}

impl Record {
    /// What the record counts for against a shard's limits: data plus partition key (PutRecords API reference).
    pub fn bytes(&self) -> u64 {
        (self.data.len() + self.partition_key.len()) as u64
    }
}

/// When and where a shard was closed (by a split, a merge or a scaling).
#[derive(Debug, Clone, Copy)]
pub struct Closed {
    /// The position after its last record: its `EndingSequenceNumber`'s.
    pub ending_position: u64,
    pub at_ms: u64,
}

#[derive(Debug)]
pub struct Shard {
    pub id: String,
    pub index: u32,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    pub first_hash_key: u128,
    pub last_hash_key: u128,
    pub created_ms: u64,
    pub closed: Option<Closed>,
    records: VecDeque<Record>,
    /// The position of `records`' first record (records are trimmed from the front).
    first_position: u64,
    next_position: u64,
}

impl Shard {
    pub fn new(index: u32, range: (u128, u128), created_ms: u64, parents: (Option<String>, Option<String>)) -> Shard {
        Shard {
            id: shard_id(index),
            index,
            parent: parents.0,
            adjacent_parent: parents.1,
            first_hash_key: range.0,
            last_hash_key: range.1,
            created_ms,
            closed: None,
            records: VecDeque::new(),
            first_position: 1,
            next_position: 1,
        }
    }

    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    pub fn holds(&self, hash_key: u128) -> bool {
        self.first_hash_key <= hash_key && hash_key <= self.last_hash_key
    }

    /// Appends a record; its position and arrival time (never earlier than the shard's last record's, so arrival
    /// times, like sequence numbers, never go back within a shard).
    pub fn append(&mut self, partition_key: Arc<str>, data: Bytes, now_ms: u64) -> (u64, u64) {
        let arrival_ms = self.records.back().map_or(now_ms, |last| last.arrival_ms.max(now_ms));
        let position = self.next_position;
        self.next_position += 1;
        self.records.push_back(Record {
            position,
            arrival_ms,
            partition_key,
            data,
        });
        (position, arrival_ms)
    }

    pub fn close(&mut self, at_ms: u64) {
        self.closed = Some(Closed {
            ending_position: self.next_position,
            at_ms,
        });
    }

    /// Drops the records that arrived before `horizon_ms` (the retention period's start).
    pub fn trim(&mut self, horizon_ms: u64) {
        while self
            .records
            .front()
            .is_some_and(|record| record.arrival_ms < horizon_ms)
        {
            self.records.pop_front();
            self.first_position += 1;
        }
    }

    /// The position of the oldest record kept (`TRIM_HORIZON`).
    pub fn trim_horizon(&self) -> u64 {
        self.first_position
    }

    /// The position after the newest record (`LATEST`).
    pub fn tip(&self) -> u64 {
        self.next_position
    }

    /// The position of the first record that arrived at or after `ms` (`AT_TIMESTAMP`).
    pub fn at_timestamp(&self, ms: u64) -> u64 {
        let index = self.records.partition_point(|record| record.arrival_ms < ms);
        self.first_position + index as u64
    }

    /// Up to `limit` records from position `from`, and at most `max_bytes` of them (but always one, if any).
    pub fn read(&self, from: u64, limit: usize, max_bytes: u64) -> Vec<Record> {
        let start = from.max(self.first_position) - self.first_position;
        let mut bytes = 0u64;
        let mut read = Vec::new();
        for record in self.records.iter().skip(start as usize).take(limit) {
            if !read.is_empty() && bytes + record.bytes() > max_bytes {
                break;
            }
            bytes += record.bytes();
            read.push(record.clone());
        }
        read
    }

    /// The arrival time of the record at `position`, if it is kept.
    pub fn arrival_at(&self, position: u64) -> Option<u64> {
        let index = position.checked_sub(self.first_position)?;
        self.records.get(index as usize).map(|record| record.arrival_ms)
    }

    pub fn sequence(&self, stream_created_ms: u64, position: u64, arrival_ms: u64) -> Sequence {
        Sequence {
            stream_created_ms,
            shard_index: self.index,
            position,
            arrival_ms,
        }
    }
}

/// Encryption as `StartStreamEncryption` set it.
#[derive(Debug, Clone)]
pub struct Encryption {
    pub key_id: String,
}

#[derive(Debug)]
pub struct Stream {
    pub key: StreamKey,
    pub arn: String,
    pub created_ms: u64,
    pub status: Status,
    /// When the current CREATING, UPDATING or DELETING ends.
    pub ready_at_ms: u64,
    pub pending: Option<Pending>,
    pub mode: Mode,
    pub retention_hours: u32,
    pub tags: BTreeMap<String, String>,
    pub shard_level_metrics: BTreeSet<String>,
    pub encryption: Option<Encryption>,
    pub shards: Vec<Shard>,
    pub next_shard_index: u32,
    /// When each `UpdateShardCount` was accepted (its rolling 24-hour limit).
    pub scalings_ms: Vec<u64>,
}

impl Stream {
    pub fn retention_ms(&self) -> u64 {
        u64::from(self.retention_hours) * 3_600_000
    }

    pub fn open_shards(&self) -> impl Iterator<Item = &Shard> {
        self.shards.iter().filter(|shard| shard.is_open())
    }

    pub fn open_shard_count(&self) -> usize {
        self.open_shards().count()
    }

    pub fn shard(&self, id: &str) -> Option<&Shard> {
        self.shards.iter().find(|shard| shard.id == id)
    }

    pub fn shard_mut(&mut self, id: &str) -> Option<&mut Shard> {
        self.shards.iter_mut().find(|shard| shard.id == id)
    }

    /// The open shard whose hash-key range holds `hash_key`: writes never go to a closed shard.
    pub fn open_shard_for(&mut self, hash_key: u128) -> Option<&mut Shard> {
        self.shards
            .iter_mut()
            .find(|shard| shard.is_open() && shard.holds(hash_key))
    }

    /// A new shard with the next index.
    pub fn add_shard(&mut self, range: (u128, u128), at_ms: u64, parents: (Option<String>, Option<String>)) -> String {
        let shard = Shard::new(self.next_shard_index, range, at_ms, parents);
        self.next_shard_index += 1;
        let id = shard.id.clone();
        self.shards.push(shard);
        id
    }

    /// Records older than the retention period go; so do closed shards whose every record has (they are no longer
    /// listed, as in AWS once a closed shard is past the retention period).
    pub fn trim(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(self.retention_ms());
        for shard in &mut self.shards {
            shard.trim(horizon);
        }
        self.shards
            .retain(|shard| shard.closed.is_none_or(|closed| closed.at_ms >= horizon));
    }
}

/// The hash key of a record: its `ExplicitHashKey` (already validated), or the MD5 of its partition key read as a
/// big-endian 128-bit integer ("Kinesis Data Streams uses MD5 to map partition keys to 128-bit integer values",
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>).
pub fn hash_key(partition_key: &str, explicit: Option<u128>) -> u128 {
    explicit.unwrap_or_else(|| u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into()))
}

/// The ranges `count` shards of equal size cover, as `CreateStream` and `UpdateShardCount` (UNIFORM_SCALING) make
/// them: shard i starts at floor(i * 2^128 / count).
pub fn uniform_ranges(count: u32) -> Vec<(u128, u128)> {
    let count = u128::from(count.max(1));
    if count == 1 {
        return vec![(0, MAX_HASH_KEY)];
    }
    // 2^128 = count * quotient + remainder, without overflowing.
    let quotient = u128::MAX / count + u128::from(u128::MAX % count == count - 1);
    let remainder = (u128::MAX % count + 1) % count;
    let start = |i: u128| i * quotient + i * remainder / count;
    (0..count)
        .map(|i| {
            let last = if i + 1 == count { MAX_HASH_KEY } else { start(i + 1) - 1 };
            (start(i), last)
        })
        .collect()
}

/// Every stream of the account, by region and name.
#[derive(Default)]
pub struct Store {
    streams: Mutex<HashMap<StreamKey, Arc<Mutex<Stream>>>>,
}

impl Store {
    pub fn get(&self, key: &StreamKey) -> Option<Arc<Mutex<Stream>>> {
        self.map().get(key).cloned()
    }

    /// Adds the stream unless its name is taken (whatever the other's status): whether it was added.
    pub fn insert_new(&self, stream: Stream) -> bool {
        let mut map = self.map();
        if map.contains_key(&stream.key) {
            return false;
        }
        map.insert(stream.key.clone(), Arc::new(Mutex::new(stream)));
        true
    }

    pub fn remove(&self, key: &StreamKey) {
        self.map().remove(key);
    }

    /// Every stream, in no particular order.
    pub fn all(&self) -> Vec<Arc<Mutex<Stream>>> {
        self.map().values().cloned().collect()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<StreamKey, Arc<Mutex<Stream>>>> {
        self.streams.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A stream's lock, even if a panicking call poisoned it (the stream's state is changed only in whole steps).
pub fn lock(stream: &Mutex<Stream>) -> MutexGuard<'_, Stream> {
    stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_ranges_are_awss() {
        let two = uniform_ranges(2);
        assert_eq!(two[0], (0, (1 << 127) - 1));
        assert_eq!(two[1], (1 << 127, MAX_HASH_KEY));
        // AWS's three shards (a CreateStream with ShardCount 3).
        let three = uniform_ranges(3);
        assert_eq!(three[1].0, 113_427_455_640_312_821_154_458_202_477_256_070_485);
        assert_eq!(three[2].0, 226_854_911_280_625_642_308_916_404_954_512_140_970);
        for count in [1, 4, 5, 7, 100] {
            let ranges = uniform_ranges(count);
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges.last().unwrap().1, MAX_HASH_KEY);
            assert!(
                ranges.windows(2).all(|pair| pair[0].1 + 1 == pair[1].0),
                "{count}: contiguous"
            );
        }
    }

    #[test]
    fn partition_keys_hash_as_md5_read_big_endian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(hash_key("", None), 0xd41d8cd98f00b204e9800998ecf8427e);
        assert_eq!(hash_key("ignored", Some(42)), 42);
    }

    #[test]
    fn a_shard_reads_from_a_position_trims_by_age_and_finds_a_time() {
        let mut shard = Shard::new(0, (0, MAX_HASH_KEY), 0, (None, None));
        for (n, at) in [(1, 100), (2, 200), (3, 150), (4, 400)] {
            let (position, arrival) = shard.append("k".into(), Bytes::from(vec![0; 10]), at);
            assert_eq!(position, n);
            assert!(arrival >= 100);
        }
        assert_eq!(shard.arrival_at(3), Some(200), "arrival never goes back");
        assert_eq!(shard.at_timestamp(201), 4);
        assert_eq!(shard.read(2, 10, u64::MAX).len(), 3);
        assert_eq!(
            shard.read(2, 10, 15).len(),
            1,
            "at least one record, then the byte bound"
        );
        shard.trim(200);
        assert_eq!(shard.trim_horizon(), 2);
        assert_eq!(
            shard.read(1, 10, u64::MAX)[0].position,
            2,
            "a trimmed position reads from the horizon"
        );
        assert_eq!(shard.tip(), 5);
    }
}
