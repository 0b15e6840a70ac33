//! Which shards a reader (an event source mapping, a Firehose pump) reads, and when: every shard of the stream,
//! found by `ListShards` now and then and by the `ChildShards` a closed shard names at its end, and a child only
//! once its parents (both, after a merge) have been read to their end and delivered.
//!
//! Why: after a reshard a partition key's records are in the parent up to the reshard and in a child after it:
//! "data records that were flowing to the parent shards are rerouted to flow to the child shards", while the
//! parent keeps the records it had ("Consider data routing, data persistence, and shard state after a reshard",
//! <https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-after-resharding.html>). A reader that
//! wants each key's records in order must therefore read a parent to its end before its children, as Lambda's
//! mappings do ("Polling and batching streams", <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>)
//! and Firehose does for a Kinesis source.
//!
//! [`DeliveryOrder`] checks the result from the other side: each partition key's records, as they were delivered,
//! in the order the stream accepted them (a shard's sequence order, an ancestor's records before a descendant's).

use anyhow::{Context, Result};
use aws_sdk_kinesis::types::{ChildShard, Shard};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// How a reader follows the stream's shards.
#[derive(Debug, Clone)]
pub struct Following {
    /// How often the shard list is read again (new shards of a reshard, even those no closed shard named yet).
    pub discovery_interval: Duration,
    /// Parent before child, as AWS reads. `false` only for tests and the lab's demonstration of what goes wrong
    /// without it: every shard is started as soon as it is seen.
    pub parents_first: bool,
}

/// How a shard's reader ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardEnd {
    /// Stopped (the mapping or delivery stream stopped, changed or deleted) before the shard's end.
    Stopped,
    /// The shard is closed, read to its end and delivered; the children it named.
    Finished { children: Vec<ChildShard> },
}

/// The stream's shards as a reader knows them: each one's parents, and which it has started and finished.
#[derive(Debug, Default)]
pub struct Lineage {
    parents_first: bool,
    parents: BTreeMap<String, Vec<String>>,
    started: BTreeSet<String>,
    finished: BTreeSet<String>,
}

impl Lineage {
    pub fn new(parents_first: bool) -> Lineage {
        Lineage {
            parents_first,
            ..Lineage::default()
        }
    }

    /// A shard seen in `ListShards` or named as a child.
    pub fn learn(&mut self, shard_id: &str, parents: Vec<String>) {
        self.parents.entry(shard_id.to_owned()).or_insert(parents);
    }

    pub fn learn_listed(&mut self, shard: &Shard) {
        let parents = [&shard.parent_shard_id, &shard.adjacent_parent_shard_id]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        self.learn(&shard.shard_id, parents);
    }

    pub fn finish(&mut self, shard_id: &str) {
        self.finished.insert(shard_id.to_owned());
    }

    /// Its reader ended without finishing it: started again at the next look.
    pub fn unstart(&mut self, shard_id: &str) {
        self.started.remove(shard_id);
    }

    pub fn parents(&self, shard_id: &str) -> &[String] {
        self.parents.get(shard_id).map_or(&[], Vec::as_slice)
    }

    /// The shards to start now, in id order, each marked started: neither started nor finished, and (parents
    /// first) every parent finished. A parent the stream no longer lists (its records past the retention period)
    /// holds nothing more to read.
    pub fn ready(&mut self) -> Vec<String> {
        let ready: Vec<String> = self
            .parents
            .iter()
            .filter(|(id, _)| !self.started.contains(*id) && !self.finished.contains(*id))
            .filter(|(_, parents)| {
                !self.parents_first
                    || parents
                        .iter()
                        .all(|parent| self.finished.contains(parent) || !self.parents.contains_key(parent))
            })
            .map(|(id, _)| id.clone())
            .collect();
        self.started.extend(ready.iter().cloned());
        ready
    }
}

/// Every shard of the stream, closed ones too, page by page.
pub async fn list_shards(kinesis: &aws_sdk_kinesis::Client, stream_name: &str) -> Result<Vec<Shard>> {
    let mut shards = vec![];
    let mut next_token: Option<String> = None;
    loop {
        // A page after the first names the stream by its token alone (ListShards refuses both).
        let request = match &next_token {
            Some(token) => kinesis.list_shards().next_token(token),
            None => kinesis.list_shards().stream_name(stream_name),
        };
        let page = request.send().await.context("ListShards")?;
        shards.extend(page.shards.unwrap_or_default());
        next_token = page.next_token;
        if next_token.is_none() {
            return Ok(shards);
        }
    }
}

/// What a reader of one shard is given: the shard, and whether it must read it from its start (a shard the
/// reader came to through its parents, rather than one it started at with the mapping's starting position).
pub struct ShardStart {
    pub shard_id: String,
    pub from_its_start: bool,
}

/// The checkpoints a reader left before this run, as [`follow`] needs them.
pub trait Checkpoints {
    /// The reader left a checkpoint for this shard (it has read some of it).
    fn exists(&self, shard_id: &str) -> bool;
    /// The reader read this shard to its end.
    fn finished(&self, shard_id: &str) -> bool;
}

/// The stream a reader follows: its client, its name, and its shards as first listed (the caller lists once before,
/// so that a stream it cannot list fails its start).
pub struct Source {
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream_name: String,
    pub initial: Vec<Shard>,
}

/// Runs a reader for each shard of the stream, parents first, until `stop` is set; then waits for the readers
/// (which watch `stop` too). `learned` hears of each shard and its parents (for [`DeliveryOrder`]).
pub async fn follow<R, F>(
    source: Source,
    following: Following,
    stop: Arc<AtomicBool>,
    checkpoints: impl Checkpoints,
    mut learned: impl FnMut(&str, &[String]),
    mut start: R,
) where
    R: FnMut(ShardStart) -> F,
    F: std::future::Future<Output = Result<ShardEnd>> + Send + 'static,
{
    let Source {
        kinesis,
        stream_name,
        initial,
    } = source;
    let mut lineage = Lineage::new(following.parents_first);
    let first_seen: BTreeSet<String> = initial.iter().map(|shard| shard.shard_id.clone()).collect();
    let read_before: BTreeSet<String> = first_seen.iter().filter(|id| checkpoints.exists(id)).cloned().collect();
    for shard in &initial {
        lineage.learn_listed(shard);
        learned(&shard.shard_id, lineage.parents(&shard.shard_id));
        if checkpoints.finished(&shard.shard_id) {
            lineage.finish(&shard.shard_id);
        }
    }
    let mut readers: JoinSet<(String, Result<ShardEnd>)> = JoinSet::new();
    let mut listed_at = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for shard_id in lineage.ready() {
            // A shard the reader reaches through a parent it read continues where the parent ended: its start.
            let from_its_start = !first_seen.contains(&shard_id)
                || lineage
                    .parents(&shard_id)
                    .iter()
                    .any(|parent| read_before.contains(parent));
            let reader = start(ShardStart {
                shard_id: shard_id.clone(),
                from_its_start,
            });
            readers.spawn(async move { (shard_id, reader.await) });
        }
        let wait = following.discovery_interval.saturating_sub(listed_at.elapsed());
        tokio::select! {
            Some(Ok((shard_id, end))) = readers.join_next() => {
                ended(&mut lineage, &mut learned, &stream_name, &shard_id, end);
            }
            () = tokio::time::sleep(wait.min(Duration::from_millis(100))) => {}
        }
        if listed_at.elapsed() >= following.discovery_interval {
            listed_at = Instant::now();
            match list_shards(&kinesis, &stream_name).await {
                Ok(shards) => {
                    for shard in &shards {
                        lineage.learn_listed(shard);
                        learned(&shard.shard_id, lineage.parents(&shard.shard_id));
                    }
                }
                Err(error) => eprintln!("{stream_name}: {error:#}"),
            }
        }
    }
    while readers.join_next().await.is_some() {}
}

/// A shard's reader ended: finished (its children learned), or to be started again at the next look.
fn ended(
    lineage: &mut Lineage,
    learned: &mut impl FnMut(&str, &[String]),
    stream_name: &str,
    shard_id: &str,
    end: Result<ShardEnd>,
) {
    match end {
        Ok(ShardEnd::Finished { children }) => {
            lineage.finish(shard_id);
            for child in children {
                lineage.learn(&child.shard_id, child.parent_shards.clone());
                learned(&child.shard_id, &child.parent_shards);
            }
        }
        Ok(ShardEnd::Stopped) => lineage.unstart(shard_id),
        Err(error) => {
            eprintln!("{stream_name}: reading {shard_id} stopped ({error:#}); it is read again shortly");
            lineage.unstart(shard_id);
        }
    }
}

/// Whether the records of one partition key were delivered in the order the stream accepted them: within a shard
/// by sequence number, and across a reshard an ancestor's records before its descendants'.
#[derive(Debug, Default)]
pub struct DeliveryOrder {
    parents: HashMap<String, Vec<String>>,
    /// Each key's latest record delivered: its shard and sequence number.
    latest: HashMap<String, (String, String)>,
    /// Records delivered after a record the stream accepted later (each counts once).
    pub violations: u64,
    /// The first few, in words.
    pub examples: Vec<String>,
    /// Records delivered (each delivery counts).
    pub delivered: u64,
}

/// How many violations [`DeliveryOrder`] describes.
const EXAMPLES_KEPT: usize = 5;

impl DeliveryOrder {
    pub fn learn(&mut self, shard_id: &str, parents: &[String]) {
        self.parents
            .entry(shard_id.to_owned())
            .or_insert_with(|| parents.to_vec());
    }

    fn descends_from(&self, shard_id: &str, ancestor: &str) -> bool {
        let mut pending = vec![shard_id];
        let mut seen = BTreeSet::new();
        while let Some(shard) = pending.pop() {
            for parent in self.parents.get(shard).into_iter().flatten() {
                if parent == ancestor {
                    return true;
                }
                if seen.insert(parent.as_str()) {
                    pending.push(parent);
                }
            }
        }
        false
    }

    /// A record delivered. A record the stream accepted before the key's latest delivered one is a violation: a
    /// lower sequence number of the same shard, or any record of an ancestor of its shard.
    pub fn delivered(&mut self, key: &str, shard_id: &str, sequence_number: &str) {
        self.delivered += 1;
        let Some((latest_shard, latest_sequence)) = self.latest.get(key) else {
            self.latest
                .insert(key.to_owned(), (shard_id.to_owned(), sequence_number.to_owned()));
            return;
        };
        let (earlier, later) = if latest_shard == shard_id {
            let ordering = compare_sequence_numbers(sequence_number, latest_sequence);
            (ordering.is_lt(), ordering.is_gt())
        } else {
            (self.descends_from(latest_shard, shard_id), true)
        };
        if earlier {
            self.violations += 1;
            if self.examples.len() < EXAMPLES_KEPT {
                self.examples.push(format!(
                    "key {key}: {shard_id} {sequence_number} delivered after {latest_shard} {latest_sequence}"
                ));
            }
        } else if later {
            self.latest
                .insert(key.to_owned(), (shard_id.to_owned(), sequence_number.to_owned()));
        }
    }
}

/// Sequence numbers are decimal strings, longer than any integer type (AWS's have 56 digits): by length, then text.
pub fn compare_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn children_wait_for_their_parent_and_a_merged_child_for_both() {
        let mut lineage = Lineage::new(true);
        lineage.learn("0", vec![]);
        lineage.learn("1", vec![]);
        lineage.learn("2", strings(&["0"]));
        lineage.learn("3", strings(&["0"]));
        lineage.learn("4", strings(&["1", "3"]));
        assert_eq!(lineage.ready(), ["0", "1"]);
        assert!(lineage.ready().is_empty(), "each shard is started once");
        lineage.finish("0");
        assert_eq!(lineage.ready(), ["2", "3"]);
        lineage.finish("3");
        assert!(lineage.ready().is_empty(), "4 still waits for 1");
        lineage.finish("1");
        assert_eq!(lineage.ready(), ["4"]);
    }

    #[test]
    fn without_parents_first_every_shard_starts_at_once() {
        let mut lineage = Lineage::new(false);
        lineage.learn("0", vec![]);
        lineage.learn("1", strings(&["0"]));
        assert_eq!(lineage.ready(), ["0", "1"]);
    }

    #[test]
    fn a_parent_no_longer_listed_holds_nothing_back_and_a_stopped_reader_is_started_again() {
        let mut lineage = Lineage::new(true);
        lineage.learn("5", strings(&["expired"]));
        assert_eq!(lineage.ready(), ["5"]);
        lineage.unstart("5");
        assert_eq!(lineage.ready(), ["5"]);
        lineage.finish("5");
        lineage.unstart("5");
        assert!(lineage.ready().is_empty(), "a finished shard is never read again");
    }

    #[test]
    fn a_key_delivered_out_of_the_streams_order_is_a_violation() {
        let mut order = DeliveryOrder::default();
        order.learn("0", &[]);
        order.learn("1", &strings(&["0"]));
        order.learn("2", &strings(&["1"]));
        order.delivered("k", "0", "10");
        order.delivered("k", "0", "9");
        assert_eq!(order.violations, 1, "a lower sequence number of the same shard");
        order.delivered("k", "0", "10");
        assert_eq!(
            order.violations, 1,
            "a record delivered again is a duplicate, not out of order"
        );
        order.delivered("k", "2", "1");
        order.delivered("k", "0", "11");
        order.delivered("k", "1", "5");
        assert_eq!(
            order.violations, 3,
            "a grandparent's and a parent's records after the grandchild's"
        );
        order.delivered("other", "2", "1");
        order.delivered("other", "2", "2");
        assert_eq!(order.violations, 3);
        assert_eq!(order.delivered, 8);
        assert_eq!(order.examples.len(), 3);
        assert!(
            order.examples[0].contains("key k: 0 9 delivered after 0 10"),
            "{:?}",
            order.examples
        );
    }

    #[test]
    fn sequence_numbers_compare_by_length_then_digits() {
        assert!(compare_sequence_numbers("99", "100").is_lt());
        assert!(compare_sequence_numbers("100", "99").is_gt());
        assert!(compare_sequence_numbers("123", "123").is_eq());
    }
}
