//! `aws:ResourceTag/<key>`: "the tags attached to the resource that is being acted upon"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourcetag>),
//! supplied to the IAM check for the resources whose tags the local cloud can read: a Kinesis stream (the gateway's
//! own engine), a Lambda function or event source mapping (Lambda supports tag conditions on both:
//! <https://docs.aws.amazon.com/lambda/latest/dg/attribute-based-access-control.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/tags-esm.html>), a Firehose delivery stream, an IAM role and a
//! CloudWatch Logs log group (read from the emulator with the administrator's credentials, as `roles.rs` reads
//! roles, and kept for [`FRESH_FOR`]).
//!
//! Not supplied, so a condition on it stays unevaluable (never allowed): an S3 bucket's or object's — a general
//! purpose bucket evaluates `aws:ResourceTag` only once ABAC is turned on for it, which the emulator cannot say
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/buckets-tagging.html>) — and any resource whose tags
//! cannot be read (gone, or another service's).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gateway::authenticate::{ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY};
use crate::gateway::kinesis::Kinesis;

/// How long a resource's tags are used before they are read again (as a role's policies: AWS's own tag changes take
/// a moment to apply to authorisation too).
pub const FRESH_FOR: Duration = Duration::from_secs(2);

type Tags = BTreeMap<String, String>;

pub struct ResourceTags {
    emulator: SdkConfig,
    kinesis: Arc<Kinesis>,
    cache: Mutex<HashMap<String, (Instant, Option<Tags>)>>,
}

impl ResourceTags {
    pub async fn new(endpoint: &str, kinesis: Arc<Kinesis>) -> ResourceTags {
        let credentials =
            aws_credential_types::Credentials::new(ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, None, None, "lab-cloud gateway");
        let emulator = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await;
        ResourceTags {
            emulator,
            kinesis,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every resource's tags: a call that may change some went through.
    pub fn forget(&self) {
        self.cache.lock().unwrap().clear();
    }

    /// The tags of the resource `arn`, or `None` when the local cloud cannot read them (the key then stays
    /// unsupplied: refused, never allowed).
    pub async fn of(&self, arn: &str) -> Option<Tags> {
        if let Some((read, tags)) = self.cache.lock().unwrap().get(arn)
            && read.elapsed() < FRESH_FOR
        {
            return tags.clone();
        }
        let tags = self.read(arn).await;
        self.cache
            .lock()
            .unwrap()
            .insert(arn.to_owned(), (Instant::now(), tags.clone()));
        tags
    }

    async fn read(&self, arn: &str) -> Option<Tags> {
        let service = arn.split(':').nth(2)?;
        let resource = arn.splitn(6, ':').nth(5)?;
        let config = &self.emulator;
        match service {
            "kinesis" => self.kinesis.tags_of(arn),
            "lambda" => {
                // `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` or `…:event-source-mapping:<uuid>`:
                // tags are the function's (or the mapping's), whatever the qualifier.
                let unqualified = arn.split(':').take(7).collect::<Vec<_>>().join(":");
                let output = aws_sdk_lambda::Client::new(config)
                    .list_tags()
                    .resource(unqualified)
                    .send()
                    .await
                    .ok()?;
                Some(output.tags.unwrap_or_default().into_iter().collect())
            }
            "firehose" => {
                let name = resource.strip_prefix("deliverystream/")?;
                let output = aws_sdk_firehose::Client::new(config)
                    .list_tags_for_delivery_stream()
                    .delivery_stream_name(name)
                    .send()
                    .await
                    .ok()?;
                Some(
                    output
                        .tags
                        .into_iter()
                        .map(|t| (t.key, t.value.unwrap_or_default()))
                        .collect(),
                )
            }
            "iam" => {
                let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
                let output = aws_sdk_iam::Client::new(config)
                    .list_role_tags()
                    .role_name(name)
                    .send()
                    .await
                    .ok()?;
                Some(output.tags.into_iter().map(|t| (t.key, t.value)).collect())
            }
            "logs" => {
                let group = resource.strip_prefix("log-group:")?;
                let group = group.strip_suffix(":*").unwrap_or(group);
                let group_arn = format!("{}log-group:{group}", arn.trim_end_matches(resource));
                let tags = crate::logs::Logs::new(config)
                    .list_tags_for_resource(&group_arn)
                    .await
                    .ok()?;
                Some(tags.into_iter().collect())
            }
            _ => None,
        }
    }
}
