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
    fn allowlist_matches_host_and_port() {
        let allowed = vec!["api.example.com".to_string(), "127.0.0.1:9000".to_string()];
        assert!(host_allowed(&allowed, "API.example.com", 443));
        assert!(host_allowed(&allowed, "127.0.0.1", 9000));
        assert!(!host_allowed(&allowed, "127.0.0.1", 9001));
        assert!(!host_allowed(&allowed, "evil.example.com", 443));
        assert!(!host_allowed(&allowed, "api.example.com.evil.net", 443));
    }
}
