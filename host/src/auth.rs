//! Who is calling: API keys in `Authorization: Bearer …`.
//!
//! Until accounts exist there is one key, the admin key: `IMINI_ADMIN_KEY`
//! when set, otherwise generated at first start and printed once. Only its
//! SHA-256 is stored; a presented key is hashed and compared in constant
//! time. (Keys are 192-bit random tokens, so a fast hash is the right tool;
//! a password hash like argon2 protects low-entropy secrets.)

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{StoreError, Table};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The owner of what the caller creates (tasks, files).
    pub owner: String,
    /// Whether this is the admin key.
    pub admin: bool,
}

/// The owner id of everything the admin key creates.
pub const ADMIN_OWNER: &str = "acct_admin";

/// Key verification.
pub struct Auth {
    admin_hash: [u8; 32],
}

const ADMIN_KEY_HASH: &str = "admin_key_sha256";

impl Auth {
    /// Loads the admin key's hash, or sets it: from `configured` (replacing
    /// any stored one) or, on first start, a new random key that is returned
    /// so the caller can print it once.
    pub async fn init(
        meta: &Table,
        configured: Option<&str>,
    ) -> Result<(Self, Option<String>), StoreError> {
        if let Some(key) = configured {
            let hash = digest(key);
            meta.put(ADMIN_KEY_HASH, &crate::ids::hex(&hash)).await?;
            return Ok((Self { admin_hash: hash }, None));
        }
        if let Some(stored) = meta.get::<String>(ADMIN_KEY_HASH)?
            && let Some(hash) = parse_hash(&stored)
        {
            return Ok((Self { admin_hash: hash }, None));
        }
        let key = crate::ids::secret("imini_admin_");
        let hash = digest(&key);
        meta.put(ADMIN_KEY_HASH, &crate::ids::hex(&hash)).await?;
        Ok((Self { admin_hash: hash }, Some(key)))
    }

    /// The principal behind a bearer token, if any.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let presented = digest(token);
        if bool::from(presented.ct_eq(&self.admin_hash)) {
            return Some(Principal {
                owner: ADMIN_OWNER.to_string(),
                admin: true,
            });
        }
        None
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

    #[test]
    fn hash_round_trips() {
        let h = digest("k");
        assert_eq!(parse_hash(&crate::ids::hex(&h)), Some(h));
        assert_eq!(parse_hash("zz"), None);
    }
}
