//! Removing a learner's resources, users before what they use: alarms (which notify topics), topics and their
//! subscriptions (which invoke functions), mappings, functions, then what they used.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use std::time::Duration;

use crate::aws::{ErrorContext, s3_client, wait_for};
use crate::control::guard::is_guards_own;
use crate::control::inventory::{Found, discover};
use crate::naming::Naming;
use crate::stages::ResourceKind;

/// Removes every resource of the learner's (`discover`), users before what they use, and returns what remains.
/// The clean-up guard's own pieces (its schedule, function and roles) go last: should the learner's `destroy` stop
/// half-way, the guard still removes the rest when the deployment expires.
pub async fn destroy(config: &SdkConfig, naming: &Naming, found: &[Found]) -> Result<Vec<Found>> {
    let (mut guards, others): (Vec<&Found>, Vec<&Found>) =
        found.iter().partition(|r| is_guards_own(naming, r.kind, &r.name));
    // Its schedule, then its function, then its roles: a schedule left alone would invoke a function that is gone.
    guards.sort_by_key(|r| match r.kind {
        ResourceKind::Schedule => 0,
        ResourceKind::Function => 1,
        _ => 2,
    });
    for resource in others.into_iter().chain(guards) {
        match delete(config, resource).await {
            Ok(()) => println!("  deleted {} {}", resource.kind, resource.name),
            Err(error) => println!("  could not delete {} {}: {error:#}", resource.kind, resource.name),
        }
    }
    // Streams take a moment to go (DELETING); what remains is what is there once they have.
    let kinesis = aws_sdk_kinesis::Client::new(config);
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

/// Deletes one resource, as its kind is deleted.
async fn delete(config: &SdkConfig, resource: &Found) -> Result<()> {
    let id = resource.id.as_str();
    match resource.kind {
        ResourceKind::Alarm => {
            let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
            cloudwatch.delete_alarms().alarm_names(id).send().await.chained()?;
        }
        ResourceKind::Topic => delete_topic(&aws_sdk_sns::Client::new(config), id).await?,
        ResourceKind::Mapping => {
            let lambda = aws_sdk_lambda::Client::new(config);
            lambda.delete_event_source_mapping().uuid(id).send().await.chained()?;
        }
        ResourceKind::Function => {
            let lambda = aws_sdk_lambda::Client::new(config);
            lambda.delete_function().function_name(id).send().await.chained()?;
        }
        ResourceKind::LogGroup => {
            crate::logs::Logs::new(config).delete_log_group(id).await.chained()?;
        }
        ResourceKind::DeliveryStream => delete_delivery_stream(&aws_sdk_firehose::Client::new(config), id).await?,
        ResourceKind::Stream => {
            let kinesis = aws_sdk_kinesis::Client::new(config);
            kinesis
                .delete_stream()
                .stream_name(id)
                .enforce_consumer_deletion(true)
                .send()
                .await
                .chained()?;
        }
        ResourceKind::Role => delete_role(&aws_sdk_iam::Client::new(config), id).await?,
        ResourceKind::Bucket => empty_and_delete_bucket(&s3_client(config), id).await?,
        ResourceKind::Schedule => {
            let scheduler = aws_sdk_scheduler::Client::new(config);
            scheduler.delete_schedule().name(id).send().await.chained()?;
        }
    }
    Ok(())
}

/// Deletes a delivery stream and waits until it is gone: Firehose may still write an object while it shuts down,
/// and the bucket is emptied after it.
async fn delete_delivery_stream(firehose: &aws_sdk_firehose::Client, name: &str) -> Result<()> {
    firehose
        .delete_delivery_stream()
        .delivery_stream_name(name)
        .allow_force_delete(true)
        .send()
        .await
        .chained()?;
    wait_for(Duration::from_secs(180), || async {
        firehose
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await
            .is_err_and(|e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            })
    })
    .await
    .context("the delivery stream is still being deleted")
}

/// A topic's subscriptions, then the topic (`DeleteTopic` removes its subscriptions too; unsubscribing first leaves
/// none behind should the topic's deletion fail).
async fn delete_topic(sns: &aws_sdk_sns::Client, arn: &str) -> Result<()> {
    let subscriptions: Vec<_> = sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context_chain(format!("listing the subscriptions of {arn}"))?;
    for subscription in subscriptions.into_iter().filter_map(|s| s.subscription_arn) {
        // "PendingConfirmation" is not an ARN; such a subscription goes with the topic.
        if subscription.starts_with("arn:") {
            sns.unsubscribe()
                .subscription_arn(subscription)
                .send()
                .await
                .chained()?;
        }
    }
    sns.delete_topic().topic_arn(arn).send().await.chained()?;
    Ok(())
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
    iam.delete_role().role_name(name).send().await.chained()?;
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
            .context_chain(format!("listing {bucket}"))?;
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
            .context_chain(format!("emptying {bucket}"))?;
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
    s3.delete_bucket().bucket(bucket).send().await.chained()?;
    Ok(())
}
