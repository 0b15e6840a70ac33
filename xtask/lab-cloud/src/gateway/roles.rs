//! The roles and their policies, as IAM (the emulator's) holds them: what the gateway's STS reads to let a caller
//! assume a role (its trust policy, its maximum session duration) and what the IAM check evaluates a session's
//! requests against (its inline and attached policies).
//!
//! Read with the administrator's credentials, straight from the emulator (not through the gateway), and kept for a
//! moment: a role's policies are read once per [`FRESH_FOR`] at most, and forgotten at once when an IAM call that
//! changes something passes through the gateway. AWS itself takes seconds to make an IAM change visible ("Changes
//! that I make are not always immediately visible",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>),
//! so the deploy's retries cover this as they cover AWS.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use policy::{NamedPolicy, TrustPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a role read from IAM is used before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Marks a role as no longer being re-read, when dropped.
struct Rereading<'a> {
    cache: &'a Mutex<Cache>,
    arn: &'a str,
}

impl Drop for Rereading<'_> {
    fn drop(&mut self) {
        self.cache.lock().unwrap().rereading.remove(self.arn);
    }
}

/// A role, as the checks need it.
#[derive(Debug)]
pub struct Role {
    pub arn: String,
    pub name: String,
    /// IAM's `RoleId` (`AROA…`).
    pub id: String,
    /// The trust policy, or why it cannot be read (IAM refuses such a document at `CreateRole`; moto does not).
    pub trust: Result<TrustPolicy, String>,
    /// The role's inline policies and the documents of its attached managed policies, each by name; a document
    /// that does not parse is left out and listed in `unreadable` (it allows nothing).
    pub policies: Vec<NamedPolicy>,
    pub unreadable: Vec<String>,
    pub max_session: Duration,
    /// Whether any of its policies names `aws:ResourceTag` (then the check reads the resource's tags).
    pub reads_resource_tags: bool,
}

pub struct Roles {
    reader: Reader,
    cache: Arc<Mutex<Cache>>,
}

/// Reads roles from IAM (the emulator), as its administrator.
#[derive(Clone)]
struct Reader {
    iam: aws_sdk_iam::Client,
}

/// The roles read, and which are being read again. Re-reading a role is five or so calls to the emulator: a
/// producer at full speed makes hundreds of calls a second with one role, and when all of them re-read it at once
/// the emulator, which serves S3 and Lambda too, falls behind (the lab's producer lost half its speed to that,
/// measured). So a stale role is re-read in the background, once, and every call goes on with the role as last read
/// meanwhile — as AWS's own IAM, whose changes take seconds to be seen everywhere.
#[derive(Default)]
struct Cache {
    roles: HashMap<String, (Instant, Arc<Role>)>,
    rereading: std::collections::HashSet<String>,
    /// Bumped by [`Roles::forget`]: a read that began before must not put back what was forgotten.
    generation: u64,
}

impl Roles {
    /// Roles read from the emulator at `endpoint`, as its administrator.
    pub async fn new(endpoint: &str) -> Roles {
        let config = admin_config(endpoint, "us-east-1").await;
        Roles {
            reader: Reader {
                iam: aws_sdk_iam::Client::new(&config),
            },
            cache: Arc::new(Mutex::new(Cache::default())),
        }
    }

    /// Forgets every role: an IAM call that may change one went through.
    pub fn forget(&self) {
        let mut cache = self.cache.lock().unwrap();
        cache.roles.clear();
        cache.generation += 1;
    }

    /// The role named by `arn` (`arn:aws:iam::<account>:role/<path/><name>`), `Ok(None)` when IAM has no such role.
    pub async fn get(&self, arn: &str) -> Result<Option<Arc<Role>>> {
        let generation = {
            let mut cache = self.cache.lock().unwrap();
            let generation = cache.generation;
            if let Some((read, role)) = cache.roles.get(arn).cloned() {
                if read.elapsed() >= FRESH_FOR && cache.rereading.insert(arn.to_owned()) {
                    let (reader, cache, arn) = (self.reader.clone(), self.cache.clone(), arn.to_owned());
                    tokio::spawn(async move {
                        let _rereading = Rereading {
                            cache: &cache,
                            arn: &arn,
                        };
                        // A failed re-read keeps the role as last read; the next call after FRESH_FOR tries again.
                        if let Ok(role) = reader.read_arn(&arn).await {
                            store(&cache, &arn, generation, role.map(Arc::new));
                        }
                    });
                }
                return Ok(Some(role));
            }
            generation
        };
        let role = self.reader.read_arn(arn).await?.map(Arc::new);
        store(&self.cache, arn, generation, role.clone());
        Ok(role)
    }
}

/// Keeps what IAM said of `arn`, unless [`Roles::forget`] was called since the read began.
fn store(cache: &Mutex<Cache>, arn: &str, generation: u64, role: Option<Arc<Role>>) {
    let mut cache = cache.lock().unwrap();
    if cache.generation != generation {
        return;
    }
    match role {
        Some(role) => cache.roles.insert(arn.to_owned(), (Instant::now(), role)),
        None => cache.roles.remove(arn),
    };
}

impl Reader {
    /// Reads the role named by `arn` from IAM.
    async fn read_arn(&self, arn: &str) -> Result<Option<Role>> {
        let Some(name) = arn
            .split(":role/")
            .nth(1)
            .map(|path| path.rsplit('/').next().unwrap_or(path))
        else {
            return Ok(None);
        };
        self.read(name).await
    }

    async fn read(&self, name: &str) -> Result<Option<Role>> {
        let found = match self.iam.get_role().role_name(name).send().await {
            Ok(found) => found,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(error).context(format!("reading the role {name} from IAM")),
        };
        let Some(role) = found.role else { return Ok(None) };
        let trust = role
            .assume_role_policy_document
            .as_deref()
            .map(decode_document)
            .ok_or_else(|| "the role has no trust policy".to_owned())
            .and_then(|text| TrustPolicy::parse(&text).map_err(|error| error.to_string()));
        let mut policies = vec![];
        let mut unreadable = vec![];
        let documents = self.documents(name).await?;
        let reads_resource_tags = documents
            .iter()
            .any(|(_, document)| document.to_ascii_lowercase().contains("aws:resourcetag"));
        for (policy_name, document) in documents {
            match NamedPolicy::parse(policy_name.clone(), &document) {
                Ok(policy) => policies.push(policy),
                Err(error) => unreadable.push(format!("{policy_name}: {error}")),
            }
        }
        Ok(Some(Role {
            arn: role.arn,
            name: role.role_name,
            id: role.role_id,
            trust,
            policies,
            unreadable,
            max_session: Duration::from_secs(role.max_session_duration.unwrap_or(3600).max(900) as u64),
            reads_resource_tags,
        }))
    }

    /// The role's inline policies, then its attached managed policies' default versions: (name, document).
    async fn documents(&self, role: &str) -> Result<Vec<(String, String)>> {
        let mut documents = vec![];
        let inline = self
            .iam
            .list_role_policies()
            .role_name(role)
            .send()
            .await
            .context("listing the role's inline policies")?;
        for policy in inline.policy_names {
            let document = self
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(&policy)
                .send()
                .await
                .context("reading an inline policy")?
                .policy_document;
            documents.push((policy, decode_document(&document)));
        }
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .context("listing the role's attached policies")?;
        for policy in attached.attached_policies.unwrap_or_default() {
            let (Some(arn), name) = (policy.policy_arn, policy.policy_name.unwrap_or_default()) else {
                continue;
            };
            let managed = self.iam.get_policy().policy_arn(&arn).send().await;
            let Some(version) = managed.ok().and_then(|m| m.policy).and_then(|p| p.default_version_id) else {
                continue;
            };
            let document = self
                .iam
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(version)
                .send()
                .await
                .context("reading a managed policy's version")?
                .policy_version
                .and_then(|v| v.document);
            if let Some(document) = document {
                documents.push((name, decode_document(&document)));
            }
        }
        Ok(documents)
    }
}

/// A client configuration for the emulator itself (not the gateway), as its administrator, in `region`: how the
/// gateway reads what the control plane holds (roles, functions).
pub(crate) async fn admin_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_iam::config::Credentials::new(
        super::authenticate::ADMIN_ACCESS_KEY,
        super::authenticate::ADMIN_SECRET_KEY,
        None,
        None,
        "lab-cloud gateway",
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .load()
        .await
}

/// IAM returns policy documents URL-encoded ("The policy document returned in this structure is URL-encoded
/// compliant with RFC 3986"); moto returns them as they were given. Decoded only when it is not JSON already.
fn decode_document(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}
