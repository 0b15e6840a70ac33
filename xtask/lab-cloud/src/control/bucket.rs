//! The bucket the consumer's failed batches, Firehose and the analysis write into: made in the region, tagged.

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::collections::{BTreeMap, HashMap};

use super::change::{Action, Change};
use crate::aws::{ErrorContext, error_chain, s3_client};
use crate::naming::missing_tags;
use crate::stages::ResourceKind;

pub(crate) async fn ensure_bucket(
    config: &SdkConfig,
    bucket: &str,
    region: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Change> {
    let s3 = s3_client(config);
    let mut action = Action::Unchanged;
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        let mut request = s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region where a location constraint must not be given.
        if region != "us-east-1" {
            let location = aws_sdk_s3::types::BucketLocationConstraint::from(region);
            request = request.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(location)
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => action = Action::Created,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
            Err(error) => bail!("creating bucket {bucket}: {}", error_chain(&error)),
        }
    }
    let present: HashMap<String, String> = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(output) => output.tag_set.into_iter().map(|tag| (tag.key, tag.value)).collect(),
        Err(error) if error.code() == Some("NoSuchTagSet") => HashMap::new(),
        // Anything else (access denied, say) must not be taken for "no tags": PutBucketTagging replaces them all.
        Err(error) => bail!("reading the tags of bucket {bucket}: {}", error_chain(&error)),
    };
    if !missing_tags(tags, &present).is_empty() {
        // PutBucketTagging replaces the whole set: keep what is there, add ours.
        let mut all: BTreeMap<String, String> = present.into_iter().collect();
        all.extend(tags.clone());
        let tag_set = all
            .into_iter()
            .map(|(key, value)| aws_sdk_s3::types::Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()?;
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()?,
            )
            .send()
            .await
            .context_chain(format!("tagging bucket {bucket}"))?;
        if action == Action::Unchanged {
            action = Action::Updated;
        }
    }
    Ok(Change {
        kind: ResourceKind::Bucket,
        name: bucket.to_owned(),
        action,
    })
}
