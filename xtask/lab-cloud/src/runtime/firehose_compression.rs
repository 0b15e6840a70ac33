//! Firehose's `CompressionFormat` for S3, as the service writes the objects, and read back.
//!
//! AWS's pages say which formats there are (`UNCOMPRESSED | GZIP | ZIP | Snappy | HADOOP_SNAPPY`,
//! <https://docs.aws.amazon.com/firehose/latest/APIReference/API_ExtendedS3DestinationConfiguration.html>) and the
//! extension each adds (<https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html>), not the bytes. The
//! bytes, the `Content-Encoding` and the extensions below are those measured on AWS's own objects and reproduced
//! byte for byte in floci's issue 2328 (<https://github.com/floci-io/floci/issues/2328>):
//!
//! | format | bytes | extension | Content-Encoding |
//! | --- | --- | --- | --- |
//! | GZIP | a gzip stream (`gzip -d` reads it) | `.gz` | `gzip` |
//! | Snappy | snappy-java's stream: the header `0x82 SNAPPY 0x00`, version 1, compatible 1, then blocks of 32 KiB, each a big-endian length and Snappy's raw block (not Google's framing format) | `.snappy` | `snappy-java` |
//! | HADOOP_SNAPPY | Hadoop's block format (what Hadoop's and Spark's `SnappyCodec` read): per block the uncompressed length, then the compressed length and the raw block, both big-endian | `.snappy` (AWS's page says `.hsnappy`; the service writes `.snappy`) | `hadoop-snappy` |
//!
//! ZIP is not written by the local cloud: it is refused when the delivery stream is created.

use std::io::{Read, Write};

/// A compression the local Firehose writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Uncompressed,
    Gzip,
    Snappy,
    HadoopSnappy,
}

/// snappy-java's stream header: magic, version 1, compatible version 1.
const SNAPPY_JAVA_HEADER: [u8; 16] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1];
/// snappy-java's default block (`SnappyOutputStream`), and Hadoop's (`io.compression.codec.snappy.buffersize`).
const SNAPPY_JAVA_BLOCK: usize = 32 * 1024;
const HADOOP_BLOCK: usize = 256 * 1024;

impl Compression {
    /// From the API's value; `Err` names what the local cloud does not write.
    pub fn from_api(value: &str) -> Result<Compression, String> {
        match value {
            "" | "UNCOMPRESSED" => Ok(Compression::Uncompressed),
            "GZIP" => Ok(Compression::Gzip),
            "Snappy" => Ok(Compression::Snappy),
            "HADOOP_SNAPPY" => Ok(Compression::HadoopSnappy),
            other => Err(format!(
                "the local cloud's Firehose does not write CompressionFormat {other}; it writes UNCOMPRESSED, GZIP, \
                 Snappy and HADOOP_SNAPPY"
            )),
        }
    }

    /// The extension Firehose adds to the key unless `FileExtension` replaces it.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
        }
    }

    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::Uncompressed => None,
            Compression::Gzip => Some("gzip"),
            Compression::Snappy => Some("snappy-java"),
            Compression::HadoopSnappy => Some("hadoop-snappy"),
        }
    }

    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Compression::Uncompressed => data.to_vec(),
            Compression::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(data).expect("writing to memory");
                encoder.finish().expect("writing to memory")
            }
            Compression::Snappy => {
                let mut out = SNAPPY_JAVA_HEADER.to_vec();
                for block in data.chunks(SNAPPY_JAVA_BLOCK) {
                    push_chunk(&mut out, &raw_snappy(block));
                }
                out
            }
            Compression::HadoopSnappy => {
                let mut out = vec![];
                for block in data.chunks(HADOOP_BLOCK) {
                    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                    push_chunk(&mut out, &raw_snappy(block));
                }
                out
            }
        }
    }

    /// The object's bytes as they were before compression.
    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Compression::Uncompressed => Ok(data.to_vec()),
            Compression::Gzip => {
                let mut out = vec![];
                flate2::read::MultiGzDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|error| format!("not a gzip stream: {error}"))?;
                Ok(out)
            }
            Compression::Snappy => {
                let chunks = data
                    .strip_prefix(&SNAPPY_JAVA_HEADER[..8])
                    .filter(|rest| rest.len() >= 8)
                    .ok_or("not a snappy-java stream (no 0x82 SNAPPY header)")?;
                let mut out = vec![];
                let mut rest = &chunks[8..];
                while !rest.is_empty() {
                    let (chunk, after) = take_chunk(rest)?;
                    out.extend(unsnappy(chunk)?);
                    rest = after;
                }
                Ok(out)
            }
            Compression::HadoopSnappy => {
                let mut out = vec![];
                let mut rest = data;
                while !rest.is_empty() {
                    let (expected, after) = take_u32(rest)?;
                    rest = after;
                    let start = out.len();
                    while out.len() - start < expected as usize {
                        let (chunk, after) = take_chunk(rest)?;
                        out.extend(unsnappy(chunk)?);
                        rest = after;
                    }
                }
                Ok(out)
            }
        }
    }
}

fn raw_snappy(block: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(block)
        .expect("a block under Snappy's 4 GiB")
}

fn unsnappy(chunk: &[u8]) -> Result<Vec<u8>, String> {
    snap::raw::Decoder::new()
        .decompress_vec(chunk)
        .map_err(|error| format!("a Snappy block does not decompress: {error}"))
}

fn push_chunk(out: &mut Vec<u8>, chunk: &[u8]) {
    out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
    out.extend_from_slice(chunk);
}

fn take_u32(data: &[u8]) -> Result<(u32, &[u8]), String> {
    let (head, rest) = data.split_at_checked(4).ok_or("a block is cut short")?;
    Ok((u32::from_be_bytes(head.try_into().expect("four bytes")), rest))
}

fn take_chunk(data: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (length, rest) = take_u32(data)?;
    rest.split_at_checked(length as usize)
        .ok_or_else(|| "a block is cut short".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ndjson(lines: usize) -> Vec<u8> {
        (0..lines)
            .map(|n| format!("{{\"id\":\"{n:08}\",\"latitude\":48.85,\"longitude\":2.35}}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn each_format_reads_back_what_was_written_across_blocks() {
        for compression in [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Snappy,
            Compression::HadoopSnappy,
        ] {
            for data in [vec![], ndjson(3), ndjson(10_000)] {
                let written = compression.compress(&data);
                assert_eq!(compression.decompress(&written).unwrap(), data, "{compression:?}");
            }
        }
    }

    /// The containers' own marks, as a standard reader checks them.
    #[test]
    fn the_objects_carry_their_formats_headers() {
        let data = ndjson(2_000);
        assert_eq!(&Compression::Gzip.compress(&data)[..2], &[0x1f, 0x8b], "gzip's magic");
        let snappy = Compression::Snappy.compress(&data);
        assert_eq!(&snappy[..16], &SNAPPY_JAVA_HEADER, "snappy-java's header");
        let hadoop = Compression::HadoopSnappy.compress(&data);
        assert_eq!(
            &hadoop[..4],
            &(data.len() as u32).to_be_bytes(),
            "the uncompressed length first"
        );
        assert!(snappy.len() < data.len() / 2 && hadoop.len() < data.len() / 2);
        assert!(Compression::Snappy.decompress(&hadoop).is_err());
        assert!(Compression::Gzip.decompress(b"plain").is_err());
        assert!(Compression::from_api("ZIP").unwrap_err().contains("does not write"));
    }
}
