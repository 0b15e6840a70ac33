//! A learner's resources: deploying them, and finding, pricing, checking and removing what was deployed.

pub mod deploy;
pub mod sandbox;
pub mod tools;
