//! The local cloud's own parts — what no emulator runs offline — and the one deploy path shared by both clouds.
//!
//! # Code map
//!
//! - [`runtime`]: what AWS runs and moto does not — [`runtime::lambda_host`] (a function's executable against a
//!   local Runtime API), [`runtime::event_source`] (Kinesis event source mappings, the event and failure-record
//!   shapes as pure functions), [`runtime::firehose`] (delivery from a stream into S3), [`runtime::read_pacing`],
//!   and [`runtime::supervisor`], which starts them for what the control plane holds; [`runtime::faults`]: faults
//!   injected on purpose (`--faults`), drawn from a seed, for the front door, the host and the pump.
//! - [`gateway`]: the Kinesis front door: AWS's shard limits (and the write faults).
//! - [`dashboard`]: the data plane watched live in a browser (on 127.0.0.1): the page and `/api/metrics`.
//! - [`stages`]: the one table of what each stage deploys, and the one [`stages::ResourceKind`].
//! - [`control`]: a learner's resources — [`control::deploy`] (idempotent, by the table, with
//!   [`control::iam`], [`control::function`], [`control::mapping`], [`control::bucket`]),
//!   [`control::tools`] (the steps' own tools and their environment contract), [`control::inventory`] (discover),
//!   [`control::plan`] (and costs), [`control::destroy`], [`control::status`], [`control::invoker`].
//! - [`commands`]: the `lab-cloud` binary's commands (serve, invoke, lab, plan/deploy/status/run-producer/destroy,
//!   check-deployed), each owning its printing and exit code; their arguments are `lab-contract`'s types.
//! - Shared below all of them: [`aws`] (clients, errors on one line, waits, IAM propagation), [`naming`] (the
//!   workshop's names and tags), [`readback`] (the stream and the bucket read back).
//! - [`testing`]: what tests need to run a function through the local cloud.
//! - [`unfinished`]: a learner's `todo!()` (or other panic) recognised in what a step's tool or function said.
//!
//! # Invariants
//!
//! - Dependencies point one way: `commands` → `control` → `stages`, `naming`, `readback`, `aws` and (to invoke
//!   locally) `runtime::lambda_host`; `runtime` → `aws`; `naming` → `stages`. Nothing imports its caller. Below
//!   `commands` nothing prints a result: progress goes to stderr, and destroy reports each deletion as it makes it.
//! - The endpoint alone decides the cloud: the same calls reach moto or AWS. Without `--aws`, a command refuses any
//!   endpoint but 127.0.0.1 (`commands::target::check`).
//! - The steps' code is run as processes, never linked: their tools by `control::tools`, their functions by the
//!   Lambda host (locally) or Lambda (in AWS).
//! - Every resource a deploy makes is named by `Naming` and tagged with `Naming::tags`; discover and destroy find a
//!   learner's resources by those alone, and never another learner's.

pub mod aws;
pub mod commands;
pub mod control;
pub mod dashboard;
pub mod gateway;
pub mod logs;
pub mod naming;
pub mod readback;
pub mod runtime;
pub mod stages;
pub mod testing;
pub mod unfinished;

// The steps' own tests (steps/step-N/tests) name these paths.
pub use runtime::{event_source, lambda_host, supervisor};
