//! Upstream credentials: the secrets plugins name and the host injects into
//! their outbound requests (plugins never see them).
//!
//! A credential comes from the configuration file (`[credentials.NAME]`,
//! fixed until a restart) or is set at run time through the admin API,
//! which keeps it in the database sealed with ChaCha20-Poly1305 under a key
//! from the environment ([`KEY_ENV`]); the credential's name is bound into
//! the seal, so a sealed value moved to another name does not open. The
//! values in force are held in memory and read at each outbound request, so
//! a rotation takes effect at the next request, and other replicas reload
//! when the change feed announces one. No API returns a value and no log
//! line contains one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use ring::aead::{CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;
use crate::store::secrets::SecretStore;

/// The environment variable holding the key that seals stored credentials:
/// 32 random bytes in base64 (`openssl rand -base64 32`).
pub const KEY_ENV: &str = "IMINI_CREDENTIAL_KEY";

/// The longest credential value accepted, in bytes.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Why a credential change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The name or value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Not possible in this gateway's state.
    #[error("{0}")]
    Conflict(String),
    /// No such stored credential.
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a credential in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `[credentials.NAME]` in the configuration file.
    Config,
    /// Set through the admin API, kept sealed in the database.
    Store,
}

/// What may be shown of a credential: never its value.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialInfo {
    /// Its name.
    pub name: String,
    /// Whether a value is in force.
    pub set: bool,
    /// Where it comes from, when set or stored.
    pub source: Option<Source>,
    /// When it was last set through the API.
    pub updated_at: Option<String>,
    /// Why a stored credential is not in force (it cannot be opened).
    pub error: Option<String>,
}

/// A stored credential: the sealed value and when it was set.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    sealed: String,
    updated_at: String,
}

/// The credentials in force, and the operations on the stored ones.
pub struct Credentials {
    /// Name to value: the configuration's, then the stored ones that open.
    values: RwLock<Arc<HashMap<String, String>>>,
    /// Stored credentials: when each was set, or why it cannot be opened.
    stored: RwLock<BTreeMap<String, Result<String, String>>>,
    /// The configuration file's, which the API does not change.
    config: HashMap<String, String>,
    store: Option<Arc<dyn SecretStore>>,
    sealer: Result<Sealer, String>,
    /// One change (and reload) at a time.
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: a value never reaches a log.
        let values = self.values.read().expect("lock");
        f.debug_struct("Credentials")
            .field("set", &values.keys().collect::<BTreeSet<_>>())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Only the configuration's credentials (`imini plugin check` and
    /// `run`, which have no database).
    pub fn fixed(config: HashMap<String, String>) -> Arc<Self> {
        Arc::new(Self {
            values: RwLock::new(Arc::new(config.clone())),
            stored: RwLock::default(),
            config,
            store: None,
            sealer: Err("this command keeps no credentials".into()),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The configuration's credentials and those stored in `store`, sealed
    /// under the key in [`KEY_ENV`] (a malformed key stops the start; a
    /// missing one leaves stored credentials unset, with the reason shown).
    pub async fn open(
        config: HashMap<String, String>,
        store: Arc<dyn SecretStore>,
    ) -> anyhow::Result<Arc<Self>> {
        let sealer = match std::env::var(KEY_ENV) {
            Ok(text) => Ok(Sealer::from_base64(&text)?),
            Err(_) => Err(format!(
                "the gateway has no key to seal credentials with: set {KEY_ENV} (32 random bytes in base64, e.g. from `openssl rand -base64 32`) and restart"
            )),
        };
        let credentials = Arc::new(Self {
            values: RwLock::new(Arc::new(config.clone())),
            stored: RwLock::default(),
            config,
            store: Some(store),
            sealer,
            lock: tokio::sync::Mutex::new(()),
        });
        credentials.reload().await?;
        Ok(credentials)
    }

    /// The value of `name` in force now.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values.read().expect("lock").get(name).cloned()
    }

    /// The names among `names` without a value in force.
    pub fn missing(&self, names: &[String]) -> Vec<String> {
        let values = self.values.read().expect("lock");
        names
            .iter()
            .filter(|n| !values.contains_key(*n))
            .cloned()
            .collect()
    }

    /// Reads the stored credentials again (after another replica changed
    /// them): the values in force become the configuration's plus those
    /// that open.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        self.reload_locked().await
    }

    async fn reload_locked(&self) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut values = self.config.clone();
        let mut stored = BTreeMap::new();
        for (name, text) in store.credentials().await? {
            let opened = serde_json::from_str::<Stored>(&text)
                .map_err(|e| format!("its record is unreadable: {e}"))
                .and_then(|s| {
                    let value = self.sealer.as_ref()?.open(&name, &s.sealed)?;
                    Ok((value, s.updated_at))
                });
            match opened {
                Ok((value, updated_at)) => {
                    // The configuration file's value wins over a stored one
                    // (kept from before the file named it).
                    values.entry(name.clone()).or_insert(value);
                    stored.insert(name, Ok(updated_at));
                }
                Err(reason) => {
                    tracing::error!(credential = %name, %reason, "a stored credential cannot be used");
                    stored.insert(name, Err(reason));
                }
            }
        }
        *self.values.write().expect("lock") = Arc::new(values);
        *self.stored.write().expect("lock") = stored;
        Ok(())
    }

    /// Sets (or replaces) credential `name` to `value`, sealed in the
    /// database; in force here when it returns.
    pub async fn set(&self, name: &str, value: &str) -> Result<(), CredentialError> {
        validate_name(name)?;
        validate_value(value)?;
        let _guard = self.lock.lock().await;
        let store = self.api_store(name)?;
        let sealer = self
            .sealer
            .as_ref()
            .map_err(|e| CredentialError::Conflict(format!("credentials cannot be stored: {e}")))?;
        let record = Stored {
            sealed: sealer.seal(name, value),
            updated_at: crate::time::now_rfc3339(),
        };
        let text = serde_json::to_string(&record).expect("serialises");
        store.put_credential(name, &text).await?;
        self.reload_locked().await?;
        Ok(())
    }

    /// Removes the stored credential `name`; unset here when it returns.
    pub async fn remove(&self, name: &str) -> Result<(), CredentialError> {
        let _guard = self.lock.lock().await;
        let store = self.api_store(name)?;
        if !store.remove_credential(name).await? {
            return Err(CredentialError::NotFound(format!(
                "no credential named {name} is stored"
            )));
        }
        self.reload_locked().await?;
        Ok(())
    }

    /// The store, for a change through the API of credential `name`.
    fn api_store(&self, name: &str) -> Result<&Arc<dyn SecretStore>, CredentialError> {
        if self.config.contains_key(name) {
            return Err(CredentialError::Conflict(format!(
                "credential {name} is set in the configuration file ([credentials.{name}]); change it there and restart, or remove it there to manage it through the API"
            )));
        }
        self.store
            .as_ref()
            .ok_or_else(|| CredentialError::Conflict("this command keeps no credentials".into()))
    }

    /// Whether stored credentials can be set (the sealing key is there), or
    /// why not.
    pub fn sealing(&self) -> Result<(), String> {
        self.sealer.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// What may be shown of every credential in force or stored, and of
    /// the `named` ones (which plugins name) that are neither.
    pub fn list(&self, named: &BTreeSet<String>) -> Vec<CredentialInfo> {
        let values = self.values.read().expect("lock").clone();
        let stored = self.stored.read().expect("lock").clone();
        let mut names: BTreeSet<String> = values.keys().cloned().collect();
        names.extend(stored.keys().cloned());
        names.extend(named.iter().cloned());
        names
            .into_iter()
            .map(|name| {
                let in_config = self.config.contains_key(&name);
                let kept = stored.get(&name);
                CredentialInfo {
                    set: values.contains_key(&name),
                    source: if in_config {
                        Some(Source::Config)
                    } else {
                        kept.map(|_| Source::Store)
                    },
                    updated_at: kept.and_then(|k| k.as_ref().ok().cloned()),
                    error: kept.and_then(|k| k.as_ref().err().cloned()),
                    name,
                }
            })
            .collect()
    }
}

/// A credential's name: 1-64 lowercase letters, digits, `-` or `_`.
fn validate_name(name: &str) -> Result<(), CredentialError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CredentialError::Invalid(format!(
            "credential name {:?} must be 1-64 lowercase letters, digits, '-' or '_'",
            crate::plugins::printable(name, 80)
        )))
    }
}

/// A value: what can go into an HTTP header (the host injects it there).
fn validate_value(value: &str) -> Result<(), CredentialError> {
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(CredentialError::Invalid(format!(
            "a credential's value must be 1-{MAX_VALUE_BYTES} bytes"
        )));
    }
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) || value.trim() != value {
        return Err(CredentialError::Invalid(
            "a credential's value cannot contain control characters or begin or end with a space (it is sent in an HTTP header)".into(),
        ));
    }
    Ok(())
}

/// Seals and opens credential values with the key from the environment.
struct Sealer {
    key: LessSafeKey,
}

/// The version tag of sealed values.
const SEALED_V1: &str = "v1.";

impl Sealer {
    fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| anyhow::anyhow!("{KEY_ENV} is not base64"))?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| {
            anyhow::anyhow!(
                "{KEY_ENV} must be 32 bytes in base64 (it is {} bytes)",
                bytes.len()
            )
        })?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// `v1.` + base64(nonce ‖ ciphertext ‖ tag), with the name as
    /// associated data and a random 96-bit nonce (a gateway seals a handful
    /// of values per key, far from the bound where random nonces collide).
    fn seal(&self, name: &str, value: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(name.as_bytes()),
                &mut sealed,
            )
            .expect("sealing a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!(
            "{SEALED_V1}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    fn open(&self, name: &str, sealed: &str) -> Result<String, String> {
        let wrong = || {
            format!("it does not open with the key in {KEY_ENV} (was it sealed under another key?)")
        };
        let bytes = sealed
            .strip_prefix(SEALED_V1)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(|| "its sealed value is malformed".to_string())?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, ring::aead::Aad::from(name.as_bytes()), &mut buffer)
            .map_err(|_| wrong())?;
        String::from_utf8(plain.to_vec()).map_err(|_| wrong())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_base64(&base64::engine::general_purpose::STANDARD.encode([byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_under_its_key_and_name() {
        let s = sealer(7);
        let sealed = s.seal("openai", "sk-live-123");
        assert!(!sealed.contains("sk-live"), "{sealed}");
        assert_eq!(s.open("openai", &sealed).unwrap(), "sk-live-123");
        assert!(
            s.open("fal", &sealed)
                .unwrap_err()
                .contains("does not open")
        );
        assert!(sealer(8).open("openai", &sealed).is_err());
        // Two seals of one value differ (fresh nonces).
        assert_ne!(sealed, s.seal("openai", "sk-live-123"));
        assert!(
            s.open("openai", "v1.AAAA")
                .unwrap_err()
                .contains("malformed")
        );
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused() {
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        let e = Sealer::from_base64(&short).err().unwrap().to_string();
        assert!(e.contains("32 bytes") && e.contains("16"), "{e}");
        assert!(Sealer::from_base64("not base64!").is_err());
    }

    #[test]
    fn names_and_values_are_checked() {
        assert!(validate_name("openai").is_ok());
        assert!(validate_name("my_key-2").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("Open AI").is_err());
        assert!(validate_value("sk-1").is_ok());
        assert!(validate_value("").is_err());
        assert!(validate_value("a\nb").is_err());
        assert!(validate_value(" a").is_err());
        assert!(validate_value(&"x".repeat(MAX_VALUE_BYTES + 1)).is_err());
    }
}
