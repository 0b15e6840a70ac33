//! Prints every policy document of the workshop as JSON (`cargo xtask policy` runs this; the local deploy runs it
//! with `--json` to read the documents it attaches to the roles).
//!
//! Usage: `policies [--json] [ACCOUNT_ID] [REGION] [BUCKET]`; the defaults are the local cloud's.

use telemetric_stream::{Resources, STREAM_NAME, consumer_policy, firehose_policy, producer_policy};

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
        stream_name: STREAM_NAME.to_owned(),
        bucket_name: args.next().unwrap_or_else(|| "kinesis-lab-telemetry".to_owned()),
    };
    let documents = [
        (
            "producer",
            "role of the produceKinesisEvents function",
            producer_policy(&resources, "produceKinesisEvents"),
        ),
        (
            "consumer",
            "role of the consumeKinesisEvents function",
            consumer_policy(&resources, "consumeKinesisEvents"),
        ),
        ("firehose", "role of the delivery stream", firehose_policy(&resources)),
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
