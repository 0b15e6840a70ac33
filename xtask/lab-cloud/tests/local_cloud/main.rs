//! The local cloud's own tests, against moto: one test binary for all of them (each binary links lab-cloud and the
//! AWS SDK, about 60 MB a copy), one module per part of the local cloud.

mod cloudwatch;
mod dashboard;
mod event_source;
mod faults;
mod firehose;
mod firehose_rules;
mod function_logs;
mod gateway;
mod guard;
mod iam;
mod invoke;
mod kinesis;
mod lambda_host;
mod producing;
mod redrive;
mod reshard;
mod sandbox;
mod scripted;
mod validation;
