//! A learner's resources: deploying them, and finding, pricing, checking and removing what was deployed.

pub mod accounts;
pub mod bucket;
pub mod change;
pub mod deploy;
pub mod destroy;
pub mod function;
pub mod guard;
pub mod iam;
pub mod inventory;
pub mod invoker;
pub mod mapping;
pub mod plan;
pub mod producing;
pub mod status;
pub mod tools;
pub mod watch;
