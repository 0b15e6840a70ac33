//! The poison scenario's redrive reads a given-up batch back from the stream by the range its on-failure record
//! names: exactly the records from its first sequence number to its last.

use aws_sdk_kinesis::primitives::Blob;
use lab_cloud::commands::lab::scenario::read_range;

#[tokio::test]
async fn a_given_up_range_is_read_back_from_its_first_record_to_its_last() {
    let config = lab_testkit::local_aws().await;
    let stream_arn = lab_cloud::testing::one_shard_stream(&config, "redrive").await.unwrap();
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    lab_cloud::aws::wait_for(std::time::Duration::from_secs(30), || async {
        let summary = kinesis.describe_stream_summary().stream_arn(&stream_arn).send().await;
        summary
            .ok()
            .and_then(|s| s.stream_description_summary)
            .map(|d| d.stream_status)
            == Some(aws_sdk_kinesis::types::StreamStatus::Active)
    })
    .await
    .unwrap();
    let mut sequences = vec![];
    for n in 0..10 {
        let put = kinesis
            .put_record()
            .stream_arn(&stream_arn)
            .partition_key("k")
            .data(Blob::new(format!("record-{n}")))
            .send()
            .await
            .unwrap();
        sequences.push(put.sequence_number);
    }
    let shard = "shardId-000000000000";
    let range = read_range(&kinesis, &stream_arn, shard, &sequences[3], &sequences[6])
        .await
        .unwrap();
    let data: Vec<String> = range
        .iter()
        .map(|r| String::from_utf8_lossy(r.data.as_ref()).into_owned())
        .collect();
    assert_eq!(data, ["record-3", "record-4", "record-5", "record-6"]);
    let _ = kinesis.delete_stream().stream_arn(&stream_arn).send().await;
}
