//! Records and the limits Kinesis puts on them: the chapter's "The records" and "`PutRecords`: batches, limits and
//! partial failure". Your `batches` keeps to [`MAX_RECORDS_PER_CALL`] and [`MAX_BYTES_PER_CALL`]; [`Entry::new`]
//! refuses a record that would break the other two.

use std::fmt;

// The byte limits are the defaults, which every stream accepts: the PutRecords reference gives 1 MiB a record and
// 5 MiB a call. A stream whose MaxRecordSizeInKiB was raised (UpdateMaxRecordSize, up to 10 MiB) takes larger
// records (https://docs.aws.amazon.com/streams/latest/dev/large-records.html); this producer's are far smaller.
/// At most this many records in one `PutRecords` call.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// At most this many bytes in one `PutRecords` call, counting every record's data *and* partition key (the default).
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// At most this many bytes in one record, data and partition key together (the default `MaxRecordSizeInKiB`, 1024).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// A partition key is 1 to 256 characters.
pub const MAX_KEY_CHARS: usize = 256;

/// One record ready for Kinesis: its partition key and its bytes. [`Entry::new`] refuses what Kinesis would refuse,
/// so an `Entry` always fits in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    partition_key: String,
    data: Vec<u8>,
}

impl Entry {
    pub fn new(partition_key: impl Into<String>, data: impl Into<Vec<u8>>) -> Result<Entry, EntryError> {
        let entry = Entry {
            partition_key: partition_key.into(),
            data: data.into(),
        };
        let key_chars = entry.partition_key.chars().count();
        if key_chars == 0 || key_chars > MAX_KEY_CHARS {
            return Err(EntryError::KeyLength(key_chars));
        }
        if entry.size() > MAX_RECORD_BYTES {
            return Err(EntryError::TooLarge(entry.size()));
        }
        Ok(entry)
    }

    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// What the record counts for against Kinesis's limits: its data and its partition key, in bytes.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Why [`Entry::new`] refused a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The partition key has this many characters; Kinesis takes 1 to 256.
    KeyLength(usize),
    /// The record (data and key) has this many bytes; Kinesis takes 1 MiB at most (by default).
    TooLarge(usize),
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::KeyLength(chars) => {
                write!(f, "a partition key has 1 to {MAX_KEY_CHARS} characters, not {chars}")
            }
            EntryError::TooLarge(bytes) => {
                write!(
                    f,
                    "a record is at most {MAX_RECORD_BYTES} bytes with its key, not {bytes}"
                )
            }
        }
    }
}

impl std::error::Error for EntryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_errors_say_what_kinesis_accepts() {
        assert_eq!(
            EntryError::KeyLength(300).to_string(),
            "a partition key has 1 to 256 characters, not 300"
        );
        assert_eq!(
            EntryError::TooLarge(2_000_000).to_string(),
            "a record is at most 1048576 bytes with its key, not 2000000"
        );
    }
}
