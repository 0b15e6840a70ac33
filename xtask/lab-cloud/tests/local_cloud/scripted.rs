//! The scripted function (`src/bin/scripted-function.rs`) as the tests run it through the Lambda host: a spec in a
//! folder of its own, recording every invocation it sees in `<folder>/invocations.jsonl`.

use lab_cloud::lambda_host::FunctionSpec;
use std::path::PathBuf;
use std::time::Duration;

/// The scripted function named `name`, with `timeout`; its spec and its folder.
pub fn scripted_function(name: &str, timeout: Duration) -> (FunctionSpec, PathBuf) {
    let folder = std::env::temp_dir().join(format!("lab-{name}-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let spec = FunctionSpec {
        name: name.to_owned(),
        arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_scripted-function")),
        timeout,
        memory_mb: 128,
        environment: vec![(
            "RECORD_FILE".to_owned(),
            folder.join("invocations.jsonl").to_string_lossy().into_owned(),
        )],
        log_file: folder.join(format!("{name}.log")),
        role: None,
    };
    (spec, folder)
}
