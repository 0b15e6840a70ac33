//! The control-plane operations: streams made, described, listed, changed and deleted, each as its page of the
//! Kinesis API Reference (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_<Operation>.html>) says.

use super::lifecycle::{self, Pending, Status};
use super::store::{ACCOUNT, Encryption, Mode, Stream, StreamKey, lock, uniform_ranges};
use super::validation::{self as v, Violations};
use super::{Answer, Context, Kinesis, invalid_argument, not_active, require_active, stream_not_found, timestamp};
use crate::gateway::errors::AwsError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Open shards an on-demand stream starts with ("a new on-demand stream ... 4 MB/s of write ... capacity",
/// <https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html>: four shards).
const ON_DEMAND_SHARDS: u32 = 4;
/// Tags a stream may carry ("Tagging your streams": "Maximum number of tags per resource: 50").
const MAX_TAGS: usize = 50;
/// `UpdateShardCount`'s calls per stream per rolling 24 hours.
const SCALINGS_PER_DAY: usize = 10;
const DAY_MS: u64 = 24 * 3_600_000;
/// A `ListShards` `NextToken` is valid for 300 seconds (API_ListShards, `NextToken`).
const NEXT_TOKEN_LIFETIME_MS: u64 = 300_000;

/// The account's default shard quota in a region ("Quotas and limits",
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>: 500 in US East (N. Virginia), US
/// West (Oregon) and Europe (Ireland), 200 elsewhere).
pub fn shard_quota(region: &str) -> usize {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => 500,
        _ => 200,
    }
}

/// The stream a request names by `StreamName` or `StreamARN` (validated already), in the request's region.
pub(crate) fn stream_key(c: &Context<'_>) -> Result<StreamKey, AwsError> {
    let name = v::string(c.body, "StreamName")?;
    let arn = v::string(c.body, "StreamARN")?;
    let from_arn = arn.and_then(v::stream_arn_parts);
    match (name, from_arn) {
        (Some(name), Some((_, _, arn_name))) if name != arn_name => Err(invalid_argument(format!(
            "StreamARN {} and StreamName {name} name different streams.",
            arn.unwrap_or_default()
        ))),
        (_, Some((region, account, arn_name))) => {
            let key = StreamKey {
                region: region.to_owned(),
                name: arn_name.to_owned(),
            };
            if account == ACCOUNT {
                Ok(key)
            } else {
                Err(stream_not_found(&key))
            }
        }
        (Some(name), None) => Ok(StreamKey {
            region: c.region().to_owned(),
            name: name.to_owned(),
        }),
        (None, None) => Err(invalid_argument("Either StreamName or StreamARN must be provided.")),
    }
}

/// `StreamName`/`StreamARN` and the other members' constraints, then the stream's key.
fn checked_key(
    c: &Context<'_>,
    more: impl FnOnce(&mut Violations) -> Result<(), AwsError>,
) -> Result<StreamKey, AwsError> {
    let mut violations = Violations::default();
    v::stream_members(&mut violations, c.body)?;
    more(&mut violations)?;
    violations.finish()?;
    stream_key(c)
}

pub(crate) fn shard_json(stream: &Stream, shard: &super::store::Shard) -> Value {
    let starting = shard.sequence(stream.created_ms, 0, shard.created_ms).encode();
    let mut range = json!({ "StartingSequenceNumber": starting });
    if let Some(closed) = shard.closed {
        range["EndingSequenceNumber"] = shard
            .sequence(stream.created_ms, closed.ending_position, closed.at_ms)
            .encode()
            .into();
    }
    let mut json = json!({
        "ShardId": shard.id,
        "HashKeyRange": {
            "StartingHashKey": shard.first_hash_key.to_string(),
            "EndingHashKey": shard.last_hash_key.to_string(),
        },
        "SequenceNumberRange": range,
    });
    if let Some(parent) = &shard.parent {
        json["ParentShardId"] = parent.clone().into();
    }
    if let Some(adjacent) = &shard.adjacent_parent {
        json["AdjacentParentShardId"] = adjacent.clone().into();
    }
    json
}

/// What `DescribeStream` and `DescribeStreamSummary` share.
fn description_common(stream: &Stream) -> Value {
    let mut json = json!({
        "StreamName": stream.key.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status.name(),
        "StreamModeDetails": { "StreamMode": stream.mode.name() },
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": timestamp(stream.created_ms),
        "EnhancedMonitoring": [{ "ShardLevelMetrics": stream.shard_level_metrics.iter().collect::<Vec<_>>() }],
        "EncryptionType": if stream.encryption.is_some() { "KMS" } else { "NONE" },
    });
    if let Some(encryption) = &stream.encryption {
        json["KeyId"] = encryption.key_id.clone().into();
    }
    json
}

/// The shards a stream lists: none while it is CREATING.
fn listed_shards(stream: &Stream) -> Vec<&super::store::Shard> {
    if stream.status == Status::Creating {
        return vec![];
    }
    let mut shards: Vec<_> = stream.shards.iter().collect();
    shards.sort_by_key(|shard| shard.index);
    shards
}

impl Kinesis {
    /// `CreateStream` (API_CreateStream): PROVISIONED with `ShardCount` (at least 1), or ON_DEMAND (four shards);
    /// CREATING for the lifecycle's duration; within the account's shard quota; a name in use (even DELETING) is
    /// refused with `ResourceInUseException`.
    pub(super) async fn create_stream(&self, c: &Context<'_>) -> Answer {
        let mut violations = Violations::default();
        let name = v::string(c.body, "StreamName")?;
        violations.not_null("streamName", name.is_some());
        violations.text("streamName", name, 1, 128, Some(v::STREAM_NAME_PATTERN));
        let shard_count = v::integer(c.body, "ShardCount")?;
        violations.range("shardCount", shard_count, 1, 100_000);
        let mode = c.body.pointer("/StreamModeDetails/StreamMode").and_then(Value::as_str);
        violations.one_of("streamModeDetails.streamMode", mode, &["PROVISIONED", "ON_DEMAND"]);
        let tags = tag_map(c.body, &mut violations)?;
        violations.finish()?;
        let key = StreamKey {
            region: c.region().to_owned(),
            name: name.unwrap_or_default().to_owned(),
        };
        let (mode, shards) = match (mode, shard_count) {
            (Some("ON_DEMAND"), None) => (Mode::OnDemand, ON_DEMAND_SHARDS),
            (Some("ON_DEMAND"), Some(_)) => {
                return Err(invalid_argument(
                    "ShardCount must not be given for a stream in ON_DEMAND mode.",
                ));
            }
            (_, Some(count)) => (Mode::Provisioned, count as u32),
            (_, None) => {
                return Err(invalid_argument(
                    "ShardCount is required for a stream in PROVISIONED mode.",
                ));
            }
        };
        self.check_quota(c.region(), shards as usize, c.now_ms)?;
        let stream = self.new_stream(key.clone(), mode, shards, tags, c.now_ms);
        if !self.store.insert_new(stream) {
            return Err(AwsError::bad_request(
                "ResourceInUseException",
                format!("Stream {} under account {ACCOUNT} already exists.", key.name),
            ));
        }
        if let Err(why) = self.register(c.call, &key).await {
            self.store.remove(&key);
            return Err(AwsError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                format!(
                    "the local cloud could not register stream {} with its emulator: {why}",
                    key.name
                ),
            ));
        }
        // "Kinesis Data Streams immediately returns and sets StreamStatus to CREATING" (API_CreateStream): the
        // CREATING a caller sees lasts the whole lifecycle from the answer on, however long the emulator took to
        // register the stream's twin (a cold or busy moto can take longer than a short lifecycle).
        if let Some(stream) = self.store.get(&key) {
            let mut stream = lock(&stream);
            if stream.status == Status::Creating {
                stream.ready_at_ms = self.now_ms() + self.lifecycle_ms;
            }
        }
        Ok(json!({}))
    }

    fn new_stream(
        &self,
        key: StreamKey,
        mode: Mode,
        shards: u32,
        tags: BTreeMap<String, String>,
        now_ms: u64,
    ) -> Stream {
        let mut stream = Stream {
            arn: key.arn(),
            key,
            created_ms: now_ms,
            status: Status::Creating,
            ready_at_ms: now_ms + self.lifecycle_ms,
            pending: None,
            mode,
            retention_hours: 24,
            tags,
            shard_level_metrics: Default::default(),
            encryption: None,
            shards: vec![],
            next_shard_index: 0,
            scalings_ms: vec![],
        };
        for range in uniform_ranges(shards) {
            stream.add_shard(range, now_ms, (None, None));
        }
        lifecycle::advance(&mut stream, now_ms);
        stream
    }

    /// `LimitExceededException` when `more` open shards would pass the region's quota (kinesalite's record of
    /// AWS's message).
    fn check_quota(&self, region: &str, more: usize, now_ms: u64) -> Result<(), AwsError> {
        let current: usize = self
            .store
            .all()
            .iter()
            .map(|stream| {
                let stream = lock(stream);
                let counts =
                    stream.key.region == region && !(stream.status == Status::Deleting && stream.ready_at_ms <= now_ms);
                if counts { stream.open_shard_count() } else { 0 }
            })
            .sum();
        let limit = shard_quota(region);
        if current + more <= limit {
            return Ok(());
        }
        Err(AwsError::bad_request(
            "LimitExceededException",
            format!(
                "This request would exceed the shard limit for the account {ACCOUNT} in {region}. Current shard count \
                 for the account: {current}. Limit: {limit}. Number of additional shards that would have resulted \
                 from this request: {more}. Refer to the AWS Service Limits page \
                 (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to \
                 request higher limits."
            ),
        ))
    }

    /// `DeleteStream` (API_DeleteStream): DELETING for the lifecycle's duration, then gone; a CREATING stream
    /// cannot be deleted yet (`ResourceInUseException`). `EnforceConsumerDeletion` changes nothing: the local cloud
    /// has no consumers.
    pub(super) async fn delete_stream(&self, c: &Context<'_>) -> Answer {
        let key = checked_key(c, |_| v::boolean(c.body, "EnforceConsumerDeletion").map(|_| ()))?;
        let lifecycle_ms = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            if matches!(stream.status, Status::Creating | Status::Deleting) {
                return Err(not_active(stream));
            }
            stream.status = Status::Deleting;
            stream.pending = None;
            stream.ready_at_ms = c.now_ms + lifecycle_ms;
            Ok(())
        })?;
        // Gone at once when the lifecycle takes no time.
        let _ = self.stream(&key, c.now_ms);
        self.deregister(c.call, &key).await;
        Ok(json!({}))
    }

    /// `DescribeStream` (API_DescribeStream): up to `Limit` shards (1 to 10,000; 100 by default) after
    /// `ExclusiveStartShardId`, closed ones included, and `HasMoreShards`.
    pub(super) fn describe_stream(&self, c: &Context<'_>) -> Answer {
        let limit = v::integer(c.body, "Limit")?;
        let start = v::string(c.body, "ExclusiveStartShardId")?;
        let key = checked_key(c, |violations| {
            violations.range("limit", limit, 1, 10_000);
            violations.text("exclusiveStartShardId", start, 1, 128, Some(v::STREAM_NAME_PATTERN));
            Ok(())
        })?;
        self.with_stream(&key, c.now_ms, |stream| {
            let after: Vec<_> = listed_shards(stream)
                .into_iter()
                .filter(|shard| start.is_none_or(|start| shard.id.as_str() > start))
                .collect();
            let limit = limit.unwrap_or(100) as usize;
            let mut description = description_common(stream);
            let shards: Vec<Value> = after
                .iter()
                .take(limit)
                .map(|shard| shard_json(stream, shard))
                .collect();
            description["Shards"] = shards.into();
            description["HasMoreShards"] = (after.len() > limit).into();
            Ok(json!({ "StreamDescription": description }))
        })
    }

    /// `DescribeStreamSummary` (API_DescribeStreamSummary).
    pub(super) fn describe_stream_summary(&self, c: &Context<'_>) -> Answer {
        let key = checked_key(c, |_| Ok(()))?;
        self.with_stream(&key, c.now_ms, |stream| {
            let mut summary = description_common(stream);
            let open = if stream.status == Status::Creating {
                0
            } else {
                stream.open_shard_count()
            };
            summary["OpenShardCount"] = open.into();
            summary["ConsumerCount"] = 0.into();
            Ok(json!({ "StreamDescriptionSummary": summary }))
        })
    }

    /// `ListStreams` (API_ListStreams): the region's streams by name, `Limit` (1 to 10,000; 100 by default) after
    /// `ExclusiveStartStreamName` or the `NextToken` of the previous page, with `StreamSummaries`.
    pub(super) fn list_streams(&self, c: &Context<'_>) -> Answer {
        let limit = v::integer(c.body, "Limit")?;
        let start = v::string(c.body, "ExclusiveStartStreamName")?;
        let token = v::string(c.body, "NextToken")?;
        let mut violations = Violations::default();
        violations.range("limit", limit, 1, 10_000);
        violations.text("exclusiveStartStreamName", start, 1, 128, Some(v::STREAM_NAME_PATTERN));
        violations.text("nextToken", token, 1, 1048576, None);
        violations.finish()?;
        let after = match token {
            Some(token) => {
                Some(decode_token(token, "ListStreams").ok_or_else(|| invalid_argument("Invalid NextToken."))?)
            }
            None => start.map(str::to_owned),
        };
        let mut streams: Vec<Value> = self
            .store
            .all()
            .into_iter()
            .filter_map(|stream| {
                let key = lock(&stream).key.clone();
                let stream = self.stream(&key, c.now_ms).ok()?;
                let stream = lock(&stream);
                let listed = key.region == c.region() && after.as_ref().is_none_or(|after| &key.name > after);
                listed.then(|| {
                    json!({
                        "StreamName": key.name,
                        "StreamARN": stream.arn,
                        "StreamStatus": stream.status.name(),
                        "StreamModeDetails": { "StreamMode": stream.mode.name() },
                        "StreamCreationTimestamp": timestamp(stream.created_ms),
                    })
                })
            })
            .collect();
        streams.sort_by(|a, b| a["StreamName"].as_str().cmp(&b["StreamName"].as_str()));
        let limit = limit.unwrap_or(100) as usize;
        let more = streams.len() > limit;
        streams.truncate(limit);
        let names: Vec<Value> = streams.iter().map(|s| s["StreamName"].clone()).collect();
        let mut answer = json!({ "StreamNames": names, "HasMoreStreams": more, "StreamSummaries": streams });
        if let (true, Some(last)) = (more, names.last().and_then(Value::as_str)) {
            answer["NextToken"] = encode_token("ListStreams", last).into();
        }
        Ok(answer)
    }

    /// `ListShards` (API_ListShards).
    pub(super) fn list_shards(&self, c: &Context<'_>) -> Answer {
        let listing = super::list_shards::Listing::read(c)?;
        listing.answer(self, c)
    }

    /// `SplitShard` (API_SplitShard): the stream must be ACTIVE; the shard open; `NewStartingHashKey` strictly
    /// inside its range (kinesalite's record of AWS's check and message); one more open shard within the quota.
    pub(super) fn split_shard(&self, c: &Context<'_>) -> Answer {
        let shard_id = v::string(c.body, "ShardToSplit")?;
        let new_start = v::string(c.body, "NewStartingHashKey")?;
        let key = checked_key(c, |violations| {
            violations.not_null("shardToSplit", shard_id.is_some());
            violations.text("shardToSplit", shard_id, 1, 128, Some(v::STREAM_NAME_PATTERN));
            violations.not_null("newStartingHashKey", new_start.is_some());
            violations.text("newStartingHashKey", new_start, 1, 39, Some(v::HASH_KEY_PATTERN));
            Ok(())
        })?;
        let (shard_id, new_start) = (shard_id.unwrap_or_default(), new_start.unwrap_or_default());
        self.check_quota(c.region(), 1, c.now_ms)?;
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            let shard = open_shard(stream, shard_id)?;
            let hash_key: Option<u128> = new_start.parse().ok();
            let inside = hash_key.filter(|&k| k > shard.first_hash_key.saturating_add(1) && k < shard.last_hash_key);
            let Some(hash_key) = inside else {
                return Err(invalid_argument(format!(
                    "NewStartingHashKey {new_start} used in SplitShard() on shard {shard_id} in stream {} under account \
                     {ACCOUNT} is not both greater than one plus the shard's StartingHashKey {} and less than the \
                     shard's EndingHashKey {}.",
                    key.name, shard.first_hash_key, shard.last_hash_key
                )));
            };
            let pending = Pending::Split {
                shard: shard_id.to_owned(),
                new_starting_hash_key: hash_key,
            };
            lifecycle::start_update(stream, Some(pending), c.now_ms, duration);
            Ok(json!({}))
        })
    }

    /// `MergeShards` (API_MergeShards): two open shards whose ranges touch ("adjacent if the union of the hash key
    /// ranges for the two shards form a contiguous set with no gaps").
    pub(super) fn merge_shards(&self, c: &Context<'_>) -> Answer {
        let first = v::string(c.body, "ShardToMerge")?;
        let second = v::string(c.body, "AdjacentShardToMerge")?;
        let key = checked_key(c, |violations| {
            for (at, value) in [("shardToMerge", first), ("adjacentShardToMerge", second)] {
                violations.not_null(at, value.is_some());
                violations.text(at, value, 1, 128, Some(v::STREAM_NAME_PATTERN));
            }
            Ok(())
        })?;
        let (first, second) = (first.unwrap_or_default(), second.unwrap_or_default());
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            let (a, b) = (open_shard(stream, first)?, open_shard(stream, second)?);
            let adjacent = a.last_hash_key.checked_add(1) == Some(b.first_hash_key)
                || b.last_hash_key.checked_add(1) == Some(a.first_hash_key);
            if !adjacent {
                return Err(invalid_argument(format!(
                    "Shards {first} and {second} in stream {} under account {ACCOUNT} are not an adjacent pair of \
                     shards eligible for merging",
                    key.name
                )));
            }
            let pending = Pending::Merge {
                shard: first.to_owned(),
                adjacent: second.to_owned(),
            };
            lifecycle::start_update(stream, Some(pending), c.now_ms, duration);
            Ok(json!({}))
        })
    }

    /// `UpdateShardCount` (API_UpdateShardCount): UNIFORM_SCALING of a PROVISIONED, ACTIVE stream; by default AWS
    /// refuses to "scale more than ten times per rolling 24-hour period per stream", "scale up to more than double
    /// your current shard count", "scale down below half your current shard count", or past the account's quota.
    pub(super) fn update_shard_count(&self, c: &Context<'_>) -> Answer {
        let target = v::integer(c.body, "TargetShardCount")?;
        let scaling = v::string(c.body, "ScalingType")?;
        let key = checked_key(c, |violations| {
            violations.not_null("targetShardCount", target.is_some());
            violations.range("targetShardCount", target, 1, 100_000);
            violations.not_null("scalingType", scaling.is_some());
            violations.one_of("scalingType", scaling, &["UNIFORM_SCALING"]);
            Ok(())
        })?;
        let target = target.unwrap_or(1) as u32;
        let open = self.with_stream(&key, c.now_ms, |stream| Ok(stream.open_shard_count()))?;
        self.check_quota(c.region(), (target as usize).saturating_sub(open), c.now_ms)?;
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            check_scaling(stream, target, c.now_ms)?;
            stream.scalings_ms.push(c.now_ms);
            lifecycle::start_update(stream, Some(Pending::Scale { target }), c.now_ms, duration);
            Ok(json!({
                "StreamName": stream.key.name,
                "StreamARN": stream.arn,
                "CurrentShardCount": open,
                "TargetShardCount": target,
            }))
        })
    }

    /// `IncreaseStreamRetentionPeriod` / `DecreaseStreamRetentionPeriod`: 24 to 8,760 hours, only up (or down);
    /// the stream is UPDATING for the lifecycle's duration. Kinesalite records AWS's messages.
    pub(super) fn change_retention(&self, c: &Context<'_>, increase: bool) -> Answer {
        let hours = v::integer(c.body, "RetentionPeriodHours")?;
        let key = checked_key(c, |violations| {
            violations.not_null("retentionPeriodHours", hours.is_some());
            violations.range("retentionPeriodHours", hours, 1, 2_147_483_647);
            Ok(())
        })?;
        let hours = hours.unwrap_or(24);
        if hours < 24 {
            return Err(invalid_argument(format!(
                "Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is too short."
            )));
        }
        if hours > 8760 {
            return Err(invalid_argument(format!(
                "Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is too long."
            )));
        }
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            let current = i64::from(stream.retention_hours);
            let (wrong_way, word, other) = if increase {
                (hours < current, "shorter", "DecreaseRetentionPeriod")
            } else {
                (hours > current, "longer", "IncreaseRetentionPeriod")
            };
            if wrong_way {
                return Err(invalid_argument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be {word} than existing \
                     retention period ({current} hours). Use {other} API.",
                    key.name
                )));
            }
            stream.retention_hours = hours as u32;
            lifecycle::start_update(stream, None, c.now_ms, duration);
            Ok(json!({}))
        })
    }

    /// `UpdateStreamMode` (API_UpdateStreamMode): by `StreamARN`; the stream must be ACTIVE; UPDATING meanwhile.
    pub(super) fn update_stream_mode(&self, c: &Context<'_>) -> Answer {
        let arn = v::string(c.body, "StreamARN")?;
        let mode = c.body.pointer("/StreamModeDetails/StreamMode").and_then(Value::as_str);
        let key = checked_key(c, |violations| {
            violations.not_null("streamARN", arn.is_some());
            violations.not_null("streamModeDetails.streamMode", mode.is_some());
            violations.one_of("streamModeDetails.streamMode", mode, &["PROVISIONED", "ON_DEMAND"]);
            Ok(())
        })?;
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            stream.mode = if mode == Some("ON_DEMAND") {
                Mode::OnDemand
            } else {
                Mode::Provisioned
            };
            lifecycle::start_update(stream, None, c.now_ms, duration);
            Ok(json!({}))
        })
    }

    /// `DescribeLimits` (API_DescribeLimits): the region's shard quota and open shards, and the on-demand streams
    /// (AWS's default quota of on-demand streams per account: 50).
    pub(super) fn describe_limits(&self, c: &Context<'_>) -> Answer {
        let (mut open, mut on_demand) = (0, 0);
        for stream in self.store.all() {
            let stream = lock(&stream);
            if stream.key.region == c.region() && stream.status != Status::Deleting {
                open += stream.open_shard_count();
                on_demand += usize::from(stream.mode == Mode::OnDemand);
            }
        }
        Ok(json!({
            "ShardLimit": shard_quota(c.region()),
            "OpenShardCount": open,
            "OnDemandStreamCount": on_demand,
            "OnDemandStreamCountLimit": 50,
        }))
    }

    /// `EnableEnhancedMonitoring` / `DisableEnhancedMonitoring`: the shard-level metrics the stream would publish,
    /// recorded (nothing is published; see `metrics`).
    pub(super) fn enhanced_monitoring(&self, c: &Context<'_>, enable: bool) -> Answer {
        const METRICS: [&str; 7] = [
            "IncomingBytes",
            "IncomingRecords",
            "OutgoingBytes",
            "OutgoingRecords",
            "WriteProvisionedThroughputExceeded",
            "ReadProvisionedThroughputExceeded",
            "IteratorAgeMilliseconds",
        ];
        let asked = v::strings(c.body, "ShardLevelMetrics")?;
        let key = checked_key(c, |violations| {
            violations.not_null("shardLevelMetrics", asked.is_some());
            let asked = asked.clone().unwrap_or_default();
            violations.list_length(
                "shardLevelMetrics",
                &format!("[{}]", asked.join(", ")),
                asked.len(),
                1,
                7,
            );
            for (n, metric) in asked.iter().enumerate() {
                let at = format!("shardLevelMetrics.{}.member", n + 1);
                violations.one_of(&at, Some(metric), &[&METRICS[..], &["ALL"]].concat());
            }
            Ok(())
        })?;
        let asked: Vec<&str> = asked.unwrap_or_default();
        let names: Vec<&str> = if asked.contains(&"ALL") {
            METRICS.to_vec()
        } else {
            asked
        };
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            let current: Vec<String> = stream.shard_level_metrics.iter().cloned().collect();
            for name in names {
                if enable {
                    stream.shard_level_metrics.insert(name.to_owned());
                } else {
                    stream.shard_level_metrics.remove(name);
                }
            }
            Ok(json!({
                "StreamName": stream.key.name,
                "StreamARN": stream.arn,
                "CurrentShardLevelMetrics": current,
                "DesiredShardLevelMetrics": stream.shard_level_metrics.iter().collect::<Vec<_>>(),
            }))
        })
    }

    /// `StartStreamEncryption` / `StopStreamEncryption`: `EncryptionType` KMS and the `KeyId`, recorded and
    /// described (the records are held in this process's memory, never encrypted; no key is checked).
    pub(super) fn encryption(&self, c: &Context<'_>, start: bool) -> Answer {
        let kind = v::string(c.body, "EncryptionType")?;
        let key_id = v::string(c.body, "KeyId")?;
        let key = checked_key(c, |violations| {
            violations.not_null("encryptionType", kind.is_some());
            violations.one_of("encryptionType", kind, &["NONE", "KMS"]);
            violations.not_null("keyId", key_id.is_some());
            violations.text("keyId", key_id, 1, 2048, None);
            Ok(())
        })?;
        if kind != Some("KMS") {
            return Err(invalid_argument("EncryptionType must be KMS."));
        }
        let duration = self.lifecycle_ms;
        self.with_stream(&key, c.now_ms, |stream| {
            require_active(stream)?;
            stream.encryption = start.then(|| Encryption {
                key_id: key_id.unwrap_or_default().to_owned(),
            });
            lifecycle::start_update(stream, None, c.now_ms, duration);
            Ok(json!({}))
        })
    }
}

/// The open shard `id` of the stream: `ResourceNotFoundException` if it has none of that id,
/// `InvalidArgumentException` if it was split or merged already.
fn open_shard<'a>(stream: &'a Stream, id: &str) -> Result<&'a super::store::Shard, AwsError> {
    let shard = stream.shard(id).ok_or_else(|| {
        AwsError::bad_request(
            "ResourceNotFoundException",
            format!(
                "Could not find shard {id} in stream {} under account {ACCOUNT}.",
                stream.key.name
            ),
        )
    })?;
    if shard.closed.is_some() {
        return Err(invalid_argument(format!(
            "Shard {id} in stream {} under account {ACCOUNT} has already been merged or split, and thus is not \
             eligible for merging or splitting.",
            stream.key.name
        )));
    }
    Ok(shard)
}

fn check_scaling(stream: &mut Stream, target: u32, now_ms: u64) -> Result<(), AwsError> {
    if stream.mode == Mode::OnDemand {
        return Err(invalid_argument(format!(
            "UpdateShardCount is only supported for streams in PROVISIONED mode; stream {} under account {ACCOUNT} is \
             ON_DEMAND.",
            stream.key.name
        )));
    }
    let open = stream.open_shard_count() as u32;
    let limit = |message: String| Err(AwsError::bad_request("LimitExceededException", message));
    if target > open * 2 {
        return limit(format!(
            "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: \
             {open} Target shard count: {target}"
        ));
    }
    if target * 2 < open {
        return limit(format!(
            "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: \
             {open} Target shard count: {target}"
        ));
    }
    stream.scalings_ms.retain(|&at| at + DAY_MS > now_ms);
    if stream.scalings_ms.len() >= SCALINGS_PER_DAY {
        return limit(format!(
            "Stream {} under account {ACCOUNT} has been scaled {SCALINGS_PER_DAY} times in the last 24 hours: \
             UpdateShardCount allows at most {SCALINGS_PER_DAY} per rolling 24-hour period.",
            stream.key.name
        ));
    }
    Ok(())
}

/// A `Tags` map's entries (keys 1 to 128 characters, values 0 to 256).
fn tag_map(body: &Value, violations: &mut Violations) -> Result<BTreeMap<String, String>, AwsError> {
    let Some(tags) = body.get("Tags").filter(|tags| !tags.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let Some(tags) = tags.as_object() else {
        return Err(AwsError::bad_request(
            "SerializationException",
            "the member Tags is not a map",
        ));
    };
    let mut map = BTreeMap::new();
    for (key, value) in tags {
        let value = value
            .as_str()
            .ok_or_else(|| AwsError::bad_request("SerializationException", "a tag's value is not a string"))?;
        violations.text(&format!("tags.{key}.member.key"), Some(key), 1, 128, None);
        violations.text(&format!("tags.{key}.member.value"), Some(value), 0, 256, None);
        map.insert(key.clone(), value.to_owned());
    }
    Ok(map)
}

impl Kinesis {
    /// `AddTagsToStream` (by stream) and `TagResource` (by `ResourceARN`): at most 50 tags on a stream.
    pub(super) fn add_tags(&self, c: &Context<'_>, operation: &str) -> Answer {
        let mut violations = Violations::default();
        let tags = tag_map(c.body, &mut violations)?;
        violations.not_null("tags", c.body.get("Tags").is_some_and(|t| !t.is_null()));
        violations.list_length("tags", "{...}", tags.len(), 1, 200);
        let key = self.tagged_key(c, operation, violations)?;
        self.with_stream(&key, c.now_ms, |stream| {
            if !matches!(stream.status, Status::Active | Status::Updating) {
                return Err(not_active(stream));
            }
            let mut all = stream.tags.clone();
            all.extend(tags);
            if all.len() > MAX_TAGS {
                return Err(invalid_argument(format!(
                    "Failed to add tags to stream {} under account {ACCOUNT} because a given stream cannot have more \
                     than {MAX_TAGS} tags associated with it.",
                    key.name
                )));
            }
            stream.tags = all;
            Ok(json!({}))
        })
    }

    /// `RemoveTagsFromStream` and `UntagResource`: `TagKeys`, 1 to 50 of them.
    pub(super) fn remove_tags(&self, c: &Context<'_>, operation: &str) -> Answer {
        let keys = v::strings(c.body, "TagKeys")?;
        let mut violations = Violations::default();
        violations.not_null("tagKeys", keys.is_some());
        let keys = keys.unwrap_or_default();
        violations.list_length("tagKeys", &format!("[{}]", keys.join(", ")), keys.len(), 1, 50);
        let key = self.tagged_key(c, operation, violations)?;
        self.with_stream(&key, c.now_ms, |stream| {
            if !matches!(stream.status, Status::Active | Status::Updating) {
                return Err(not_active(stream));
            }
            for tag in &keys {
                stream.tags.remove(*tag);
            }
            Ok(json!({}))
        })
    }

    /// The stream a tagging call names: by stream (`AddTagsToStream`, ...) or by `ResourceARN` (`TagResource`,
    /// ...; a consumer's ARN is refused, the local cloud has none).
    fn tagged_key(&self, c: &Context<'_>, operation: &str, mut violations: Violations) -> Result<StreamKey, AwsError> {
        if !operation.ends_with("Resource") {
            v::stream_members(&mut violations, c.body)?;
            violations.finish()?;
            return stream_key(c);
        }
        let arn = v::string(c.body, "ResourceARN")?;
        violations.not_null("resourceARN", arn.is_some());
        violations.text("resourceARN", arn, 1, 2048, None);
        violations.finish()?;
        let arn = arn.unwrap_or_default();
        let (region, account, name) = v::stream_arn_parts(arn)
            .filter(|(_, _, name)| !name.contains('/'))
            .ok_or_else(|| {
                invalid_argument(format!(
                    "the local cloud tags streams only, and {arn} is not a stream's ARN"
                ))
            })?;
        let key = StreamKey {
            region: region.to_owned(),
            name: name.to_owned(),
        };
        if account == ACCOUNT {
            Ok(key)
        } else {
            Err(stream_not_found(&key))
        }
    }

    /// `ListTagsForStream` (API_ListTagsForStream): by key, `Limit` (1 to 50) after `ExclusiveStartTagKey`.
    pub(super) fn list_tags_for_stream(&self, c: &Context<'_>) -> Answer {
        let limit = v::integer(c.body, "Limit")?;
        let start = v::string(c.body, "ExclusiveStartTagKey")?;
        let key = checked_key(c, |violations| {
            violations.range("limit", limit, 1, 50);
            violations.text("exclusiveStartTagKey", start, 1, 128, None);
            Ok(())
        })?;
        self.with_stream(&key, c.now_ms, |stream| {
            let after: Vec<_> = stream
                .tags
                .iter()
                .filter(|(tag, _)| start.is_none_or(|start| tag.as_str() > start))
                .collect();
            let limit = limit.unwrap_or(50) as usize;
            let tags: Vec<Value> = after
                .iter()
                .take(limit)
                .map(|(k, v)| json!({ "Key": k, "Value": v }))
                .collect();
            Ok(json!({ "Tags": tags, "HasMoreTags": after.len() > limit }))
        })
    }

    /// `ListTagsForResource` (API_ListTagsForResource).
    pub(super) fn list_tags_for_resource(&self, c: &Context<'_>) -> Answer {
        let key = self.tagged_key(c, "ListTagsForResource", Violations::default())?;
        self.with_stream(&key, c.now_ms, |stream| {
            let tags: Vec<Value> = stream
                .tags
                .iter()
                .map(|(k, v)| json!({ "Key": k, "Value": v }))
                .collect();
            Ok(json!({ "Tags": tags }))
        })
    }
}

/// A page token: the operation's name and where the next page starts, in base64 (opaque, as AWS's are).
pub(crate) fn encode_token(operation: &str, after: &str) -> String {
    STANDARD.encode(format!("{operation}|{after}"))
}

pub(crate) fn decode_token(token: &str, operation: &str) -> Option<String> {
    let text = String::from_utf8(STANDARD.decode(token).ok()?).ok()?;
    text.strip_prefix(operation)?.strip_prefix('|').map(str::to_owned)
}

pub(crate) const LIST_SHARDS_TOKEN_LIFETIME_MS: u64 = NEXT_TOKEN_LIFETIME_MS;
