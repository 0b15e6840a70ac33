//! The gateway's validation step with the real SDK: what AWS refuses in `CreateEventSourceMapping`,
//! `UpdateEventSourceMapping`, `CreateFunction` and `UpdateFunctionConfiguration` (moto 5.2.5 accepts every one of
//! these), refused with AWS's error and words, and what the local cloud cannot run refused by name. Each test has a
//! gateway of its own in front of the run's emulator (`AWS_ENDPOINT_URL`), and calls as the administrator: the
//! checks are AWS's, not IAM's, so they hold for every caller.

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder;
use aws_sdk_lambda::primitives::{Blob, DateTime};
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourcePosition, Filter, FilterCriteria, FunctionCode, FunctionResponseType, OnFailure,
    OnSuccess, Runtime,
};
use lab_cloud::control::function::EMPTY_ZIP;
use lab_cloud::gateway::{Gateway, GatewayOptions};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";

const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// What a mapping's role needs at creation, on the stream only: no `ListShards`, no `ListStreams`.
const READ_ACTIONS: [&str; 3] = [
    "kinesis:DescribeStream",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
];

/// A policy allowing `actions` on `resource`.
fn allow(actions: &[&str], resource: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resource}]})
    .to_string()
}

/// An error as the SDK read it: HTTP status, code, message.
#[derive(Debug)]
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Refusal {
    let error = result.expect_err("the local cloud accepted what AWS refuses");
    Refusal {
        status: error.raw_response().map_or(0, |r| r.status().as_u16()),
        code: error.code().unwrap_or_default().to_owned(),
        message: error.message().unwrap_or_default().to_owned(),
    }
}

impl Refusal {
    fn invalid_parameter(self, message: &str) {
        assert_eq!(
            (self.status, self.code.as_str()),
            (400, "InvalidParameterValueException"),
            "{self:?}"
        );
        assert_eq!(self.message, message);
    }

    fn validation(self, message: &str) {
        assert_eq!(
            (self.status, self.code.as_str()),
            (400, "ValidationException"),
            "{self:?}"
        );
        assert_eq!(self.message, message);
    }

    /// The local cloud's own refusal: AWS's error code, a message saying what the local cloud does not do.
    fn local(self, names: &str) {
        assert_eq!(
            (self.status, self.code.as_str()),
            (400, "InvalidParameterValueException"),
            "{self:?}"
        );
        assert!(self.message.contains(names), "{self:?}");
    }
}

struct Cloud {
    gateway: Gateway,
    config: SdkConfig,
    lambda: aws_sdk_lambda::Client,
}

async fn cloud(iam: bool) -> Cloud {
    let emulator = lab_testkit::local_aws().await;
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        iam,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(emulator.endpoint_url().unwrap(), options)
        .await
        .unwrap();
    let config = emulator
        .to_builder()
        .endpoint_url(gateway.endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    Cloud {
        lambda: aws_sdk_lambda::Client::new(&config),
        config,
        gateway,
    }
}

/// A cloud with a stream, and a function whose role may read it and nothing more.
struct Fixture {
    cloud: Cloud,
    stream_arn: String,
    role: String,
    function: String,
}

async fn fixture() -> Fixture {
    let cloud = cloud(true).await;
    let stream_arn = cloud.stream().await;
    let role = cloud.role(LAMBDA_TRUST, &allow(&READ_ACTIONS, &stream_arn)).await;
    let function = cloud.function(&role).await;
    Fixture {
        cloud,
        stream_arn,
        role,
        function,
    }
}

impl Cloud {
    async fn stream(&self) -> String {
        let kinesis = aws_sdk_kinesis::Client::new(&self.config);
        let name = lab_testkit::unique_name("validated");
        kinesis
            .create_stream()
            .stream_name(&name)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}")
    }

    /// A role with this trust policy and this inline policy; its ARN.
    async fn role(&self, trust: &str, policy: &str) -> String {
        let iam = aws_sdk_iam::Client::new(&self.config);
        let name = lab_testkit::unique_name("validated");
        let role = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("under-test")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
        role.role.unwrap().arn
    }

    fn create_function(
        &self,
        role: &str,
    ) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
        self.lambda
            .create_function()
            .function_name(lab_testkit::unique_name("validated"))
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP)).build())
    }

    /// A function with this role; its name.
    async fn function(&self, role: &str) -> String {
        let created = self.create_function(role).send().await.unwrap();
        created.function_name.unwrap()
    }
}

impl Fixture {
    /// A mapping AWS accepts, to spoil one setting of.
    fn mapping(&self) -> CreateEventSourceMappingFluentBuilder {
        self.cloud
            .lambda
            .create_event_source_mapping()
            .function_name(&self.function)
            .event_source_arn(&self.stream_arn)
            .starting_position(EventSourcePosition::TrimHorizon)
    }

    /// A mapping that was made, and its UUID.
    async fn made(&self, mapping: CreateEventSourceMappingFluentBuilder) -> String {
        mapping.send().await.expect("a mapping AWS accepts").uuid.unwrap()
    }
}

#[tokio::test]
async fn a_kinesis_mapping_needs_a_starting_position_among_the_apis_three() {
    let f = fixture().await;
    let missing = f.mapping().set_starting_position(None).send().await;
    refusal(missing).invalid_parameter(
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not \
         be null.",
    );
    let unknown = f
        .mapping()
        .starting_position(EventSourcePosition::from("OLDEST"))
        .send()
        .await;
    refusal(unknown).validation(
        "1 validation error detected: Value 'OLDEST' at 'startingPosition' failed to satisfy constraint: Member must \
         satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
    );
    f.made(f.mapping().starting_position(EventSourcePosition::Latest)).await;
}

#[tokio::test]
async fn at_timestamp_needs_a_timestamp_and_only_at_timestamp_takes_one() {
    let f = fixture().await;
    let at = || f.mapping().starting_position(EventSourcePosition::AtTimestamp);
    refusal(at().send().await).invalid_parameter("Need to specify a timestamp");
    let since = DateTime::from_secs(1_700_000_000);
    let trim = f.mapping().starting_position_timestamp(since).send().await;
    refusal(trim).local("StartingPositionTimestamp is used only with StartingPosition AT_TIMESTAMP");
    f.made(at().starting_position_timestamp(since)).await;
}

#[tokio::test]
async fn each_number_is_refused_outside_the_apis_range_with_awss_validation_error() {
    let f = fixture().await;
    type Set = fn(CreateEventSourceMappingFluentBuilder, i32) -> CreateEventSourceMappingFluentBuilder;
    let ranges: [(&str, Set, i32, i32); 6] = [
        ("batchSize", |m, v| m.batch_size(v), 1, 10_000),
        (
            "maximumBatchingWindowInSeconds",
            |m, v| m.maximum_batching_window_in_seconds(v),
            0,
            300,
        ),
        (
            "maximumRecordAgeInSeconds",
            |m, v| m.maximum_record_age_in_seconds(v),
            -1,
            604_800,
        ),
        ("maximumRetryAttempts", |m, v| m.maximum_retry_attempts(v), -1, 10_000),
        ("parallelizationFactor", |m, v| m.parallelization_factor(v), 1, 10),
        (
            "tumblingWindowInSeconds",
            |m, v| m.tumbling_window_in_seconds(v),
            0,
            900,
        ),
    ];
    for (member, set, min, max) in ranges {
        let under = set(f.mapping(), min - 1).send().await;
        refusal(under).validation(&format!(
            "1 validation error detected: Value '{}' at '{member}' failed to satisfy constraint: Member must have \
             value greater than or equal to {min}",
            min - 1
        ));
        let over = set(f.mapping(), max + 1).send().await;
        refusal(over).validation(&format!(
            "1 validation error detected: Value '{}' at '{member}' failed to satisfy constraint: Member must have \
             value less than or equal to {max}",
            max + 1
        ));
    }
    // Every top of a range at once (ParallelizationFactor's is refused by the local cloud, see below).
    let tops = f
        .mapping()
        .batch_size(10_000)
        .maximum_batching_window_in_seconds(300)
        .maximum_record_age_in_seconds(604_800)
        .maximum_retry_attempts(10_000)
        .tumbling_window_in_seconds(900);
    f.made(tops).await;
}

#[tokio::test]
async fn several_values_out_of_range_are_one_validation_error_naming_each() {
    let f = fixture().await;
    let both = f.mapping().batch_size(0).tumbling_window_in_seconds(901).send().await;
    refusal(both).validation(
        "2 validation errors detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value \
         greater than or equal to 1; Value '901' at 'tumblingWindowInSeconds' failed to satisfy constraint: Member \
         must have value less than or equal to 900",
    );
}

#[tokio::test]
async fn a_record_age_is_forever_or_at_least_a_minute() {
    let f = fixture().await;
    for age in [0, 59] {
        let young = f.mapping().maximum_record_age_in_seconds(age).send().await;
        refusal(young).invalid_parameter(
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)",
        );
    }
    f.made(f.mapping().maximum_record_age_in_seconds(-1)).await;
    f.made(f.mapping().maximum_record_age_in_seconds(60)).await;
}

#[tokio::test]
async fn report_batch_item_failures_is_the_only_function_response_type() {
    let f = fixture().await;
    let other = f
        .mapping()
        .function_response_types(FunctionResponseType::from("ReportFailures"))
        .send()
        .await;
    refusal(other).validation(
        "1 validation error detected: Value '[ReportFailures]' at 'functionResponseTypes' failed to satisfy \
         constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures], \
         Member must not be null]",
    );
    f.made(
        f.mapping()
            .function_response_types(FunctionResponseType::ReportBatchItemFailures),
    )
    .await;
}

#[tokio::test]
async fn a_parallelization_factor_above_one_is_refused_here_at_creation_and_update() {
    let f = fixture().await;
    let parallel = f.mapping().parallelization_factor(2).send().await;
    refusal(parallel).local("ParallelizationFactor 2 is not supported by the local cloud");
    let uuid = f.made(f.mapping().parallelization_factor(1)).await;
    let update = f
        .cloud
        .lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .parallelization_factor(10);
    refusal(update.send().await).local("ParallelizationFactor 10 is not supported by the local cloud");
}

#[tokio::test]
async fn failed_batches_go_to_an_on_failure_destination_which_is_s3_here() {
    let f = fixture().await;
    let on_failure = |arn: &str| {
        let destination = OnFailure::builder().destination(arn).build();
        f.mapping()
            .destination_config(DestinationConfig::builder().on_failure(destination).build())
    };
    let sqs = on_failure(&format!("arn:aws:sqs:us-east-1:{ACCOUNT}:failed"))
        .send()
        .await;
    refusal(sqs)
        .local("the local cloud delivers on-failure records to an Amazon S3 destination only, not to Amazon SQS");
    let sns = on_failure(&format!("arn:aws:sns:us-east-1:{ACCOUNT}:failed"))
        .send()
        .await;
    refusal(sns).local("not to Amazon SNS");
    let function = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}", f.function);
    refusal(on_failure(&function).send().await).invalid_parameter(&format!(
        "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={function})) \
         is invalid."
    ));
    let success = OnSuccess::builder()
        .destination("arn:aws:s3:::kinesis-lab-failed")
        .build();
    let on_success = f
        .mapping()
        .destination_config(DestinationConfig::builder().on_success(success).build());
    refusal(on_success.send().await)
        .invalid_parameter("Unsupported DestinationConfig parameter for given event source mapping type.");
    f.made(on_failure("arn:aws:s3:::kinesis-lab-failed")).await;
}

#[tokio::test]
async fn filter_criteria_are_refused_here() {
    let f = fixture().await;
    let filter = Filter::builder().pattern(r#"{"data": {"kind": ["alert"]}}"#).build();
    let filtered = f
        .mapping()
        .filter_criteria(FilterCriteria::builder().filters(filter).build());
    refusal(filtered.send().await).local("the local cloud does not implement event filtering (FilterCriteria)");
}

#[tokio::test]
async fn the_source_is_a_kinesis_stream_here() {
    let f = fixture().await;
    let unnamed = f.mapping().set_event_source_arn(None).send().await;
    refusal(unnamed).invalid_parameter("Unrecognized event source.");
    let queue = f
        .mapping()
        .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:queue"))
        .send()
        .await;
    refusal(queue).local("the local cloud runs event source mappings for Kinesis data streams only");
    let consumer = f
        .mapping()
        .event_source_arn(format!("{}/consumer/fan-out:1700000000", f.stream_arn));
    refusal(consumer.send().await).local("the local cloud does not implement enhanced fan-out consumers");
}

#[tokio::test]
async fn the_function_must_exist() {
    let f = fixture().await;
    let missing = f
        .mapping()
        .function_name(lab_testkit::unique_name("no-such-function"))
        .send()
        .await;
    refusal(missing).invalid_parameter("Function does not exist");
}

#[tokio::test]
async fn the_stream_must_exist() {
    let f = fixture().await;
    let name = lab_testkit::unique_name("no-such-stream");
    let arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}");
    let role = f.cloud.role(LAMBDA_TRUST, &allow(&READ_ACTIONS, "*")).await;
    let function = f.cloud.function(&role).await;
    let missing = f.mapping().function_name(function).event_source_arn(&arn).send().await;
    refusal(missing).invalid_parameter(&format!("Stream not found: {arn}"));
}

#[tokio::test]
async fn the_functions_role_must_be_allowed_to_describe_and_read_the_stream() {
    let f = fixture().await;
    let cannot_access = format!(
        "Cannot access stream {}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, \
         ListShards, and ListStreams Actions on your stream in IAM.",
        f.stream_arn
    );
    for missing in READ_ACTIONS {
        let actions: Vec<&str> = READ_ACTIONS.into_iter().filter(|a| *a != missing).collect();
        let role = f.cloud.role(LAMBDA_TRUST, &allow(&actions, &f.stream_arn)).await;
        let function = f.cloud.function(&role).await;
        let refused = f.mapping().function_name(function).send().await;
        refusal(refused).invalid_parameter(&cannot_access);
    }
    let denied = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kinesis:GetRecords", "Resource": f.stream_arn}]});
    let role = f.cloud.role(LAMBDA_TRUST, &denied.to_string()).await;
    let function = f.cloud.function(&role).await;
    refusal(f.mapping().function_name(function).send().await).invalid_parameter(&cannot_access);
    // The fixture's role: the three actions on the stream, neither ListShards nor ListStreams.
    f.made(f.mapping()).await;
}

#[tokio::test]
async fn an_update_meets_the_same_checks_and_a_new_function_must_exist() {
    let f = fixture().await;
    let uuid = f.made(f.mapping()).await;
    let update = || f.cloud.lambda.update_event_source_mapping().uuid(&uuid);
    refusal(update().batch_size(0).send().await).validation(
        "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value \
         greater than or equal to 1",
    );
    refusal(update().maximum_record_age_in_seconds(30).send().await).invalid_parameter(
        "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)",
    );
    let missing = update()
        .function_name(lab_testkit::unique_name("no-such-function"))
        .send()
        .await;
    refusal(missing).invalid_parameter("Function does not exist");
    update()
        .batch_size(500)
        .maximum_batching_window_in_seconds(1)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn lambda_must_be_able_to_assume_a_functions_role() {
    let cloud = cloud(true).await;
    let cannot = "The role defined for the function cannot be assumed by Lambda.";
    let ec2_role = cloud.role(EC2_TRUST, &allow(&["logs:*"], "*")).await;
    refusal(cloud.create_function(&ec2_role).send().await).invalid_parameter(cannot);
    let missing = format!(
        "arn:aws:iam::{ACCOUNT}:role/{}",
        lab_testkit::unique_name("no-such-role")
    );
    refusal(cloud.create_function(&missing).send().await).invalid_parameter(cannot);
    let lambda_role = cloud.role(LAMBDA_TRUST, &allow(&["logs:*"], "*")).await;
    let function = cloud.function(&lambda_role).await;
    let update = || cloud.lambda.update_function_configuration().function_name(&function);
    refusal(update().role(&ec2_role).send().await).invalid_parameter(cannot);
    update().timeout(10).send().await.unwrap();
}

#[tokio::test]
async fn without_iam_the_role_checks_are_left_out_and_the_others_stay() {
    let cloud = cloud(false).await;
    let stream_arn = cloud.stream().await;
    let ec2_role = cloud.role(EC2_TRUST, &allow(&["logs:*"], "*")).await;
    let function = cloud.function(&ec2_role).await;
    let mapping = || {
        cloud
            .lambda
            .create_event_source_mapping()
            .function_name(&function)
            .event_source_arn(&stream_arn)
            .starting_position(EventSourcePosition::TrimHorizon)
    };
    refusal(mapping().batch_size(0).send().await).validation(
        "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value \
         greater than or equal to 1",
    );
    mapping()
        .send()
        .await
        .expect("a role that cannot read the stream, accepted as IAM is off");
}

#[tokio::test]
async fn the_reads_lambda_makes_with_the_role_at_creation_are_the_roles_use_in_the_access_report() {
    let f = fixture().await;
    f.made(f.mapping()).await;
    let reports = f.cloud.gateway.meter().access_report().await;
    let report = reports.iter().find(|r| r.role == f.role).expect("the role's report");
    let used: Vec<(&str, &str)> = report
        .used
        .iter()
        .map(|u| (u.action.as_str(), u.resource.as_str()))
        .collect();
    for action in READ_ACTIONS {
        assert!(
            used.contains(&(action, f.stream_arn.as_str())),
            "{action} not used: {used:?}"
        );
    }
    assert!(report.unused.is_empty(), "{:?}", report.unused);
}
