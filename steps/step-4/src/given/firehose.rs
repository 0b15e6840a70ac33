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
    create_within(request, ROLE_PROPAGATION_TIMEOUT, Duration::from_secs(3)).await
}

/// [`create`], trying again every `pause` for `patience` at most (the given tests wait milliseconds).
async fn create_within(
    request: CreateDeliveryStreamFluentBuilder,
    patience: Duration,
    pause: Duration,
) -> Result<(), DeliveryError> {
    // Firehose names the role in an InvalidArgumentException ("Firehose is unable to assume role ...").
    let role_not_ready = |error: &SdkError<CreateDeliveryStreamError>| {
        error.as_service_error().is_some_and(|e| {
            e.is_invalid_argument_exception() && e.meta().message().is_some_and(|m| m.contains("role"))
        })
    };
    match support::retry_while(patience, pause, role_not_ready, || request.clone().send()).await {
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
    wait_until_active_within(client, name, ACTIVE_TIMEOUT, Duration::from_secs(5)).await
}

/// [`wait_until_active`], describing every `pause` while the delivery stream is CREATING, for `patience` at most.
async fn wait_until_active_within(
    client: &Client,
    name: &str,
    patience: Duration,
    pause: Duration,
) -> Result<DeliveryStreamDescription, DeliveryError> {
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
            DeliveryStreamStatus::Creating if started.elapsed() < patience => {}
            status => {
                let why = description.failure_description.as_ref().map(|failure| &failure.details);
                return Err(not_active(format!(
                    "it is {status} ({})",
                    why.map_or("", String::as_str)
                )));
            }
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_testkit::fake::{FakeAws, Reply};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A Firehose client whose calls `fake` answers (the SDK's own retries off, so each call is one request).
    fn fake_firehose(fake: &FakeAws) -> Client {
        Client::new(&lab_testkit::fake::config(fake))
    }

    /// Answers CreateDeliveryStream with `first` once, then as `then`.
    fn create_answers(first: Reply, then: Reply) -> (FakeAws, std::sync::Arc<AtomicUsize>) {
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let fake = FakeAws::new(move |_| match counted.fetch_add(1, Ordering::SeqCst) {
            0 => first.clone(),
            _ => then.clone(),
        });
        (fake, calls)
    }

    async fn create_with(fake: &FakeAws) -> Result<(), DeliveryError> {
        let request = fake_firehose(fake).create_delivery_stream().delivery_stream_name("d");
        create_within(request, ROLE_PROPAGATION_TIMEOUT, Duration::from_millis(1)).await
    }

    /// DescribeDeliveryStream's answer about a delivery stream `d` in `status`, with a failure's details if any.
    fn description(status: &str, failure: Option<&str>) -> Reply {
        let mut about = serde_json::json!({
            "DeliveryStreamName": "d",
            "DeliveryStreamARN": "arn:aws:firehose:us-east-1:123456789012:deliverystream/d",
            "DeliveryStreamStatus": status,
            "DeliveryStreamType": "KinesisStreamAsSource",
            "VersionId": "1",
            "Destinations": [],
            "HasMoreDestinations": false,
        });
        if let Some(details) = failure {
            about["FailureDescription"] = serde_json::json!({"Type": "UNKNOWN_ERROR", "Details": details});
        }
        Reply::Output(serde_json::json!({ "DeliveryStreamDescription": about }))
    }

    #[tokio::test]
    async fn describe_reports_a_failure_other_than_not_found() {
        let missing = FakeAws::new(|_| Reply::client_error("ResourceNotFoundException", "Firehose d not found."));
        assert!(
            describe(&fake_firehose(&missing), "d").await.unwrap().is_none(),
            "not found: None"
        );
        // Another failure says nothing about whether it exists: taking it for "missing" would create a second one.
        let refused = FakeAws::new(|_| Reply::client_error("LimitExceededException", "Rate exceeded."));
        let error = describe(&fake_firehose(&refused), "d").await.unwrap_err().to_string();
        assert!(
            error.starts_with("Firehose call failed") && error.contains("Rate exceeded"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn wait_until_active_waits_while_creating_and_reports_any_other_status() {
        let (patience, pause) = (Duration::from_secs(60), Duration::from_millis(1));
        let (fake, calls) = create_answers(description("CREATING", None), description("ACTIVE", None));
        let active = wait_until_active_within(&fake_firehose(&fake), "d", patience, pause).await;
        assert_eq!(
            active.expect("ACTIVE after CREATING").delivery_stream_status,
            DeliveryStreamStatus::Active
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2, "described again while CREATING");

        let failed = FakeAws::new(|_| description("CREATING_FAILED", Some("the role cannot be assumed")));
        let error = wait_until_active_within(&fake_firehose(&failed), "d", patience, pause).await;
        let error = error.expect_err("CREATING_FAILED is not waited for").to_string();
        assert_eq!(
            error,
            "d did not become ACTIVE: it is CREATING_FAILED (the role cannot be assumed)"
        );

        let missing = FakeAws::new(|_| Reply::client_error("ResourceNotFoundException", "Firehose d not found."));
        let error = wait_until_active_within(&fake_firehose(&missing), "d", patience, pause).await;
        assert_eq!(
            error.unwrap_err().to_string(),
            "d did not become ACTIVE: it does not exist"
        );
    }

    #[tokio::test]
    async fn wait_until_active_gives_up_on_a_delivery_stream_creating_for_too_long() {
        let creating = FakeAws::new(|_| description("CREATING", None));
        let client = fake_firehose(&creating);
        let waiting = wait_until_active_within(&client, "d", Duration::from_millis(50), Duration::from_millis(10));
        // Bounded, so that a wait that never gives up fails here rather than hangs.
        let waited = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("gave up within the patience, not never");
        let error = waited.expect_err("patience runs out").to_string();
        assert_eq!(error, "d did not become ACTIVE: it is CREATING ()");
        assert!(creating.calls().len() >= 2, "described more than once before giving up");
    }

    #[tokio::test]
    async fn create_retries_only_a_role_firehose_cannot_assume_yet() {
        // Firehose's refusal of a role IAM has not propagated to it yet names the role.
        let not_yet = Reply::client_error(
            "InvalidArgumentException",
            "Firehose is unable to assume role arn:aws:iam::123456789012:role/R. Please check the role provided.",
        );
        let created = Reply::Output(serde_json::json!({"DeliveryStreamARN": "arn:d"}));
        let (fake, calls) = create_answers(not_yet, created.clone());
        create_with(&fake).await.expect("retried once the role is usable");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "sent again after the role's refusal");

        // Another invalid argument will not get better by waiting: it is reported at once.
        let bad_prefix = Reply::client_error("InvalidArgumentException", "Prefix must end with a slash.");
        let (fake, calls) = create_answers(bad_prefix, created);
        let error = create_with(&fake).await.expect_err("not retried").to_string();
        assert!(
            error.starts_with("Firehose call failed") && error.contains("Prefix"),
            "{error}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "sent once");
    }

    #[tokio::test]
    async fn create_takes_a_delivery_stream_that_exists_already_as_made() {
        // A concurrent run created it between our describe and our create.
        let exists = Reply::client_error(
            "ResourceInUseException",
            "Firehose d under account 123456789012 exists.",
        );
        let (fake, _) = create_answers(exists.clone(), exists);
        create_with(&fake).await.expect("it exists: what we wanted");
        let limit = Reply::client_error("LimitExceededException", "You have already consumed your limit.");
        let (fake, _) = create_answers(limit.clone(), limit);
        assert!(create_with(&fake).await.is_err(), "any other refusal is an error");
    }
}
