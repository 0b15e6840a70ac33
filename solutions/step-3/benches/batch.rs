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
use consumer::{parse_record, process_batch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

mod event;
use event::{RECORDS, event_json};

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
