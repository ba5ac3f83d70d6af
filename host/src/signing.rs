//! Signed, expiring file URLs: `…/content?expires=UNIX&signature=HEX`, an
//! HMAC-SHA256 over the file id and expiry with a key kept in the data
//! directory, so a link can be handed to a browser or an SDK without the key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::StoreError;
use crate::store::secrets::SecretStore;

/// Signs and verifies file URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

const SIGNING_KEY: &str = "url_signing_key";

impl UrlSigner {
    /// Loads the signing key, creating it at first start (the first one
    /// kept stands when several gateways share the database).
    pub async fn init(secrets: &dyn SecretStore) -> Result<Self, StoreError> {
        let key = match secrets.secret(SIGNING_KEY).await? {
            Some(key) => key,
            None => {
                secrets
                    .keep_first(SIGNING_KEY, &crate::ids::secret(""))
                    .await?
                    .0
            }
        };
        Ok(Self {
            key: key.into_bytes(),
        })
    }

    fn mac(&self, file_id: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{file_id}:{expires}").as_bytes());
        mac
    }

    /// The query string granting access to `file_id` until `expires`.
    pub fn sign(&self, file_id: &str, expires: i64) -> String {
        let signature = crate::ids::hex(&self.mac(file_id, expires).finalize().into_bytes());
        format!("expires={expires}&signature={signature}")
    }

    /// Whether `signature` grants access to `file_id` now (constant-time).
    pub fn verify(&self, file_id: &str, expires: i64, signature: &str, now: i64) -> bool {
        if expires < now {
            return false;
        }
        let Some(bytes) = decode_hex(signature) else {
            return false;
        };
        self.mac(file_id, expires).verify_slice(&bytes).is_ok()
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let s = UrlSigner { key: b"k".to_vec() };
        let q = s.sign("file_1", 100);
        let sig = q.split("signature=").nth(1).unwrap();
        assert!(s.verify("file_1", 100, sig, 50));
        assert!(!s.verify("file_1", 100, sig, 101));
        assert!(!s.verify("file_2", 100, sig, 50));
        assert!(!s.verify("file_1", 101, sig, 50));
    }
}
