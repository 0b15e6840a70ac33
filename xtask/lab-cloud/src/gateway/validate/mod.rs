//! The third check, after who signed and whether they may: is the request one AWS would take. Each service's
//! rules, in its own module, citing AWS's pages; each answers `Err` with AWS's error (or, for what the local cloud
//! does not implement, a clear refusal saying so), before the emulator ever sees the request. Every caller is
//! checked, the administrator too: a deploy must meet these rules as it would on AWS.

pub mod firehose;
