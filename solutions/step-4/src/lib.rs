//! Step 4: Kinesis Data Firehose to S3 (being written).
