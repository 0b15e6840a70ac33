//! Firehose's S3 object keys: `<evaluated prefix><delivery stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><file
//! extension>`, as AWS documents them.
//!
//! - The prefix's expressions, `!{namespace:value}` ("Custom Prefixes for Amazon S3 Objects",
//!   <https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html>): `!{timestamp:<Java DateTimeFormatter
//!   pattern>}`, the arrival of the object's oldest record, every instance the same instant; text in single quotes
//!   taken literally (`''` is a quote); `!{firehose:random-string}`, 11 random characters, new at each instance;
//!   `!{firehose:error-output-type}` (error prefix only). Without a timestamp expression the prefix gets
//!   `yyyy/MM/dd/HH/` appended.
//! - `CustomTimeZone` sets the zone of the prefix's timestamps and of the name's time, UTC by default; a compression
//!   adds its extension unless `FileExtension` replaces it ("Configure Amazon S3 object name format",
//!   <https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html>).
//!
//! The pattern letters evaluated here are those a key uses: `y`/`u` (year: `yyyy`, `yy`, `y`), `M` (`MM`, `M`), `d`,
//! `H`, `m`, `s` (two or one digits). Anything else Java would accept (month names, week-based years, AM/PM hours)
//! is refused when the delivery stream is created ([`parse`]'s `Unsupported`), never copied into a key.

use jiff::tz::TimeZone;

/// One piece of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Timestamp(Vec<DatePart>),
    RandomString,
    ErrorOutputType,
    /// `!{partitionKeyFromQuery:key}` or `!{partitionKeyFromLambda:key}`: dynamic partitioning's keys.
    PartitionKey {
        namespace: String,
        key: String,
    },
}

/// One piece of a timestamp pattern: a field, padded to `width` digits (`yy`: the year's last two), or literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatePart {
    Field { letter: char, width: usize },
    Text(String),
}

/// Why a prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// AWS refuses it: the rule broken, in the words of AWS's page.
    Invalid(String),
    /// AWS would take it, the local cloud does not evaluate it: what it is.
    Unsupported(String),
}

/// The prefix's pieces, or why AWS (or the local cloud) would refuse it.
pub fn parse(prefix: &str) -> Result<Vec<Part>, PrefixError> {
    let mut parts = vec![];
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            PrefixError::Invalid("The sequence !{ can only appear in !{namespace:value} expressions".to_owned())
        })?;
        parts.push(expression(&after[..end])?);
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

fn expression(inside: &str) -> Result<Part, PrefixError> {
    let invalid = |why: &str| PrefixError::Invalid(format!("{why}: !{{{inside}}}"));
    let (namespace, value) = inside
        .split_once(':')
        .ok_or_else(|| invalid("An expression is !{namespace:value}"))?;
    match (namespace, value) {
        ("timestamp", pattern) => date_pattern(pattern).map(Part::Timestamp),
        ("firehose", "random-string") => Ok(Part::RandomString),
        ("firehose", "error-output-type") => Ok(Part::ErrorOutputType),
        ("firehose", _) => Err(invalid(
            "The firehose namespace has two values, error-output-type and random-string",
        )),
        ("partitionKeyFromQuery" | "partitionKeyFromLambda", key) => Ok(Part::PartitionKey {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        }),
        _ => Err(invalid(
            "The namespace is firehose, timestamp, partitionKeyFromQuery or partitionKeyFromLambda",
        )),
    }
}

/// A Java `DateTimeFormatter` pattern: letters are fields, text in single quotes is literal (`''` a quote), other
/// characters are literal.
fn date_pattern(pattern: &str) -> Result<Vec<DatePart>, PrefixError> {
    let mut parts = vec![];
    let mut chars = pattern.chars().peekable();
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                text.push('\'');
                continue;
            }
            let mut closed = false;
            while let Some(q) = chars.next() {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                    text.push('\'');
                } else if q == '\'' {
                    closed = true;
                    break;
                } else {
                    text.push(q);
                }
            }
            if !closed {
                return Err(PrefixError::Invalid(format!(
                    "Pattern ends with an incomplete string literal: {pattern}"
                )));
            }
        } else if c.is_ascii_alphabetic() {
            let mut width = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                width += 1;
            }
            if !text.is_empty() {
                parts.push(DatePart::Text(std::mem::take(&mut text)));
            }
            parts.push(field(c, width, pattern)?);
        } else if "[]{}#".contains(c) {
            return Err(PrefixError::Unsupported(format!(
                "the pattern character {c:?} (optional sections, reserved characters) in !{{timestamp:{pattern}}}"
            )));
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        parts.push(DatePart::Text(text));
    }
    Ok(parts)
}

fn field(letter: char, width: usize, pattern: &str) -> Result<DatePart, PrefixError> {
    let supported = match letter {
        'y' | 'u' => matches!(width, 1 | 2 | 4),
        'M' | 'd' | 'H' | 'm' | 's' => width <= 2,
        _ => false,
    };
    if !supported {
        return Err(PrefixError::Unsupported(format!(
            "{} in !{{timestamp:{pattern}}}: the local cloud evaluates yyyy, yy, MM, dd, HH, mm, ss (or one letter \
             each, unpadded) and quoted text",
            String::from(letter).repeat(width)
        )));
    }
    Ok(DatePart::Field { letter, width })
}

/// The civil time of an instant in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// `epoch_ms` in `zone` (UTC when `None`).
    pub fn at(epoch_ms: i64, zone: Option<&TimeZone>) -> Civil {
        let instant = jiff::Timestamp::from_millisecond(epoch_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let time = instant.to_zoned(zone.cloned().unwrap_or(TimeZone::UTC)).datetime();
        Civil {
            year: i32::from(time.year()),
            month: time.month() as u32,
            day: time.day() as u32,
            hour: time.hour() as u32,
            minute: time.minute() as u32,
            second: time.second() as u32,
        }
    }

    fn field(&self, letter: char, width: usize) -> String {
        let value = match letter {
            'y' | 'u' if width == 2 => i64::from(self.year.rem_euclid(100)),
            'y' | 'u' => i64::from(self.year),
            'M' => i64::from(self.month),
            'd' => i64::from(self.day),
            'H' => i64::from(self.hour),
            'm' => i64::from(self.minute),
            _ => i64::from(self.second),
        };
        format!("{value:0width$}")
    }
}

/// A time zone Firehose's `CustomTimeZone` names (the IANA names AWS lists); `None` for UTC (empty or absent).
pub fn time_zone(name: Option<&str>) -> Result<Option<TimeZone>, String> {
    match name.filter(|name| !name.is_empty()) {
        None => Ok(None),
        Some(name) => TimeZone::get(name)
            .map(Some)
            .map_err(|_| format!("CustomTimeZone {name:?} is not a time zone Firehose supports")),
    }
}

/// Evaluates parsed prefix pieces at `time`; the default `yyyy/MM/dd/HH/` appended when no piece is a timestamp.
/// `error_type` stands for `!{firehose:error-output-type}`.
pub fn evaluate(parts: &[Part], time: &Civil, error_type: &str) -> String {
    let mut out = String::new();
    let mut has_timestamp = false;
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Timestamp(pattern) => {
                has_timestamp = true;
                for piece in pattern {
                    match piece {
                        DatePart::Text(text) => out.push_str(text),
                        DatePart::Field { letter, width } => out.push_str(&time.field(*letter, *width)),
                    }
                }
            }
            Part::RandomString => out.push_str(&uuid::Uuid::new_v4().simple().to_string()[..11]),
            Part::ErrorOutputType => out.push_str(error_type),
            // Refused at creation: a pump never sees one.
            Part::PartitionKey { key, .. } => out.push_str(key),
        }
    }
    if !has_timestamp {
        out.push_str(&format!(
            "{:04}/{:02}/{:02}/{:02}/",
            time.year, time.month, time.day, time.hour
        ));
    }
    out
}

/// The object's name after the prefix: `<name>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`.
pub fn object_name(name: &str, version: &str, time: &Civil, extension: &str) -> String {
    format!(
        "{name}-{version}-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{}{extension}",
        time.year,
        time.month,
        time.day,
        time.hour,
        time.minute,
        time.second,
        uuid::Uuid::new_v4()
    )
}

/// Whether a prefix has any expression (then AWS requires an error output prefix).
pub fn has_expressions(parts: &[Part]) -> bool {
    parts.iter().any(|part| !matches!(part, Part::Text(_)))
}

/// The fixed start of every key: the prefix up to its first expression (what a reader lists).
pub fn listing_prefix(prefix: &str) -> &str {
    prefix.find("!{").map_or(prefix, |start| &prefix[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(text: &str, zone: Option<&str>) -> Civil {
        let instant: jiff::Timestamp = text.parse().unwrap();
        let zone = time_zone(zone).unwrap();
        Civil::at(instant.as_millisecond(), zone.as_ref())
    }

    fn evaluated(prefix: &str, at: &str) -> String {
        evaluate(&parse(prefix).unwrap(), &civil(at, None), "processing-failed")
    }

    #[test]
    fn a_prefix_without_a_timestamp_gets_the_default_hour_folders() {
        assert_eq!(
            evaluated("telemetry/", "2026-11-27T09:05:03Z"),
            "telemetry/2026/11/27/09/"
        );
        assert_eq!(evaluated("", "2026-01-02T23:59:59Z"), "2026/01/02/23/");
        let random = evaluated("r=!{firehose:random-string}/", "2026-01-02T23:59:59Z");
        assert!(
            random.ends_with("/2026/01/02/23/") && random.len() == "r=/".len() + 11 + 14,
            "{random}"
        );
    }

    #[test]
    fn timestamp_expressions_are_evaluated() {
        let hive = "gps/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/";
        assert_eq!(
            evaluated(hive, "2026-11-27T09:05:03Z"),
            "gps/year=2026/month=11/day=27/hour=09/"
        );
        assert_eq!(
            evaluated("!{timestamp:yy-M-d H:m:s}/", "2026-01-02T03:04:05Z"),
            "26-1-2 3:4:5/"
        );
    }

    /// "any string escaped with single quotes in the value field is taken literally" (s3-prefixes.html, Semantic
    /// rules), as AWS's own example: `!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}`.
    #[test]
    fn quoted_text_in_a_timestamp_is_taken_literally() {
        assert_eq!(
            evaluated("d=!{timestamp:yyyy'-'MM'-'dd}/", "2026-11-27T09:05:03Z"),
            "d=2026-11-27/"
        );
        assert_eq!(
            evaluated(
                "e/!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}/",
                "2018-07-06T23:00:00Z"
            ),
            "e/year=2018/month=07/day=06/hour=23/"
        );
        assert_eq!(evaluated("!{timestamp:''yyyy''}/", "2026-11-27T09:05:03Z"), "'2026'/");
        assert!(matches!(parse("!{timestamp:'yyyy}"), Err(PrefixError::Invalid(_))));
    }

    #[test]
    fn what_the_local_cloud_cannot_evaluate_is_refused_not_copied() {
        for pattern in ["MMM", "YYYY", "hh", "EEE", "yyy", "[yyyy]"] {
            let parsed = parse(&format!("!{{timestamp:{pattern}}}/"));
            assert!(
                matches!(parsed, Err(PrefixError::Unsupported(_))),
                "{pattern}: {parsed:?}"
            );
        }
        assert!(matches!(parse("a/!{firehose:other}/"), Err(PrefixError::Invalid(_))));
        assert!(matches!(parse("a/!{time:yyyy}/"), Err(PrefixError::Invalid(_))));
        assert!(matches!(parse("a/!{timestamp:yyyy/"), Err(PrefixError::Invalid(_))));
    }

    /// CustomTimeZone: the prefix's timestamps and the name's time in that zone (s3-object-name.html).
    #[test]
    fn a_custom_time_zone_moves_the_folders_and_the_name() {
        let tokyo = civil("2026-11-27T20:30:00Z", Some("Asia/Tokyo"));
        assert_eq!(evaluate(&parse("t/").unwrap(), &tokyo, ""), "t/2026/11/28/05/");
        let name = object_name("D", "1", &tokyo, ".gz");
        assert!(
            name.starts_with("D-1-2026-11-28-05-30-00-") && name.ends_with(".gz"),
            "{name}"
        );
        assert!(time_zone(Some("Mars/Olympus")).is_err());
        assert_eq!(time_zone(Some("")).unwrap(), None);
    }
}
