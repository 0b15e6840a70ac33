//! Which shard a record goes to, as Kinesis decides it, and which shard a shard iterator reads.
//!
//! "Kinesis Data Streams uses MD5 to map partition keys to 128-bit integer values and to map associated data records
//! to shards" (PutRecords API reference); an `ExplicitHashKey` overrides the partition key's hash. A shard takes the
//! keys of its `HashKeyRange`, both ends included; only open shards take writes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The account moto puts every resource in unless told otherwise; used only in error messages about a stream the
/// gateway could not describe.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
const DEFAULT_REGION: &str = "us-east-1";

/// A stream as a request names it: by ARN, or by name in the region the request is signed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamRef {
    pub region: String,
    pub name: String,
}

impl StreamRef {
    /// From a Kinesis request's `StreamARN` or `StreamName`, with the region of its `Authorization` header.
    pub fn of_request(body: &Value, authorization: Option<&str>) -> Option<StreamRef> {
        if let Some(arn) = body.get("StreamARN").and_then(Value::as_str) {
            return StreamRef::of_arn(arn);
        }
        let name = body.get("StreamName").and_then(Value::as_str)?;
        Some(StreamRef {
            region: signed_region(authorization),
            name: name.to_owned(),
        })
    }

    /// `arn:aws:kinesis:<region>:<account>:stream/<name>`.
    fn of_arn(arn: &str) -> Option<StreamRef> {
        let mut fields = arn.splitn(6, ':');
        let region = fields.nth(3)?;
        let name = fields.nth(1)?.strip_prefix("stream/")?;
        Some(StreamRef {
            region: region.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The region of a SigV4 `Authorization` header (`Credential=<key>/<date>/<region>/<service>/aws4_request`), which
/// is also how moto picks the region; `us-east-1` when there is none.
pub fn signed_region(authorization: Option<&str>) -> String {
    authorization
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(2))
        .filter(|region| !region.is_empty())
        .unwrap_or(DEFAULT_REGION)
        .to_owned()
}

/// The 128-bit hash key of a record: its `ExplicitHashKey` (a decimal integer), or the MD5 of its partition key
/// read as a big-endian integer. `None` for a key Kinesis would refuse, which the emulator then reports.
pub fn hash_key(partition_key: &str, explicit_hash_key: Option<&str>) -> Option<u128> {
    match explicit_hash_key {
        Some(explicit) => explicit.parse().ok(),
        None => Some(u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())),
    }
}

#[derive(Debug, Clone)]
struct OpenShard {
    id: String,
    first_hash_key: u128,
    last_hash_key: u128,
}

/// A stream's open shards, as `DescribeStream` lists them.
#[derive(Debug, Clone)]
pub struct StreamShards {
    pub name: String,
    pub account: String,
    shards: Vec<OpenShard>,
}

impl StreamShards {
    /// From a `DescribeStream` response body.
    pub fn from_description(body: &Value) -> Option<StreamShards> {
        let description = body.get("StreamDescription")?;
        let name = description.get("StreamName")?.as_str()?.to_owned();
        let account = description
            .get("StreamARN")
            .and_then(Value::as_str)
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or(DEFAULT_ACCOUNT)
            .to_owned();
        let shards = description
            .get("Shards")?
            .as_array()?
            .iter()
            .filter(|shard| shard.pointer("/SequenceNumberRange/EndingSequenceNumber").is_none())
            .filter_map(|shard| {
                let hash_key = |end: &str| shard.pointer(&format!("/HashKeyRange/{end}"))?.as_str()?.parse().ok();
                Some(OpenShard {
                    id: shard.get("ShardId")?.as_str()?.to_owned(),
                    first_hash_key: hash_key("StartingHashKey")?,
                    last_hash_key: hash_key("EndingHashKey")?,
                })
            })
            .collect();
        Some(StreamShards { name, account, shards })
    }

    /// The open shard whose hash-key range holds `hash_key`.
    pub fn shard_for(&self, hash_key: u128) -> Option<&str> {
        self.shards
            .iter()
            .find(|shard| shard.first_hash_key <= hash_key && hash_key <= shard.last_hash_key)
            .map(|shard| shard.id.as_str())
    }
}

/// What the gateway has learnt of each stream's shards. Entries are dropped when a request through the gateway
/// reshapes or deletes the stream, or when the emulator put a record on another shard than the entry said.
#[derive(Default)]
pub struct ShardCache(Mutex<HashMap<StreamRef, Arc<StreamShards>>>);

impl ShardCache {
    pub fn get(&self, stream: &StreamRef) -> Option<Arc<StreamShards>> {
        self.0.lock().unwrap().get(stream).cloned()
    }

    pub fn insert(&self, stream: StreamRef, shards: StreamShards) -> Arc<StreamShards> {
        let shards = Arc::new(shards);
        self.0.lock().unwrap().insert(stream, shards.clone());
        shards
    }

    pub fn forget(&self, stream: &StreamRef) {
        self.0.lock().unwrap().remove(stream);
    }
}

/// The shard a moto shard iterator reads. moto 5.2.5 (`moto/kinesis/utils.py`, `compose_shard_iterator`) encodes
/// `<stream name>:<shard id>:<last sequence number read>` in base64, with line breaks; stream names and shard ids
/// hold no `:`.
pub fn iterator_position(iterator: &str) -> Option<(String, String)> {
    let compact: String = iterator.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = String::from_utf8(STANDARD.decode(compact).ok()?).ok()?;
    let mut fields = decoded.split(':');
    let (stream, shard, sequence) = (fields.next()?, fields.next()?, fields.next()?);
    (fields.next().is_none() && sequence.parse::<u64>().is_ok()).then(|| (stream.to_owned(), shard.to_owned()))
}

/// A moto shard iterator that resumes after `sequence_number`: the gateway's `NextShardIterator` when it returns
/// fewer records than moto did.
pub fn iterator_after(stream: &str, shard_id: &str, sequence_number: &str) -> String {
    STANDARD.encode(format!("{stream}:{shard_id}:{sequence_number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_hash_as_md5_read_big_endian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(hash_key("", None), Some(0xd41d8cd98f00b204e9800998ecf8427e));
        assert_eq!(hash_key("ignored", Some("42")), Some(42));
        assert_eq!(
            hash_key("k", Some("340282366920938463463374607431768211456")),
            None,
            "2^128 is too big"
        );
    }

    #[test]
    fn hash_key_ranges_include_both_ends_and_closed_shards_take_nothing() {
        let description = serde_json::json!({"StreamDescription": {
            "StreamName": "s", "StreamARN": "arn:aws:kinesis:us-east-1:111122223333:stream/s",
            "Shards": [
                {"ShardId": "closed", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "99"},
                 "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "5"}},
                {"ShardId": "low", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"},
                 "SequenceNumberRange": {"StartingSequenceNumber": "6"}},
                {"ShardId": "high", "HashKeyRange": {"StartingHashKey": "10", "EndingHashKey": "99"},
                 "SequenceNumberRange": {"StartingSequenceNumber": "6"}}]}});
        let shards = StreamShards::from_description(&description).unwrap();
        assert_eq!(shards.account, "111122223333");
        assert_eq!(shards.shard_for(9), Some("low"));
        assert_eq!(shards.shard_for(10), Some("high"));
        assert_eq!(shards.shard_for(99), Some("high"));
        assert_eq!(shards.shard_for(100), None);
    }

    #[test]
    fn moto_iterators_name_their_shard() {
        // What moto returns for TRIM_HORIZON on shard 1 of stream "telemetry" (base64.encodebytes: a final newline).
        let iterator = format!("{}\n", STANDARD.encode("telemetry:shardId-000000000001:0"));
        let position = iterator_position(&iterator);
        assert_eq!(position, Some(("telemetry".into(), "shardId-000000000001".into())));
        let resumed = iterator_after("telemetry", "shardId-000000000001", "17");
        assert_eq!(iterator_position(&resumed), position);
        assert_eq!(iterator_position("not an iterator"), None);
    }

    #[test]
    fn streams_are_named_by_arn_or_by_name_in_the_signed_region() {
        let authorization = "AWS4-HMAC-SHA256 Credential=testing/20261201/eu-west-1/kinesis/aws4_request, \
                             SignedHeaders=host, Signature=0";
        let by_name = serde_json::json!({"StreamName": "s"});
        let by_arn = serde_json::json!({"StreamARN": "arn:aws:kinesis:us-west-2:123456789012:stream/t"});
        let stream = |region: &str, name: &str| StreamRef {
            region: region.into(),
            name: name.into(),
        };
        assert_eq!(
            StreamRef::of_request(&by_name, Some(authorization)),
            Some(stream("eu-west-1", "s"))
        );
        assert_eq!(StreamRef::of_request(&by_name, None), Some(stream("us-east-1", "s")));
        assert_eq!(
            StreamRef::of_request(&by_arn, Some(authorization)),
            Some(stream("us-west-2", "t"))
        );
    }
}
