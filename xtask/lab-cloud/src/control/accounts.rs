//! The accounts a learner allows a deploy into, as Terraform's AWS provider does with `allowed_account_ids`
//! (<https://registry.terraform.io/providers/hashicorp/aws/latest/docs#allowed_account_ids>): credentials for a work
//! or production account left in the shell must not receive a workshop's resources. The learner names their sandbox
//! accounts in `.lab/sandbox-accounts` (one 12-digit ID a line, `#` comments) or in `KINESIS_LAB_SANDBOX_ACCOUNTS`
//! (IDs separated by commas or spaces); a deploy with `--aws` asks STS who it is (`GetCallerIdentity`, which changes
//! nothing and needs no permission) and refuses any other account before any call that changes anything.
//! `status` and `destroy` work in every account: cleaning up is never refused.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The environment variable that names sandbox accounts.
pub const ACCOUNTS_VARIABLE: &str = "KINESIS_LAB_SANDBOX_ACCOUNTS";
/// The file, in `.lab/`, that names sandbox accounts.
pub const ACCOUNTS_FILE: &str = "sandbox-accounts";

/// Where a deploy may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// Any account: the local cloud (its one account is the learner's own) and the lab's private cloud.
    Any,
    /// Only these accounts (AWS): empty when the learner has named none yet.
    Only { ids: Vec<String>, file: PathBuf },
}

impl Accounts {
    /// The sandbox accounts named in `variable` (the environment's value, if any) and in the file `file`.
    pub fn named(variable: Option<&str>, file: &Path) -> Result<Accounts> {
        let mut ids = vec![];
        if let Some(value) = variable {
            ids.extend(parse(value, ACCOUNTS_VARIABLE)?);
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().map(|line| line.split('#').next().unwrap_or("")).collect();
                ids.extend(parse(&lines.join(" "), &file.display().to_string())?);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).with_context(|| format!("reading {}", file.display())),
        }
        ids.sort();
        ids.dedup();
        Ok(Accounts::Only {
            ids,
            file: file.to_owned(),
        })
    }

    /// The learner's sandbox accounts: `KINESIS_LAB_SANDBOX_ACCOUNTS` and `<lab>/sandbox-accounts`.
    pub fn of_learner(lab: &Path) -> Result<Accounts> {
        let variable = std::env::var(ACCOUNTS_VARIABLE).ok();
        Accounts::named(variable.as_deref(), &lab.join(ACCOUNTS_FILE))
    }

    /// `Ok` when a deploy may go to `account`; otherwise the refusal, saying how to name a sandbox account.
    pub fn check(&self, account: &str) -> Result<()> {
        let Accounts::Only { ids, file } = self else {
            return Ok(());
        };
        if ids.iter().any(|id| id == account) {
            return Ok(());
        }
        let named = if ids.is_empty() {
            "You have not named a sandbox account yet".to_owned()
        } else {
            format!("Your sandbox accounts are {}", ids.join(", "))
        };
        bail!(
            "account {account} is not one of your sandbox accounts, so nothing was deployed. {named}. A workshop \
             deploys only into an account you set aside for it: check that these credentials are the sandbox's \
             (`aws sts get-caller-identity`), not work's or production's. If {account} is your sandbox, name it: \
             `echo {account} >> {}`, or {ACCOUNTS_VARIABLE}={account}",
            file.display()
        )
    }
}

/// Account IDs separated by commas or white space; each must be 12 digits.
fn parse(text: &str, source: &str) -> Result<Vec<String>> {
    text.split([',', ' ', '\t', '\n'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
                Ok(id.to_owned())
            } else {
                bail!("{source}: {id:?} is not an AWS account ID (12 digits)")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_the_variable_and_the_file_and_a_bad_id_is_an_error() {
        let dir = std::env::temp_dir().join(format!("accounts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(ACCOUNTS_FILE);
        std::fs::write(&file, "# my sandbox\n111122223333\n444455556666 # the team's\n").unwrap();
        let accounts = Accounts::named(Some("777788889999, 111122223333"), &file).unwrap();
        for id in ["111122223333", "444455556666", "777788889999"] {
            accounts.check(id).unwrap();
        }
        let refusal = format!("{:#}", accounts.check("123456789012").unwrap_err());
        assert!(
            refusal.contains("account 123456789012 is not one of your sandbox accounts"),
            "{refusal}"
        );
        assert!(refusal.contains("echo 123456789012 >>"), "{refusal}");
        let none = Accounts::named(None, &dir.join("missing")).unwrap();
        let first = format!("{:#}", none.check("123456789012").unwrap_err());
        assert!(first.contains("You have not named a sandbox account yet"), "{first}");
        let bad = Accounts::named(Some("12345"), &file).unwrap_err();
        assert!(
            format!("{bad:#}").contains("\"12345\" is not an AWS account ID"),
            "{bad:#}"
        );
        Accounts::Any.check("123456789012").unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
