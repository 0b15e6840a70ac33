//! The data plane: `PutRecord`, `PutRecords`, `GetShardIterator`, `GetRecords`, with AWS's per-shard limits (the
//! gateway's [`Ledger`](crate::gateway::limits::Ledger): 1,000 records and 1 MiB written, 5 calls and 2 MiB read
//! per shard per second) and the faults asked for (`put-internal` per entry, `put-5xx` per call).
//!
//! - PutRecord (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html>) and PutRecords
//!   (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>): the record goes to the open
//!   shard whose hash-key range holds the MD5 of its partition key (or its `ExplicitHashKey`); "Each record in the
//!   request can be as large as 1 MiB, up to a limit of 5 MiB for the entire request, including partition keys";
//!   up to 500 records; a refused entry comes back in place with `ErrorCode`/`ErrorMessage`, and
//!   `FailedRecordCount` counts them.
//! - GetShardIterator (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html>):
//!   TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP.
//! - GetRecords (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>): up to `Limit`
//!   records (at most 10,000) and 10 MiB; `MillisBehindLatest`; on a closed shard, once its records are read, an
//!   answer with `ChildShards` and no `NextShardIterator` ("If NextShardIterator is null, the shard has been closed
//!   and the requested iterator does not return any more data").

use super::control::stream_key;
use super::iterator::{Position, expired_message};
use super::lifecycle::Status;
use super::sequence::Sequence;
use super::store::{ACCOUNT, Shard, Stream, StreamKey, hash_key};
use super::validation::{self as v, Violations};
use super::{Answer, Context, Kinesis, invalid_argument, stream_not_found, timestamp};
use crate::gateway::errors::AwsError;
use crate::gateway::limits::ShardKey;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lab_contract::FaultKind;
use serde_json::{Value, json};
use std::sync::Arc;

const MIB: usize = 1024 * 1024;
const MAX_ENTRIES: usize = 500;
const MAX_RECORD_BYTES: usize = MIB;
const MAX_REQUEST_BYTES: usize = 5 * MIB;
/// One `GetRecords` call's maxima: 10,000 records, 10 MiB.
const MAX_READ_RECORDS: u64 = 10_000;
const MAX_READ_BYTES: u64 = 10 * MIB as u64;
const THROTTLED: &str = "ProvisionedThroughputExceededException";
const INTERNAL_FAILURE: &str = "InternalFailure";

/// One record of a write, read and checked.
struct Entry {
    partition_key: Arc<str>,
    explicit_hash_key: Option<u128>,
    data: Bytes,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Reads a record (`PutRecord`'s body, or one of `PutRecords`' entries) and checks its members; `at` is the
/// members' path prefix in AWS's messages (`""` or `records.3.member.`).
fn read_entry(body: &Value, at: &str, violations: &mut Violations) -> Result<Entry, AwsError> {
    let key = v::string(body, "PartitionKey")?;
    let explicit = v::string(body, "ExplicitHashKey")?;
    let data = v::string(body, "Data")?;
    violations.not_null(&format!("{at}partitionKey"), key.is_some());
    violations.text(&format!("{at}partitionKey"), key, 1, 256, None);
    violations.text(
        &format!("{at}explicitHashKey"),
        explicit,
        0,
        usize::MAX,
        Some(v::HASH_KEY_PATTERN),
    );
    violations.not_null(&format!("{at}data"), data.is_some());
    let data = match data {
        Some(text) => Bytes::from(STANDARD.decode(text).map_err(|error| {
            AwsError::bad_request(
                "SerializationException",
                format!(
                    "'{}' can not be converted to a Blob: {error}",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })?),
        None => Bytes::new(),
    };
    violations.blob(&format!("{at}data"), data.len(), MAX_RECORD_BYTES);
    let explicit_hash_key = match explicit {
        Some(text) if v::matches_pattern(v::HASH_KEY_PATTERN, text) => Some(text.parse::<u128>().map_err(|_| {
            invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        })?),
        _ => None,
    };
    Ok(Entry {
        partition_key: key.unwrap_or_default().into(),
        explicit_hash_key,
        data,
    })
}

/// AWS's per-shard throttling message.
fn rate_exceeded(shard_id: &str, stream: &str) -> String {
    format!("Rate exceeded for shard {shard_id} in stream {stream} under account {ACCOUNT}.")
}

/// Data calls reach a stream that is ACTIVE or UPDATING; any other is not found, as AWS answers a write to a
/// stream that is still CREATING.
fn readable(stream: &Stream) -> Result<(), AwsError> {
    match stream.status {
        Status::Active | Status::Updating => Ok(()),
        Status::Creating | Status::Deleting => Err(stream_not_found(&stream.key)),
    }
}

/// What happened to one entry of a write.
enum Outcome {
    Stored { shard_id: String, sequence: String },
    Refused { code: &'static str, message: String },
}

impl Kinesis {
    /// `--faults put-5xx=...`: the whole write call fails before anything is stored, with HTTP 500
    /// `InternalFailure` or 503 `ServiceUnavailable` (the two server errors the API reference lists for every
    /// operation, <https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html>); the SDKs retry both.
    fn whole_call_fault(&self, c: &Context<'_>) -> Result<(), AwsError> {
        let Some(chance) = c.metered.then(|| self.faults.strike(FaultKind::Put5xx)).flatten() else {
            return Ok(());
        };
        let (status, code) = if chance % 2 == 0 {
            (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_FAILURE)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
        };
        Err(AwsError::new(
            status,
            code,
            "injected by the local cloud (--faults put-5xx)",
        ))
    }

    /// Stores the entries in order under the stream's lock: each is routed, struck by `put-internal` or refused by
    /// its shard's allowance, or appended.
    fn write(
        &self,
        c: &Context<'_>,
        key: &StreamKey,
        entries: Vec<Entry>,
        per_entry_faults: bool,
    ) -> Result<(Vec<Outcome>, bool), AwsError> {
        self.with_stream(key, c.now_ms, |stream| {
            readable(stream)?;
            let created = stream.created_ms;
            let encrypted = stream.encryption.is_some();
            let mut outcomes = Vec::with_capacity(entries.len());
            for entry in entries {
                let hash = hash_key(&entry.partition_key, entry.explicit_hash_key);
                let Some(shard) = stream.open_shard_for(hash) else {
                    return Err(AwsError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        INTERNAL_FAILURE,
                        "no open shard holds the hash key",
                    ));
                };
                let ledger_key = ShardKey {
                    region: key.region.clone(),
                    stream: key.name.clone(),
                    shard_id: shard.id.clone(),
                };
                let bytes = entry.bytes() as u64;
                if per_entry_faults && c.metered && self.faults.strikes(FaultKind::PutInternal) {
                    let message = "Internal service failure.".to_owned();
                    outcomes.push(Outcome::Refused {
                        code: INTERNAL_FAILURE,
                        message,
                    });
                    continue;
                }
                if c.metered && !self.ledger.admit_write(&ledger_key, bytes) {
                    let message = rate_exceeded(&shard.id, &key.name);
                    outcomes.push(Outcome::Refused {
                        code: THROTTLED,
                        message,
                    });
                    continue;
                }
                let (position, arrival) = shard.append(entry.partition_key, entry.data, c.now_ms);
                if c.metered {
                    self.ledger.record_written(&ledger_key, bytes);
                }
                let sequence = shard.sequence(created, position, arrival).encode();
                outcomes.push(Outcome::Stored {
                    shard_id: shard.id.clone(),
                    sequence,
                });
            }
            Ok((outcomes, encrypted))
        })
    }

    /// `PutRecord`: HTTP 400 `ProvisionedThroughputExceededException` when the shard is full.
    pub(super) fn put_record(&self, c: &Context<'_>) -> Answer {
        let mut violations = Violations::default();
        v::stream_members(&mut violations, c.body)?;
        let entry = read_entry(c.body, "", &mut violations)?;
        let ordering = v::string(c.body, "SequenceNumberForOrdering")?;
        violations.text(
            "sequenceNumberForOrdering",
            ordering,
            0,
            usize::MAX,
            Some(v::SEQUENCE_PATTERN),
        );
        violations.finish()?;
        if entry.bytes() > MAX_RECORD_BYTES {
            return Err(record_too_large(entry.bytes()));
        }
        let key = stream_key(c)?;
        self.whole_call_fault(c)?;
        let bytes = entry.bytes() as f64;
        let (mut outcomes, encrypted) = self.write(c, &key, vec![entry], false)?;
        let throttled = matches!(outcomes.first(), Some(Outcome::Refused { .. }));
        if c.metered {
            let changes = if throttled {
                vec![("WriteProvisionedThroughputExceeded", 1.0), ("PutRecord.Success", 0.0)]
            } else {
                vec![
                    ("IncomingRecords", 1.0),
                    ("IncomingBytes", bytes),
                    ("PutRecord.Bytes", bytes),
                    ("PutRecord.Success", 1.0),
                    ("WriteProvisionedThroughputExceeded", 0.0),
                ]
            };
            self.metrics.add(&key, c.now_ms, &changes);
        }
        match outcomes.pop() {
            Some(Outcome::Stored { shard_id, sequence }) => Ok(json!({
                "ShardId": shard_id,
                "SequenceNumber": sequence,
                "EncryptionType": if encrypted { "KMS" } else { "NONE" },
            })),
            Some(Outcome::Refused { code, message }) => Err(AwsError::bad_request(code, message)),
            None => Err(invalid_argument("no record")),
        }
    }

    /// `PutRecords`: each entry stored or refused in place.
    pub(super) fn put_records(&self, c: &Context<'_>) -> Answer {
        let mut violations = Violations::default();
        v::stream_members(&mut violations, c.body)?;
        let records = match c.body.get("Records") {
            None | Some(Value::Null) => None,
            Some(Value::Array(records)) => Some(records),
            Some(_) => {
                return Err(AwsError::bad_request(
                    "SerializationException",
                    "the member Records is not a list",
                ));
            }
        };
        violations.not_null("records", records.is_some());
        let records = records.map(Vec::as_slice).unwrap_or_default();
        let shown = format!("[{} PutRecordsRequestEntry]", records.len());
        violations.list_length("records", &shown, records.len(), 1, MAX_ENTRIES);
        let mut entries = Vec::with_capacity(records.len());
        for (n, record) in records.iter().enumerate().take(MAX_ENTRIES) {
            entries.push(read_entry(
                record,
                &format!("records.{}.member.", n + 1),
                &mut violations,
            )?);
        }
        violations.finish()?;
        if let Some(entry) = entries.iter().find(|entry| entry.bytes() > MAX_RECORD_BYTES) {
            return Err(record_too_large(entry.bytes()));
        }
        let total: usize = entries.iter().map(Entry::bytes).sum();
        if total > MAX_REQUEST_BYTES {
            return Err(invalid_argument(format!(
                "Records size exceeds 5 MiB limit: the request's records, partition keys included, total {total} bytes."
            )));
        }
        let key = stream_key(c)?;
        self.whole_call_fault(c)?;
        let sizes: Vec<f64> = entries.iter().map(|entry| entry.bytes() as f64).collect();
        let (outcomes, encrypted) = self.write(c, &key, entries, true)?;
        if c.metered {
            self.count_put_records(&key, c.now_ms, &outcomes, &sizes);
        }
        let failed = outcomes.iter().filter(|o| matches!(o, Outcome::Refused { .. })).count();
        let results: Vec<Value> = outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Stored { shard_id, sequence } => json!({ "ShardId": shard_id, "SequenceNumber": sequence }),
                Outcome::Refused { code, message } => json!({ "ErrorCode": code, "ErrorMessage": message }),
            })
            .collect();
        Ok(json!({
            "FailedRecordCount": failed,
            "Records": results,
            "EncryptionType": if encrypted { "KMS" } else { "NONE" },
        }))
    }

    fn count_put_records(&self, key: &StreamKey, now_ms: u64, outcomes: &[Outcome], sizes: &[f64]) {
        let (mut stored, mut bytes, mut throttled, mut failed) = (0.0, 0.0, 0.0, 0.0);
        for (outcome, size) in outcomes.iter().zip(sizes) {
            match outcome {
                Outcome::Stored { .. } => {
                    stored += 1.0;
                    bytes += size;
                }
                Outcome::Refused { code: THROTTLED, .. } => throttled += 1.0,
                Outcome::Refused { .. } => failed += 1.0,
            }
        }
        let success = if stored > 0.0 { 1.0 } else { 0.0 };
        self.metrics.add(
            key,
            now_ms,
            &[
                ("IncomingRecords", stored),
                ("IncomingBytes", bytes),
                ("PutRecords.Bytes", bytes),
                ("PutRecords.Success", success),
                ("PutRecords.TotalRecords", outcomes.len() as f64),
                ("PutRecords.SuccessfulRecords", stored),
                ("PutRecords.FailedRecords", failed),
                ("PutRecords.ThrottledRecords", throttled),
                ("WriteProvisionedThroughputExceeded", throttled),
            ],
        );
    }
}

/// A record over 1 MiB, partition key included.
fn record_too_large(bytes: usize) -> AwsError {
    invalid_argument(format!(
        "A record of {bytes} bytes, data and partition key together, is over the limit of {MAX_RECORD_BYTES} bytes."
    ))
}

/// `GetShardIterator`'s refusal of a sequence number that is not this shard's (kinesalite's record of AWS's words).
fn starting_sequence(stream: &Stream, shard: &Shard, text: &str) -> Result<Sequence, AwsError> {
    let invalid = |why: &str| {
        invalid_argument(format!(
            "StartingSequenceNumber {text} used in GetShardIterator on shard {} in stream {} under account {ACCOUNT} \
             is invalid{why}.",
            shard.id, stream.key.name
        ))
    };
    let sequence = Sequence::decode(text).ok_or_else(|| invalid(""))?;
    if sequence.stream_created_ms != stream.created_ms % 10_000_000_000_000 {
        return Err(invalid(" because it did not come from this stream"));
    }
    if sequence.shard_index != shard.index {
        return Err(invalid_argument(format!(
            "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
            super::sequence::shard_id(sequence.shard_index),
            shard.id
        )));
    }
    Ok(sequence)
}

impl Kinesis {
    /// `GetShardIterator`.
    pub(super) fn get_shard_iterator(&self, c: &Context<'_>) -> Answer {
        let shard_id = v::string(c.body, "ShardId")?;
        let kind = v::string(c.body, "ShardIteratorType")?;
        let sequence = v::string(c.body, "StartingSequenceNumber")?;
        let at = v::timestamp_ms(c.body, "Timestamp")?;
        let mut violations = Violations::default();
        v::stream_members(&mut violations, c.body)?;
        violations.not_null("shardId", shard_id.is_some());
        violations.text("shardId", shard_id, 1, 128, Some(v::STREAM_NAME_PATTERN));
        violations.not_null("shardIteratorType", kind.is_some());
        let kinds = [
            "AFTER_SEQUENCE_NUMBER",
            "LATEST",
            "AT_TIMESTAMP",
            "AT_SEQUENCE_NUMBER",
            "TRIM_HORIZON",
        ];
        violations.one_of("shardIteratorType", kind, &kinds);
        violations.text(
            "startingSequenceNumber",
            sequence,
            0,
            usize::MAX,
            Some(v::SEQUENCE_PATTERN),
        );
        violations.finish()?;
        let (shard_id, kind) = (shard_id.unwrap_or_default(), kind.unwrap_or_default());
        let key = stream_key(c)?;
        self.with_stream(&key, c.now_ms, |stream| {
            readable(stream)?;
            let shard = stream.shard(shard_id).ok_or_else(|| {
                AwsError::bad_request(
                    "ResourceNotFoundException",
                    format!("Shard {shard_id} in stream {} under account {ACCOUNT} does not exist", key.name),
                )
            })?;
            let next = match (kind, sequence) {
                ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", Some(text)) => {
                    let sequence = starting_sequence(stream, shard, text)?;
                    sequence.position.max(1) + u64::from(kind == "AFTER_SEQUENCE_NUMBER" && sequence.position > 0)
                }
                ("TRIM_HORIZON" | "LATEST", Some(_)) | ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => {
                    let given = if sequence.is_some() { "also a" } else { "no" };
                    return Err(invalid_argument(format!(
                        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber \
                         or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and \
                         {given} StartingSequenceNumber."
                    )));
                }
                ("TRIM_HORIZON", None) => shard.trim_horizon(),
                ("LATEST", None) => shard.tip(),
                _ => shard.at_timestamp(timestamp_for_iterator(at, c.now_ms)?),
            };
            let position = Position {
                stream_arn: stream.arn.clone(),
                stream_created_ms: stream.created_ms,
                shard_id: shard.id.clone(),
                next,
                issued_ms: c.now_ms,
            };
            Ok(json!({ "ShardIterator": position.encode() }))
        })
    }
}

/// `AT_TIMESTAMP`'s time (kinesalite's record of AWS's messages).
fn timestamp_for_iterator(at: Option<u64>, now_ms: u64) -> Result<u64, AwsError> {
    let at = at.ok_or_else(|| {
        invalid_argument(
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no \
             timestamp parameter.",
        )
    })?;
    if at > now_ms {
        return Err(invalid_argument(format!(
            "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: \
             {at}, currentTimestampInMillis: {now_ms}"
        )));
    }
    Ok(at)
}

/// What one `GetRecords` read, taken under the stream's lock.
struct Read {
    records: Vec<Value>,
    bytes: u64,
    last_arrival_ms: Option<u64>,
    answer: Value,
}

impl Kinesis {
    /// `GetRecords`.
    pub(super) fn get_records(&self, c: &Context<'_>) -> Answer {
        let iterator = v::string(c.body, "ShardIterator")?;
        let limit = v::integer(c.body, "Limit")?;
        let mut violations = Violations::default();
        violations.not_null("shardIterator", iterator.is_some());
        violations.text("shardIterator", iterator, 1, 512, None);
        violations.range("limit", limit, 1, MAX_READ_RECORDS as i64);
        violations.text(
            "streamARN",
            v::string(c.body, "StreamARN")?,
            1,
            2048,
            Some(v::STREAM_ARN_PATTERN),
        );
        violations.finish()?;
        let position =
            Position::decode(iterator.unwrap_or_default()).ok_or_else(|| invalid_argument("Invalid ShardIterator."))?;
        if v::string(c.body, "StreamARN")?.is_some_and(|arn| arn != position.stream_arn) {
            return Err(invalid_argument(
                "Invalid ShardIterator: it reads another stream than StreamARN names.",
            ));
        }
        if position.expired(c.now_ms) {
            return Err(AwsError::bad_request(
                "ExpiredIteratorException",
                expired_message(position.issued_ms, c.now_ms),
            ));
        }
        let (region, _, name) =
            v::stream_arn_parts(&position.stream_arn).ok_or_else(|| invalid_argument("Invalid ShardIterator."))?;
        let key = StreamKey {
            region: region.to_owned(),
            name: name.to_owned(),
        };
        let ledger_key = ShardKey {
            region: key.region.clone(),
            stream: key.name.clone(),
            shard_id: position.shard_id.clone(),
        };
        let shard_missing = || {
            AwsError::bad_request(
                "ResourceNotFoundException",
                format!(
                    "Shard {} in stream {} under account {ACCOUNT} does not exist",
                    position.shard_id, key.name
                ),
            )
        };
        // The shard must exist before its allowance is charged.
        self.with_stream(&key, c.now_ms, |stream| {
            let exists = stream.created_ms == position.stream_created_ms && stream.shard(&position.shard_id).is_some();
            if exists { Ok(()) } else { Err(shard_missing()) }
        })
        .map_err(|error| {
            if error.code == "ResourceNotFoundException" {
                shard_missing()
            } else {
                error
            }
        })?;
        if c.metered && !self.ledger.admit_read(&ledger_key) {
            self.metrics
                .add(&key, c.now_ms, &[("ReadProvisionedThroughputExceeded", 1.0)]);
            return Err(AwsError::bad_request(
                THROTTLED,
                rate_exceeded(&position.shard_id, &key.name),
            ));
        }
        let limits = self.ledger.limits();
        let records_cap = limit
            .map_or(MAX_READ_RECORDS, |l| l as u64)
            .min(limits.records_per_read)
            .min(MAX_READ_RECORDS);
        let bytes_cap = limits.bytes_per_read.min(MAX_READ_BYTES);
        let read = self.with_stream(&key, c.now_ms, |stream| {
            let shard = stream.shard(&position.shard_id).ok_or_else(shard_missing)?;
            Ok(read_shard(
                stream,
                shard,
                &position,
                records_cap as usize,
                bytes_cap,
                c.now_ms,
            ))
        })?;
        if c.metered {
            self.ledger
                .record_read(&ledger_key, read.records.len() as u64, read.bytes);
            self.count_read(&key, c.now_ms, &read);
        }
        let mut answer = read.answer;
        answer["Records"] = Value::Array(read.records);
        Ok(answer)
    }

    fn count_read(&self, key: &StreamKey, now_ms: u64, read: &Read) {
        let (records, bytes) = (read.records.len() as f64, read.bytes as f64);
        self.metrics.add(
            key,
            now_ms,
            &[
                ("GetRecords.Records", records),
                ("GetRecords.Bytes", bytes),
                ("GetRecords.Success", 1.0),
                ("ReadProvisionedThroughputExceeded", 0.0),
                ("OutgoingRecords", records),
                ("OutgoingBytes", bytes),
            ],
        );
        let age = read.last_arrival_ms.map_or(0, |arrival| now_ms.saturating_sub(arrival));
        self.metrics
            .max(key, now_ms, "GetRecords.IteratorAgeMilliseconds", age as f64);
    }
}

/// The records from the iterator's position, and what comes next: a new iterator, or (at the end of a closed
/// shard) none and the shard's children.
fn read_shard(stream: &Stream, shard: &Shard, position: &Position, limit: usize, max_bytes: u64, now_ms: u64) -> Read {
    let records = shard.read(position.next, limit, max_bytes);
    let next = records
        .last()
        .map_or(position.next.max(shard.trim_horizon()), |last| last.position + 1);
    let bytes = records.iter().map(|record| record.bytes()).sum();
    let last_arrival_ms = records.last().map(|record| record.arrival_ms);
    let json: Vec<Value> = records
        .iter()
        .map(|record| {
            json!({
                "SequenceNumber": shard.sequence(stream.created_ms, record.position, record.arrival_ms).encode(),
                "ApproximateArrivalTimestamp": timestamp(record.arrival_ms),
                "Data": STANDARD.encode(&record.data),
                "PartitionKey": &*record.partition_key,
            })
        })
        .collect();
    let behind = if next >= shard.tip() {
        0
    } else {
        now_ms.saturating_sub(last_arrival_ms.or_else(|| shard.arrival_at(next)).unwrap_or(now_ms))
    };
    let ended = shard.closed.is_some_and(|closed| next >= closed.ending_position) && records.is_empty();
    let answer = if ended {
        json!({ "NextShardIterator": null, "MillisBehindLatest": 0, "ChildShards": child_shards(stream, &shard.id) })
    } else {
        let iterator = Position {
            next,
            issued_ms: now_ms,
            ..position.clone()
        };
        json!({ "NextShardIterator": iterator.encode(), "MillisBehindLatest": behind })
    };
    Read {
        records: json,
        bytes,
        last_arrival_ms,
        answer,
    }
}

/// The shards made from `parent` (API_ChildShard: `ShardId`, `ParentShards`, `HashKeyRange`).
fn child_shards(stream: &Stream, parent: &str) -> Vec<Value> {
    stream
        .shards
        .iter()
        .filter(|shard| shard.parent.as_deref() == Some(parent) || shard.adjacent_parent.as_deref() == Some(parent))
        .map(|shard| {
            let parents: Vec<&String> = shard.parent.iter().chain(&shard.adjacent_parent).collect();
            json!({
                "ShardId": shard.id,
                "ParentShards": parents,
                "HashKeyRange": {
                    "StartingHashKey": shard.first_hash_key.to_string(),
                    "EndingHashKey": shard.last_hash_key.to_string(),
                },
            })
        })
        .collect()
}
