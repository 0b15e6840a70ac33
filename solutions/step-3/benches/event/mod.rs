//! The benchmarks' event: the largest batch an event source mapping sends, in the shape Lambda sends it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use uuid::Uuid;

pub const RECORDS: usize = 10_000;

/// A 10,000-record event in the shape Lambda sends, every record valid and with its own id.
pub fn event_json() -> String {
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
