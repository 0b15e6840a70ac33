//! A run's part of step 1's reference trace (`lab_contract::trace`), made from the access report: for each role of
//! the pipeline, the distinct requests its step 1 document must allow, the run's names replaced by placeholders.
//!
//! Not step 1's: the calls the deploy's own additions to a role allow (`stages.rs`' `iam_additions`: the consumer's
//! failed batches in S3, the analysis' window results), which the learner's documents do not teach.
//!
//! The lab also sets aside, in each role's report, the grants it never used that AWS documents as required of the
//! service acting with it (`policy::DOCUMENTED_AS_REQUIRED`): they are not for removing.

use lab_contract::trace::{RoleTrace, Trace, TracedRequest};
use policy::{NamedPolicy, Request, ServiceRole, documented_for, evaluate};

use crate::control::deploy::{Deployed, setting};
use crate::gateway::access_report::{Grant, RoleReport};
use crate::naming::Naming;
use crate::stages::{FIREHOSE_ROLE, FunctionStage, STAGES};

/// The names of a run's resources, which the trace replaces by placeholders.
#[derive(Debug, Clone)]
pub struct Names {
    pub naming: Naming,
    pub region: String,
    pub account: String,
    pub bucket: String,
}

impl Names {
    pub fn of(deployed: &Deployed, naming: &Naming) -> Names {
        Names {
            naming: naming.clone(),
            region: deployed.region.clone(),
            account: deployed.account_id.clone(),
            bucket: deployed.bucket.clone(),
        }
    }

    /// A traced resource: the run's names as placeholders, and the names a run makes up (an object's key, a log
    /// stream's) as `{object}` and `{log-stream}`; `None` for a resource of no shape the trace knows.
    fn template(&self, resource: &str, function: Option<&str>) -> Option<String> {
        let Names {
            region,
            account,
            bucket,
            ..
        } = self;
        let stream = format!("arn:aws:kinesis:{region}:{account}:stream/{}", self.naming.stream());
        if resource == "*" {
            return Some("*".to_owned());
        }
        if resource == stream {
            return Some("arn:{partition}:kinesis:{region}:{account}:stream/{stream}".to_owned());
        }
        let bucket = format!("arn:aws:s3:::{bucket}");
        if resource == bucket {
            return Some("arn:{partition}:s3:::{bucket}".to_owned());
        }
        if resource.strip_prefix(&bucket).is_some_and(|key| key.starts_with('/')) {
            return Some("arn:{partition}:s3:::{bucket}/{object}".to_owned());
        }
        let group = format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{}", function?);
        let template = "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function}";
        match resource.strip_prefix(&group)? {
            "" => Some(template.to_owned()),
            rest if rest.starts_with(":log-stream:") => Some(format!("{template}:log-stream:{{log-stream}}")),
            _ => None,
        }
    }

    /// A documented resource with this run's names (`{object}` as `*`: any key), as a policy would name it.
    fn render(&self, resource: &str) -> String {
        resource
            .replace("{partition}", "aws")
            .replace("{region}", &self.region)
            .replace("{account}", &self.account)
            .replace("{stream}", &self.naming.stream())
            .replace("{bucket}", &self.bucket)
            .replace("{object}", "*")
    }
}

/// A role of the pipeline, as step 1's documents see it.
struct PipelineRole {
    piece: &'static str,
    /// Its stage's function (`None`: Firehose's role).
    function: Option<&'static FunctionStage>,
}

impl PipelineRole {
    fn all() -> impl Iterator<Item = PipelineRole> {
        let functions = STAGES.iter().filter_map(|stage| stage.function.as_ref());
        let functions = functions.map(|function| PipelineRole {
            piece: function.role,
            function: Some(function),
        });
        functions.chain([PipelineRole {
            piece: FIREHOSE_ROLE,
            function: None,
        }])
    }

    /// The pipeline's role `role_arn` names, if it is one.
    fn of(role_arn: &str, naming: &Naming) -> Option<PipelineRole> {
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        PipelineRole::all().find(|role| naming.role(role.piece) == name)
    }

    /// Its step 1 document (`None`: a role the deploy writes the whole document of).
    fn document(&self) -> Option<&'static str> {
        match self.function {
            None => Some("firehose"),
            Some(function) => function.policy,
        }
    }

    fn who(&self) -> String {
        match self.piece {
            "producer" => "the producer".to_owned(),
            "consumer" => "the consumer".to_owned(),
            "analytics" => "the analysis".to_owned(),
            "scaler" => "the scaler".to_owned(),
            FIREHOSE_ROLE => "Firehose".to_owned(),
            other => format!("the {other} function"),
        }
    }

    fn service(&self) -> Option<ServiceRole> {
        match self.function {
            None => Some(ServiceRole::FirehoseKinesisToS3),
            Some(function) => function.mapping.map(|_| ServiceRole::LambdaKinesisMapping),
        }
    }

    /// Who makes a call of `action` with this role, to end "…, which …".
    fn by(&self, action: &str) -> String {
        let who = self.who();
        let (service, verb) = action.split_once(':').unwrap_or(("", action));
        let reads = ["Get", "List", "Describe", "SubscribeToShard"]
            .iter()
            .any(|prefix| verb.starts_with(prefix));
        match (self.function, service) {
            (None, "kinesis") => "Firehose calls to read the stream".to_owned(),
            (None, _) => "Firehose calls to write into the bucket".to_owned(),
            (Some(_), "logs") => format!("Lambda calls to write {who}'s logs"),
            (Some(function), "kinesis") if reads && function.mapping.is_some() => {
                format!("{who}'s event source mapping calls")
            }
            (Some(_), _) => format!("{who} calls"),
        }
    }

    /// The deploy's additions to the role's document, as a policy of their own.
    fn additions(&self, names: &Names) -> Vec<NamedPolicy> {
        let Some(function) = self.function.filter(|function| !function.iam_additions.is_empty()) else {
            return vec![];
        };
        let statements: Vec<serde_json::Value> = function
            .iam_additions
            .iter()
            .map(|statement| {
                let stream = format!(
                    "arn:aws:kinesis:{}:{}:stream/{}",
                    names.region,
                    names.account,
                    names.naming.stream()
                );
                let resource = setting(statement.resource, &names.naming, &names.bucket, &stream);
                serde_json::json!({"Sid": statement.sid, "Effect": "Allow", "Action": statement.actions,
                    "Resource": [resource]})
            })
            .collect();
        let document = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
        vec![NamedPolicy::parse("additions", &document.to_string()).expect("the table's additions are a policy")]
    }
}

/// The run's trace: each pipeline role's requests its step 1 document must allow, and what keeps the run from being
/// a reference (a denial, a role or resource the trace does not know).
pub fn of_run(access: &[RoleReport], names: &Names, scenario: &str, records: u64) -> Trace {
    let mut trace = Trace {
        scenarios: vec![scenario.to_owned()],
        records,
        ..Trace::default()
    };
    for report in access {
        let Some(role) = PipelineRole::of(&report.role, &names.naming) else {
            trace
                .problems
                .push(format!("{} is no role of the pipeline's", report.role));
            continue;
        };
        for denial in &report.denied {
            trace
                .problems
                .push(format!("the {} role was denied: {}", role.piece, denial.message));
        }
        // A role step 1 writes no document for (step 6's scaler's): the deploy's own, not step 1's to grade.
        let Some(document) = role.document() else {
            continue;
        };
        let function = role.function.map(|function| names.naming.function(function.name));
        let additions = role.additions(names);
        let mut requests: Vec<TracedRequest> = vec![];
        for used in &report.used {
            if evaluate(&additions, &Request::new(&used.action, &used.resource)).is_allowed() {
                continue;
            }
            let Some(resource) = names.template(&used.resource, function.as_deref()) else {
                trace.problems.push(format!(
                    "the {} role used {} on {}, a resource the trace has no placeholder for",
                    role.piece, used.action, used.resource
                ));
                continue;
            };
            if !requests
                .iter()
                .any(|r| r.action == used.action && r.resource == resource)
            {
                requests.push(TracedRequest {
                    by: role.by(&used.action),
                    action: used.action.clone(),
                    resource,
                    scenarios: vec![scenario.to_owned()],
                });
            }
        }
        requests.sort_by(|a, b| (&a.action, &a.resource).cmp(&(&b.action, &b.resource)));
        trace.roles.push(RoleTrace {
            role: role.piece.to_owned(),
            document: document.to_owned(),
            function: role.function.map(|function| function.name.to_owned()),
            who: role.who(),
            service: role.service().map(|service| format!("{service:?}")),
            requests,
        });
    }
    let order: Vec<&str> = PipelineRole::all().map(|role| role.piece).collect();
    trace
        .roles
        .sort_by_key(|role| order.iter().position(|piece| *piece == role.role));
    trace
}

/// Moves each grant a role never used, but that AWS documents as required of the service acting with it, from
/// `unused` to `documented`.
pub fn set_aside_documented(access: &mut [RoleReport], names: &Names) {
    for report in access {
        let Some(service) = PipelineRole::of(&report.role, &names.naming).and_then(|role| role.service()) else {
            continue;
        };
        let documented = |grant: &Grant| {
            documented_for(service).any(|documented| match grant.element.as_str() {
                "Action" => documented.action.eq_ignore_ascii_case(&grant.pattern),
                "Resource" => names.render(documented.resource) == grant.pattern,
                _ => false,
            })
        };
        let (set_aside, unused) = std::mem::take(&mut report.unused).into_iter().partition(documented);
        report.unused = unused;
        report.documented = set_aside;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::access_report::{Refusal, Use};

    fn names() -> Names {
        Names {
            naming: Naming::plain(),
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            bucket: "kinesis-lab-telemetry-123456789012".to_owned(),
        }
    }

    fn report(role: &str, used: &[(&str, &str)]) -> RoleReport {
        RoleReport {
            role: format!("arn:aws:iam::123456789012:role/kinesis-lab-{role}"),
            used: used
                .iter()
                .map(|(action, resource)| Use {
                    action: (*action).to_owned(),
                    resource: (*resource).to_owned(),
                    calls: 1,
                })
                .collect(),
            denied: vec![],
            unused: vec![],
            documented: vec![],
            wider_than_used: vec![],
            unreadable: vec![],
        }
    }

    const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/TelemetricStream";
    const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/consumeKinesisEvents";

    #[test]
    fn a_role_s_requests_are_traced_with_placeholders_and_who_makes_them() {
        let log_stream = format!("{GROUP}:log-stream:2026/12/06/[$LATEST]517594151d614d7e94a73fbdaf016d60");
        let other_log_stream = format!("{GROUP}:log-stream:2026/12/06/[$LATEST]660e472520c3455083f7b023ee08c4b3");
        let consumer = report(
            "consumer",
            &[
                ("kinesis:GetRecords", STREAM),
                ("logs:PutLogEvents", &log_stream),
                ("logs:PutLogEvents", &other_log_stream),
                // The on-failure destination: the deploy's addition, not step 1's.
                (
                    "s3:PutObject",
                    "arn:aws:s3:::kinesis-lab-telemetry-123456789012/aws/lambda/c669/shardId-000000000000/x",
                ),
            ],
        );
        let trace = of_run(&[consumer], &names(), "poison", 2000);
        assert!(trace.problems.is_empty(), "{:?}", trace.problems);
        let role = &trace.roles[0];
        assert_eq!((role.role.as_str(), role.document.as_str()), ("consumer", "consumer"));
        assert_eq!(role.function.as_deref(), Some("consumeKinesisEvents"));
        let traced: Vec<(&str, &str, &str)> = role
            .requests
            .iter()
            .map(|r| (r.action.as_str(), r.resource.as_str(), r.by.as_str()))
            .collect();
        assert_eq!(
            traced,
            [
                (
                    "kinesis:GetRecords",
                    "arn:{partition}:kinesis:{region}:{account}:stream/{stream}",
                    "the consumer's event source mapping calls"
                ),
                (
                    "logs:PutLogEvents",
                    "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function}:log-stream:{log-stream}",
                    "Lambda calls to write the consumer's logs"
                ),
            ],
            "one entry per distinct templated request; the S3 addition left out"
        );
    }

    #[test]
    fn the_producer_s_own_writes_and_firehose_s_calls_are_said_to_be_theirs() {
        let producer = report("producer", &[("kinesis:PutRecords", STREAM)]);
        let firehose = report(
            "firehose",
            &[
                ("kinesis:GetRecords", STREAM),
                (
                    "s3:PutObject",
                    "arn:aws:s3:::kinesis-lab-telemetry-123456789012/telemetry/2026/12/06/12/x",
                ),
            ],
        );
        let trace = of_run(&[firehose, producer], &names(), "steady", 2000);
        let by: Vec<(&str, &str, &str)> = trace
            .roles
            .iter()
            .flat_map(|role| {
                role.requests
                    .iter()
                    .map(|r| (role.role.as_str(), r.resource.as_str(), r.by.as_str()))
            })
            .collect();
        assert_eq!(
            by,
            [
                (
                    "producer",
                    "arn:{partition}:kinesis:{region}:{account}:stream/{stream}",
                    "the producer calls"
                ),
                (
                    "firehose",
                    "arn:{partition}:kinesis:{region}:{account}:stream/{stream}",
                    "Firehose calls to read the stream"
                ),
                (
                    "firehose",
                    "arn:{partition}:s3:::{bucket}/{object}",
                    "Firehose calls to write into the bucket"
                ),
            ],
            "in the pipeline's order: producer first"
        );
    }

    #[test]
    fn a_denial_or_an_unknown_resource_keeps_a_run_from_being_a_reference() {
        let mut producer = report(
            "producer",
            &[("kinesis:PutRecords", "arn:aws:kinesis:us-east-1:1:stream/Other")],
        );
        producer.denied.push(Refusal {
            action: "kinesis:PutRecords".to_owned(),
            resource: STREAM.to_owned(),
            message: "User: … is not authorized to perform: kinesis:PutRecords".to_owned(),
        });
        let trace = of_run(&[producer], &names(), "steady", 2000);
        assert_eq!(trace.problems.len(), 2, "{:?}", trace.problems);
        assert!(trace.problems[0].contains("was denied"), "{:?}", trace.problems);
        assert!(trace.problems[1].contains("no placeholder"), "{:?}", trace.problems);
    }

    #[test]
    fn unused_grants_aws_documents_as_required_are_set_aside_not_reported_for_removal() {
        let grant = |element: &str, pattern: &str| Grant {
            statement: "statement 1".to_owned(),
            element: element.to_owned(),
            pattern: pattern.to_owned(),
            used_for: vec![],
        };
        let mut consumer = report("consumer", &[]);
        consumer.unused = vec![
            grant("Action", "kinesis:DescribeStreamSummary"),
            grant("Action", "kinesis:PutRecord"),
        ];
        let mut firehose = report("firehose", &[]);
        firehose.unused = vec![
            grant("Resource", "arn:aws:s3:::kinesis-lab-telemetry-123456789012"),
            grant("Action", "kinesis:DescribeStreamSummary"),
        ];
        let mut producer = report("producer", &[]);
        producer.unused = vec![grant("Action", "kinesis:DescribeStream")];
        let mut access = [consumer, firehose, producer];
        set_aside_documented(&mut access, &names());
        let patterns = |grants: &[Grant]| grants.iter().map(|g| g.pattern.clone()).collect::<Vec<_>>();
        assert_eq!(patterns(&access[0].documented), ["kinesis:DescribeStreamSummary"]);
        assert_eq!(patterns(&access[0].unused), ["kinesis:PutRecord"]);
        assert_eq!(
            patterns(&access[1].documented),
            ["arn:aws:s3:::kinesis-lab-telemetry-123456789012"],
            "Firehose's role: the bucket is documented (ListBucket), DescribeStreamSummary is not"
        );
        assert_eq!(patterns(&access[1].unused), ["kinesis:DescribeStreamSummary"]);
        assert_eq!(
            patterns(&access[2].unused),
            ["kinesis:DescribeStream"],
            "nothing is documented of the producer's role: no service reads with it"
        );
    }
}
