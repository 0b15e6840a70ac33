//! The crate's tests, a module per concern. Most policies and requests are AWS's own documented examples; each test
//! names the page it comes from.

use crate::Policy;

mod conditions;
mod matching;
mod parse;
mod values;

/// A policy that must parse.
fn policy(json: &str) -> Policy {
    Policy::parse(json).unwrap_or_else(|error| panic!("the test's policy does not parse: {error}\n{json}"))
}

/// The message of a policy that must not parse.
fn refusal(json: &str) -> String {
    match Policy::parse(json) {
        Ok(policy) => panic!("parsed, but IAM refuses it: {policy:?}"),
        Err(error) => error.message().to_owned(),
    }
}
