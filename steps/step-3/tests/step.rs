//! The tests of step 3. They run against your code in `steps/step-3` (`cargo xtask check step-3`) and, unchanged,
//! against the solution. No cloud is needed: the events are JSON files in `tests/fixtures/`, in the shape Lambda
//! sends them, and the handler is called the way the Lambda runtime calls it.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use consumer::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use uuid::Uuid;

/// Reads what a test logged (`logs::captured`); given machinery, in `tests/logs/mod.rs`.
mod logs;

/// AWS's documented example of a Kinesis event (as shipped with the `aws_lambda_events` crate). Its records say
/// "Hello World": not GPS records.
const AWS_EXAMPLE: &str = include_str!("fixtures/example-kinesis-event.json");
/// Three valid records from shard 0.
const VALID: &str = include_str!("fixtures/gps-valid.json");
/// Fifteen records from shard 1: four valid ones, one duplicate, ten that cannot be processed (see `MIXED_BAD`).
const MIXED: &str = include_str!("fixtures/gps-mixed.json");
/// Four records from shard 1: the producer sent record A three times (a retry after a timeout, say) and B once.
const DUPLICATES: &str = include_str!("fixtures/gps-duplicates.json");

/// The bad records of `gps-mixed.json`: sequence number, the `RecordError` variant expected, and what is wrong.
const MIXED_BAD: [(&str, &str, &str); 10] = [
    (
        "49660488705132856123945201371867383274260165387661016159",
        "NotJson",
        "the JSON is cut short",
    ),
    (
        "49660488705132856123945201371867383274260165387661024078",
        "OutOfRange",
        "latitude 91.2",
    ),
    (
        "49660488705132856123945201371867383274260165387661031997",
        "OutOfRange",
        "longitude -180.5",
    ),
    (
        "49660488705132856123945201371867383274260165387661039916",
        "NotAGpsRecord",
        "latitude is a string",
    ),
    (
        "49660488705132856123945201371867383274260165387661047835",
        "Empty",
        "no data at all",
    ),
    (
        "49660488705132856123945201371867383274260165387661055754",
        "NotAGpsRecord",
        "longitude is missing",
    ),
    (
        "49660488705132856123945201371867383274260165387661071592",
        "NotAGpsRecord",
        "the id is not a UUID",
    ),
    (
        "49660488705132856123945201371867383274260165387661087430",
        "NotJson",
        "gzip bytes, not text",
    ),
    (
        "49660488705132856123945201371867383274260165387661095349",
        "Empty",
        "a lone newline",
    ),
    (
        "49660488705132856123945201371867383274260165387661103268",
        "NotAGpsRecord",
        "JSON null",
    ),
];

const A: &str = "4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91";
const B: &str = "b3e1f2a4-5c6d-4e7f-8a9b-0c1d2e3f4a5b";
const C: &str = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f";
const D: &str = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d";

/// The vehicle and the time of every valid reading of the fixtures.
const VEHICLE: &str = "vehicle-00001";
const TIMESTAMP: &str = "2026-11-27T10:15:03.250Z";

fn gps(id: &str, latitude: f64, longitude: f64) -> GpsRecord {
    GpsRecord {
        id: Uuid::parse_str(id).unwrap(),
        vehicle: VEHICLE.to_owned(),
        timestamp: TIMESTAMP.to_owned(),
        latitude,
        longitude,
    }
}

/// The valid records of `gps-mixed.json`, in order, each id once.
fn mixed_good() -> Vec<GpsRecord> {
    vec![
        gps(A, 48.8566, 2.3522),
        gps(B, -33.8688, 151.2093),
        gps(C, 90.0, -180.0),
        gps(D, 0.0, 0.0),
    ]
}

fn event(fixture: &str) -> KinesisEvent {
    serde_json::from_str(fixture).expect("a fixture is a Kinesis event as Lambda sends it")
}

fn sequence_numbers(fixture: &str) -> Vec<String> {
    event(fixture)
        .records
        .into_iter()
        .map(|record| record.kinesis.sequence_number)
        .collect()
}

/// Calls the handler as the Lambda runtime does, the logs set up first as the function's `main` sets them (and as
/// `logs` needs: nothing may log before `logs::install`).
async fn invoke(fixture: &str) -> KinesisEventResponse {
    logs::install();
    handler(LambdaEvent::new(event(fixture), Context::default()))
        .await
        .expect("the handler reports bad records in its response; it never returns an error")
}

fn failed(response: &KinesisEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone().unwrap_or_default())
        .collect()
}

fn variant(error: &RecordError) -> &'static str {
    match error {
        RecordError::Empty => "Empty",
        RecordError::NotJson(_) => "NotJson",
        RecordError::NotAGpsRecord(_) => "NotAGpsRecord",
        RecordError::OutOfRange { .. } => "OutOfRange",
        RecordError::NoVehicle => "NoVehicle",
        RecordError::BadTimestamp(_) => "BadTimestamp",
    }
}

#[test]
fn validate_accepts_coordinates_up_to_the_bounds() {
    for (latitude, longitude) in [
        (0.0, 0.0),
        (-90.0, -180.0),
        (90.0, 180.0),
        (-90.0, 180.0),
        (90.0, -180.0),
        (-0.0, 179.999_999),
        (48.8566, 2.3522),
    ] {
        let record = gps(A, latitude, longitude);
        assert_eq!(
            record.clone().validate(),
            Ok(record),
            "({latitude}, {longitude}) is a valid position: the bounds are included"
        );
    }
}

#[test]
fn validate_rejects_coordinates_beyond_the_bounds_and_nan() {
    let beyond_latitude = [90.0_f64.next_up(), (-90.0_f64).next_down(), 90.1, -1e9];
    let beyond_longitude = [180.0_f64.next_up(), (-180.0_f64).next_down(), 180.5, 1e9];
    let not_finite = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

    for latitude in beyond_latitude.into_iter().chain(not_finite) {
        let error = gps(A, latitude, 0.0).validate();
        assert!(
            matches!(error, Err(RecordError::OutOfRange { field: "latitude", .. })),
            "latitude {latitude} must be rejected as OutOfRange {{ field: \"latitude\", .. }}, got {error:?}"
        );
    }
    for longitude in beyond_longitude.into_iter().chain(not_finite) {
        let error = gps(A, 0.0, longitude).validate();
        assert!(
            matches!(error, Err(RecordError::OutOfRange { field: "longitude", .. })),
            "longitude {longitude} must be rejected as OutOfRange {{ field: \"longitude\", .. }}, got {error:?}"
        );
    }
}

#[test]
fn validate_wants_a_vehicle_and_an_rfc_3339_timestamp() {
    for vehicle in ["", "  ", "\t"] {
        let record = GpsRecord {
            vehicle: vehicle.to_owned(),
            ..gps(A, 1.0, 2.0)
        };
        assert_eq!(record.validate(), Err(RecordError::NoVehicle), "vehicle {vehicle:?}");
    }
    for timestamp in [
        "2026-11-27T10:15:03Z",
        "2026-11-27T10:15:03.250Z",
        "2026-11-27t10:15:03.123456789z",
        "2026-11-27T10:15:03+01:00",
        "2024-02-29T23:59:60.5-08:30",
    ] {
        let record = GpsRecord {
            timestamp: timestamp.to_owned(),
            ..gps(A, 1.0, 2.0)
        };
        assert!(record.validate().is_ok(), "{timestamp} is RFC 3339");
    }
    for timestamp in [
        "",
        "yesterday",
        "2026-11-27",
        "2026-11-27 10:15",
        "2026-11-27T10:15:03",
        "2026-11-27T10:15:03.Z",
        "2026-13-01T10:15:03Z",
        "2025-02-29T10:15:03Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T10:15:03+1:00",
        "27/11/2026 10:15:03",
        "2026-11-27T10:15:03Z ",
    ] {
        let record = GpsRecord {
            timestamp: timestamp.to_owned(),
            ..gps(A, 1.0, 2.0)
        };
        assert!(
            matches!(record.validate(), Err(RecordError::BadTimestamp(_))),
            "{timestamp:?} is not RFC 3339"
        );
    }
}

#[test]
fn a_json_error_says_whether_the_data_is_json_at_all() {
    // What serde_json found wrong decides the reason: data that is not JSON (cut short, not JSON at all, something
    // after the object) or JSON of the wrong shape (a field missing or of the wrong type, `null`).
    let cases: [(&[u8], &str); 7] = [
        (br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","latitude":48.8"#, "NotJson"),
        (b"Hello World", "NotJson"),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":1,"longitude":2}{"id":"x"}"#,
            "NotJson",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":"48.8","longitude":2.3}"#,
            "NotAGpsRecord",
        ),
        (br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","latitude":1,"longitude":2}"#, "NotAGpsRecord"),
        (br#"{"id":"not-a-uuid","vehicle":"v","timestamp":"t","latitude":1,"longitude":2}"#, "NotAGpsRecord"),
        (b"null", "NotAGpsRecord"),
    ];
    for (data, expected) in cases {
        let text = String::from_utf8_lossy(data);
        let error = serde_json::from_slice::<GpsRecord>(data).expect_err("serde_json refuses every case");
        let message = error.to_string();
        let reason = RecordError::from(error);
        assert_eq!(
            variant(&reason),
            expected,
            "{text:?}: serde_json said {message:?}, which became {reason:?}"
        );
        let (RecordError::NotJson(carried) | RecordError::NotAGpsRecord(carried)) = &reason else {
            unreachable!("checked above")
        };
        assert_eq!(carried, &message, "{text:?}: the reason carries serde_json's message");
    }
}

#[test]
fn parse_record_reads_what_the_producer_writes() {
    let expected = gps(A, 48.8566, -2.3522);
    for data in [
        // What the producer of step 2 sends: one JSON object, nothing after it (Firehose adds the newline, in S3).
        format!(
            "{{\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":48.8566,\"longitude\":-2.3522}}"
        ),
        // A producer that ends its lines itself, whitespace around the object, a Windows line ending, pretty-printed
        // JSON: all fine.
        format!(
            "{{\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":48.8566,\"longitude\":-2.3522}}\n"
        ),
        format!(
            "{{\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":48.8566,\"longitude\":-2.3522}}\r\n  \t"
        ),
        format!(
            "  {{\n  \"id\": \"{A}\",\n  \"vehicle\": \"vehicle-00001\",\n  \"timestamp\": \"2026-11-27T10:15:03.250Z\",\n  \"latitude\": 48.8566,\n  \"longitude\": -2.3522\n}}\n"
        ),
        // A field this consumer does not know is tolerated: a newer producer must not break an older consumer.
        format!(
            "{{\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":48.8566,\"longitude\":-2.3522,\"speed\":12.5}}\n"
        ),
        // Fields in another order.
        format!(
            "{{\"longitude\":-2.3522,\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":48.8566}}"
        ),
    ] {
        assert_eq!(
            parse_record(data.as_bytes()),
            Ok(expected.clone()),
            "parse_record({data:?})"
        );
    }
    assert_eq!(
        parse_record(format!("{{\"id\":\"{A}\",\"vehicle\":\"vehicle-00001\",\"timestamp\":\"2026-11-27T10:15:03.250Z\",\"latitude\":-90,\"longitude\":180}}\n").as_bytes()),
        Ok(gps(A, -90.0, 180.0)),
        "integers are numbers too, and the bounds are valid"
    );
}

#[test]
fn parse_record_names_what_is_wrong_with_a_bad_record() {
    let cases: [(&[u8], &str); 17] = [
        (b"", "Empty"),
        (b"\n", "Empty"),
        (b"  \r\n\t ", "Empty"),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":48.8"#,
            "NotJson",
        ),
        (b"Hello World", "NotJson"),
        (&[0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe], "NotJson"),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":1,"longitude":2}{"id":"x"}"#,
            "NotJson",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":"48.8","longitude":2.3}"#,
            "NotAGpsRecord",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":48.8}"#,
            "NotAGpsRecord",
        ),
        (
            br#"{"id":"not-a-uuid","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":48.8,"longitude":2.3}"#,
            "NotAGpsRecord",
        ),
        (br#"{"id":42,"latitude":48.8,"longitude":2.3}"#, "NotAGpsRecord"),
        (b"null", "NotAGpsRecord"),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":-91,"longitude":2.3}"#,
            "OutOfRange",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":1,"longitude":180.01}"#,
            "OutOfRange",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"","timestamp":"2026-11-27T10:15:03.250Z","latitude":1,"longitude":2}"#,
            "NoVehicle",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"soon","latitude":1,"longitude":2}"#,
            "BadTimestamp",
        ),
        (
            br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","latitude":1,"longitude":2}"#,
            "NotAGpsRecord",
        ),
    ];
    for (data, expected) in cases {
        let text = String::from_utf8_lossy(data);
        match parse_record(data) {
            Ok(record) => panic!("parse_record({text:?}) must fail with {expected}, not return {record:?}"),
            Err(error) => {
                assert_eq!(
                    variant(&error),
                    expected,
                    "parse_record({text:?}) failed with {error:?}"
                );
                assert!(
                    error.to_string().len() > 10,
                    "the error says why: {error:?} displays as {:?}",
                    error.to_string()
                );
            }
        }
    }
    let missing = parse_record(br#"{"id":"4d7c0a52-8f1e-4b7a-9c3d-2e5f6a7b8c91","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":1}"#).unwrap_err();
    assert!(
        missing.to_string().contains("longitude"),
        "the reason names the missing field: {missing}"
    );
}

#[test]
fn process_batch_keeps_good_records_and_rejects_bad_ones() {
    let batch = process_batch(&event(MIXED).records);

    assert_eq!(batch.records, mixed_good(), "the valid records, in order, each id once");
    assert_eq!(batch.duplicates, 1, "record A arrives twice: one duplicate");
    let rejected: Vec<(&str, &str)> = batch
        .rejected
        .iter()
        .map(|rejected| (rejected.sequence_number.as_str(), variant(&rejected.error)))
        .collect();
    let expected: Vec<(&str, &str)> = MIXED_BAD.iter().map(|(sequence, kind, _)| (*sequence, *kind)).collect();
    assert_eq!(
        rejected, expected,
        "each bad record, by its exact sequence number, with the reason's variant"
    );
}

#[test]
fn process_batch_processes_a_duplicate_once_and_does_not_fail_it() {
    let batch = process_batch(&event(DUPLICATES).records);
    assert_eq!(
        batch.records,
        vec![gps(A, 48.8566, 2.3522), gps(B, -33.8688, 151.2093)],
        "A is processed the first time only"
    );
    assert_eq!(batch.duplicates, 2, "the second and third A are duplicates");
    assert!(
        batch.rejected.is_empty(),
        "a duplicate is not a failure: reporting it would make Lambda deliver it again; rejected: {:?}",
        batch.rejected
    );

    let batch = process_batch(&event(VALID).records);
    assert_eq!(batch.records.len(), 3);
    assert_eq!(batch.duplicates, 0, "different ids are not duplicates");
    assert!(batch.rejected.is_empty(), "rejected: {:?}", batch.rejected);
}

#[test]
fn process_batch_is_logged_as_one_json_line() {
    let batch = process_batch(&event(MIXED).records);
    let text = logs::captured(|| batch.log());

    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}")))
        .collect();
    let summaries: Vec<&Value> = lines.iter().filter(|line| line["level"] == "INFO").collect();
    assert_eq!(summaries.len(), 1, "one INFO line per batch:\n{text}");
    let summary = summaries[0];
    assert_eq!(summary["count"], 4, "count: the records processed\n{summary}");
    assert_eq!(summary["duplicates"], 1, "{summary}");
    assert_eq!(summary["rejected"], 10, "{summary}");
    let data: Vec<GpsRecord> = serde_json::from_str(summary["data"].as_str().expect("data is a JSON array, as text"))
        .expect("data holds the records");
    assert_eq!(data, mixed_good(), "data: the records processed");

    let warnings: Vec<&Value> = lines.iter().filter(|line| line["level"] == "WARN").collect();
    assert_eq!(
        warnings.len(),
        MIXED_BAD.len(),
        "one warning per rejected record:\n{text}"
    );
    for (warning, (sequence_number, _, _)) in warnings.iter().zip(MIXED_BAD) {
        assert_eq!(warning["sequence_number"], sequence_number, "{warning}");
        assert!(
            warning["reason"].as_str().is_some_and(|reason| !reason.is_empty()),
            "the warning gives the reason: {warning}"
        );
    }
}

#[tokio::test]
async fn handler_reports_exactly_the_bad_sequence_numbers() {
    let response = invoke(MIXED).await;
    let expected: Vec<String> = MIXED_BAD
        .iter()
        .map(|(sequence, _, _)| (*sequence).to_owned())
        .collect();
    assert_eq!(
        failed(&response),
        expected,
        "batchItemFailures lists the bad records and nothing else: not the good ones, not the duplicate"
    );
}

#[tokio::test]
async fn handler_reports_no_failure_for_a_good_batch() {
    for fixture in [VALID, DUPLICATES] {
        let response = invoke(fixture).await;
        assert_eq!(
            failed(&response),
            Vec::<String>::new(),
            "every record was processed (duplicates once): an empty batchItemFailures tells Lambda to move on"
        );
    }
}

#[tokio::test]
async fn handler_survives_aws_example_event() {
    // AWS's example records carry "Hello World": each one is reported, with its own sequence number.
    let response = invoke(AWS_EXAMPLE).await;
    assert_eq!(failed(&response), sequence_numbers(AWS_EXAMPLE));
    assert_eq!(
        failed(&response),
        vec![
            "49568167373333333333333333333333333333333333333333333333",
            "49568167373333333334444444444444444444444444444444444444",
        ]
    );
}

#[tokio::test]
async fn handler_response_is_the_json_lambda_expects() {
    let response = invoke(AWS_EXAMPLE).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({
            "batchItemFailures": [
                { "itemIdentifier": "49568167373333333333333333333333333333333333333333333333" },
                { "itemIdentifier": "49568167373333333334444444444444444444444444444444444444" },
            ]
        })
    );
    let response = invoke(VALID).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({ "batchItemFailures": [] }),
        "an empty list: the whole batch succeeded"
    );
}

/// The whole loop, as on AWS: records put into a stream, read by the local cloud's event source mapping (with
/// ReportBatchItemFailures and a retry limit), and given to this crate's own `consumer` binary in batches.
#[tokio::test]
async fn through_an_event_source_mapping_a_bad_record_is_retried_and_good_ones_are_kept() {
    use aws_sdk_lambda::types::{EventSourcePosition, FunctionResponseType};
    use lab_cloud::testing::LocalFunction;

    // The handler must answer this batch itself first: the mapping only carries its answer out.
    let direct = invoke(MIXED).await;
    assert!(!failed(&direct).is_empty(), "the mixed batch has bad records to report");

    let config = lab_testkit::local_aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let stream_arn = lab_cloud::testing::one_shard_stream(&config, "consumer-e2e")
        .await
        .unwrap();
    // The function: registered in the Lambda API, its code this crate's own `consumer` executable.
    let function = LocalFunction::register(&config, "consumer", env!("CARGO_BIN_EXE_consumer").as_ref(), &[]);
    let function = function.await.unwrap();
    aws_sdk_lambda::Client::new(&config)
        .create_event_source_mapping()
        .function_name(&function.name)
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(10)
        // No batching window (Kinesis' default): the records are all in the stream before the mapping starts, and
        // a window would add its wait to every retry.
        .maximum_batching_window_in_seconds(0)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .maximum_retry_attempts(2)
        .send()
        .await
        .unwrap();

    let good = [A, B, C, D];
    let mut data: Vec<String> = good[..2]
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":1.5,"longitude":2.5}}"#))
        .collect();
    data.push("not a GPS record".to_owned());
    data.extend(
        good[2..]
            .iter()
            .map(|id| format!(r#"{{"id":"{id}","vehicle":"vehicle-00001","timestamp":"2026-11-27T10:15:03.250Z","latitude":-3.5,"longitude":4.5}}"#)),
    );
    let mut sequences = vec![];
    for text in &data {
        let blob = aws_sdk_kinesis::primitives::Blob::new(format!("{text}\n"));
        let put = kinesis
            .put_record()
            .stream_arn(&stream_arn)
            .partition_key("one-shard")
            .data(blob)
            .send()
            .await
            .unwrap();
        sequences.push(put.sequence_number);
    }

    let mut supervisor = function.supervisor(&config).await.unwrap();

    // Wait (bounded) until the bad record has used up its retries.
    let started = std::time::Instant::now();
    let stats = loop {
        let stats = supervisor
            .all_stats()
            .into_iter()
            .map(|(_, stats)| stats)
            .next()
            .expect("the mapping runs");
        let given_up = stats.records_given_up.load(std::sync::atomic::Ordering::Relaxed);
        if given_up > 0 || started.elapsed() > std::time::Duration::from_secs(30) {
            break stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    supervisor.shutdown();
    // The check cloud serves the next check too: a stream left there keeps its shard counted against the account's
    // 500 (AWS's limit, which the local cloud enforces).
    kinesis.delete_stream().stream_arn(&stream_arn).send().await.unwrap();
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);

    // 1 invocation with the whole batch, then 2 retries starting at the bad record, then it is given up.
    assert_eq!(
        load(&stats.invocations),
        3,
        "one batch and MaximumRetryAttempts = 2 retries"
    );
    assert_eq!(
        load(&stats.records_reported_failed),
        3,
        "the bad record was reported by every invocation"
    );
    assert_eq!(
        load(&stats.records_done),
        2,
        "the records before the bad one were checkpointed after the first call"
    );
    let failures = function.failure_records();
    assert_eq!(failures.len(), 1, "one batch given up: {failures:?}");
    let failure = &failures[0];
    assert_eq!(
        failure["KinesisBatchInfo"]["startSequenceNumber"],
        sequences[2].as_str(),
        "given up from the bad record"
    );

    // Good records are not lost: every one was processed (logged in a batch) by the function at least once.
    let log = function.log();
    for id in good {
        assert!(log.contains(id), "{id} was processed: {log}");
    }
}
