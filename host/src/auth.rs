//! Who is calling: API keys in `Authorization: Bearer …`.
//!
//! The admin key is `IMINI_ADMIN_KEY` when set, otherwise generated at first
//! start and printed once; only its SHA-256 is stored and a presented key is
//! compared in constant time. Every other key belongs to an account (see
//! [`crate::accounts`]).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::accounts::{Account, AccountError, Accounts, Refusal};
use crate::store::StoreError;
use crate::store::secrets::SecretStore;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account that owns what the caller creates and pays for it
    /// ([`ADMIN_OWNER`] for the admin key).
    pub owner: String,
    /// The key used, for account keys.
    pub key_id: Option<String>,
    /// The person's login (`user_…`), for what they do in the console
    /// without a key.
    pub person: Option<String>,
    /// Whether this is the admin key.
    pub admin: bool,
    /// The key's or account's own request rate, if set.
    pub requests_per_minute: Option<u32>,
    /// The account's own cap on unfinished tasks, if set.
    pub max_concurrent_tasks: Option<u32>,
    /// The key's credit limit, if set.
    pub key_credit_limit: Option<i64>,
    /// The account's credit line (as read when the request was
    /// authenticated).
    pub credit_line: i64,
    /// Whether an operator froze the account's credits (as read when the
    /// request was authenticated).
    pub credits_frozen: bool,
    /// The account's own webhook endpoint (as read when the request was
    /// authenticated).
    pub webhook_url: Option<String>,
}

impl Principal {
    /// Whether the caller's generations are charged (account keys are; the
    /// operator's admin key generates without charge, for trying models).
    pub fn billed(&self) -> bool {
        !self.admin
    }

    /// How the ledger names this caller: the key, else the person (their
    /// login id, `user_…`), else the operator (`admin`).
    pub fn actor(&self) -> &str {
        self.key_id
            .as_deref()
            .or(self.person.as_deref())
            .unwrap_or("admin")
    }

    /// A person acting for `account` in the console (logged in as
    /// `login_id`, with no key): billed, with the account's own limits, as
    /// its keys are. A suspended or closed account is refused, as its keys
    /// are.
    pub fn of_person(account: &Account, login_id: &str) -> Result<Self, AuthFailure> {
        if !account.usable() {
            return Err(AuthFailure::AccountSuspended);
        }
        Ok(Self {
            owner: account.id.clone(),
            key_id: None,
            person: Some(login_id.to_string()),
            admin: false,
            requests_per_minute: account.limits.requests_per_minute,
            max_concurrent_tasks: account.limits.max_concurrent_tasks,
            key_credit_limit: None,
            credit_line: account.credit_line,
            credits_frozen: account.credits_frozen,
            webhook_url: account.webhook_url.clone(),
        })
    }
}

/// The owner id of everything the admin key creates.
pub const ADMIN_OWNER: &str = "acct_admin";

/// Why a key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Unknown key.
    Invalid,
    /// Revoked key.
    Revoked,
    /// Suspended key.
    KeySuspended,
    /// Suspended or closed account.
    AccountSuspended,
}

/// Key verification.
pub struct Auth {
    admin_hash: [u8; 32],
    accounts: Accounts,
}

const ADMIN_KEY_HASH: &str = "admin_key_sha256";

impl Auth {
    /// Loads the admin key's hash, or sets it: from `configured` (replacing
    /// any stored one) or, on first start, a new random key that is returned
    /// so the caller can print it once (unless another gateway sharing the
    /// database kept its own first: then that one stands).
    pub async fn init(
        secrets: &dyn SecretStore,
        accounts: Accounts,
        configured: Option<&str>,
    ) -> Result<(Self, Option<String>), StoreError> {
        let this = |admin_hash| Self {
            admin_hash,
            accounts: accounts.clone(),
        };
        if let Some(key) = configured {
            let hash = digest(key);
            secrets
                .set_secret(ADMIN_KEY_HASH, &crate::ids::hex(&hash))
                .await?;
            return Ok((this(hash), None));
        }
        if let Some(hash) = secrets
            .secret(ADMIN_KEY_HASH)
            .await?
            .as_deref()
            .and_then(parse_hash)
        {
            return Ok((this(hash), None));
        }
        let key = crate::ids::secret("imini_admin_");
        let (kept, first) = secrets
            .keep_first(ADMIN_KEY_HASH, &crate::ids::hex(&digest(&key)))
            .await?;
        let hash = parse_hash(&kept).ok_or(StoreError::Conflict(
            "the stored admin key hash is not 64 hex digits",
        ))?;
        Ok((this(hash), first.then_some(key)))
    }

    /// The principal behind a bearer token.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<Result<Principal, AuthFailure>, AccountError> {
        if bool::from(digest(token).ct_eq(&self.admin_hash)) {
            return Ok(Ok(Principal {
                owner: ADMIN_OWNER.to_string(),
                key_id: None,
                person: None,
                admin: true,
                requests_per_minute: None,
                max_concurrent_tasks: None,
                key_credit_limit: None,
                credit_line: 0,
                credits_frozen: false,
                webhook_url: None,
            }));
        }
        Ok(match self.accounts.authenticate(token).await? {
            Ok((account, key)) => {
                if let Err(e) = self.accounts.touch(&key).await {
                    tracing::warn!(error = %e, key_id = %key.id, "could not record key use");
                }
                Ok(Principal {
                    requests_per_minute: key
                        .requests_per_minute
                        .or(account.limits.requests_per_minute),
                    max_concurrent_tasks: account.limits.max_concurrent_tasks,
                    key_credit_limit: key.credit_limit,
                    credit_line: account.credit_line,
                    credits_frozen: account.credits_frozen,
                    webhook_url: account.webhook_url,
                    owner: account.id,
                    key_id: Some(key.id),
                    person: None,
                    admin: false,
                })
            }
            Err(Refusal::Unknown) => Err(AuthFailure::Invalid),
            Err(Refusal::Revoked) => Err(AuthFailure::Revoked),
            Err(Refusal::Suspended) => Err(AuthFailure::KeySuspended),
            Err(Refusal::AccountSuspended) => Err(AuthFailure::AccountSuspended),
        })
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: crate::accounts::AccountStatus) -> Account {
        Account {
            id: "acct_1".into(),
            email: "ada@example.com".into(),
            status,
            credits_frozen: false,
            credit_line: 50,
            limits: crate::accounts::Limits {
                requests_per_minute: None,
                max_concurrent_tasks: Some(3),
            },
            webhook_url: None,
            webhook_secret: None,
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_person_in_the_console_is_billed_and_named_by_their_login() {
        use crate::accounts::AccountStatus;
        let who = Principal::of_person(&account(AccountStatus::Active), "user_1").unwrap();
        assert!(who.billed());
        assert_eq!(who.actor(), "user_1");
        assert_eq!(who.owner, "acct_1");
        assert_eq!((who.credit_line, who.max_concurrent_tasks), (50, Some(3)));
        for refused in [AccountStatus::Suspended, AccountStatus::Closed] {
            assert_eq!(
                Principal::of_person(&account(refused), "user_1"),
                Err(AuthFailure::AccountSuspended)
            );
        }
    }

    #[test]
    fn hash_round_trips() {
        let h = digest("k");
        assert_eq!(parse_hash(&crate::ids::hex(&h)), Some(h));
        assert_eq!(parse_hash("zz"), None);
    }
}
