//! A function's logs go to CloudWatch Logs as Lambda writes them: with the function's role, into
//! `/aws/lambda/<function>`, one stream per execution environment, with Lambda's START, END and REPORT lines; a role
//! without the logs permissions leaves no logs (and the function runs on), as on AWS.

use crate::scripted::scripted_function;
use lab_cloud::gateway::{Gateway, GatewayOptions};
use lab_cloud::lambda_host::{LambdaHost, Outcome};
use lab_cloud::logs::{LogEvent, Logs};
use serde_json::json;
use std::time::Duration;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A role Lambda may assume, with `policy` inline (or none); its ARN.
async fn role(iam: &aws_sdk_iam::Client, policy: Option<String>) -> String {
    let name = lab_testkit::unique_name("logs-role");
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    if let Some(policy) = policy {
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("logs")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    role.role.unwrap().arn
}

/// What `/aws/lambda/<function>` holds, every stream's messages, once something is there (up to 5 s).
async fn logged(logs: &Logs, function: &str) -> Vec<String> {
    let group = format!("/aws/lambda/{function}");
    for _ in 0..50 {
        if let Ok(streams) = logs.describe_log_streams(&group).await {
            let mut messages = vec![];
            for stream in streams {
                let events = logs.get_log_events(&group, &stream).await.unwrap();
                messages.extend(events.into_iter().map(|e| e.message));
            }
            if messages.iter().any(|m| m.starts_with("REPORT RequestId:")) {
                return messages;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![]
}

/// The administrator's configuration (straight to the emulator) and a front door before the same emulator.
async fn admin_and_gateway() -> (aws_config::SdkConfig, Gateway) {
    let admin = lab_testkit::local_aws().await;
    let emulator = admin.endpoint_url().unwrap().to_owned();
    let options = GatewayOptions {
        stream_lifecycle: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let gateway = Gateway::start_with(&emulator, options).await.unwrap();
    (admin, gateway)
}

#[tokio::test]
async fn lambda_writes_a_functions_logs_with_its_role_and_writes_none_without_the_permission() {
    let (admin, gateway) = admin_and_gateway().await;
    let iam = aws_sdk_iam::Client::new(&admin);
    let logs = Logs::new(&admin);
    let host = LambdaHost::new();

    let run = |role: String, name: &str| {
        let (mut spec, _folder) = scripted_function(name, Duration::from_secs(5));
        spec.role = Some(role);
        spec.environment.extend([
            ("AWS_ENDPOINT_URL".to_owned(), gateway.endpoint()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ]);
        spec
    };

    let allowed_name = lab_testkit::unique_name("logged");
    let own_group = format!("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{allowed_name}");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [own_group.clone(), format!("{own_group}:*")]}]});
    let allowed = run(role(&iam, Some(policy.to_string())).await, &allowed_name);
    let answer = host.invoke(&allowed, &json!({"Records": []})).await;
    assert!(matches!(answer, Outcome::Response(_)), "{answer:?}");
    let messages = logged(&logs, &allowed_name).await;
    assert!(
        messages.iter().any(|m| m.starts_with("START RequestId:"))
            && messages.iter().any(|m| m.starts_with("END RequestId:"))
            && messages
                .iter()
                .any(|m| m.starts_with("REPORT RequestId:") && m.contains("Billed Duration:")),
        "Lambda's own lines in the function's log group: {messages:?}"
    );

    let denied_name = lab_testkit::unique_name("unlogged");
    let denied = run(role(&iam, None).await, &denied_name);
    let answer = host.invoke(&denied, &json!({"Records": []})).await;
    assert!(
        matches!(answer, Outcome::Response(_)),
        "the function runs on without its logs: {answer:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let groups = logs
        .describe_log_groups(&format!("/aws/lambda/{denied_name}"))
        .await
        .unwrap();
    assert!(groups.is_empty(), "no log group without the permission");
    let denials = gateway.meter().denials();
    assert!(
        denials
            .iter()
            .any(|d| d.contains("logs:CreateLogGroup") && d.contains(&denied_name)),
        "the access report names the denial: {denials:?}"
    );
    host.shutdown();
}

/// The workshop's own CloudWatch Logs client (`lab_cloud::logs`, in place of the SDK's service crate): signed so
/// that the front door accepts it and refuses it with a wrong secret, every page of a listing (`DescribeLogGroups`
/// answers 50 groups at most), events back as they were sent, and AWS's error codes by name.
#[tokio::test]
async fn the_logs_client_is_signed_reads_every_page_and_names_aws_errors() {
    let (admin, gateway) = admin_and_gateway().await;
    let through_the_door = admin.to_builder().endpoint_url(gateway.endpoint()).build();
    let logs = Logs::new(&through_the_door);

    let prefix = format!("/workshop/{}", lab_testkit::unique_name("pages"));
    for i in 0..55 {
        logs.create_log_group(&format!("{prefix}/{i:02}")).await.unwrap();
    }
    let again = logs.create_log_group(&format!("{prefix}/00")).await.unwrap_err();
    assert_eq!(again.code(), Some("ResourceAlreadyExistsException"), "{again}");
    let listed = logs.describe_log_groups(&prefix).await.unwrap();
    let names: Vec<String> = listed.iter().map(|g| g.name.clone()).collect();
    let expected: Vec<String> = (0..55).map(|i| format!("{prefix}/{i:02}")).collect();
    assert_eq!(names, expected, "every group, from both pages");
    assert!(listed.iter().all(|g| g.created.is_some()), "{listed:?}");

    let group = format!("{prefix}/00");
    logs.create_log_stream(&group, "environment").await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let events = vec![
        LogEvent {
            timestamp: now,
            message: "START RequestId: 1".to_owned(),
        },
        LogEvent {
            timestamp: now + 1,
            message: "a \"quoted\" line, ünïcode, and a tab\t".to_owned(),
        },
    ];
    logs.put_log_events(&group, "environment", &events).await.unwrap();
    assert_eq!(logs.describe_log_streams(&group).await.unwrap(), vec!["environment"]);
    assert_eq!(logs.get_log_events(&group, "environment").await.unwrap(), events);

    let wrong_secret = aws_credential_types::Credentials::new("testing", "not-the-secret", None, None, "test");
    let forged = through_the_door
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            wrong_secret,
        ))
        .build();
    let refused = Logs::new(&forged).describe_log_groups(&prefix).await.unwrap_err();
    assert_eq!(refused.code(), Some("InvalidSignatureException"), "{refused}");

    logs.delete_log_group(&group).await.unwrap();
    let gone = logs.delete_log_group(&group).await.unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"), "{gone}");
}
