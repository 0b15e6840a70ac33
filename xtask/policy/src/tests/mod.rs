//! The crate's tests, a module per concern. Most policies and requests are AWS's own documented examples; each test
//! names the page it comes from.

use crate::{NamedPolicy, Policy};

mod conditions;
mod evaluate;
mod matching;
mod parse;
mod report;
mod trust;
mod values;

/// A policy that must parse.
fn policy(json: &str) -> Policy {
    Policy::parse(json).unwrap_or_else(|error| panic!("the test's policy does not parse: {error}\n{json}"))
}

/// A named policy that must parse.
fn named(name: &str, json: &str) -> NamedPolicy {
    NamedPolicy::new(name, policy(json))
}

/// A one-statement 2012-10-17 policy named "test", around a statement's JSON.
fn one(statement: &str) -> NamedPolicy {
    named(
        "test",
        &format!(r#"{{"Version": "2012-10-17", "Statement": {statement}}}"#),
    )
}

/// The message of a policy that must not parse.
fn refusal(json: &str) -> String {
    match Policy::parse(json) {
        Ok(policy) => panic!("parsed, but IAM refuses it: {policy:?}"),
        Err(error) => error.message().to_owned(),
    }
}
