//! `ListShards` (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListShards.html>): a stream's shards,
//! closed ones included until the retention period trims them, a page of `MaxResults` (1 to 10,000; 1,000 by
//! default) at a time, after `ExclusiveStartShardId`, through a `ShardFilter`
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ShardFilter.html>):
//! - `AFTER_SHARD_ID`: the shards after `ShardId`;
//! - `AT_TRIM_HORIZON`: "all the shards that were open at TRIM_HORIZON";
//! - `FROM_TRIM_HORIZON`: "all the shards within the retention period of the data stream (trim to tip)";
//! - `AT_LATEST`: "only the currently open shards";
//! - `AT_TIMESTAMP`: shards "whose start timestamp is less than or equal to the given timestamp and end timestamp
//!   is greater than or equal to the given timestamp or still open";
//! - `FROM_TIMESTAMP`: "all closed shards whose end timestamp is greater than or equal to the given timestamp and
//!   also all open shards", the timestamp "corrected to TRIM_HORIZON" when older.
//!
//! `NextToken` carries the listing on (and "cannot be provided together" with `StreamName`), valid 300 seconds.

use super::control::{LIST_SHARDS_TOKEN_LIFETIME_MS, stream_key};
use super::store::{Shard, Stream, StreamKey};
use super::validation::{self as v, Violations};
use super::{Answer, Context, Kinesis, invalid_argument, stream_not_found};
use crate::gateway::errors::AwsError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const FILTERS: [&str; 6] = [
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    key: StreamKey,
    /// The stream's creation the listing is of (`StreamCreationTimestamp`, or the stream's when it began).
    created_ms: Option<u64>,
    after: Option<String>,
    max: usize,
    filter: Option<(String, Option<String>, Option<u64>)>,
}

impl Listing {
    pub fn read(c: &Context<'_>) -> Result<Listing, AwsError> {
        let token = v::string(c.body, "NextToken")?;
        let start = v::string(c.body, "ExclusiveStartShardId")?;
        let max = v::integer(c.body, "MaxResults")?;
        let filter_type = c.body.pointer("/ShardFilter/Type").and_then(Value::as_str);
        let mut violations = Violations::default();
        v::stream_members(&mut violations, c.body)?;
        violations.text("nextToken", token, 1, 1_048_576, None);
        violations.text("exclusiveStartShardId", start, 1, 128, Some(v::STREAM_NAME_PATTERN));
        violations.range("maxResults", max, 1, 10_000);
        if c.body.get("ShardFilter").is_some_and(|f| !f.is_null()) {
            violations.not_null("shardFilter.type", filter_type.is_some());
        }
        violations.one_of("shardFilter.type", filter_type, &FILTERS);
        violations.finish()?;
        let names_stream = c.body.get("StreamName").is_some() || c.body.get("StreamARN").is_some();
        let max = max.unwrap_or(1000) as usize;
        match (token, names_stream) {
            (Some(_), true) => Err(invalid_argument(
                "NextToken and StreamName cannot be provided together.",
            )),
            (None, false) => Err(invalid_argument("Either NextToken or StreamName should be provided.")),
            (Some(token), false) => Listing::from_token(token, max, c.now_ms),
            (None, true) => {
                let filter = filter_type.map(|kind| {
                    let shard = c
                        .body
                        .pointer("/ShardFilter/ShardId")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let at = c.body.pointer("/ShardFilter/Timestamp").and_then(Value::as_f64);
                    (kind.to_owned(), shard, at.map(|s| (s * 1000.0) as u64))
                });
                Ok(Listing {
                    key: stream_key(c)?,
                    created_ms: v::timestamp_ms(c.body, "StreamCreationTimestamp")?,
                    after: start.map(str::to_owned),
                    max,
                    filter,
                })
            }
        }
    }

    fn token(&self, last: &str, now_ms: u64) -> String {
        let (kind, shard, at) = self.filter.clone().unwrap_or_default();
        let text = format!(
            "{}|{}|{}|{last}|{kind}|{}|{}|{now_ms}",
            self.key.region,
            self.key.name,
            self.created_ms.unwrap_or(0),
            shard.unwrap_or_default(),
            at.map_or(String::new(), |at| at.to_string())
        );
        STANDARD.encode(text)
    }

    fn from_token(token: &str, max: usize, now_ms: u64) -> Result<Listing, AwsError> {
        let invalid = || invalid_argument("Invalid NextToken.");
        let text = STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(invalid)?;
        let fields: Vec<&str> = text.split('|').collect();
        let [region, name, created, last, kind, shard, at, issued] = fields[..] else {
            return Err(invalid());
        };
        let issued: u64 = issued.parse().map_err(|_| invalid())?;
        if now_ms.saturating_sub(issued) > LIST_SHARDS_TOKEN_LIFETIME_MS {
            return Err(AwsError::bad_request(
                "ExpiredNextTokenException",
                format!("The NextToken has expired: it was issued more than {LIST_SHARDS_TOKEN_LIFETIME_MS} ms ago."),
            ));
        }
        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Ok(Listing {
            key: StreamKey {
                region: region.to_owned(),
                name: name.to_owned(),
            },
            created_ms: created.parse().ok().filter(|&ms| ms > 0),
            after: optional(last),
            max,
            filter: optional(kind).map(|kind| (kind, optional(shard), at.parse().ok())),
        })
    }

    /// Whether the filter keeps `shard` of `stream` (`now_ms` for the trim horizon).
    fn keeps(&self, stream: &Stream, shard: &Shard, now_ms: u64) -> Result<bool, AwsError> {
        let Some((kind, shard_id, at)) = &self.filter else {
            return Ok(true);
        };
        let horizon = now_ms.saturating_sub(stream.retention_ms()).max(stream.created_ms);
        let open_at = |t: u64| shard.created_ms <= t && shard.closed.is_none_or(|closed| closed.at_ms >= t);
        let need_time =
            || at.ok_or_else(|| invalid_argument(format!("A Timestamp is required for a ShardFilter of type {kind}.")));
        Ok(match kind.as_str() {
            "AFTER_SHARD_ID" => {
                let after = shard_id.as_deref().ok_or_else(|| {
                    invalid_argument("A ShardId is required for a ShardFilter of type AFTER_SHARD_ID.")
                })?;
                shard.id.as_str() > after
            }
            "AT_TRIM_HORIZON" => open_at(horizon),
            "AT_LATEST" => shard.closed.is_none(),
            "AT_TIMESTAMP" => open_at(need_time()?),
            "FROM_TIMESTAMP" => {
                let from = need_time()?.max(horizon);
                shard.closed.is_none_or(|closed| closed.at_ms >= from)
            }
            _ => true,
        })
    }

    pub fn answer(&self, kinesis: &Kinesis, c: &Context<'_>) -> Answer {
        kinesis.with_stream(&self.key, c.now_ms, |stream| {
            if self.created_ms.is_some_and(|ms| ms != stream.created_ms) {
                return Err(stream_not_found(&self.key));
            }
            let mut shards: Vec<&Shard> = Vec::new();
            if stream.status != super::lifecycle::Status::Creating {
                for shard in &stream.shards {
                    let after = self.after.as_deref().is_none_or(|after| shard.id.as_str() > after);
                    if after && self.keeps(stream, shard, c.now_ms)? {
                        shards.push(shard);
                    }
                }
            }
            shards.sort_by_key(|shard| shard.index);
            let more = shards.len() > self.max;
            shards.truncate(self.max);
            let listed: Vec<Value> = shards
                .iter()
                .map(|shard| super::control::shard_json(stream, shard))
                .collect();
            let mut answer = json!({ "Shards": listed });
            if let (true, Some(last)) = (more, shards.last()) {
                let listing = Listing {
                    created_ms: Some(stream.created_ms),
                    ..self.clone()
                };
                answer["NextToken"] = listing.token(&last.id, c.now_ms).into();
            }
            Ok(answer)
        })
    }
}
