//! Shard iterators: opaque to the client, as AWS's are (base64 of binary), and self-describing, so that the
//! gateway knows from the iterator alone which stream and shard a `GetRecords` reads (its IAM check needs the
//! stream's ARN, the only resource of `GetRecords`), where, and since when the iterator exists.
//!
//! "A shard iterator expires 5 minutes after it is returned to the requester"
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html>); `GetRecords` then answers
//! `ExpiredIteratorException` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>). An
//! iterator is at most 512 characters (`ShardIterator`, "Length Constraints: Minimum length of 1. Maximum length of
//! 512").

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How long an iterator stays valid.
pub const LIFETIME_MS: u64 = 5 * 60 * 1000;

/// The first eight bytes of every iterator (AWS's iterators begin with a version header too).
const HEADER: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];

/// Where an iterator reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub stream_arn: String,
    /// The stream's creation (ms since the epoch): an iterator of a deleted stream reads no namesake.
    pub stream_created_ms: u64,
    pub shard_id: String,
    /// The position (within the shard) of the next record to return.
    pub next: u64,
    /// When the iterator was issued (ms since the epoch).
    pub issued_ms: u64,
}

impl Position {
    pub fn encode(&self) -> String {
        let text = format!(
            "{}|{}|{}|{}|{}",
            self.stream_arn, self.stream_created_ms, self.shard_id, self.next, self.issued_ms
        );
        let mut bytes = HEADER.to_vec();
        // Each byte turned by its place, so that the iterator does not read as plain text once decoded: opaque, as
        // AWS's are (no secret is kept: nothing depends on a client not reading it).
        bytes.extend(
            text.bytes()
                .enumerate()
                .map(|(i, b)| b ^ (0x5a_u8.wrapping_add(i as u8))),
        );
        STANDARD.encode(bytes)
    }

    /// `None` for anything that is not an iterator the local cloud issued.
    pub fn decode(iterator: &str) -> Option<Position> {
        let bytes = STANDARD.decode(iterator.trim()).ok()?;
        let body = bytes.strip_prefix(&HEADER)?;
        let text: Vec<u8> = body
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ (0x5a_u8.wrapping_add(i as u8)))
            .collect();
        let text = String::from_utf8(text).ok()?;
        let mut fields = text.split('|');
        let position = Position {
            stream_arn: fields.next()?.to_owned(),
            stream_created_ms: fields.next()?.parse().ok()?,
            shard_id: fields.next()?.to_owned(),
            next: fields.next()?.parse().ok()?,
            issued_ms: fields.next()?.parse().ok()?,
        };
        (fields.next().is_none() && position.stream_arn.starts_with("arn:")).then_some(position)
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.issued_ms) > LIFETIME_MS
    }
}

/// The stream a shard iterator reads, by ARN, when it is one the local cloud issued.
pub fn stream_arn_of_iterator(iterator: &str) -> Option<String> {
    Position::decode(iterator).map(|position| position.stream_arn)
}

/// AWS's `ExpiredIteratorException` message: "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02
/// UTC 2015 while right now it is ... which is further in the future than the tolerated delay of 300000
/// milliseconds." (the time in Java's `Date.toString` form, in UTC).
pub fn expired_message(issued_ms: u64, now_ms: u64) -> String {
    format!(
        "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the \
         future than the tolerated delay of {LIFETIME_MS} milliseconds.",
        java_date(issued_ms),
        java_date(now_ms)
    )
}

fn java_date(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|time| time.format("%a %b %d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        Position {
            stream_arn: format!("arn:aws:kinesis:eu-west-1:123456789012:stream/{}", "s".repeat(128)),
            stream_created_ms: 1_767_225_600_000,
            shard_id: "shardId-000000000012".into(),
            next: 123_456_789,
            issued_ms: 1_767_225_601_000,
        }
    }

    #[test]
    fn an_iterator_names_its_stream_shard_position_and_time_and_is_opaque() {
        let iterator = position().encode();
        assert_eq!(Position::decode(&iterator), Some(position()));
        assert_eq!(stream_arn_of_iterator(&iterator), Some(position().stream_arn));
        let decoded = STANDARD.decode(&iterator).unwrap();
        assert!(!String::from_utf8_lossy(&decoded).contains("arn:aws"), "not plain text");
        assert!(
            iterator.len() <= 512,
            "the longest stream name still fits: {}",
            iterator.len()
        );
    }

    #[test]
    fn garbage_and_other_emulators_iterators_are_not_iterators() {
        assert_eq!(Position::decode("not an iterator"), None);
        assert_eq!(
            Position::decode(&STANDARD.encode("telemetry:shardId-000000000001:0")),
            None
        );
        assert_eq!(stream_arn_of_iterator(""), None);
    }

    #[test]
    fn an_iterator_expires_five_minutes_after_it_was_issued() {
        let position = position();
        assert!(!position.expired(position.issued_ms + LIFETIME_MS));
        assert!(position.expired(position.issued_ms + LIFETIME_MS + 1));
        assert_eq!(
            expired_message(0, 300_001),
            "Iterator expired. The iterator was created at time Thu Jan 01 00:00:00 UTC 1970 while right now it is \
             Thu Jan 01 00:05:00 UTC 1970 which is further in the future than the tolerated delay of 300000 \
             milliseconds."
        );
    }
}
