//! What a request asks for: an action, a resource and the request context, the keys its conditions and policy
//! variables read.
//!
//! AWS gathers "the request context" from the request: the action, the resource, the principal, the environment
//! and the resource's data (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-reqcontext>).
//! Here the caller fills the context in: the crate never invents a key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One request to authorise: `kinesis:GetRecords` on a stream ARN, with its context keys.
///
/// `resource` is the ARN the action is performed on, or `*` for an action that has no resource-level permissions
/// (`kinesis:ListStreams`): such an action is matched only by a `Resource` of `*`, as AWS's NotAction page says of
/// `s3:ListAllMyBuckets` (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `service:Action`, compared case-insensitively.
    pub action: String,
    /// An ARN, or `*`.
    pub resource: String,
    /// The request context's keys and values.
    #[serde(default)]
    pub context: Context,
}

impl Request {
    /// A request with an empty context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: Context::default(),
        }
    }

    /// The same request with one more single-valued context key.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.insert(key, value);
        self
    }
}

/// The request context: each key with one or more values.
///
/// Key names are not case-sensitive ("including the `aws:SourceIP` condition key is equivalent to testing for
/// `AWS:SourceIp`", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html>),
/// so a key is stored under its lower-case form; two spellings of one key are one key with both values. A key with
/// no values is the same as an absent key: AWS treats "a null data set, such as an empty string" like a missing key
/// for `ForAllValues`/`ForAnyValue` (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html>).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, ContextValues>", into = "BTreeMap<String, Vec<String>>")]
pub struct Context {
    /// lower-case key -> (the key as first written, its values)
    entries: BTreeMap<String, (String, Vec<String>)>,
    /// The keys the caller can supply at all, lower-case (`None`: any key the context lacks is simply absent).
    supplied: Option<std::collections::BTreeSet<String>>,
    /// Families of keys the caller supplied whole, by their lower-case prefix (`aws:resourcetag/`): every key of the
    /// family the context lacks is known to be absent (the resource has no such tag), not unevaluable.
    supplied_families: std::collections::BTreeSet<String>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Adds one value to `key` (a key given twice is multivalued).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.entry(key).push(value.into());
    }

    /// Adds every value of a multivalued key (`aws:TagKeys`).
    pub fn insert_values<I, V>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let entry = self.entry(key);
        entry.extend(values.into_iter().map(Into::into));
    }

    /// Says which keys the caller can supply at all. A condition (or a policy variable) on any other key is then
    /// one the caller cannot evaluate: its statement is [`Decision::Unevaluable`](crate::Decision::Unevaluable),
    /// rather than the key being taken as absent — which could let a `Deny` on, say, a resource's tags pass silently
    /// where AWS, knowing the tags, would deny.
    #[must_use]
    pub fn supplying(mut self, keys: &[&str]) -> Self {
        self.supplied = Some(keys.iter().map(|key| key.to_lowercase()).collect());
        self
    }

    /// Says that every key starting with `prefix` (`aws:ResourceTag/`) is supplied: the caller knows the whole
    /// family (every tag of the resource), so a key of it the context lacks is absent, as AWS takes a tag the
    /// resource does not carry ("If the key that you specify in a policy condition is not present in the request
    /// context, the values do not match",
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
    #[must_use]
    pub fn supplying_family(mut self, prefix: &str) -> Self {
        self.supplied_families.insert(prefix.to_lowercase());
        self
    }

    /// Whether `key` is one the caller said it cannot supply (see [`Context::supplying`]).
    pub fn unsupplied(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        self.supplied.as_ref().is_some_and(|supplied| {
            !supplied.contains(&key)
                && !self
                    .supplied_families
                    .iter()
                    .any(|family| key.starts_with(family.as_str()))
                && self.get(&key).is_none()
        })
    }

    /// The same context with one more value.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// The values of `key`, compared case-insensitively; `None` when the key is absent or has no values.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .get(&key.to_lowercase())
            .map(|(_, values)| values.as_slice())
            .filter(|values| !values.is_empty())
    }

    fn entry(&mut self, key: &str) -> &mut Vec<String> {
        &mut self
            .entries
            .entry(key.to_lowercase())
            .or_insert_with(|| (key.to_owned(), Vec::new()))
            .1
    }
}

/// A context value as JSON writes it: one string or an array of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ContextValues {
    /// A single-valued key.
    One(String),
    /// A multivalued key.
    Many(Vec<String>),
}

impl From<BTreeMap<String, ContextValues>> for Context {
    fn from(map: BTreeMap<String, ContextValues>) -> Self {
        let mut context = Context::new();
        for (key, values) in map {
            match values {
                ContextValues::One(value) => context.insert(&key, value),
                ContextValues::Many(values) => context.insert_values(&key, values),
            }
        }
        context
    }
}

impl From<Context> for BTreeMap<String, Vec<String>> {
    fn from(context: Context) -> Self {
        context.entries.into_values().collect()
    }
}
