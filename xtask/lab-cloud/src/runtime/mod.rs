//! What AWS runs and moto does not: the Lambda host, event source mappings, the Firehose pump, and the supervisor
//! that starts them for what the control plane holds; how they follow a stream's shards across a reshard
//! (`shard_lineage`); the roles they act with (`credentials`); and the faults
//! injected into them on purpose.

pub mod alarms;
pub mod cloudwatch;
pub mod credentials;
pub mod event_source;
pub mod faults;
pub mod firehose;
pub mod firehose_compression;
pub mod firehose_keys;
pub mod function_logs;
pub mod lambda_host;
pub mod metrics;
pub mod notifications;
pub mod read_pacing;
pub mod scheduler;
pub mod shard_lineage;
pub mod supervisor;
