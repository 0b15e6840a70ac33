//! What each role did, as the IAM check saw it: like CloudTrail's record of a role's calls, which IAM Access
//! Analyzer's policy generation reads (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html>).
//! Kept per role, one entry per distinct request (action, resource), with how often it was made; every denial with
//! its message.

use policy::{Decision, Request};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Denials kept per role (the first ones: they say what is missing; a poller retrying a denied read would repeat
/// the same one for ever).
const MAX_DENIALS: usize = 100;

#[derive(Default)]
pub struct AccessLog(Mutex<HashMap<String, RoleAccess>>);

/// One role's calls.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleAccess {
    /// Each distinct request the role made, and how often it was allowed and denied.
    pub requests: Vec<Seen>,
    /// The denials, each with AWS's message (the first [`MAX_DENIALS`]).
    pub denials: Vec<Denial>,
    /// Calls refused because the local cloud does not know their IAM action.
    pub unknown: Vec<Denial>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    pub request: Request,
    pub allowed: u64,
    pub denied: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Denial {
    pub action: String,
    pub resource: String,
    pub message: String,
}

impl AccessLog {
    /// One decision about `principal` (a session of `role`).
    pub fn record(&self, role: &str, principal: &str, request: &Request, decision: &Decision) {
        let mut roles = self.0.lock().unwrap();
        let access = roles.entry(role.to_owned()).or_default();
        let allowed = decision.is_allowed();
        let seen = match access
            .requests
            .iter_mut()
            .find(|seen| seen.request.action == request.action && seen.request.resource == request.resource)
        {
            Some(seen) => seen,
            None => {
                // The context's time keys differ on every call; the first call's stand for all.
                access.requests.push(Seen {
                    request: request.clone(),
                    allowed: 0,
                    denied: 0,
                });
                access.requests.last_mut().expect("just pushed")
            }
        };
        if allowed {
            seen.allowed += 1;
        } else {
            seen.denied += 1;
            if access.denials.len() < MAX_DENIALS {
                let message = decision
                    .denial_message(
                        policy::PolicyKind::IdentityBased,
                        principal,
                        &request.action,
                        &request.resource,
                    )
                    .unwrap_or_default();
                access.denials.push(Denial {
                    action: request.action.clone(),
                    resource: request.resource.clone(),
                    message,
                });
            }
        }
    }

    pub fn deny_unknown(&self, role: &str, what: &str, message: &str) {
        let mut roles = self.0.lock().unwrap();
        let access = roles.entry(role.to_owned()).or_default();
        if access.unknown.len() < MAX_DENIALS {
            access.unknown.push(Denial {
                action: what.to_owned(),
                resource: String::new(),
                message: message.to_owned(),
            });
        }
    }

    /// Every role's calls so far, by role ARN.
    pub fn snapshot(&self) -> BTreeMap<String, RoleAccess> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(role, access)| (role.clone(), access.clone()))
            .collect()
    }
}
