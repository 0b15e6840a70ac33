//! The Firehose calls around `ensure_delivery_stream`, which you write: describe, the tags, the create (retried
//! while IAM propagates a new role) and the wait until the delivery stream is ACTIVE.

use super::errors::{DeliveryError, firehose_error, invalid};
use crate::DeliveryDefinition;
use aws_sdk_firehose::Client;
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::create_delivery_stream::CreateDeliveryStreamError;
use aws_sdk_firehose::operation::create_delivery_stream::builders::CreateDeliveryStreamFluentBuilder;
use aws_sdk_firehose::types::{DeliveryStreamDescription, DeliveryStreamStatus, Tag};
use std::time::{Duration, Instant};

/// Reads the delivery stream's description; `None` when it does not exist.
pub async fn describe(client: &Client, name: &str) -> Result<Option<DeliveryStreamDescription>, DeliveryError> {
    match client
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(output) => Ok(output.delivery_stream_description),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(firehose_error(error)),
    }
}

/// The definition's tags, as Firehose takes them.
pub fn tags(definition: &DeliveryDefinition) -> Result<Vec<Tag>, DeliveryError> {
    definition
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build().map_err(invalid))
        .collect()
}

/// How long [`create`] keeps trying while IAM has not yet told Firehose about a role made a moment ago.
pub const ROLE_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`wait_until_active`] waits: on AWS a new delivery stream is CREATING for a minute or two.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends a `CreateDeliveryStream` request. IAM is eventually consistent: for a few seconds after a role is created,
/// Firehose may answer that it cannot assume it, so that answer is retried for a while. "It already exists" (a
/// concurrent run created it) is success.
pub async fn create(request: CreateDeliveryStreamFluentBuilder) -> Result<(), DeliveryError> {
    // Firehose names the role in an InvalidArgumentException ("Firehose is unable to assume role ...").
    let role_not_ready = |error: &SdkError<CreateDeliveryStreamError>| {
        error.as_service_error().is_some_and(|e| {
            e.is_invalid_argument_exception() && e.meta().message().is_some_and(|m| m.contains("role"))
        })
    };
    let pause = Duration::from_secs(3);
    match support::retry_while(ROLE_PROPAGATION_TIMEOUT, pause, role_not_ready, || {
        request.clone().send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(firehose_error(error)),
    }
}

/// Waits until the delivery stream is ACTIVE and returns its description.
pub async fn wait_until_active(client: &Client, name: &str) -> Result<DeliveryStreamDescription, DeliveryError> {
    let started = Instant::now();
    loop {
        let not_active = |status: String| DeliveryError::NotActive {
            name: name.to_owned(),
            status,
        };
        let Some(description) = describe(client, name).await? else {
            return Err(not_active("it does not exist".to_owned()));
        };
        match &description.delivery_stream_status {
            DeliveryStreamStatus::Active => return Ok(description),
            DeliveryStreamStatus::Creating if started.elapsed() < ACTIVE_TIMEOUT => {}
            status => {
                let why = description.failure_description.as_ref().map(|failure| &failure.details);
                return Err(not_active(format!(
                    "it is {status} ({})",
                    why.map_or("", String::as_str)
                )));
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
