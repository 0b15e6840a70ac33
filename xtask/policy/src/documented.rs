//! What AWS documents as required of a service's role, whether or not a run is seen to use it: the permissions a
//! least-privilege grade must not call "granted, never used", and must ask for, because AWS may check them where no
//! local run can see (at a mapping's creation, on a path the workshop never takes) — each with the page that says so.
//!
//! One list, [`DOCUMENTED_AS_REQUIRED`], read by step 1's grading (its tests) and by the lab's access report. When
//! the local cloud learns exactly which actions a service checks (Lambda's at `CreateEventSourceMapping`, say), the
//! list is where that lands.
//!
//! Resources are written with the placeholders of step 1's reference trace (`lab_contract::trace::PLACEHOLDERS`):
//! `{partition}`, `{region}`, `{account}`, `{stream}`, `{bucket}`, `{object}`.

use serde::{Deserialize, Serialize};

/// A role a service acts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceRole {
    /// A Lambda function's execution role, with which an event source mapping reads a Kinesis stream.
    LambdaKinesisMapping,
    /// A Firehose delivery stream's role, reading a Kinesis stream and writing into an S3 bucket.
    FirehoseKinesisToS3,
}

/// A permission AWS documents as required of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Documented {
    /// The role it is required of.
    pub role: ServiceRole,
    /// `service:Action`.
    pub action: &'static str,
    /// The resource, with placeholders.
    pub resource: &'static str,
    /// Why, in a learner's words: it completes "…, which AWS documents as required …".
    pub why: &'static str,
    /// The AWS page that says so.
    pub page: &'static str,
}

const STREAM: &str = "arn:{partition}:kinesis:{region}:{account}:stream/{stream}";
const BUCKET: &str = "arn:{partition}:s3:::{bucket}";
const OBJECTS: &str = "arn:{partition}:s3:::{bucket}/{object}";

/// "Lambda needs the following permissions to manage resources related to your Kinesis data stream".
const LAMBDA_KINESIS: &str = "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html";
/// "Grant Firehose access to an Amazon S3 destination" (the statement on the source stream is the one "if you use
/// Kinesis Data Streams as your data source").
const FIREHOSE_S3: &str = "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3";

const MAPPING: &str = "of an event source mapping's role on its stream";
const FIREHOSE_READS: &str = "of Firehose's role on a source stream";
const FIREHOSE_WRITES: &str = "of Firehose's role for an S3 destination";

/// Every permission AWS documents as required of the workshop's service roles.
///
/// Left out, on purpose: `kinesis:SubscribeToShard` (Lambda's list has it, for a mapping on an enhanced fan-out
/// consumer, whose ARN it acts on: the workshop's mappings read with standard iterators), and `kinesis:ListStreams`
/// (in the managed policy `AWSLambdaKinesisExecutionRole` and named by Lambda's "Cannot access stream" error, but not
/// in Lambda's list; it has no resource-level permission, so granting it means `Resource: "*"`). Firehose's KMS,
/// CloudWatch Logs and Lambda statements are for encryption with a customer key, error logging and transformation,
/// none of which step 4's delivery stream uses.
pub const DOCUMENTED_AS_REQUIRED: &[Documented] = &[
    mapping("kinesis:DescribeStream"),
    mapping("kinesis:DescribeStreamSummary"),
    mapping("kinesis:GetRecords"),
    mapping("kinesis:GetShardIterator"),
    mapping("kinesis:ListShards"),
    firehose("kinesis:DescribeStream", STREAM, FIREHOSE_READS),
    firehose("kinesis:GetShardIterator", STREAM, FIREHOSE_READS),
    firehose("kinesis:GetRecords", STREAM, FIREHOSE_READS),
    firehose("kinesis:ListShards", STREAM, FIREHOSE_READS),
    firehose("s3:AbortMultipartUpload", OBJECTS, FIREHOSE_WRITES),
    firehose("s3:GetBucketLocation", BUCKET, FIREHOSE_WRITES),
    firehose("s3:GetObject", OBJECTS, FIREHOSE_WRITES),
    firehose("s3:ListBucket", BUCKET, FIREHOSE_WRITES),
    firehose("s3:ListBucketMultipartUploads", BUCKET, FIREHOSE_WRITES),
    firehose("s3:PutObject", OBJECTS, FIREHOSE_WRITES),
];

const fn mapping(action: &'static str) -> Documented {
    Documented {
        role: ServiceRole::LambdaKinesisMapping,
        action,
        resource: STREAM,
        why: MAPPING,
        page: LAMBDA_KINESIS,
    }
}

const fn firehose(action: &'static str, resource: &'static str, why: &'static str) -> Documented {
    Documented {
        role: ServiceRole::FirehoseKinesisToS3,
        action,
        resource,
        why,
        page: FIREHOSE_S3,
    }
}

/// The permissions documented as required of `role`.
pub fn documented_for(role: ServiceRole) -> impl Iterator<Item = &'static Documented> {
    DOCUMENTED_AS_REQUIRED
        .iter()
        .filter(move |documented| documented.role == role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_permission_names_a_service_action_and_cites_an_aws_page() {
        for documented in DOCUMENTED_AS_REQUIRED {
            let (service, action) = documented.action.split_once(':').expect("service:Action");
            assert!(["kinesis", "s3"].contains(&service), "{documented:?}");
            assert!(action.starts_with(char::is_uppercase), "{documented:?}");
            assert!(
                documented.page.starts_with("https://docs.aws.amazon.com/"),
                "{documented:?}"
            );
            assert!(documented.resource.starts_with("arn:{partition}:"), "{documented:?}");
        }
        let mapping: Vec<&str> = documented_for(ServiceRole::LambdaKinesisMapping)
            .map(|d| d.action)
            .collect();
        assert!(mapping.contains(&"kinesis:DescribeStreamSummary"), "{mapping:?}");
    }
}
