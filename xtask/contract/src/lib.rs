//! The contract between `cargo xtask` and `lab-cloud`: the arguments of every `lab-cloud` command, as types.
//!
//! xtask builds these and turns them into a command line; lab-cloud parses the same types back with clap. Both
//! sides compile against this crate, so a flag renamed or retyped on one side fails to compile on the other.
