//! Prints every policy document of the workshop as JSON (`cargo xtask policy` runs this).
//!
//! Usage: `policies [ACCOUNT_ID] [REGION] [BUCKET]`; the defaults are the local cloud's.

use telemetric_stream::{Resources, STREAM_NAME, consumer_policy, firehose_policy, producer_policy};

fn main() {
    let mut args = std::env::args().skip(1);
    let resources = Resources {
        partition: "aws".to_owned(),
        account_id: args.next().unwrap_or_else(|| "123456789012".to_owned()),
        region: args.next().unwrap_or_else(|| "us-east-1".to_owned()),
        stream_name: STREAM_NAME.to_owned(),
        bucket_name: args.next().unwrap_or_else(|| "kinesis-lab-telemetry".to_owned()),
    };
    let documents = [
        (
            "producer (role of the produceKinesisEvents function)",
            producer_policy(&resources, "produceKinesisEvents"),
        ),
        (
            "consumer (role of the consumeKinesisEvents function)",
            consumer_policy(&resources, "consumeKinesisEvents"),
        ),
        ("firehose (role of the delivery stream)", firehose_policy(&resources)),
    ];
    for (name, document) in documents {
        println!("// {name}\n{}\n", document.to_json());
    }
}
