//! The code step 4 gives you: you call it, you need not edit it. The chapter's "What is given" lists it.
//!
//! - [`definition`]: the compressions a definition names, and reading an object back ("Compression");
//! - [`errors`]: the step's error type, `DeliveryError`, and one constructor per service ("Creating it
//!   idempotently");
//! - [`bucket`]: the bucket's ARN and the region S3 creates it in ("The bucket and the role Firehose acts with");
//! - [`role`]: the role Firehose acts with, its policy and trust policy (the same section);
//! - [`firehose`]: the Firehose calls around `ensure_delivery_stream` — describe, tags, create (retried while IAM
//!   propagates) and the wait until ACTIVE ("Creating it idempotently");
//! - [`delivered`]: reading back what Firehose delivered, and the record types ("Reading back what was delivered");
//! - [`tool`]: the settings of the `ensure-delivery-stream` tool, by option or environment variable.

pub mod bucket;
pub mod definition;
pub mod delivered;
pub mod errors;
pub mod firehose;
pub mod role;
pub mod tool;

// `cargo xtask check` links the step's heavy dependencies from one shared library (the `fast-link` feature).
#[cfg(feature = "fast-link")]
use lab_fastlink as _;
