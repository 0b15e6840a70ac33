//! The names of everything the workshop makes, and the tags that mark a learner's resources as theirs.

use anyhow::{Result, bail};
use std::collections::{BTreeMap, HashMap};

use crate::stages;

pub const STREAM_NAME: &str = "TelemetricStream";
pub const DELIVERY_STREAM_NAME: &str = "TelemetricDelivery";
pub const TAG_KEY: &str = "workshop";
pub const TAG_VALUE: &str = "kinesis-lab";
pub const LEARNER_TAG_KEY: &str = "learner";
/// Where Firehose writes, and where the analysis writes its window results, in the bucket.
pub const FIREHOSE_PREFIX: &str = "telemetry/";
pub const ANALYTICS_PREFIX: &str = "analytics/";

/// The names of everything the workshop makes. A learner's names start with `kinesis-lab-<learner>-` and their
/// resources carry the tag `learner=<learner>`, so learners share one sandbox account without collisions and
/// `destroy` removes one learner's resources only. The private cloud of `cargo xtask lab` uses the plain names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    learner: Option<String>,
}

impl Naming {
    /// The plain names (`TelemetricStream`, `produceKinesisEvents`, ...), for a cloud of one's own.
    pub fn plain() -> Naming {
        Naming { learner: None }
    }

    /// A learner's names. The learner is 1 to 20 characters of `a-z`, `0-9` and `-`, so that every name built
    /// from it is valid for every service (S3 bucket names are the strictest: lowercase, at most 63 characters).
    pub fn for_learner(learner: &str) -> Result<Naming> {
        let valid = !learner.is_empty()
            && learner.len() <= 20
            && learner.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && !learner.ends_with('-')
            && learner
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            bail!("the learner name {learner:?} must be 1 to 20 characters of a-z, 0-9 and '-' (not at either end)");
        }
        Ok(Naming {
            learner: Some(learner.to_owned()),
        })
    }

    /// A learner name made from free text (`$USER`, say): lowercase, other characters become `-`.
    pub fn learner_from(text: &str) -> String {
        let mut name: String = text
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        name.truncate(20);
        let name = name.trim_matches('-').to_owned();
        if name.is_empty() { "learner".to_owned() } else { name }
    }

    pub fn learner(&self) -> Option<&str> {
        self.learner.as_deref()
    }

    /// What every name of this learner starts with (empty for the plain names).
    pub fn prefix(&self) -> String {
        match &self.learner {
            Some(learner) => format!("{TAG_VALUE}-{learner}-"),
            None => String::new(),
        }
    }

    pub fn stream(&self) -> String {
        format!("{}{STREAM_NAME}", self.prefix())
    }

    pub fn delivery_stream(&self) -> String {
        format!("{}{DELIVERY_STREAM_NAME}", self.prefix())
    }

    /// A function's name (`stages::PRODUCER`, ...), prefixed.
    pub fn function(&self, base: &str) -> String {
        format!("{}{base}", self.prefix())
    }

    /// One of step 6's watching resources (an alarm, the topic), by its piece of name (`stages::ALARMS`,
    /// `stages::SCALING_TOPIC`).
    pub fn watch(&self, piece: &str) -> String {
        format!("{}{piece}", self.prefix())
    }

    /// The role of one piece: `producer`, `consumer`, `analytics` or `firehose`.
    pub fn role(&self, piece: &str) -> String {
        match &self.learner {
            Some(_) => format!("{}{piece}", self.prefix()),
            None => format!("{TAG_VALUE}-{piece}"),
        }
    }

    /// Bucket names are global across accounts, so they carry the account (and, for a learner, the region).
    pub fn bucket(&self, account_id: &str, region: &str) -> String {
        match &self.learner {
            Some(learner) => format!("{TAG_VALUE}-{learner}-{account_id}-{region}"),
            None => format!("{TAG_VALUE}-telemetry-{account_id}"),
        }
    }

    /// The tags every resource carries.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::from([(TAG_KEY.to_owned(), TAG_VALUE.to_owned())]);
        if let Some(learner) = &self.learner {
            tags.insert(LEARNER_TAG_KEY.to_owned(), learner.clone());
        }
        tags
    }

    /// Whether a name is one this learner's deploy makes. Not a bare prefix match: learner `ada`'s prefix
    /// `kinesis-lab-ada-` is also the start of learner `ada-x`'s names, so what follows it must be one of the
    /// workshop's own names (or, for the bucket, `<12-digit account>-<region>`).
    pub fn owns_name(&self, name: &str) -> bool {
        let Some(rest) = self.learner.as_ref().and_then(|_| name.strip_prefix(&self.prefix())) else {
            return false;
        };
        let bucket_tail = rest.split_once('-').is_some_and(|(account, region)| {
            account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && !region.is_empty()
        });
        [STREAM_NAME, DELIVERY_STREAM_NAME].contains(&rest)
            || stages::name_pieces().any(|piece| piece == rest)
            || bucket_tail
    }

    /// Whether a resource is this learner's: by one of its names, or by its tags naming the workshop and this
    /// learner. The plain names belong to no learner and own nothing.
    pub fn owns(&self, name: &str, tags: &HashMap<String, String>) -> bool {
        self.learner.is_some()
            && (self.owns_name(name)
                || self
                    .tags()
                    .iter()
                    .all(|(key, value)| tags.get(key).is_some_and(|v| v == value)))
    }
}

/// The tags of `wanted` that `present` lacks (or holds with another value).
pub fn missing_tags(wanted: &BTreeMap<String, String>, present: &HashMap<String, String>) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter(|(key, value)| present.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::PRODUCER;

    #[test]
    fn learner_names_are_valid_everywhere() {
        let naming = Naming::for_learner("ada-42").unwrap();
        assert_eq!(naming.stream(), "kinesis-lab-ada-42-TelemetricStream");
        assert_eq!(naming.function(PRODUCER), "kinesis-lab-ada-42-produceKinesisEvents");
        assert_eq!(naming.role("firehose"), "kinesis-lab-ada-42-firehose");
        let longest = Naming::for_learner("abcdefghij-klmnopqrs").unwrap();
        let bucket = longest.bucket("123456789012", "ap-southeast-2");
        assert!(bucket.len() <= 63 && bucket == bucket.to_lowercase(), "{bucket}");
        assert!(Naming::for_learner("Ada").is_err());
        assert!(Naming::for_learner("a-very-long-learner-name").is_err());
        assert!(Naming::for_learner("-x").is_err());
        assert_eq!(Naming::learner_from("Ada Lovelace!"), "ada-lovelace");
        assert_eq!(Naming::learner_from("___"), "learner");
    }

    #[test]
    fn a_learner_owns_by_prefix_or_by_tags_never_another_learners() {
        let ada = Naming::for_learner("ada").unwrap();
        let tags = |learner: &str| {
            HashMap::from([
                (TAG_KEY.to_owned(), TAG_VALUE.to_owned()),
                (LEARNER_TAG_KEY.to_owned(), learner.to_owned()),
            ])
        };
        assert!(ada.owns("kinesis-lab-ada-TelemetricStream", &HashMap::new()));
        assert!(ada.owns("kinesis-lab-ada-firehose", &HashMap::new()));
        assert!(ada.owns("kinesis-lab-ada-123456789012-eu-west-1", &HashMap::new()));
        // Learner `ada-x`'s names start with `ada`'s prefix; they are not `ada`'s.
        assert!(!ada.owns("kinesis-lab-ada-x-TelemetricStream", &tags("ada-x")));
        assert!(!ada.owns("kinesis-lab-ada-x-123456789012-eu-west-1", &HashMap::new()));
        assert!(!ada.owns("kinesis-lab-ada-something-else", &HashMap::new()));
        // The plain names (the private cloud of `cargo xtask lab`) belong to nobody.
        assert!(!Naming::plain().owns("renamed", &tags("ada")));
        assert!(ada.owns("renamed", &tags("ada")));
        assert!(!ada.owns("kinesis-lab-adam-TelemetricStream", &tags("adam")));
        assert!(!ada.owns("TelemetricStream", &HashMap::new()));
    }
}
