//! Records per second onto the local cloud's stream: the producer's batched `PutRecords` (with its retry of refused
//! entries) against the classic loop of one `PutRecord` call per record, in the same run, on the same emulator.
//!
//! It needs the local cloud:
//!
//! ```console
//! cargo xtask cloud up          # prints the variables to export
//! cargo bench -p step-2-solution
//! cargo xtask cloud down
//! ```

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use producer::{Producer, Reading, Request, Stream, Tally, batches, kinesis_client, now_millis};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::time::Instant;

/// Records per measured iteration: one full `PutRecords` call, or 500 `PutRecord` calls.
const RECORDS: usize = 500;

async fn local_stream(kinesis: &Client) -> String {
    let name = lab_testkit::unique_name("producer-bench");
    kinesis
        .create_stream()
        .stream_name(&name)
        .shard_count(2)
        .send()
        .await
        .expect("the local cloud creates a stream");
    lab_testkit::wait_until_active(kinesis, &name).await.stream_arn
}

fn put_records_versus_put_record(c: &mut Criterion) {
    if let Err(why) = lab_testkit::local_endpoint() {
        panic!("{why}\nFor the benchmark: `cargo xtask cloud up`, export the variables it prints, then `cargo bench`.");
    }
    let runtime = Runtime::new().expect("a tokio runtime");
    let config = runtime.block_on(lab_testkit::local_aws());
    let client = kinesis_client(&config);
    let stream_arn = runtime.block_on(local_stream(&client));
    let producer = Producer::new(client.clone(), Stream::Arn(stream_arn.clone()));

    let mut group = c.benchmark_group("put 500 positions on the local stream");
    group
        .throughput(Throughput::Elements(RECORDS as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    group.bench_function("PutRecords, batched (the producer)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let readings = Request::default().fleet().readings(0, RECORDS as u64, now_millis());
                let entries = readings.iter().map(Reading::to_entry).collect();
                let mut tally = Tally::default();
                for batch in batches(entries) {
                    tally += producer.send(batch, Instant::now() + Duration::from_secs(60)).await;
                }
                assert_eq!(tally.sent, RECORDS as u64, "{tally:?}");
            })
        })
    });

    group.bench_function("PutRecord, one record per call", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..RECORDS {
                    let entry = Request::default().fleet().reading(0, now_millis()).to_entry();
                    client
                        .put_record()
                        .stream_arn(&stream_arn)
                        .partition_key(entry.partition_key())
                        .data(Blob::new(entry.data()))
                        .send()
                        .await
                        .expect("PutRecord");
                }
            })
        })
    });

    group.finish();
}

criterion_group!(benches, put_records_versus_put_record);
criterion_main!(benches);
