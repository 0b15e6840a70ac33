//! Wildcards (`*`, `?`) and policy variables (`${aws:username}`, `${*}`), and the three ways AWS matches with
//! them: actions (case-insensitive), resources (case-sensitive, `*` spanning `:` only at a segment's end) and
//! string conditions (`StringLike`).

use crate::parse::Version;
use crate::request::Context;

/// One piece of a policy string as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Plain text: `*` and `?` in it are wildcards where the element allows them.
    Text(String),
    /// `${*}`, `${?}` or `${$}`: the character itself, never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`.
    Variable { key: String, default: Option<String> },
}

/// A policy string with its variables: `arn:aws:s3:::bucket/${aws:username}/*`.
///
/// Variables exist only in version 2012-10-17; in 2008-10-17 "variables such as `${aws:username}` aren't recognized
/// as variables and are instead treated as literal strings"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html>).
pub(crate) fn parse_template(text: &str, version: Version) -> Vec<Part> {
    if version == Version::V2008_10_17 {
        return vec![Part::Text(text.to_owned())];
    }
    let mut parts = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        plain.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // An unterminated `${` is text, as any other characters.
            plain.push_str(&rest[start..]);
            rest = "";
            break;
        };
        match variable(&after[..end]) {
            Some(part) => {
                if !plain.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut plain)));
                }
                parts.push(part);
            }
            None => plain.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        parts.push(Part::Text(plain));
    }
    parts
}

/// What is inside `${...}`: a special character, or a key with an optional default.
///
/// Special characters and defaults: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars>
/// and `#policy-vars-default-values` ("surround the default value with single quotes, and separate the variable
/// text and the default value with a comma and space").
fn variable(inside: &str) -> Option<Part> {
    match inside {
        "*" => return Some(Part::Escaped('*')),
        "?" => return Some(Part::Escaped('?')),
        "$" => return Some(Part::Escaped('$')),
        _ => {}
    }
    let (key, default) = match inside.split_once(',') {
        None => (inside.trim(), None),
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(quoted.to_owned()))
        }
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some(Part::Variable {
        key: key.to_owned(),
        default,
    })
}

/// A character of a resolved policy string: from the policy's text (a wildcard where allowed) or from an escape or
/// a variable's value (always itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(char),
    Literal(char),
}

/// A policy string with its variables replaced from the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Pieces(Vec<Piece>),
    /// A variable has no value (and no default): "There is no equal or like value"
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value>).
    Missing {
        variable: String,
    },
}

/// Replaces each variable with its single value in `context`.
///
/// A multivalued key is no value: "You can't use a multivalued condition key as a variable"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>).
pub(crate) fn resolve(parts: &[Part], context: &Context) -> Resolved {
    let mut pieces = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => pieces.extend(text.chars().map(Piece::Text)),
            Part::Escaped(c) => pieces.push(Piece::Literal(*c)),
            Part::Variable { key, default } => {
                let value = match context.get(key) {
                    Some([one]) => Some(one.as_str()),
                    _ => default.as_deref(),
                };
                let Some(value) = value else {
                    return Resolved::Missing {
                        variable: format!("${{{key}}}"),
                    };
                };
                pieces.extend(value.chars().map(Piece::Literal));
            }
        }
    }
    Resolved::Pieces(pieces)
}

/// The text of resolved pieces, every wildcard taken literally (`StringEquals`, `Bool`).
pub(crate) fn literal_text(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(c) | Piece::Literal(c) => *c,
        })
        .collect()
}

/// One step of a wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Char(char),
    /// `?`: one character (`:` only if `colon`).
    One {
        colon: bool,
    },
    /// `*`: any run of characters, the empty one included (`:` only if `colon`).
    Run {
        colon: bool,
    },
}

/// Whether `text` matches the whole pattern. Dynamic programming over (pattern step, text position), so a `*` that
/// may not cross `:` is exact too (backtracking to the last `*` alone is not, once stars differ).
pub(crate) fn glob(tokens: &[Token], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far match chars[..j]
    let mut matched = vec![false; chars.len() + 1];
    matched[0] = true;
    for token in tokens {
        let mut next = vec![false; chars.len() + 1];
        for j in 0..=chars.len() {
            next[j] = match *token {
                Token::Char(c) => j > 0 && matched[j - 1] && chars[j - 1] == c,
                Token::One { colon } => j > 0 && matched[j - 1] && (colon || chars[j - 1] != ':'),
                Token::Run { colon } => matched[j] || (j > 0 && next[j - 1] && (colon || chars[j - 1] != ':')),
            };
        }
        matched = next;
    }
    matched[chars.len()]
}

/// Whether a request's action matches a pattern of an `Action` or `NotAction` element.
///
/// "The prefix and the action name are case insensitive" and may hold `*`
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html>); "Action names can
/// include wildcards" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>), `?`
/// being one character as everywhere in the policy language.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    let tokens: Vec<Token> = pattern
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '*' => Token::Run { colon: true },
            '?' => Token::One { colon: true },
            c => Token::Char(c),
        })
        .collect();
    glob(&tokens, &action.to_lowercase())
}

/// The steps of a `StringLike` value: `*` and `?` anywhere, crossing anything
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String>).
pub(crate) fn like_tokens(pieces: &[Piece]) -> Vec<Token> {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text('*') => Token::Run { colon: true },
            Piece::Text('?') => Token::One { colon: true },
            Piece::Text(c) | Piece::Literal(c) => Token::Char(*c),
        })
        .collect()
}

/// The steps of a `Resource` pattern.
///
/// "You can use wildcard characters (`*` and `?`) within the individual segments of an ARN (the parts separated by
/// colons) ... If the `*` wildcard is the last character of a resource ARN segment, it can expand to match beyond
/// the colon boundaries" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards>).
/// So a `*` followed by `:` or ending the pattern may cross colons; any other `*`, and every `?`, stays within its
/// segment. Within a segment `*` crosses `/` like any other character ("there is no specific significance when
/// this character is used within a resource ARN").
pub(crate) fn resource_tokens(pieces: &[Piece]) -> Vec<Token> {
    let is_colon = |piece: Option<&Piece>| matches!(piece, Some(Piece::Text(':') | Piece::Literal(':')) | None);
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| match piece {
            Piece::Text('*') => Token::Run {
                colon: is_colon(pieces.get(i + 1)),
            },
            Piece::Text('?') => Token::One { colon: false },
            Piece::Text(c) | Piece::Literal(c) => Token::Char(*c),
        })
        .collect()
}

/// How one `Resource`/`NotResource` pattern compares with a request's resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceMatch {
    Yes,
    No,
    /// The pattern names a variable the request lacks: it "will not match any resource"
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value>).
    Missing {
        variable: String,
    },
    /// The pattern cannot be evaluated (the reason).
    Unevaluable(String),
}

/// Matches a resource pattern (case-sensitively: "In the Resource element, the IAM user name is case sensitive",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>).
///
/// A variable may stand "only in the resource portion of the ARN. This portion of the ARN appears after the fifth
/// colon" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-resourceelement>);
/// one before it is unevaluable rather than guessed at.
pub(crate) fn resource_matches(pattern: &str, resource: &str, context: &Context, version: Version) -> ResourceMatch {
    let parts = parse_template(pattern, version);
    let mut colons = 0;
    for part in &parts {
        match part {
            Part::Text(text) => colons += text.matches(':').count(),
            Part::Escaped(_) => {}
            Part::Variable { key, .. } if colons < 5 => {
                return ResourceMatch::Unevaluable(format!(
                    "the resource {pattern}: its policy variable ${{{key}}} stands before the ARN's resource part, \
                     where AWS allows none"
                ));
            }
            Part::Variable { key, .. } if context.unsupplied(key) => {
                return ResourceMatch::Unevaluable(format!(
                    "the resource {pattern}: the local cloud does not supply its policy variable ${{{key}}}"
                ));
            }
            Part::Variable { .. } => {}
        }
    }
    match resolve(&parts, context) {
        Resolved::Missing { variable } => ResourceMatch::Missing { variable },
        Resolved::Pieces(pieces) if glob(&resource_tokens(&pieces), resource) => ResourceMatch::Yes,
        Resolved::Pieces(_) => ResourceMatch::No,
    }
}
