//! The access report: for each role that acted in the local cloud, the actions it used, the calls it was denied, and
//! the permissions its policies grant that it never used (or grant more widely than it used them) — what IAM Access
//! Analyzer's policy generation (from CloudTrail) and its unused-access findings show for a real account
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html>).
//!
//! Made from the IAM check's log (`authorize::AccessLog`) and the roles' current policies, by `lab-policy`'s
//! `access_report`.

use super::authorize::AccessLog;
use super::roles::Roles;
use serde::Serialize;

/// One role's report.
#[derive(Debug, Clone, Serialize)]
pub struct RoleReport {
    pub role: String,
    /// Each action used, on which resource, how many calls.
    pub used: Vec<Use>,
    /// Each call denied, with AWS's message (the first ones).
    pub denied: Vec<Refusal>,
    /// Each pattern of an `Allow` statement that no call used: a permission to remove.
    pub unused: Vec<Grant>,
    /// The patterns no call used that AWS documents as required of the service acting with the role (the lab sets
    /// them aside from `unused`: it knows which service that is; see `policy::DOCUMENTED_AS_REQUIRED`).
    pub documented: Vec<Grant>,
    /// Each wildcard pattern that was used, but only for what `used_for` lists: a permission to narrow.
    pub wider_than_used: Vec<Grant>,
    /// Policies of the role that do not parse (they allow nothing).
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Use {
    pub action: String,
    pub resource: String,
    pub calls: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub action: String,
    pub resource: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// `statement 1 ("ReadTheStream") of policy "consumer"`.
    pub statement: String,
    /// `Action`, `Resource`, `NotAction` or `NotResource`.
    pub element: String,
    pub pattern: String,
    /// What it was used for (for a pattern wider than its use).
    pub used_for: Vec<String>,
}

/// Every role's report, by role ARN.
pub async fn report(log: &AccessLog, roles: &Roles) -> Vec<RoleReport> {
    let mut reports = vec![];
    for (arn, access) in log.snapshot() {
        let role = roles.get(&arn).await.ok().flatten();
        let policies = role.as_ref().map(|role| role.policies.clone()).unwrap_or_default();
        let requests: Vec<policy::Request> = access.requests.iter().map(|seen| seen.request.clone()).collect();
        let analysed = policy::access_report(&policies, &requests);
        let grants = |wanted: policy::Verdict| -> Vec<Grant> {
            let mut found = vec![];
            for statement in &analysed.grants {
                for (name, element) in [("Action", &statement.actions), ("Resource", &statement.resources)] {
                    match element {
                        policy::ElementUse::Listed { patterns } => {
                            found.extend(patterns.iter().filter(|p| p.verdict == wanted).map(|p| Grant {
                                statement: statement.statement.to_string(),
                                element: name.to_owned(),
                                pattern: p.pattern.clone(),
                                used_for: p.used_for.clone(),
                            }))
                        }
                        policy::ElementUse::Not {
                            except,
                            used_for,
                            verdict,
                        } if *verdict == wanted => found.push(Grant {
                            statement: statement.statement.to_string(),
                            element: format!("Not{name}"),
                            pattern: except.join(", "),
                            used_for: used_for.clone(),
                        }),
                        policy::ElementUse::Not { .. } => {}
                    }
                }
            }
            found
        };
        let mut used: Vec<Use> = access
            .requests
            .iter()
            .filter(|seen| seen.allowed > 0)
            .map(|seen| Use {
                action: seen.request.action.clone(),
                resource: seen.request.resource.clone(),
                calls: seen.allowed,
            })
            .collect();
        used.sort_by(|a, b| (&a.action, &a.resource).cmp(&(&b.action, &b.resource)));
        let denied = access
            .denials
            .iter()
            .chain(&access.unknown)
            .map(|denial| Refusal {
                action: denial.action.clone(),
                resource: denial.resource.clone(),
                message: denial.message.clone(),
            })
            .collect();
        reports.push(RoleReport {
            role: arn,
            used,
            denied,
            unused: grants(policy::Verdict::Unused),
            documented: vec![],
            wider_than_used: grants(policy::Verdict::WiderThanUsed),
            unreadable: role.map(|role| role.unreadable.clone()).unwrap_or_default(),
        });
    }
    reports
}
