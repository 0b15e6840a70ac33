//! The compressions Firehose offers for S3, as the definition names them, and how each object comes back: the
//! chapter's "Compression" explains the choice.

use aws_sdk_firehose::types::CompressionFormat;
use std::io::Read;

/// How Firehose compresses each object before it writes it (its `CompressionFormat`). Firehose also offers ZIP,
/// which the local cloud does not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// The NDJSON as it is: any tool reads it; the most bytes stored.
    Uncompressed,
    /// `.gz`: read by `gzip -d`, Athena, Spark, DuckDB; a few times smaller for JSON like this.
    Gzip,
    /// `.snappy`, in snappy-java's framing: fast to compress and read, larger than GZIP; Java tools read it.
    Snappy,
    /// `.snappy`, in Hadoop's block framing: what Hadoop's and Spark's `SnappyCodec` read.
    HadoopSnappy,
}

impl Compression {
    /// The API's value.
    pub fn format(self) -> CompressionFormat {
        match self {
            Compression::Uncompressed => CompressionFormat::Uncompressed,
            Compression::Gzip => CompressionFormat::Gzip,
            Compression::Snappy => CompressionFormat::Snappy,
            Compression::HadoopSnappy => CompressionFormat::HadoopSnappy,
        }
    }

    /// From the API's value (the tool's `--compression`): `UNCOMPRESSED`, `GZIP`, `Snappy`, `HADOOP_SNAPPY`.
    pub fn parse(value: &str) -> Result<Compression, String> {
        [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Snappy,
            Compression::HadoopSnappy,
        ]
        .into_iter()
        .find(|compression| compression.format().as_str() == value.trim())
        .ok_or_else(|| format!("{value:?} is not UNCOMPRESSED, GZIP, Snappy or HADOOP_SNAPPY"))
    }

    /// An object's bytes as they were before Firehose compressed them. Snappy's two framings, as Firehose writes
    /// them: snappy-java's stream (a 16-byte header, then blocks each preceded by its length) and Hadoop's (each
    /// block preceded by its uncompressed length, then its compressed one), lengths big-endian.
    pub fn decompress(self, body: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Compression::Uncompressed => Ok(body.to_vec()),
            Compression::Gzip => {
                let mut out = vec![];
                flate2::read::MultiGzDecoder::new(body)
                    .read_to_end(&mut out)
                    .map_err(|error| format!("not GZIP: {error}"))?;
                Ok(out)
            }
            Compression::Snappy => {
                let blocks = body.get(16..).filter(|_| body.starts_with(b"\x82SNAPPY\x00"));
                unsnappy(
                    blocks.ok_or("not snappy-java's framing (no 0x82 SNAPPY header)")?,
                    false,
                )
            }
            Compression::HadoopSnappy => unsnappy(body, true),
        }
    }
}

/// Snappy's raw blocks, each after its big-endian length (and, in Hadoop's framing, after its uncompressed length).
fn unsnappy(mut rest: &[u8], hadoop: bool) -> Result<Vec<u8>, String> {
    let mut out = vec![];
    let take = |rest: &mut &[u8]| -> Result<usize, String> {
        let (length, after) = rest.split_at_checked(4).ok_or("a block is cut short")?;
        *rest = after;
        Ok(u32::from_be_bytes(length.try_into().expect("four bytes")) as usize)
    };
    while !rest.is_empty() {
        if hadoop {
            take(&mut rest)?;
        }
        let length = take(&mut rest)?;
        let (block, after) = rest.split_at_checked(length).ok_or("a block is cut short")?;
        let decoded = snap::raw::Decoder::new().decompress_vec(block);
        out.extend(decoded.map_err(|error| format!("a Snappy block does not decompress: {error}"))?);
        rest = after;
    }
    Ok(out)
}
