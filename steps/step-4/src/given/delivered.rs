//! Reading back what Firehose delivered: the records' types, where to list (the fixed start of the prefix), and
//! `read_delivered`, which decompresses each object and hands it to `Delivered::add_object`, which you write. The
//! chapter's "Reading back what was delivered" explains it.

use super::errors::{DeliveryError, s3_error};
use crate::{Compression, Delivered, DeliveryDefinition};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One position, as the producer of step 2 writes it. Fields this type does not know are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsRecord {
    pub id: Uuid,
    pub latitude: f64,
    pub longitude: f64,
}

/// A line of a delivered object that is not a GPS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The object's key.
    pub key: String,
    /// Counted from 1, as an editor shows it.
    pub line: usize,
    /// Why it is not a GPS record (serde_json's message).
    pub error: String,
}

impl DeliveryDefinition {
    /// The fixed start of every delivered object's key: what to list to find them.
    pub fn listing_prefix(&self) -> &str {
        listing_prefix(&self.prefix)
    }
}

/// The part of a Firehose prefix before its first `!{...}` expression: `telemetry/` for `telemetry/year=!{...}/`.
pub fn listing_prefix(prefix: &str) -> &str {
    prefix.find("!{").map_or(prefix, |start| &prefix[..start])
}

/// Reads every object under `prefix` (a plain key prefix, such as [`DeliveryDefinition::listing_prefix`]), each
/// decompressed as Firehose compressed it. An object that does not decompress is a bad line (its line 0): a finding,
/// not a failure, as a line that is not a record.
pub async fn read_delivered(
    s3: &aws_sdk_s3::Client,
    bucket_name: &str,
    prefix: &str,
    compression: Compression,
) -> Result<Delivered, DeliveryError> {
    let mut delivered = Delivered::default();
    // ListObjectsV2 returns at most 1,000 keys a call; the paginator makes the calls that follow.
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket_name)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.map_err(s3_error)?.contents.unwrap_or_default() {
            let Some(key) = object.key else { continue };
            let output = s3
                .get_object()
                .bucket(bucket_name)
                .key(&key)
                .send()
                .await
                .map_err(s3_error)?;
            let body = output.body.collect().await.map_err(s3_error)?.into_bytes();
            match compression.decompress(&body) {
                Ok(body) => delivered.add_object(&key, &body),
                Err(error) => delivered.bad_lines.push(BadLine { key, line: 0, error }),
            }
        }
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Firehose's keys start with the prefix's text up to its first expression; what follows is only known once an
    /// object is written (an hour's folder), so a reader lists under the fixed part, and nothing shorter: the
    /// bucket also holds `errors/...` (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html).
    #[test]
    fn the_listing_prefix_is_the_prefix_up_to_its_first_expression() {
        let workshop = crate::telemetric_delivery(
            "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream",
            "kinesis-lab-telemetry-123456789012",
            "arn:aws:iam::123456789012:role/TelemetricDeliveryRole",
        );
        let with = |prefix: &str| DeliveryDefinition {
            prefix: prefix.to_owned(),
            ..workshop.clone()
        };
        assert_eq!(
            with("lab/").listing_prefix(),
            "lab/",
            "a prefix without expressions, whole"
        );
        assert_eq!(
            with("a/!{timestamp:yyyy}/b/!{timestamp:MM}/").listing_prefix(),
            "a/",
            "up to the first"
        );
        assert_eq!(
            with("!{timestamp:yyyy}/").listing_prefix(),
            "",
            "an expression first: list everything"
        );
        assert_eq!(listing_prefix("errors/!{firehose:error-output-type}/"), "errors/");
    }

    /// Each compression read back as Firehose writes it: GZIP, snappy-java's framing, Hadoop's.
    #[test]
    fn each_compression_reads_back_as_firehose_writes_it() {
        use std::io::Write;
        let text = b"{\"id\":1}\n{\"id\":2}\n".repeat(100);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&text).unwrap();
        assert_eq!(Compression::Gzip.decompress(&gzip.finish().unwrap()).unwrap(), text);
        let block = snap::raw::Encoder::new().compress_vec(&text).unwrap();
        let length = (block.len() as u32).to_be_bytes();
        let snappy_java = [&b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"[..], &length, &block].concat();
        assert_eq!(Compression::Snappy.decompress(&snappy_java).unwrap(), text);
        let hadoop = [&(text.len() as u32).to_be_bytes()[..], &length, &block].concat();
        assert_eq!(Compression::HadoopSnappy.decompress(&hadoop).unwrap(), text);
        assert!(
            Compression::Snappy.decompress(&hadoop).is_err(),
            "one framing is not the other"
        );
        assert!(Compression::Gzip.decompress(&text).is_err());
        assert_eq!(Compression::parse("HADOOP_SNAPPY"), Ok(Compression::HadoopSnappy));
        assert!(Compression::parse("ZIP").is_err());
    }
}
