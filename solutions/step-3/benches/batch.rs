//! How fast the consumer gets through the largest batch an event source mapping sends (10,000 records), from the
//! event's JSON to sorted records: `cargo bench -p step-3-solution`. Each benchmark reports records per second.
//!
//! - `deserialise_event`: JSON to `KinesisEvent`, which base64-decodes every record's data (done by the runtime
//!   before the handler is called);
//! - `parse_records`: `parse_record` on each record's data (JSON to `GpsRecord`, then validation);
//! - `process_batch`: the same plus duplicate detection and sorting out the rejected records;
//! - `whole_batch`: deserialise, then `process_batch`: all the CPU the function spends on a batch, logging aside;
//! - `log_data`: `Batch::log` with no subscriber listening, which leaves the one cost it always pays: writing the
//!   10,000 records as the log line's JSON `data`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use consumer::{parse_record, process_batch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Duration;
use uuid::Uuid;

const RECORDS: usize = 10_000;

/// A 10,000-record event in the shape Lambda sends, every record valid and with its own id.
fn event_json() -> String {
    let records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            let id = Uuid::from_u128(0x4d7c_0a52_8f1e_4b7a_9c3d_2e5f_0000_0000 + i as u128);
            let latitude = (i as f64 * 0.0173).rem_euclid(180.0) - 90.0;
            let longitude = (i as f64 * 0.0311).rem_euclid(360.0) - 180.0;
            let data = format!(
                "{{\"id\":\"{id}\",\"vehicle\":\"vehicle-{:05}\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":{latitude},\"longitude\":{longitude}}}\n",
                i % 300
            );
            let sequence_number = format!("4966048870513285612394520137186738327426016538766{i:07}");
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": id.to_string(),
                    "sequenceNumber": sequence_number,
                    "data": STANDARD.encode(data),
                    "approximateArrivalTimestamp": 1764252000.125,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000001:{sequence_number}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/consumeKinesisEvents",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream",
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

fn batch(c: &mut Criterion) {
    let json = event_json();
    let event: KinesisEvent = serde_json::from_str(&json).expect("the event deserialises");
    let batch = process_batch(&event.records);
    assert_eq!(
        batch.records.len(),
        RECORDS,
        "every record of the benchmark is valid and distinct"
    );

    let mut group = c.benchmark_group("batch_of_10000");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("deserialise_event", |b| {
        b.iter(|| serde_json::from_str::<KinesisEvent>(black_box(&json)).unwrap())
    });
    group.bench_function("parse_records", |b| {
        b.iter(|| {
            event
                .records
                .iter()
                .filter(|record| parse_record(black_box(&record.kinesis.data)).is_ok())
                .count()
        })
    });
    group.bench_function("process_batch", |b| b.iter(|| process_batch(black_box(&event.records))));
    group.bench_function("whole_batch", |b| {
        b.iter(|| {
            let event: KinesisEvent = serde_json::from_str(black_box(&json)).unwrap();
            process_batch(&event.records)
        })
    });
    group.bench_function("log_data", |b| b.iter(|| black_box(&batch).log()));
    group.finish();
}

criterion_group! {
    name = benches;
    // Modest samples: the machine is shared, and the ratios matter more than the last digit.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = batch
}
criterion_main!(benches);
