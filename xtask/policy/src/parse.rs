//! Policy documents: identity-based policies (`Policy::parse`) and role trust policies (`TrustPolicy::parse` in
//! `trust`), read from JSON as IAM reads them and refused with IAM's own `MalformedPolicyDocument` messages.
//!
//! The grammar: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>. IAM's messages
//! are the ones it returns to `CreatePolicy`, `PutRolePolicy` and `CreateRole` (as moto, which the local cloud runs,
//! reproduces them in `moto/iam/policy_validation.py`), checked in the order IAM checks them: syntax, version,
//! legacy parsing, statement IDs, actions, resources, resource format, action prefixes.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// The policy language version (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Version {
    /// The earlier language, and the default when `Version` is absent: no policy variables.
    #[serde(rename = "2008-10-17")]
    V2008_10_17,
    /// The current language.
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
}

/// Whether a statement allows or denies. "The `Effect` value is case sensitive"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// The statement allows what it matches.
    Allow,
    /// The statement denies what it matches, whatever else allows it.
    Deny,
}

/// An `Action`/`Resource` element (`Listed`) or its negation, `NotAction`/`NotResource` (`Not`): the patterns as
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Element {
    /// `Action` or `Resource`: the statement matches what one of these patterns matches.
    Listed(Vec<String>),
    /// `NotAction` or `NotResource`: the statement matches what none of these patterns matches.
    Not(Vec<String>),
}

impl Element {
    /// The patterns, whichever the form.
    pub fn patterns(&self) -> &[String] {
        match self {
            Element::Listed(patterns) | Element::Not(patterns) => patterns,
        }
    }
}

/// One condition: an operator (as written, `ForAnyValue:StringLikeIfExists`), a key and its values. A statement's
/// `Condition` block becomes one of these per operator and key; values written as numbers or booleans are kept as
/// their JSON text (`10`, `true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// The operator as written: `StringEquals`, `ForAllValues:StringLikeIfExists`.
    pub operator: String,
    /// The condition key as written (compared case-insensitively).
    pub key: String,
    /// The policy's values for the key (several are ORed, or NORed by a negated operator).
    pub values: Vec<String>,
}

/// A `Principal` or `NotPrincipal` value (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Principals {
    /// `"Principal": "*"`.
    pub everyone: bool,
    /// `AWS`: account IDs, account root ARNs, role, user and session ARNs, or `*`.
    pub aws: Vec<String>,
    /// `Service`: service principals such as `lambda.amazonaws.com`.
    pub service: Vec<String>,
    /// `Federated`: identity providers.
    pub federated: Vec<String>,
    /// `CanonicalUser` (S3).
    pub canonical_user: Vec<String>,
}

/// A statement's principal element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PrincipalElement {
    /// `Principal`: the statement applies to these principals.
    Principal(Principals),
    /// `NotPrincipal`: the statement applies to every principal but these.
    NotPrincipal(Principals),
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The statement's `Sid`.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Only in trust (resource-based) policies.
    pub principal: Option<PrincipalElement>,
    /// `Action` or `NotAction`.
    pub action: Element,
    /// `None` only in a trust policy, which has no `Resource`.
    pub resource: Option<Element>,
    /// The `Condition` block, one entry per operator and key; all must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed identity-based policy. It serialises as this crate's structure (for reports), not as IAM's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The language version (2008-10-17 when the document has none).
    pub version: Version,
    /// The optional `Id`.
    pub id: Option<String>,
    /// The statements, in the document's order.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parses an identity-based policy (inline or managed), refusing what IAM refuses.
    ///
    /// Accepts both language versions (a document without `Version` is 2008-10-17). `Principal` and `NotPrincipal`
    /// are refused with IAM's "Policy document should not specify a principal.": "You cannot use the `Principal`
    /// element in an identity-based policy" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        parse_document(text, Kind::Identity, false)
    }

    /// As [`Policy::parse`], and also refuses any version but 2012-10-17 with "Policy document must be version
    /// 2012-10-17 or greater.", as IAM's `CreatePolicy` and `PutRolePolicy` do today (and moto with them).
    pub fn parse_current(text: &str) -> Result<Policy, PolicyError> {
        parse_document(text, Kind::Identity, true)
    }
}

/// Why a document was refused: IAM's `MalformedPolicyDocument` message, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    message: String,
    detail: Option<String>,
}

impl PolicyError {
    pub(crate) fn new(message: impl Into<String>, detail: Option<String>) -> Self {
        PolicyError {
            message: message.into(),
            detail,
        }
    }

    /// IAM's words, as a `MalformedPolicyDocument` error carries them ("Syntax errors in policy.").
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where and what, for a person ("statement 2: unknown element \"Actions\"").
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{} ({detail})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

const SYNTAX: &str = "Syntax errors in policy.";

fn syntax(detail: impl Into<String>) -> PolicyError {
    PolicyError::new(SYNTAX, Some(detail.into()))
}

/// Which kind of document is read: the two differ in `Principal` and `Resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Identity,
    Trust,
}

pub(crate) fn parse_document(text: &str, kind: Kind, current_only: bool) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|error| syntax(format!("not JSON: {error}")))?;
    let Value::Object(top) = value else {
        return Err(syntax("the document is not a JSON object"));
    };
    if let Some(key) = top
        .keys()
        .find(|key| !matches!(key.as_str(), "Version" | "Id" | "Statement"))
    {
        return Err(syntax(format!("unknown element \"{key}\"")));
    }
    let version = match top.get("Version") {
        None => Version::V2008_10_17,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
        Some(other) => {
            return Err(syntax(format!(
                "Version {other} is neither \"2012-10-17\" nor \"2008-10-17\""
            )));
        }
    };
    let id = match top.get("Id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(syntax("Id is not a string")),
    };
    let raw = statement_objects(top.get("Statement"))?;
    let raw = raw
        .iter()
        .enumerate()
        .map(|(i, object)| statement_syntax(object, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    if current_only && version != Version::V2012_10_17 {
        return Err(PolicyError::new(
            "Policy document must be version 2012-10-17 or greater.",
            Some("IAM accepts only \"Version\": \"2012-10-17\" for a new policy".to_owned()),
        ));
    }
    check(&raw, kind)?;
    let statements = raw.into_iter().map(RawStatement::finish).collect();
    Ok(Policy {
        version,
        id,
        statements,
    })
}

/// `Statement`: "a single statement or an array of individual statements"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html>).
fn statement_objects(value: Option<&Value>) -> Result<Vec<&Map<String, Value>>, PolicyError> {
    let objects: Vec<&Value> = match value {
        None => return Err(syntax("no Statement")),
        Some(Value::Object(_)) => vec![value.expect("matched")],
        Some(Value::Array(items)) if items.is_empty() => return Err(syntax("Statement is an empty array")),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(_) => return Err(syntax("Statement is neither an object nor an array")),
    };
    objects
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(object) => Ok(object),
            _ => Err(syntax(format!("statement {} is not an object", i + 1))),
        })
        .collect()
}

/// A statement whose syntax is right, before the checks IAM makes after syntax.
#[derive(Debug)]
struct RawStatement {
    index: usize,
    sid: Option<String>,
    effect: String,
    principal: Option<PrincipalElement>,
    action: Option<Element>,
    resource: Option<Element>,
    conditions: Vec<Condition>,
}

impl RawStatement {
    fn finish(self) -> Statement {
        Statement {
            sid: self.sid,
            effect: if self.effect == "Allow" {
                Effect::Allow
            } else {
                Effect::Deny
            },
            principal: self.principal,
            action: self.action.expect("checked: every statement has actions"),
            resource: self.resource,
            conditions: self.conditions,
        }
    }
}

fn statement_syntax(object: &Map<String, Value>, index: usize) -> Result<RawStatement, PolicyError> {
    let at = |what: String| syntax(format!("statement {index}: {what}"));
    const ELEMENTS: [&str; 9] = [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ];
    if let Some(key) = object.keys().find(|key| !ELEMENTS.contains(&key.as_str())) {
        return Err(at(format!("unknown element \"{key}\"")));
    }
    let sid = match object.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(at("Sid is not a string".to_owned())),
    };
    // Syntax takes Allow and Deny in any case; legacy parsing, later, only as written here.
    let effect = match object.get("Effect") {
        Some(Value::String(effect)) if matches!(effect.to_lowercase().as_str(), "allow" | "deny") => effect.clone(),
        Some(other) => return Err(at(format!("Effect {other} is neither \"Allow\" nor \"Deny\""))),
        None => return Err(at("no Effect".to_owned())),
    };
    let action = either(object, "Action", "NotAction").map_err(at)?;
    let resource = either(object, "Resource", "NotResource").map_err(at)?;
    let principal = principal_element(object).map_err(at)?;
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(condition) => conditions(condition).map_err(at)?,
    };
    Ok(RawStatement {
        index,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// One of a pair of exclusive elements (`Action`/`NotAction`), each a string or an array of strings.
fn either(object: &Map<String, Value>, listed: &str, not: &str) -> Result<Option<Element>, String> {
    match (object.get(listed), object.get(not)) {
        (Some(_), Some(_)) => Err(format!("both {listed} and {not}")),
        (Some(value), None) => strings(value, listed).map(|patterns| Some(Element::Listed(patterns))),
        (None, Some(value)) => strings(value, not).map(|patterns| Some(Element::Not(patterns))),
        (None, None) => Ok(None),
    }
}

fn strings(value: &Value, element: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{element} holds {other}, not a string")),
            })
            .collect(),
        other => Err(format!(
            "{element} is {other}, neither a string nor an array of strings"
        )),
    }
}

fn principal_element(object: &Map<String, Value>) -> Result<Option<PrincipalElement>, String> {
    match (object.get("Principal"), object.get("NotPrincipal")) {
        (Some(_), Some(_)) => Err("both Principal and NotPrincipal".to_owned()),
        (Some(value), None) => principals(value, "Principal").map(|p| Some(PrincipalElement::Principal(p))),
        (None, Some(value)) => principals(value, "NotPrincipal").map(|p| Some(PrincipalElement::NotPrincipal(p))),
        (None, None) => Ok(None),
    }
}

/// `"*"` or a map of `AWS`, `Federated`, `Service`, `CanonicalUser` to one ID or several.
fn principals(value: &Value, element: &str) -> Result<Principals, String> {
    let mut principals = Principals::default();
    match value {
        Value::String(star) if star == "*" => principals.everyone = true,
        Value::Object(map) => {
            for (kind, ids) in map {
                let ids = strings(ids, &format!("{element} {kind}"))?;
                match kind.as_str() {
                    "AWS" => principals.aws = ids,
                    "Service" => principals.service = ids,
                    "Federated" => principals.federated = ids,
                    "CanonicalUser" => principals.canonical_user = ids,
                    other => return Err(format!("{element} has the unknown principal type \"{other}\"")),
                }
            }
        }
        other => return Err(format!("{element} is {other}, neither \"*\" nor a map of principals")),
    }
    Ok(principals)
}

/// `"Condition": { operator: { key: value or [values] } }`; values may be strings, numbers or booleans.
fn conditions(value: &Value) -> Result<Vec<Condition>, String> {
    let Value::Object(operators) = value else {
        return Err("Condition is not an object".to_owned());
    };
    let mut found = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Err(format!("Condition {operator} is not an object of keys"));
        };
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items.iter().map(condition_value).collect::<Option<Vec<_>>>(),
                one => condition_value(one).map(|value| vec![value]),
            };
            let Some(values) = values else {
                return Err(format!(
                    "Condition {operator} {key}: values must be strings, numbers or booleans"
                ));
            };
            found.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(found)
}

fn condition_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// IAM's checks after syntax, in its order.
fn check(statements: &[RawStatement], kind: Kind) -> Result<(), PolicyError> {
    for statement in statements {
        let at = Some(format!("statement {}", statement.index));
        if statement.effect != "Allow" && statement.effect != "Deny" {
            let detail = format!(
                "statement {}: Effect \"{}\" is not written Allow or Deny",
                statement.index, statement.effect
            );
            return Err(PolicyError::new("The policy failed legacy parsing", Some(detail)));
        }
        check_principal(statement, kind).map_err(|message| PolicyError::new(message, at.clone()))?;
    }
    check_sids(statements)?;
    for statement in statements {
        let at = Some(format!("statement {}", statement.index));
        if statement
            .action
            .as_ref()
            .is_none_or(|action| action.patterns().is_empty())
        {
            return Err(PolicyError::new("Policy statement must contain actions.", at));
        }
        match kind {
            Kind::Identity if statement.resource.as_ref().is_none_or(|r| r.patterns().is_empty()) => {
                return Err(PolicyError::new("Policy statement must contain resources.", at));
            }
            // A trust policy's resource is the role itself.
            Kind::Trust if statement.resource.is_some() => {
                return Err(PolicyError::new("Has prohibited field Resource.", at));
            }
            _ => {}
        }
    }
    for statement in statements {
        for resource in statement.resource.iter().flat_map(Element::patterns) {
            if resource != "*" && !resource.contains(':') {
                let message = format!("Resource {resource} must be in ARN format or \"*\".");
                return Err(PolicyError::new(
                    message,
                    Some(format!("statement {}", statement.index)),
                ));
            }
        }
    }
    for statement in statements {
        for action in statement.action.iter().flat_map(Element::patterns) {
            check_action(action).map_err(|message| {
                PolicyError::new(message, Some(format!("statement {}: {action}", statement.index)))
            })?;
        }
    }
    Ok(())
}

/// IAM: "In IAM, the `Sid` value must be unique within a JSON policy" and "basic alphanumeric characters
/// (A-Z,a-z,0-9) are the only allowed characters" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html>,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html#policies-grammar-notes-strings>).
fn check_sids(statements: &[RawStatement]) -> Result<(), PolicyError> {
    let mut seen = BTreeSet::new();
    for statement in statements {
        let Some(sid) = statement.sid.as_deref() else {
            continue;
        };
        if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PolicyError::new(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression \
                 [0-9A-Za-z]*",
                Some(format!("statement {}: Sid \"{sid}\"", statement.index)),
            ));
        }
        if !sid.is_empty() && !seen.insert(sid) {
            return Err(PolicyError::new(
                "Statement IDs (SID) in a single policy must be unique.",
                Some(format!("Sid \"{sid}\" is repeated")),
            ));
        }
    }
    Ok(())
}

/// An identity-based policy has no principal; a trust policy names one in each statement, never `NotPrincipal`
/// ("You cannot use the `NotPrincipal` element in an IAM identity-based policy or in an IAM role trust policy",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>), and never a
/// partial wildcard ("You cannot use a wildcard to match part of a principal name or ARN").
fn check_principal(statement: &RawStatement, kind: Kind) -> Result<(), String> {
    match (kind, &statement.principal) {
        (Kind::Identity, Some(_)) => Err("Policy document should not specify a principal.".to_owned()),
        (Kind::Identity, None) => Ok(()),
        // IAM's answer to CreateRole with such a statement, as quoted in terraform-aws-modules/terraform-aws-iam#47.
        (Kind::Trust, None) => {
            Err("Invalid principal in policy: The passed in policy has a statement with no principals!".to_owned())
        }
        (Kind::Trust, Some(PrincipalElement::NotPrincipal(_))) => {
            Err("Invalid principal in policy: NotPrincipal cannot be used in a role trust policy".to_owned())
        }
        (Kind::Trust, Some(PrincipalElement::Principal(principals))) => {
            let named = [("AWS", &principals.aws), ("Service", &principals.service)];
            let federated = [("Federated", &principals.federated)];
            for (kind, ids) in named.iter().chain(federated.iter()) {
                if let Some(id) = ids
                    .iter()
                    .find(|id| *id != "*" && (id.contains('*') || id.contains('?')))
                {
                    return Err(format!("Invalid principal in policy: \"{kind}\":\"{id}\""));
                }
            }
            Ok(())
        }
    }
}

/// An action is `vendor:name` (or `*`), as IAM checks it.
fn check_action(action: &str) -> Result<(), String> {
    let parts: Vec<&str> = action.split(':').collect();
    match parts.as_slice() {
        ["*"] => Ok(()),
        [_] => Err("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned()),
        [vendor, _] if *vendor == "*" || vendor.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)) => {
            Ok(())
        }
        [vendor, _] => Err(format!("Vendor {vendor} is not valid")),
        _ => Err("Actions/Condition can contain only one colon.".to_owned()),
    }
}
