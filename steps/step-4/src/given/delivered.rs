//! Reading back what Firehose delivered: the records' types, where to list (the fixed start of the prefix), and
//! `read_delivered`, which hands each object to `Delivered::add_object`, which you write. The chapter's "Reading
//! back what was delivered" explains it.

use super::errors::{DeliveryError, s3_error};
use crate::{Delivered, DeliveryDefinition};
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

/// The part of a Firehose prefix before its first `!{...}` expression: `telemetry/` for [`crate::PREFIX`].
pub fn listing_prefix(prefix: &str) -> &str {
    prefix.find("!{").map_or(prefix, |start| &prefix[..start])
}

/// Reads every object under `prefix` (a plain key prefix, such as [`DeliveryDefinition::listing_prefix`]).
pub async fn read_delivered(
    s3: &aws_sdk_s3::Client,
    bucket_name: &str,
    prefix: &str,
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
            delivered.add_object(&key, &body);
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
        assert_eq!(
            workshop.listing_prefix(),
            "telemetry/",
            "the workshop's delivery stream"
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
        assert_eq!(listing_prefix(crate::ERROR_OUTPUT_PREFIX), "errors/");
    }
}
