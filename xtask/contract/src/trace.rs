//! Step 1's reference trace: the distinct IAM requests (action, resource) each role of the pipeline made in real
//! runs of the lab, like the CloudTrail record IAM Access Analyzer generates a policy from
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html>). Step 1's tests grade
//! the learner's three policy documents against it with the same evaluator as the local cloud's IAM check, so that
//! `cargo xtask check step-1` knows what the pipeline really calls without running it.
//!
//! `lab-cloud lab` makes a run's trace (in its JSON summary, `trace`) from the access report; `cargo xtask lab
//! --write-trace` merges the runs of every scenario into [`TRACE_FILE`]; `cargo xtask verify` compares the file with
//! the trace of its own run ([`Trace::differences`]) and names the command that rewrites it.

use serde::{Deserialize, Serialize};

/// Where the trace is shipped, from the repository's root.
pub const TRACE_FILE: &str = "steps/step-1/tests/fixtures/reference-trace.json";

/// What the file says of itself.
pub const ABOUT: &str = "The calls each role of the pipeline made in real runs of `cargo xtask lab`, one entry per \
distinct (action, resource), the run's names replaced by placeholders. Step 1's tests grade the policy documents \
against it. Made by `cargo xtask lab --write-trace`; do not edit by hand.";

/// The placeholders of a traced resource, and what they stand for.
pub const PLACEHOLDERS: [(&str, &str); 8] = [
    ("{partition}", "the partition: aws"),
    ("{region}", "the region"),
    ("{account}", "the account id"),
    ("{stream}", "the stream's name"),
    ("{bucket}", "the bucket's name"),
    ("{function}", "the name of the function whose role it is"),
    (
        "{object}",
        "an object's key, made up by the writer (Firehose's, the analysis')",
    ),
    (
        "{log-stream}",
        "a log stream's name, made up by Lambda for each execution environment",
    ),
];

/// The calls of every role, over one run or several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// The scenarios of the runs, in the order they ran.
    pub scenarios: Vec<String>,
    /// The records each run was asked for.
    pub records: u64,
    /// By role, in the order of the pipeline (producer, consumer, analytics, firehose).
    pub roles: Vec<RoleTrace>,
    /// What keeps the run from being a reference (a denial, a resource with no placeholder): a run's only, never in
    /// the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One role's calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleTrace {
    /// The role's piece of name: `producer`, `consumer`, `analytics`, `firehose`.
    pub role: String,
    /// Which of step 1's documents the role gets (`policies --json`'s keys): `producer`, `consumer`, `firehose`.
    pub document: String,
    /// The function the document is made for (`{function}`), or none (Firehose's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Who acts with the role, in a learner's words: "the producer", "Firehose".
    pub who: String,
    /// The service that acts with the role, if AWS documents what it requires of it (`lab-policy`'s `ServiceRole`:
    /// `LambdaKinesisMapping`, `FirehoseKinesisToS3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Sorted by action, then resource.
    pub requests: Vec<TracedRequest>,
}

/// One distinct request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracedRequest {
    pub action: String,
    /// An ARN with [`PLACEHOLDERS`], or `*`.
    pub resource: String,
    /// Who makes the call, as the end of "…, which …": "the consumer's event source mapping calls".
    pub by: String,
    /// The scenarios whose runs made it.
    pub scenarios: Vec<String>,
}

impl Trace {
    /// Adds a run's calls: new roles and requests, and the run's scenario to those it made again.
    pub fn merge(&mut self, run: &Trace) {
        for scenario in &run.scenarios {
            if !self.scenarios.contains(scenario) {
                self.scenarios.push(scenario.clone());
            }
        }
        self.records = self.records.max(run.records);
        for role in &run.roles {
            let index = match self.roles.iter().position(|mine| mine.role == role.role) {
                Some(index) => index,
                None => {
                    self.roles.push(RoleTrace {
                        requests: vec![],
                        ..role.clone()
                    });
                    self.roles.len() - 1
                }
            };
            let mine = &mut self.roles[index];
            for request in &role.requests {
                match mine
                    .requests
                    .iter_mut()
                    .find(|seen| seen.action == request.action && seen.resource == request.resource)
                {
                    Some(seen) => {
                        for scenario in &request.scenarios {
                            if !seen.scenarios.contains(scenario) {
                                seen.scenarios.push(scenario.clone());
                            }
                        }
                    }
                    None => mine.requests.push(request.clone()),
                }
            }
            mine.requests
                .sort_by(|a, b| (&a.action, &a.resource).cmp(&(&b.action, &b.resource)));
        }
        self.problems.extend(run.problems.iter().cloned());
    }

    /// Where a run of `scenario` and this trace disagree: each request the run made that the trace lacks (step 1
    /// would pass a policy the pipeline is then denied with), and each request the trace says `scenario` makes that
    /// the run did not (step 1 would demand a permission nothing uses); and the run's own problems.
    pub fn differences(&self, run: &Trace, scenario: &str) -> Vec<String> {
        let mut found: Vec<String> = run
            .problems
            .iter()
            .map(|problem| format!("the run: {problem}"))
            .collect();
        let requests = |trace: &Trace| -> Vec<(String, String, String)> {
            trace
                .roles
                .iter()
                .flat_map(|role| {
                    role.requests
                        .iter()
                        .filter(|request| request.scenarios.iter().any(|s| s == scenario))
                        .map(|request| (role.role.clone(), request.action.clone(), request.resource.clone()))
                })
                .collect()
        };
        let (shipped, ran) = (requests(self), requests(run));
        for (role, action, resource) in ran.iter().filter(|request| !shipped.contains(request)) {
            found.push(format!(
                "the {role} role called {action} on {resource} in the {scenario} scenario; the trace lacks it"
            ));
        }
        for (role, action, resource) in shipped.iter().filter(|request| !ran.contains(request)) {
            found.push(format!(
                "the trace says the {role} role calls {action} on {resource} in the {scenario} scenario; this run \
                 did not"
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(action: &str, scenario: &str) -> TracedRequest {
        TracedRequest {
            action: action.to_owned(),
            resource: "arn:{partition}:kinesis:{region}:{account}:stream/{stream}".to_owned(),
            by: "the producer calls".to_owned(),
            scenarios: vec![scenario.to_owned()],
        }
    }

    fn run(scenario: &str, actions: &[&str]) -> Trace {
        Trace {
            scenarios: vec![scenario.to_owned()],
            records: 2000,
            roles: vec![RoleTrace {
                role: "producer".to_owned(),
                document: "producer".to_owned(),
                function: Some("produceKinesisEvents".to_owned()),
                who: "the producer".to_owned(),
                service: None,
                requests: actions.iter().map(|action| request(action, scenario)).collect(),
            }],
            ..Trace::default()
        }
    }

    #[test]
    fn merging_runs_keeps_each_request_once_with_every_scenario_that_made_it() {
        let mut trace = Trace::default();
        trace.merge(&run("steady", &["kinesis:PutRecords"]));
        trace.merge(&run("flaky", &["kinesis:PutRecords", "kinesis:DescribeStreamSummary"]));
        assert_eq!(trace.scenarios, ["steady", "flaky"]);
        let requests = &trace.roles[0].requests;
        let seen: Vec<(&str, Vec<String>)> = requests
            .iter()
            .map(|request| (request.action.as_str(), request.scenarios.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                ("kinesis:DescribeStreamSummary", vec!["flaky".to_owned()]),
                ("kinesis:PutRecords", vec!["steady".to_owned(), "flaky".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_run_differs_from_the_trace_by_what_it_called_anew_and_what_it_no_longer_calls() {
        let mut shipped = Trace::default();
        shipped.merge(&run("steady", &["kinesis:PutRecords", "kinesis:PutRecord"]));
        shipped.merge(&run("burst", &["kinesis:ListShards"]));
        assert!(
            shipped
                .differences(&run("steady", &["kinesis:PutRecord", "kinesis:PutRecords"]), "steady")
                .is_empty(),
            "the same calls, in any order; the burst scenario's are not this run's"
        );
        let differences = shipped.differences(&run("steady", &["kinesis:PutRecords", "kinesis:GetRecords"]), "steady");
        assert_eq!(
            differences,
            [
                "the producer role called kinesis:GetRecords on arn:{partition}:kinesis:{region}:{account}:stream/\
                 {stream} in the steady scenario; the trace lacks it",
                "the trace says the producer role calls kinesis:PutRecord on arn:{partition}:kinesis:{region}:\
                 {account}:stream/{stream} in the steady scenario; this run did not",
            ]
        );
    }

    #[test]
    fn a_run_with_problems_is_never_the_same_as_the_trace() {
        let shipped = run("steady", &["kinesis:PutRecords"]);
        let mut denied = run("steady", &["kinesis:PutRecords"]);
        denied
            .problems
            .push("the producer role was denied kinesis:PutRecords".to_owned());
        assert_eq!(
            shipped.differences(&denied, "steady"),
            ["the run: the producer role was denied kinesis:PutRecords"]
        );
    }
}
