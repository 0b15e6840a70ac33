//! Prints every policy document of the workshop as JSON (`cargo xtask policy` runs this; the local deploy runs it
//! with `--json` to read the documents it attaches to the roles).
//!
//! Usage: `policies [--json] [ACCOUNT_ID] [REGION] [BUCKET]`; the defaults are the local cloud's. The names of the
//! stream and the functions come from `STREAM_NAME`, `PRODUCER_FUNCTION` and `CONSUMER_FUNCTION` when they are set
//! (a learner's deploy to a shared sandbox account prefixes them).

use telemetric_stream::{Resources, STREAM_NAME, consumer_policy, firehose_policy, producer_policy};

/// A name from the environment, or its default.
fn name(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_some_and(|arg| arg == "--json");
    if json {
        args.remove(0);
    }
    let mut args = args.into_iter();
    let resources = Resources {
        partition: "aws".to_owned(),
        account_id: args.next().unwrap_or_else(|| "123456789012".to_owned()),
        region: args.next().unwrap_or_else(|| "us-east-1".to_owned()),
        stream_name: name("STREAM_NAME", STREAM_NAME),
        bucket_name: args.next().unwrap_or_else(|| "kinesis-lab-telemetry".to_owned()),
    };
    let producer = name("PRODUCER_FUNCTION", "produceKinesisEvents");
    let consumer = name("CONSUMER_FUNCTION", "consumeKinesisEvents");
    let documents = [
        (
            "producer",
            format!("role of the {producer} function"),
            producer_policy(&resources, &producer),
        ),
        (
            "consumer",
            format!("role of the {consumer} function"),
            consumer_policy(&resources, &consumer),
        ),
        (
            "firehose",
            "role of the delivery stream".to_owned(),
            firehose_policy(&resources),
        ),
    ];
    if json {
        // One object, role name -> policy document, for tools.
        let entries: Vec<String> = documents
            .iter()
            .map(|(role, _, document)| format!("{role:?}: {}", document.to_json()))
            .collect();
        println!("{{{}}}", entries.join(", "));
        return;
    }
    for (role, purpose, document) in documents {
        println!("// {role} ({purpose})\n{}\n", document.to_json());
    }
}
