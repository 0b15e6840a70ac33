//! The local cloud's own parts — what no emulator runs offline — and the deploy path shared by both clouds.
//!
//! - [`deploy`]: the one deploy path (bucket, roles, functions, mappings; the steps' own binaries for the rest);
//! - [`lab`]: the whole pipeline, run and checked;
//! - [`lambda_host`]: runs a function's real binary against a local Lambda Runtime API;
//! - [`event_source`]: Kinesis → Lambda event source mappings, polling per shard;
//! - [`firehose`]: delivery streams from a Kinesis source into S3;
//! - [`sandbox`]: a learner's deployment (AWS or local): plan and cost, status, checks, destroy;
//! - [`testing`]: what tests need to run a function through the local cloud;
//! - [`supervisor`]: watches the control plane (moto) and runs the pollers and pumps it describes.

pub mod deploy;
pub mod event_source;
pub mod firehose;
pub mod gateway;
pub mod lab;
pub mod lambda_host;
pub mod sandbox;
pub mod supervisor;
pub mod testing;
