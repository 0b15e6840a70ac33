//! Event source mappings from the stream to a function, with the settings of the chapters; made once the role's
//! new policy is visible to Lambda, updated when their settings differ.

use anyhow::Result;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError;
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType, OnFailure,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::collections::BTreeMap;

use super::change::{Action, Change};
use super::function::tag_resource;
use crate::aws::{ErrorContext, Propagation, retry_while_propagating};
use crate::stages::{Mapping, ResourceKind};

/// Lambda's answer to CreateEventSourceMapping while the role's new policy is not yet visible to it, and to a role
/// that cannot read the stream at all: "Cannot access stream <arn>. Please ensure the role can perform the
/// GetRecords, GetShardIterator, DescribeStream, ListShards, and ListStreams Actions on your stream in IAM." (the
/// local cloud's front door answers the same, `gateway/validate/stream_access.rs`).
fn stream_not_yet_readable(message: &str) -> bool {
    message.contains("Cannot access stream") && message.contains("ensure the role can perform")
}

/// The settings of one event source mapping.
pub struct MappingSpec {
    pub batch_size: i32,
    pub batching_window: i32,
    pub tumbling_window: Option<i32>,
    pub on_failure_destination: Option<String>,
}

/// AWS's recommended settings for a consumer that must not block its shard: report item failures, bisect, a few
/// retries, an age limit, an on-failure destination.
pub const MAXIMUM_RETRY_ATTEMPTS: i32 = 3;
pub const MAXIMUM_RECORD_AGE_SECONDS: i32 = 3600;

impl MappingSpec {
    /// The settings of a mapping of the table.
    pub fn of(mapping: Mapping, bucket: &str, window_seconds: i32) -> MappingSpec {
        match mapping {
            Mapping::Consumer => MappingSpec::consumer(bucket),
            Mapping::Analytics => MappingSpec::analytics(window_seconds),
        }
    }

    /// The consumer's mapping (step 3): batches of up to 100 within a second; failed batches to the bucket.
    pub fn consumer(bucket: &str) -> MappingSpec {
        MappingSpec {
            batch_size: 100,
            batching_window: 1,
            tumbling_window: None,
            on_failure_destination: Some(format!("arn:aws:s3:::{bucket}")),
        }
    }

    /// The analysis' mapping (step 5): larger batches, tumbling windows of `window_seconds`.
    pub fn analytics(window_seconds: i32) -> MappingSpec {
        MappingSpec {
            batch_size: 500,
            batching_window: 1,
            tumbling_window: Some(window_seconds),
            on_failure_destination: None,
        }
    }

    /// Whether a mapping as Lambda describes it already has these settings.
    pub fn matches(&self, mapping: &EventSourceMappingConfiguration) -> bool {
        let destination = mapping
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination())
            .map(str::to_owned);
        mapping.batch_size() == Some(self.batch_size)
            && mapping.maximum_batching_window_in_seconds() == Some(self.batching_window)
            && mapping.tumbling_window_in_seconds().filter(|w| *w > 0) == self.tumbling_window
            && mapping.bisect_batch_on_function_error() == Some(true)
            && mapping.maximum_retry_attempts() == Some(MAXIMUM_RETRY_ATTEMPTS)
            && mapping.maximum_record_age_in_seconds() == Some(MAXIMUM_RECORD_AGE_SECONDS)
            && mapping
                .function_response_types()
                .contains(&FunctionResponseType::ReportBatchItemFailures)
            && destination == self.on_failure_destination
    }

    fn destination_config(&self) -> Option<DestinationConfig> {
        self.on_failure_destination.as_ref().map(|destination| {
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(destination).build())
                .build()
        })
    }
}

/// One mapping per function and stream: created once, updated when its settings differ.
pub(crate) async fn ensure_mapping(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    stream_arn: &str,
    spec: &MappingSpec,
    tags: &BTreeMap<String, String>,
) -> Result<Change> {
    let existing = lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await?;
    let name = format!("{function} <- {}", stream_arn.rsplit('/').next().unwrap_or(stream_arn));
    let found = existing
        .event_source_mappings
        .unwrap_or_default()
        .into_iter()
        .find(|mapping| mapping.event_source_arn.as_deref() == Some(stream_arn));
    if let Some(mapping) = found {
        // Its tags brought in line (a new `expires-at`, say), as a function's are.
        let retagged = match mapping.event_source_mapping_arn() {
            Some(arn) => tag_resource(lambda, &name, arn, tags).await?,
            None => false,
        };
        if spec.matches(&mapping) {
            return Ok(Change {
                kind: ResourceKind::Mapping,
                name,
                action: if retagged { Action::Updated } else { Action::Unchanged },
            });
        }
        lambda
            .update_event_source_mapping()
            .uuid(mapping.uuid().unwrap_or_default())
            .batch_size(spec.batch_size)
            .maximum_batching_window_in_seconds(spec.batching_window)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .bisect_batch_on_function_error(true)
            .maximum_retry_attempts(MAXIMUM_RETRY_ATTEMPTS)
            .maximum_record_age_in_seconds(MAXIMUM_RECORD_AGE_SECONDS)
            .set_tumbling_window_in_seconds(spec.tumbling_window)
            .set_destination_config(spec.destination_config())
            .send()
            .await
            .context_chain(format!("updating the mapping of {function}"))?;
        return Ok(Change {
            kind: ResourceKind::Mapping,
            name,
            action: Action::Updated,
        });
    }
    create_mapping(lambda, function, stream_arn, spec, tags).await?;
    Ok(Change {
        kind: ResourceKind::Mapping,
        name,
        action: Action::Created,
    })
}

async fn create_mapping(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    stream_arn: &str,
    spec: &MappingSpec,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let name = format!("{function} <- {}", stream_arn.rsplit('/').next().unwrap_or(stream_arn));
    // Lambda checks the function's role can read the stream when the mapping is made: right after the role's policy
    // was put, IAM may not show it yet (see `Propagation`).
    retry_while_propagating(
        &name,
        Propagation::iam(),
        |error: &SdkError<CreateEventSourceMappingError>| {
            error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_value_exception() && stream_not_yet_readable(e.message().unwrap_or_default())
            })
        },
        || {
            lambda
                .create_event_source_mapping()
                .function_name(function)
                .event_source_arn(stream_arn)
                .starting_position(EventSourcePosition::TrimHorizon)
                .batch_size(spec.batch_size)
                .maximum_batching_window_in_seconds(spec.batching_window)
                .function_response_types(FunctionResponseType::ReportBatchItemFailures)
                .bisect_batch_on_function_error(true)
                .maximum_retry_attempts(MAXIMUM_RETRY_ATTEMPTS)
                .maximum_record_age_in_seconds(MAXIMUM_RECORD_AGE_SECONDS)
                .set_tumbling_window_in_seconds(spec.tumbling_window)
                .set_destination_config(spec.destination_config())
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
        },
    )
    .await
    .context_chain(format!("mapping {function}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stream_not_yet_readable_by_the_new_role_is_waited_for() {
        let message = "Cannot access stream arn:aws:kinesis:eu-west-1:123456789012:stream/kinesis-lab-ada-TelemetricStream. \
                       Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and \
                       ListShards Actions on your stream in IAM.";
        assert!(stream_not_yet_readable(message));
        assert!(!stream_not_yet_readable("Unsupported MaximumBatchingWindowInSeconds"));
        assert!(!stream_not_yet_readable(
            "Stream not found: arn:aws:kinesis:eu-west-1:1:stream/x"
        ));
    }
}
