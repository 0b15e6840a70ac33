//! The role Firehose acts with: what it may do (step 1's `firehose_policy`) and who may act with it. The chapter's
//! "The bucket and the role Firehose acts with" explains both.

use super::bucket::{arn_field, bucket_arn};
use super::errors::{DeliveryError, iam_error, invalid};
use serde_json::json;

// ANCHOR: firehose_role
/// Step 1's `firehose_policy`: read the stream, write objects into the bucket, nothing more.
pub fn firehose_policy(stream_arn: &str, bucket_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheStream",
                "Effect": "Allow",
                "Action": [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords"
                ],
                "Resource": [stream_arn]
            },
            {
                "Sid": "WriteTheBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject"
                ],
                "Resource": [bucket_arn, format!("{bucket_arn}/*")]
            }
        ]
    })
}

/// Who may act with the role: Firehose, and only on behalf of this account (AWS's guard against a "confused
/// deputy": another account's delivery stream naming our role).
pub fn firehose_trust_policy(account_id: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "firehose.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": account_id } }
        }]
    })
}
// ANCHOR_END: firehose_role

/// The name of the role's inline policy.
pub const ROLE_POLICY_NAME: &str = "firehose-delivery";

/// Creates the role Firehose acts with if it does not exist, and (again) gives it [`firehose_policy`] for this stream
/// and bucket. Returns the role's ARN.
pub async fn ensure_firehose_role(
    iam: &aws_sdk_iam::Client,
    role_name: &str,
    stream_arn: &str,
    bucket_name: &str,
) -> Result<String, DeliveryError> {
    let existing = match iam.get_role().role_name(role_name).send().await {
        Ok(output) => output.role.map(|role| role.arn),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(error) => return Err(iam_error(error)),
    };
    let role_arn = match existing {
        Some(arn) => arn,
        None => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key("workshop")
                .value("kinesis-lab")
                .build()
                .map_err(invalid)?;
            let created = iam
                .create_role()
                .role_name(role_name)
                .description("Kinesis Data Firehose: reads the TelemetricStream, writes the telemetry bucket")
                .assume_role_policy_document(firehose_trust_policy(arn_field(stream_arn, 4)).to_string())
                .tags(tag)
                .send()
                .await
                .map_err(iam_error)?;
            created.role.map(|role| role.arn).unwrap_or_default()
        }
    };
    // PutRolePolicy replaces a policy of the same name: running this again repairs a role changed by hand.
    let bucket_arn = bucket_arn(arn_field(stream_arn, 1), bucket_name);
    iam.put_role_policy()
        .role_name(role_name)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(firehose_policy(stream_arn, &bucket_arn).to_string())
        .send()
        .await
        .map_err(iam_error)?;
    Ok(role_arn)
}
