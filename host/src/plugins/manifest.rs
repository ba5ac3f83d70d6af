//! A plugin's manifest: who it is and what it may reach.

use serde::{Deserialize, Serialize};

/// What a plugin is for: defined with the plugin records that store it.
pub use crate::store::plugins::PluginKind;

/// The manifest that travels with a component (`imini-plugin.toml` beside a
/// bundled plugin's crate, or the `[[plugins]]` entry of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name, unique in a gateway: lowercase letters, digits, `-`.
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// Provider or policy.
    pub kind: PluginKind,
    /// One line on what it does.
    #[serde(default)]
    pub description: String,
    /// Hosts it may send HTTP requests to: `host` or `host:port`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Names of the credentials it may ask the gateway to inject.
    #[serde(default)]
    pub credentials: Vec<String>,
    /// A policy's declaration of what its `check-output` reads of the
    /// outputs, so that the gateway can skip the call when the outputs
    /// hold none of it. Without it, `check-output` is called for every
    /// output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_check: Option<OutputCheck>,
}

/// What a policy's `check-output` reads (`[output_check]` in the manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCheck {
    /// The text outputs come with (a revised prompt, a caption).
    #[serde(default)]
    pub text: bool,
    /// The outputs' bytes (images, videos, audio).
    #[serde(default)]
    pub media: MediaCheck,
}

/// Whether a policy reads the outputs' bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MediaCheck {
    /// Always (`true`) or never (`false`).
    Always(bool),
    /// Only while this key of the operator's configuration for the policy
    /// is set to something other than `false`, `null`, `""`, `[]` or `{}`
    /// (for example an image blocklist).
    WhenConfigured(String),
}

impl Default for MediaCheck {
    fn default() -> Self {
        Self::Always(false)
    }
}

impl OutputCheck {
    /// Whether a policy with this declaration, configured with `config`,
    /// reads the outputs' bytes.
    pub fn reads_media(&self, config: &serde_json::Value) -> bool {
        use serde_json::Value;
        match &self.media {
            MediaCheck::Always(on) => *on,
            MediaCheck::WhenConfigured(key) => match config.get(key) {
                None | Some(Value::Null | Value::Bool(false)) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Object(o)) => !o.is_empty(),
                Some(_) => true,
            },
        }
    }
}

/// Why a manifest is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The TOML did not parse or has unknown keys.
    #[error("invalid plugin manifest: {0}")]
    Parse(#[from] toml::de::Error),
    /// A field has a value we cannot accept.
    #[error("invalid plugin manifest: {0}")]
    Invalid(String),
}

impl Manifest {
    /// Parses and validates a manifest from TOML.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks the fields' shapes.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(ManifestError::Invalid(format!(
                "name {:?} must be 1-64 lowercase letters, digits or '-'",
                self.name
            )));
        }
        let version_ok = {
            let parts: Vec<&str> = self.version.split(['.', '-', '+']).take(3).collect();
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u64>().is_ok())
        };
        if !version_ok {
            return Err(ManifestError::Invalid(format!(
                "version {:?} is not a semantic version like 1.2.3",
                self.version
            )));
        }
        if let Some(check) = &self.output_check {
            if self.kind != PluginKind::Policy {
                return Err(ManifestError::Invalid(
                    "output_check is for policies: a provider's outputs are not checked by it"
                        .into(),
                ));
            }
            if let MediaCheck::WhenConfigured(key) = &check.media
                && key.trim().is_empty()
            {
                return Err(ManifestError::Invalid(
                    "output_check.media must be true, false or the name of a configuration key"
                        .into(),
                ));
            }
        }
        for host in &self.allowed_hosts {
            if host.is_empty() || host.contains(['/', ' ', '@']) {
                return Err(ManifestError::Invalid(format!(
                    "allowed host {host:?} must be a host name or host:port"
                )));
            }
        }
        Ok(())
    }
}

/// Whether `host` (and `port`) of a URL match an allowlist entry: `name`
/// matches any port, `name:port` only that port; names compare
/// case-insensitively.
pub fn host_allowed(allowed: &[String], host: &str, port: u16) -> bool {
    allowed.iter().any(|entry| {
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) if !n.ends_with(']') || entry.starts_with('[') => match p.parse::<u16>() {
                Ok(p) => (n, Some(p)),
                Err(_) => (entry.as_str(), None),
            },
            _ => (entry.as_str(), None),
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_start_matches('[').trim_end_matches(']');
        name.eq_ignore_ascii_case(host) && entry_port.is_none_or(|p| p == port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let m = Manifest::from_toml(
            "name = \"canvas\"\nversion = \"0.1.0\"\nkind = \"provider\"\nallowed_hosts = [\"api.example.com\"]",
        )
        .unwrap();
        assert_eq!(m.kind, PluginKind::Provider);
        assert!(
            Manifest::from_toml(
                "name = \"x\"\nversion = \"0.1.0\"\nkind = \"provider\"\nbogus = 1"
            )
            .is_err()
        );
        assert!(
            Manifest::from_toml("name = \"X Y\"\nversion = \"0.1.0\"\nkind = \"provider\"")
                .is_err()
        );
        assert!(
            Manifest::from_toml("name = \"x\"\nversion = \"one\"\nkind = \"provider\"").is_err()
        );
    }

    #[test]
    fn a_policy_declares_what_its_output_check_reads() {
        let policy = |check: &str| {
            Manifest::from_toml(&format!(
                "name = \"p\"\nversion = \"0.1.0\"\nkind = \"policy\"\n{check}"
            ))
        };
        assert_eq!(policy("").unwrap().output_check, None);
        let m = policy("[output_check]\ntext = true\nmedia = \"image_blocklist\"").unwrap();
        let check = m.output_check.unwrap();
        assert!(check.text);
        assert_eq!(
            check.media,
            MediaCheck::WhenConfigured("image_blocklist".into())
        );
        let check = policy("[output_check]\nmedia = true")
            .unwrap()
            .output_check
            .unwrap();
        assert!(!check.text, "text defaults to false");
        assert_eq!(check.media, MediaCheck::Always(true));
        let check = policy("[output_check]\ntext = true")
            .unwrap()
            .output_check
            .unwrap();
        assert_eq!(
            check.media,
            MediaCheck::Always(false),
            "media defaults to false"
        );

        for bad in [
            "[output_check]\nmedia = \" \"",
            "[output_check]\nmedia = 3",
            "[output_check]\nimages = true",
        ] {
            assert!(policy(bad).is_err(), "{bad}");
        }
        let provider = Manifest::from_toml(
            "name = \"x\"\nversion = \"0.1.0\"\nkind = \"provider\"\n[output_check]\ntext = true",
        );
        assert!(
            provider
                .unwrap_err()
                .to_string()
                .contains("output_check is for policies"),
        );
    }

    #[test]
    fn media_read_while_a_configuration_key_is_set() {
        use serde_json::json;
        let check = OutputCheck {
            text: true,
            media: MediaCheck::WhenConfigured("image_blocklist".into()),
        };
        for off in [
            json!({}),
            json!({"image_blocklist": null}),
            json!({"image_blocklist": false}),
            json!({"image_blocklist": ""}),
            json!({"image_blocklist": []}),
            json!({"image_blocklist": {}}),
            json!({"other": [1]}),
            json!(null),
        ] {
            assert!(!check.reads_media(&off), "{off}");
        }
        for on in [
            json!({"image_blocklist": [{"hash": "00ff00ff00ff00ff"}]}),
            json!({"image_blocklist": true}),
            json!({"image_blocklist": "x"}),
            json!({"image_blocklist": 1}),
        ] {
            assert!(check.reads_media(&on), "{on}");
        }
        let always = OutputCheck {
            text: false,
            media: MediaCheck::Always(true),
        };
        assert!(always.reads_media(&json!({})));
    }

    #[test]
    fn allowlist_matches_host_and_port() {
        let allowed = vec!["api.example.com".to_string(), "127.0.0.1:9000".to_string()];
        assert!(host_allowed(&allowed, "API.example.com", 443));
        assert!(host_allowed(&allowed, "127.0.0.1", 9000));
        assert!(!host_allowed(&allowed, "127.0.0.1", 9001));
        assert!(!host_allowed(&allowed, "evil.example.com", 443));
        assert!(!host_allowed(&allowed, "api.example.com.evil.net", 443));
    }
}
