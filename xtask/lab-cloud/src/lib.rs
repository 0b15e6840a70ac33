//! The local cloud's own parts — what no emulator runs offline — and the deploy path shared by both clouds.
//!
//! - [`lambda_host`]: runs a function's real binary against a local Lambda Runtime API;
//! - [`event_source`]: Kinesis → Lambda event source mappings, polling per shard;
//! - [`supervisor`]: watches the Lambda API (moto) for mappings and runs their pollers.

pub mod event_source;
pub mod lambda_host;
pub mod supervisor;
