//! Removing a learner's resources, users before what they use.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use std::time::Duration;

use crate::aws::{error_chain, s3_client, wait_for};
use crate::control::inventory::{Found, discover};
use crate::naming::Naming;
use crate::stages::ResourceKind;

/// Removes every resource of the learner's (`discover`), users before what they use, and returns what remains.
pub async fn destroy(config: &SdkConfig, naming: &Naming, found: &[Found]) -> Result<Vec<Found>> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let firehose = aws_sdk_firehose::Client::new(config);
    let s3 = s3_client(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    for resource in found {
        let outcome: Result<()> = match resource.kind {
            ResourceKind::Mapping => lambda
                .delete_event_source_mapping()
                .uuid(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::Function => lambda
                .delete_function()
                .function_name(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::DeliveryStream => {
                let deleted = firehose
                    .delete_delivery_stream()
                    .delivery_stream_name(&resource.id)
                    .allow_force_delete(true)
                    .send()
                    .await;
                match deleted {
                    // Firehose may still write an object while it shuts down: wait, so the bucket is emptied last.
                    Ok(_) => wait_for(Duration::from_secs(180), || async {
                        firehose
                            .describe_delivery_stream()
                            .delivery_stream_name(&resource.id)
                            .send()
                            .await
                            .is_err_and(|e| {
                                e.as_service_error()
                                    .is_some_and(|e| e.is_resource_not_found_exception())
                            })
                    })
                    .await
                    .context("the delivery stream is still being deleted"),
                    Err(e) => Err(anyhow::anyhow!(error_chain(&e))),
                }
            }
            ResourceKind::Stream => kinesis
                .delete_stream()
                .stream_name(&resource.id)
                .enforce_consumer_deletion(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::LogGroup => logs
                .delete_log_group()
                .log_group_name(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!(error_chain(&e))),
            ResourceKind::Role => delete_role(&iam, &resource.id).await,
            ResourceKind::Bucket => empty_and_delete_bucket(&s3, &resource.id).await,
        };
        match outcome {
            Ok(()) => println!("  deleted {} {}", resource.kind, resource.name),
            Err(error) => println!("  could not delete {} {}: {error:#}", resource.kind, resource.name),
        }
    }
    // Streams take a moment to go (DELETING); what remains is what is there once they have.
    for stream in found.iter().filter(|r| r.kind == ResourceKind::Stream) {
        let _ = wait_for(Duration::from_secs(120), || async {
            kinesis
                .describe_stream_summary()
                .stream_name(&stream.id)
                .send()
                .await
                .is_err_and(|e| {
                    e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception())
                })
        })
        .await;
    }
    discover(config, naming).await
}

async fn delete_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<()> {
    let inline = iam.list_role_policies().role_name(name).send().await?;
    for policy in inline.policy_names {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await?;
    }
    let attached = iam.list_attached_role_policies().role_name(name).send().await?;
    for policy in attached.attached_policies.unwrap_or_default() {
        if let Some(arn) = policy.policy_arn {
            iam.detach_role_policy().role_name(name).policy_arn(arn).send().await?;
        }
    }
    iam.delete_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    Ok(())
}

/// A bucket must be empty to be deleted: every object version and delete marker goes first.
async fn empty_and_delete_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    loop {
        let listing = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("listing {bucket}: {}", error_chain(&e)))?;
        let mut identifiers = vec![];
        for version in listing.versions.unwrap_or_default() {
            identifiers.push((version.key, version.version_id));
        }
        for marker in listing.delete_markers.unwrap_or_default() {
            identifiers.push((marker.key, marker.version_id));
        }
        if identifiers.is_empty() {
            break;
        }
        let objects = identifiers
            .into_iter()
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key)
                    .set_version_id(version.filter(|v| v != "null"))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let deleted = s3
            .delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(objects)).quiet(true).build()?)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("emptying {bucket}: {}", error_chain(&e)))?;
        // DeleteObjects answers 200 and lists the keys it could not delete; listing them again would loop forever.
        if let Some(error) = deleted.errors().first() {
            bail!(
                "emptying {bucket}: {} of its objects could not be deleted, {:?} first: {}",
                deleted.errors().len(),
                error.key().unwrap_or_default(),
                error.message().unwrap_or_default()
            );
        }
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    Ok(())
}
