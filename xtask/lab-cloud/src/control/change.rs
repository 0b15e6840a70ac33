//! What a deploy did to each resource: the vocabulary every part of the deploy reports in.

use serde::Serialize;

use crate::stages::ResourceKind;

/// What a deploy did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
}

/// One resource, and what the deploy did to it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
}
