//! `lab-cloud invoke --env-of`: a step's binary gets the environment of the function the deploy made from it, which
//! is what `cargo xtask invoke step-2|step-5` relies on (the producer needs STREAM_NAME, the analysis its bucket).

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use lab_cloud::commands::invoke::deployed_environment;
use lab_cloud::control::function::EMPTY_ZIP;
use lab_cloud::naming::Naming;
use lab_cloud::stages::PRODUCER;

#[tokio::test]
async fn invoke_takes_the_environment_of_the_function_deployed_from_its_binary() {
    let config = lab_testkit::local_aws().await;
    // A learner of this test's own: no other test deploys under this name.
    let naming = Naming::for_learner(&format!("invoke{}", std::process::id() % 100_000)).unwrap();
    assert!(
        deployed_environment(&config, &naming, "producer").await.is_none(),
        "nothing is deployed yet"
    );

    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .create_role()
        .role_name(naming.role("invoke-test"))
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role_arn = role.role.unwrap().arn;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let name = naming.function(PRODUCER);
    lambda
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(&role_arn)
        .environment(
            Environment::builder()
                .variables("STREAM_NAME", "kinesis-lab-ada-TelemetricStream")
                .build(),
        )
        .code(FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP)).build())
        .send()
        .await
        .unwrap();

    let found = deployed_environment(&config, &naming, "producer").await;
    // A binary no stage deploys has no function to take an environment from.
    let unknown = deployed_environment(&config, &naming, "heatmap").await.is_none();
    // Leave the shared cloud as it was.
    lambda.delete_function().function_name(&name).send().await.unwrap();
    iam.delete_role()
        .role_name(naming.role("invoke-test"))
        .send()
        .await
        .unwrap();
    let found = found.expect("the deployed producer's environment");
    assert_eq!(found.role.as_deref(), Some(role_arn.as_str()), "and its role");
    let (function, variables) = (found.name, found.variables);
    assert_eq!(function, name);
    assert_eq!(
        variables,
        vec![("STREAM_NAME".to_owned(), "kinesis-lab-ada-TelemetricStream".to_owned())]
    );
    assert!(unknown, "a binary no stage deploys has no deployed function");
}
