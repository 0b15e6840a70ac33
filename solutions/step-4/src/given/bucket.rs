//! Where the bucket is: its ARN, and the region S3 creates it in. `ensure_bucket` and `s3_destination`, which you
//! write, use them.

use crate::DeliveryDefinition;

impl DeliveryDefinition {
    /// The bucket's ARN, in the source stream's partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn bucket_arn(&self) -> String {
        bucket_arn(arn_field(&self.source_stream_arn, 1), &self.bucket_name)
    }
}

pub fn bucket_arn(partition: &str, bucket_name: &str) -> String {
    format!("arn:{partition}:s3:::{bucket_name}")
}

/// One field of an ARN, `arn:<partition>:<service>:<region>:<account>:<resource>`: 1 is the partition, 4 the
/// account. Empty when the ARN has no such field.
pub fn arn_field(arn: &str, index: usize) -> &str {
    arn.split(':').nth(index).unwrap_or("")
}

/// us-east-1 takes no location constraint; every other region must be named when creating a bucket there.
pub fn bucket_location(s3: &aws_sdk_s3::Client) -> Option<aws_sdk_s3::types::CreateBucketConfiguration> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let region = s3.config().region().map(|region| region.as_ref().to_owned())?;
    (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_in(region: &'static str) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Region};
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region))
                .build(),
        )
    }

    /// Outside us-east-1, CreateBucket needs the region as its LocationConstraint; in us-east-1 it takes none
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
    #[test]
    fn a_bucket_outside_us_east_1_is_created_in_the_clients_region() {
        let location = bucket_location(&s3_in("eu-west-1")).expect("a location constraint outside us-east-1");
        assert_eq!(location.location_constraint().map(|c| c.as_str()), Some("eu-west-1"));
        assert_eq!(bucket_location(&s3_in("us-east-1")), None, "none in us-east-1");
    }
}
