//! IAM through the front door, with the real SDK: who signs (the administrator, a role's session, an unknown key, a
//! wrong secret), what a role's policies allow on which resource (the ARN of each action as the Service Authorization
//! Reference defines it), and AWS's denials in each protocol's shape.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use lab_cloud::gateway::{Gateway, GatewayOptions};
use std::time::Duration;

/// A front door of the test's own over the test emulator, and the administrator's configuration through it.
struct Door {
    gateway: Gateway,
    admin: SdkConfig,
}

async fn door() -> Door {
    let emulator = lab_testkit::local_aws().await.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let admin = config(&gateway.endpoint(), lab_testkit::admin_credentials()).await;
    Door { gateway, admin }
}

async fn config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

impl Door {
    /// A role the administrator may assume (its trust policy names the account), with `policy` inline; the role's
    /// name.
    async fn role(&self, policy: &str) -> String {
        let iam = aws_sdk_iam::Client::new(&self.admin);
        let name = lab_testkit::unique_name("iam-test");
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        iam.create_role()
            .role_name(&name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("test")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
        name
    }

    /// The role's temporary credentials, from the front door's STS, as a configuration through the door.
    async fn session(&self, role: &str) -> SdkConfig {
        let assumed = aws_sdk_sts::Client::new(&self.admin)
            .assume_role()
            .role_arn(format!("arn:aws:iam::123456789012:role/{role}"))
            .role_session_name("test-session")
            .send()
            .await
            .unwrap();
        let c = assumed.credentials.unwrap();
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            None,
            "test",
        );
        config(&self.gateway.endpoint(), credentials).await
    }

    async fn stream(&self) -> String {
        let name = lab_testkit::unique_name("iam-stream");
        aws_sdk_kinesis::Client::new(&self.admin)
            .create_stream()
            .stream_name(&name)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        name
    }
}

fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:123456789012:stream/{name}")
}

/// The error's code and message, from any SDK error.
fn code_and_message<E: aws_sdk_kinesis::error::ProvideErrorMetadata>(error: &E) -> (String, String) {
    (
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_unknown_key_and_a_wrong_secret_are_refused_as_aws_refuses_them() {
    let door = door().await;
    let stranger = config(
        &door.gateway.endpoint(),
        Credentials::new("AKIAIOSFODNN7EXAMPLE", "x", None, None, "test"),
    )
    .await;
    let error = aws_sdk_kinesis::Client::new(&stranger)
        .list_streams()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(&error.into_service_error()),
        (
            "UnrecognizedClientException".into(),
            "The security token included in the request is invalid.".into()
        )
    );
    let wrong = config(
        &door.gateway.endpoint(),
        Credentials::new(lab_testkit::ADMIN_ACCESS_KEY, "not-the-secret", None, None, "test"),
    )
    .await;
    let error = aws_sdk_kinesis::Client::new(&wrong)
        .list_streams()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_and_message(&error.into_service_error()).0,
        "InvalidSignatureException"
    );
    // S3 (REST-XML) and IAM (query) say it their own way.
    let error = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&wrong).force_path_style(true).build())
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_and_message(&error.into_service_error()).0, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn a_role_may_do_what_its_policy_allows_on_that_resource_and_nothing_else() {
    let door = door().await;
    let stream = door.stream().await;
    let other = door.stream().await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"{}"}}]}}"#,
        stream_arn(&stream)
    );
    let role = door.role(&policy).await;
    let session = door.session(&role).await;
    let kinesis = aws_sdk_kinesis::Client::new(&session);
    let put = |name: String| {
        kinesis
            .put_record()
            .stream_name(name)
            .partition_key("k")
            .data(Blob::new("x"))
            .send()
    };
    put(stream.clone()).await.expect("allowed on its stream");
    let error = put(other.clone()).await.unwrap_err().into_service_error();
    assert_eq!(
        code_and_message(&error),
        (
            "AccessDeniedException".into(),
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/{role}/test-session is not authorized to perform: \
                 kinesis:PutRecord on resource: {} because no identity-based policy allows the kinesis:PutRecord \
                 action",
                stream_arn(&other)
            )
        )
    );
    let report = door.gateway.meter().access_report().await;
    let mine = report
        .iter()
        .find(|r| r.role.ends_with(&role))
        .expect("the role's report");
    assert_eq!(mine.used.len(), 1, "{mine:?}");
    assert_eq!(mine.denied.len(), 1, "{mine:?}");
}

/// `GetRecords` names only a shard iterator; AWS authorises it on the stream the iterator reads.
#[tokio::test]
async fn get_records_is_authorised_on_the_stream_its_iterator_reads() {
    let door = door().await;
    let stream = door.stream().await;
    let iterator = aws_sdk_kinesis::Client::new(&door.admin)
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let only_other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"arn:aws:kinesis:us-east-1:123456789012:stream/another"}]}"#;
    let session = door.session(&door.role(only_other).await).await;
    let error = aws_sdk_kinesis::Client::new(&session)
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (code, message) = code_and_message(&error);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains(&format!("on resource: {}", stream_arn(&stream))),
        "{message}"
    );
    let this_one = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"{}"}}]}}"#,
        stream_arn(&stream)
    );
    let session = door.session(&door.role(&this_one).await).await;
    aws_sdk_kinesis::Client::new(&session)
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .expect("allowed on the iterator's stream");
}

#[tokio::test]
async fn an_explicit_deny_wins_over_an_allow_and_a_condition_the_cloud_cannot_evaluate_denies() {
    let door = door().await;
    let stream = door.stream().await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}},
            {{"Effect":"Deny","Action":"kinesis:DeleteStream","Resource":"{}"}},
            {{"Effect":"Deny","Action":"kinesis:AddTagsToStream","Resource":"*",
              "Condition":{{"StringEquals":{{"aws:RequestTag/env":"production"}}}}}}]}}"#,
        stream_arn(&stream)
    );
    let session = door.session(&door.role(&policy).await).await;
    let kinesis = aws_sdk_kinesis::Client::new(&session);
    let error = kinesis
        .delete_stream()
        .stream_name(&stream)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (_, message) = code_and_message(&error);
    assert!(
        message.ends_with("with an explicit deny in an identity-based policy"),
        "{message}"
    );
    let error = kinesis
        .add_tags_to_stream()
        .stream_name(&stream)
        .tags("k", "v")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (_, message) = code_and_message(&error);
    assert!(
        message.contains("the local cloud does not supply the condition key aws:RequestTag/env"),
        "{message}"
    );
    kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .expect("the Allow still allows the rest");
}

/// S3 acts on a bucket or on its objects: `arn:aws:s3:::bucket` for listing, `arn:aws:s3:::bucket/key` for objects.
#[tokio::test]
async fn s3_is_authorised_on_the_bucket_or_on_the_object() {
    let door = door().await;
    let bucket = lab_testkit::unique_name("iam-bucket");
    let s3 = |config: &SdkConfig| {
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
    };
    s3(&door.admin).create_bucket().bucket(&bucket).send().await.unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/in/*"}}]}}"#
    );
    let session = door.session(&door.role(&policy).await).await;
    s3(&session)
        .put_object()
        .bucket(&bucket)
        .key("in/x.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("allowed under in/");
    let error = s3(&session)
        .put_object()
        .bucket(&bucket)
        .key("out/x.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (code, message) = code_and_message(&error);
    assert_eq!(code, "AccessDenied");
    assert!(
        message.contains(&format!("s3:PutObject on resource: arn:aws:s3:::{bucket}/out/x.json")),
        "{message}"
    );
    let error = s3(&session)
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (_, message) = code_and_message(&error);
    assert!(
        message.contains(&format!("s3:ListBucket on resource: arn:aws:s3:::{bucket} ")),
        "{message}"
    );
}

#[tokio::test]
async fn a_role_is_assumed_only_by_whom_its_trust_policy_names() {
    let door = door().await;
    let iam = aws_sdk_iam::Client::new(&door.admin);
    let name = lab_testkit::unique_name("lambda-only");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let error = aws_sdk_sts::Client::new(&door.admin)
        .assume_role()
        .role_arn(format!("arn:aws:iam::123456789012:role/{name}"))
        .role_session_name("me")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (code, message) = code_and_message(&error);
    assert_eq!(code, "AccessDenied");
    assert!(
        message.contains("is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/")
            && message.contains("because no role trust policy allows the sts:AssumeRole action"),
        "{message}"
    );
    // Lambda may: the local cloud's Lambda signs as the service.
    let base = config(&door.gateway.endpoint(), lab_testkit::admin_credentials()).await;
    let credentials = lab_cloud::runtime::credentials::for_function(
        &base,
        &format!("arn:aws:iam::123456789012:role/{name}"),
        "a-function",
    )
    .await
    .expect("lambda.amazonaws.com may assume it");
    assert!(credentials.access_key_id().starts_with("ASIA"));
}

/// `--no-iam` (moto's own behaviour): nobody is asked who they are, so a role is assumed whoever asks — else the
/// local cloud's Lambda, whose service signature is not read then, could not run a function with its role.
#[tokio::test]
async fn with_iam_off_a_role_is_assumed_whoever_asks() {
    let emulator = lab_testkit::local_aws().await.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        iam: false,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    let admin = config(&gateway.endpoint(), lab_testkit::admin_credentials()).await;
    let name = lab_testkit::unique_name("lambda-only");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws_sdk_iam::Client::new(&admin)
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role_arn = format!("arn:aws:iam::123456789012:role/{name}");
    aws_sdk_sts::Client::new(&admin)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("me")
        .send()
        .await
        .expect("with IAM off, the administrator may assume a role that trusts only Lambda");
    let credentials = lab_cloud::runtime::credentials::for_function(&admin, &role_arn, "a-function")
        .await
        .expect("with IAM off, Lambda may assume its function's role");
    assert!(credentials.access_key_id().starts_with("ASIA"));
}

/// The guard's rule: `aws:ResourceTag/<key>` is the resource's own tags — a stream's (the engine's), a function's
/// (Lambda's, read from the emulator) — so a role allowed to delete only what carries its learner's tags deletes
/// that, and is refused another learner's and an untagged one's with AWS's denial; a bucket's tags are not
/// supplied (S3 evaluates them only with ABAC turned on for the bucket), so such a grant never allows there.
#[tokio::test]
async fn a_condition_on_a_resources_tags_allows_only_what_carries_them() {
    let door = door().await;
    let kinesis = aws_sdk_kinesis::Client::new(&door.admin);
    let ada = door.stream().await;
    let bob = door.stream().await;
    let untagged = door.stream().await;
    for (stream, learner) in [(&ada, "ada"), (&bob, "bob")] {
        kinesis
            .add_tags_to_stream()
            .stream_name(stream)
            .tags("workshop", "kinesis-lab")
            .tags("learner", learner)
            .send()
            .await
            .unwrap();
    }
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["kinesis:DeleteStream","lambda:DeleteFunction","s3:DeleteBucket"],"Resource":"*",
         "Condition":{"StringEquals":{"aws:ResourceTag/learner":"ada","aws:ResourceTag/workshop":"kinesis-lab"}}}]}"#;
    let role = door.role(policy).await;
    let session = door.session(&role).await;
    let theirs = aws_sdk_kinesis::Client::new(&session);
    for other in [&bob, &untagged] {
        let error = theirs
            .delete_stream()
            .stream_name(other)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(
            code_and_message(&error),
            (
                "AccessDeniedException".into(),
                format!(
                    "User: arn:aws:sts::123456789012:assumed-role/{role}/test-session is not authorized to perform: \
                     kinesis:DeleteStream on resource: {} because no identity-based policy allows the \
                     kinesis:DeleteStream action",
                    stream_arn(other)
                )
            )
        );
    }
    theirs
        .delete_stream()
        .stream_name(&ada)
        .send()
        .await
        .expect("ada's tagged stream may be deleted");

    // A function's tags come from Lambda: the same rule. (Its execution role must trust Lambda: the front door
    // checks that before Lambda makes the function.)
    let lambda = aws_sdk_lambda::Client::new(&door.admin);
    let execution_role = lab_testkit::unique_name("tagged-fn-role");
    aws_sdk_iam::Client::new(&door.admin)
        .create_role()
        .role_name(&execution_role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let mut functions = vec![];
    for learner in ["ada", "bob"] {
        let name = lab_testkit::unique_name("tagged-fn");
        lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(format!("arn:aws:iam::123456789012:role/{execution_role}"))
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(
                        lab_cloud::control::function::EMPTY_ZIP,
                    ))
                    .build(),
            )
            .tags("workshop", "kinesis-lab")
            .tags("learner", learner)
            .send()
            .await
            .unwrap();
        functions.push(name);
    }
    let their_lambda = aws_sdk_lambda::Client::new(&session);
    let error = their_lambda
        .delete_function()
        .function_name(&functions[1])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.raw_response().map(|r| r.status().as_u16()),
        Some(403),
        "{error:?}"
    );
    their_lambda
        .delete_function()
        .function_name(&functions[0])
        .send()
        .await
        .expect("ada's tagged function may be deleted");
    lambda
        .delete_function()
        .function_name(&functions[1])
        .send()
        .await
        .unwrap();

    // A bucket's tags are not supplied: the grant is refused, naming the key, however the bucket is tagged.
    let s3 = lab_cloud::aws::s3_client(&door.admin);
    let bucket = lab_testkit::unique_name("tagged-bucket").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let error = lab_cloud::aws::s3_client(&session)
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    let message = format!("{:?}", error);
    assert!(message.contains("aws:ResourceTag/"), "{message}");
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    for stream in [&bob, &untagged] {
        kinesis.delete_stream().stream_name(stream).send().await.unwrap();
    }
}
