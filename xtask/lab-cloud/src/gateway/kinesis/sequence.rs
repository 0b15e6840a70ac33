//! Sequence numbers as Kinesis gives them: opaque decimal strings, "unique per partition key within its shard" and
//! increasing over time within a shard
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html>, `SequenceNumber`;
//! <https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html>, "Sequence number"). AWS's are 56 digits
//! long, far beyond a `u64` (or a `u128`), so a client that parses one as a number fails here as it would there.
//!
//! The local cloud's layout, 56 decimal digits (AWS's own layout is not documented, only its width):
//! `4` · the stream's creation, in ms since the epoch (13 digits) · the shard's index (8) · the record's position in
//! its shard (21) · the record's arrival, in ms since the epoch (13). The position comes before the time, so the
//! numbers of one shard compare as their records' order, as strings and as numbers; the stream and shard fields let
//! a number be refused on any other shard, as AWS refuses it.

/// The width of every sequence number.
pub const WIDTH: usize = 56;

/// A sequence number, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequence {
    /// When the stream was created (ms since the epoch): tells a number of another stream of the same name apart.
    pub stream_created_ms: u64,
    pub shard_index: u32,
    /// The record's position in its shard: 1 for the first record; a shard's starting number has 0.
    pub position: u64,
    pub arrival_ms: u64,
}

impl Sequence {
    pub fn encode(&self) -> String {
        format!(
            "4{:013}{:08}{:021}{:013}",
            self.stream_created_ms % 10_000_000_000_000,
            self.shard_index % 100_000_000,
            self.position,
            self.arrival_ms % 10_000_000_000_000
        )
    }

    /// `None` for anything that is not one of the local cloud's sequence numbers.
    pub fn decode(text: &str) -> Option<Sequence> {
        if text.len() != WIDTH || !text.starts_with('4') || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Sequence {
            stream_created_ms: text[1..14].parse().ok()?,
            shard_index: text[14..22].parse().ok()?,
            position: text[22..43].parse().ok()?,
            arrival_ms: text[43..56].parse().ok()?,
        })
    }
}

/// AWS's shard ids: `shardId-` and the shard's index in twelve digits.
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(position: u64, arrival_ms: u64) -> Sequence {
        Sequence {
            stream_created_ms: 1_767_225_600_000,
            shard_index: 3,
            position,
            arrival_ms,
        }
    }

    #[test]
    fn a_sequence_number_is_56_digits_and_round_trips() {
        let number = sequence(17, 1_767_225_600_123).encode();
        assert_eq!(number.len(), 56, "{number}");
        assert!(number.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(Sequence::decode(&number), Some(sequence(17, 1_767_225_600_123)));
    }

    #[test]
    fn a_sequence_number_does_not_fit_a_u64_nor_a_u128() {
        let number = sequence(1, 1_767_225_600_000).encode();
        assert!(
            number.parse::<u64>().is_err(),
            "a learner's u64 parse must fail here, as on AWS"
        );
        assert!(number.parse::<u128>().is_err());
    }

    #[test]
    fn numbers_of_one_shard_increase_with_the_records_order_even_when_the_clock_does_not() {
        let earlier = sequence(9, 1_767_225_600_500).encode();
        let later = sequence(10, 1_767_225_600_400).encode();
        assert!(earlier < later);
    }

    #[test]
    fn anything_else_is_not_a_sequence_number() {
        for text in [
            "1",
            "59590338271490256608559692538361571095921575989136588898",
            "",
            "4x",
        ] {
            assert_eq!(Sequence::decode(text), None, "{text}");
        }
        assert_eq!(shard_id(7), "shardId-000000000007");
    }
}
