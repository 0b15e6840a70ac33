//! The local cloud's own parts — what no emulator runs offline — and the deploy path shared by both clouds.
//!
//! - [`runtime`]: what AWS runs and moto does not (Lambda host, event source mappings, Firehose pump, supervisor);
//! - [`control`]: a learner's resources (deploy; plan, discover, destroy, status, deployed checks);
//! - [`commands`]: the `lab` run;
//! - [`gateway`]: the Kinesis front door: AWS's shard limits;
//! - [`aws`], [`naming`], [`readback`]: clients and errors, the workshop's names, reading stream and bucket back;
//! - [`testing`]: what tests need to run a function through the local cloud.

pub mod aws;
pub mod commands;
pub mod control;
pub mod gateway;
pub mod naming;
pub mod readback;
pub mod runtime;
pub mod stages;
pub mod testing;

// The steps' own tests (steps/step-N/tests) name these paths.
pub use runtime::{event_source, lambda_host, supervisor};
