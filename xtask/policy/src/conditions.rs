//! The `Condition` element: operators, `...IfExists`, `ForAnyValue:`/`ForAllValues:`, and the request context.
//!
//! The rules, and where AWS states them:
//! - operators: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! - several keys AND, several values OR, negated operators NOR, set operators:
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html>
//! - key names case-insensitive: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html>
//!
//! What this module cannot evaluate is never a `false` or a `true`: it is [`Outcome::Unevaluable`], with the reason.

use crate::matching::{Piece, Resolved, Token, glob, like_tokens, literal_text, parse_template, resolve};
use crate::parse::{Condition, Effect, Version};
use crate::request::Context;
use std::cmp::Ordering;
use std::net::IpAddr;

pub(crate) mod values;

use values::{Cidr, Decimal, Instant};

/// What a condition (or a statement) comes to for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Match,
    NoMatch,
    /// Neither: the reason, worded "the local cloud cannot evaluate ...".
    Unevaluable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Arn,
    Ip,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Equals,
    EqualsIgnoreCase,
    Like,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

/// An operator name taken apart: `ForAllValues:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    set: Option<SetOperator>,
    family: Family,
    test: Test,
    negated: bool,
    if_exists: bool,
}

/// The operators AWS documents, by base name: (family, test, negated).
const OPERATORS: [(&str, Family, Test, bool); 27] = [
    ("StringEquals", Family::String, Test::Equals, false),
    ("StringNotEquals", Family::String, Test::Equals, true),
    ("StringEqualsIgnoreCase", Family::String, Test::EqualsIgnoreCase, false),
    (
        "StringNotEqualsIgnoreCase",
        Family::String,
        Test::EqualsIgnoreCase,
        true,
    ),
    ("StringLike", Family::String, Test::Like, false),
    ("StringNotLike", Family::String, Test::Like, true),
    ("NumericEquals", Family::Numeric, Test::Equals, false),
    ("NumericNotEquals", Family::Numeric, Test::Equals, true),
    ("NumericLessThan", Family::Numeric, Test::LessThan, false),
    ("NumericLessThanEquals", Family::Numeric, Test::LessThanEquals, false),
    ("NumericGreaterThan", Family::Numeric, Test::GreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Family::Numeric,
        Test::GreaterThanEquals,
        false,
    ),
    ("DateEquals", Family::Date, Test::Equals, false),
    ("DateNotEquals", Family::Date, Test::Equals, true),
    ("DateLessThan", Family::Date, Test::LessThan, false),
    ("DateLessThanEquals", Family::Date, Test::LessThanEquals, false),
    ("DateGreaterThan", Family::Date, Test::GreaterThan, false),
    ("DateGreaterThanEquals", Family::Date, Test::GreaterThanEquals, false),
    ("Bool", Family::Bool, Test::Equals, false),
    // "The ArnEquals and ArnLike condition operators behave identically", and so do their negations.
    ("ArnEquals", Family::Arn, Test::Like, false),
    ("ArnLike", Family::Arn, Test::Like, false),
    ("ArnNotEquals", Family::Arn, Test::Like, true),
    ("ArnNotLike", Family::Arn, Test::Like, true),
    ("IpAddress", Family::Ip, Test::Equals, false),
    ("NotIpAddress", Family::Ip, Test::Equals, true),
    ("Null", Family::Null, Test::Equals, false),
    // Named so that it is recognised and refused below, not mistaken for a typo of another.
    ("BinaryEquals", Family::String, Test::Equals, false),
];

fn cannot(operator: &str) -> String {
    format!("the local cloud cannot evaluate the condition operator {operator}")
}

/// Takes an operator name apart, or says why it cannot be evaluated.
///
/// "You can add `IfExists` to the end of any condition operator name except the `Null` condition"; the set operators
/// qualify the others (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists>).
fn parse_operator(name: &str) -> Result<Operator, String> {
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Some(SetOperator::ForAnyValue), rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Some(SetOperator::ForAllValues), rest)
    } else {
        (None, name)
    };
    let (if_exists, base) = match rest.strip_suffix("IfExists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    let Some(&(base, family, test, negated)) = OPERATORS.iter().find(|(known, ..)| *known == base) else {
        return Err(cannot(name));
    };
    if base == "BinaryEquals" || (family == Family::Null && (if_exists || set.is_some())) {
        return Err(cannot(name));
    }
    Ok(Operator {
        set,
        family,
        test,
        negated,
        if_exists,
    })
}

/// A policy value ready to compare with the request's values.
#[derive(Debug, Clone)]
enum Expected {
    /// A variable in it has no value: "There is no equal or like value"
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value>).
    Missing(String),
    Text(String),
    Pattern(Vec<Token>),
    Arn(Vec<Vec<Token>>),
    Number(Decimal),
    Date(Instant),
    Bool(bool),
    Net(Cidr),
}

/// Reads every value of the condition for its operator. Policy variables are replaced only for the String, ARN and
/// Bool operators ("You can't use a policy variable with ... Numeric, Date, Binary, IP Address, or Null"; the
/// operators page adds Bool to those that take one), so `${...}` in a number is just not a number.
fn expected_values(
    operator: &Operator,
    condition: &Condition,
    context: &Context,
    version: Version,
) -> Result<Vec<Expected>, String> {
    let takes_variables = matches!(operator.family, Family::String | Family::Arn | Family::Bool);
    let mut expected = Vec::new();
    for value in &condition.values {
        let pieces = if takes_variables {
            match resolve(&parse_template(value, version), context) {
                Resolved::Pieces(pieces) => pieces,
                Resolved::Missing { variable } => {
                    expected.push(Expected::Missing(variable));
                    continue;
                }
            }
        } else {
            value.chars().map(Piece::Literal).collect()
        };
        let read = read_expected(operator, &pieces).ok_or_else(|| {
            format!(
                "the local cloud cannot evaluate the condition {} on {}: the policy value \"{value}\" is not {}",
                condition.operator,
                condition.key,
                kind_of(operator.family),
            )
        })?;
        expected.push(read);
    }
    Ok(expected)
}

fn read_expected(operator: &Operator, pieces: &[Piece]) -> Option<Expected> {
    let text = literal_text(pieces);
    Some(match (operator.family, operator.test) {
        (Family::String, Test::Like) => Expected::Pattern(like_tokens(pieces)),
        (Family::String, _) => Expected::Text(text),
        (Family::Arn, _) => Expected::Arn(arn_components(pieces)?),
        (Family::Numeric, _) => Expected::Number(Decimal::parse(&text)?),
        (Family::Date, _) => Expected::Date(Instant::parse(&text)?),
        (Family::Bool, _) | (Family::Null, _) => Expected::Bool(parse_bool(&text)?),
        (Family::Ip, _) => Expected::Net(Cidr::parse(&text)?),
    })
}

fn kind_of(family: Family) -> &'static str {
    match family {
        Family::String => "a string",
        Family::Numeric => "a number (policy variables are not allowed with Numeric operators)",
        Family::Date => "an ISO 8601 date or an epoch time (policy variables are not allowed with Date operators)",
        Family::Bool | Family::Null => "true or false",
        Family::Arn => "an ARN of six colon-separated components",
        Family::Ip => "an IPv4 or IPv6 address or CIDR range (policy variables are not allowed with IpAddress)",
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// "Each of the six colon-delimited components of the ARN is checked separately and each can include
/// multi-character match wildcards (*) or single-character match wildcards (?)"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>).
/// The sixth component is the rest of the ARN, colons and all.
fn arn_components(pieces: &[Piece]) -> Option<Vec<Vec<Token>>> {
    let mut components: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pieces {
        let colon = matches!(piece, Piece::Text(':') | Piece::Literal(':'));
        if colon && components.len() < 6 {
            components.push(Vec::new());
        } else {
            components.last_mut().expect("never empty").push(*piece);
        }
    }
    (components.len() == 6).then(|| components.iter().map(|c| like_tokens(c)).collect())
}

fn split_arn(value: &str) -> Option<Vec<&str>> {
    let components: Vec<&str> = value.splitn(6, ':').collect();
    (components.len() == 6).then_some(components)
}

/// Whether one request value matches one policy value (before negation); `Err` when the request's value cannot be
/// read as the operator's type.
fn matches_one(operator: &Operator, actual: &str, expected: &Expected) -> Result<bool, String> {
    let ordered = |ordering: Ordering| match operator.test {
        Test::LessThan => ordering == Ordering::Less,
        Test::LessThanEquals => ordering != Ordering::Greater,
        Test::GreaterThan => ordering == Ordering::Greater,
        Test::GreaterThanEquals => ordering != Ordering::Less,
        Test::Equals | Test::EqualsIgnoreCase | Test::Like => ordering == Ordering::Equal,
    };
    let unreadable = || format!("the request's value \"{actual}\" is not {}", kind_of(operator.family));
    Ok(match expected {
        Expected::Missing(_) => false,
        Expected::Text(text) if operator.test == Test::EqualsIgnoreCase => actual.to_lowercase() == text.to_lowercase(),
        Expected::Text(text) => actual == text,
        Expected::Pattern(tokens) => glob(tokens, actual),
        Expected::Arn(components) => match split_arn(actual) {
            Some(parts) => components.iter().zip(parts).all(|(tokens, part)| glob(tokens, part)),
            None => return Err(unreadable()),
        },
        Expected::Number(number) => ordered(Decimal::parse(actual).ok_or_else(unreadable)?.cmp(number)),
        Expected::Date(date) => ordered(Instant::parse(actual).ok_or_else(unreadable)?.cmp(date)),
        Expected::Bool(value) => parse_bool(actual).ok_or_else(unreadable)? == *value,
        Expected::Net(cidr) => cidr.contains(actual.parse::<IpAddr>().map_err(|_| unreadable())?),
    })
}

/// Evaluates one condition (one operator, one key) against the request context.
///
/// `effect` matters once: a negated operator is true against a policy variable with no value ("Inverted condition
/// operators like `StringNotEquals` or `StringNotLike` do match against a null value", the variables page). AWS then
/// applies the statement; in an `Allow` that would allow on a missing variable, which the local cloud refuses to
/// do silently, so it is unevaluable there. In a `Deny` it denies, as in AWS.
pub(crate) fn evaluate(condition: &Condition, context: &Context, version: Version, effect: Effect) -> Outcome {
    if let Some(key) = unsupplied_key(condition, context, version) {
        return Outcome::Unevaluable(format!(
            "the local cloud does not supply the condition key {key} (in the condition {} on {})",
            condition.operator, condition.key
        ));
    }
    let operator = match parse_operator(&condition.operator) {
        Ok(operator) => operator,
        Err(reason) => return Outcome::Unevaluable(reason),
    };
    let expected = match expected_values(&operator, condition, context, version) {
        Ok(expected) => expected,
        Err(reason) => return Outcome::Unevaluable(reason),
    };
    let actual = context.get(&condition.key);
    if operator.family == Family::Null {
        return null_check(&expected, actual.is_some());
    }
    let Some(actual) = actual else {
        return absent(&operator);
    };
    let result = match present(&operator, condition, actual, &expected) {
        Ok(result) => result,
        Err(reason) => return Outcome::Unevaluable(reason),
    };
    let missing = expected.iter().find_map(|value| match value {
        Expected::Missing(variable) => Some(variable),
        _ => None,
    });
    match (result, missing) {
        (true, Some(variable)) if operator.negated && effect == Effect::Allow => Outcome::Unevaluable(format!(
            "the local cloud cannot evaluate the condition {} on {}: the policy variable {variable} has no value in \
             the request, and AWS would let the negated operator match it",
            condition.operator, condition.key
        )),
        (true, _) => Outcome::Match,
        (false, _) => Outcome::NoMatch,
    }
}

/// The condition's key, or a policy variable in its values, that the context says it cannot supply.
fn unsupplied_key(condition: &Condition, context: &Context, version: Version) -> Option<String> {
    if context.unsupplied(&condition.key) {
        return Some(condition.key.clone());
    }
    condition.values.iter().find_map(|value| {
        parse_template(value, version).into_iter().find_map(|part| match part {
            crate::matching::Part::Variable { key, .. } if context.unsupplied(&key) => Some(key),
            _ => None,
        })
    })
}

/// "Use a `Null` condition operator to check if a condition key is absent ... `true` (the key doesn't exist — it is
/// null) or `false` (the key exists and its value is not null)"; several values OR.
fn null_check(expected: &[Expected], present: bool) -> Outcome {
    let matched = expected
        .iter()
        .any(|value| matches!(value, Expected::Bool(null) if *null != present));
    if matched { Outcome::Match } else { Outcome::NoMatch }
}

/// The key is not in the request context.
///
/// "If the key that you specify in a policy condition is not present in the request context, the values do not
/// match and the condition is false. If the policy condition requires that the key is not matched, such as
/// `StringNotLike` or `ArnNotLike`, and the right key is not present, the condition is true" (the operators page);
/// `...IfExists`: "If the key is not present, evaluate the condition element as true"; `ForAllValues` "returns true
/// if there are no keys in the request", `ForAnyValue` "For no matching key or a null dataset, the condition returns
/// false" (the multiple-values page).
fn absent(operator: &Operator) -> Outcome {
    let matched = match operator.set {
        _ if operator.if_exists => true,
        Some(SetOperator::ForAllValues) => true,
        Some(SetOperator::ForAnyValue) => false,
        None => operator.negated,
    };
    if matched { Outcome::Match } else { Outcome::NoMatch }
}

/// The key is present with these values.
///
/// For each request value, several policy values OR ("If a single condition operator includes multiple values for
/// one key, that condition operator is evaluated using a logical OR"), and a negated operator NORs them ("If a single
/// negated matching condition operator includes multiple values for a context key, those values are evaluated using
/// a logical NOR"). `ForAllValues` needs every request value to pass, `ForAnyValue` one. Without a set operator the
/// key must be single-valued: "Multivalued context keys require a condition set operator", and how AWS reads one
/// without it is not documented, so it is unevaluable.
fn present(
    operator: &Operator,
    condition: &Condition,
    actual: &[String],
    expected: &[Expected],
) -> Result<bool, String> {
    let passes = |value: &String| -> Result<bool, String> {
        let mut any = false;
        for expected in expected {
            any |= matches_one(operator, value, expected).map_err(|why| {
                format!(
                    "the local cloud cannot evaluate the condition {} on {}: {why}",
                    condition.operator, condition.key
                )
            })?;
        }
        Ok(any != operator.negated)
    };
    match operator.set {
        Some(SetOperator::ForAllValues) => actual.iter().try_fold(true, |all, value| Ok(all && passes(value)?)),
        Some(SetOperator::ForAnyValue) => actual.iter().try_fold(false, |any, value| Ok(any || passes(value)?)),
        None => match actual {
            [one] => passes(one),
            many => Err(format!(
                "the local cloud cannot evaluate the condition {} on {}: the request has {} values for the key, and \
                 AWS documents a multivalued key as needing ForAnyValue: or ForAllValues:",
                condition.operator,
                condition.key,
                many.len()
            )),
        },
    }
}
