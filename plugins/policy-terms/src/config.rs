//! The operator's configuration (`[plugin_settings.policy-terms.config]`),
//! as the host hands it over: JSON. Unknown keys are refused, and every
//! error names the key at fault.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

/// A configuration error, naming the key at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Per-category settings, by category name.
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryConfig>,
    /// Real people's names, added to the built-in ones: a name alone is
    /// allowed, a name with sexual, criminal or humiliating context is
    /// denied as `deepfake`.
    #[serde(default)]
    pub persons: Vec<String>,
    /// Known images to refuse, by perceptual hash.
    #[serde(default)]
    pub image_blocklist: Vec<BlockedImage>,
    /// How many bits an image's hash may differ from a blocklisted one and
    /// still match (0 to 32; default 6).
    #[serde(default)]
    pub hash_max_distance: Option<u32>,
    /// The learned classifier that refuses what the rules let through.
    #[serde(default)]
    pub classifier: ClassifierConfig,
}

/// The learned classifier's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Whether it runs at all (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The score, from 0 to 1, at which it refuses a request the rules let
    /// through (default `classifier::DEFAULT_DENY_AT`).
    #[serde(default)]
    pub deny_at: Option<f64>,
}

/// One category's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    /// Whether the category is checked at all (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The score at which a request is denied (default 1.0).
    #[serde(default)]
    pub deny_at: Option<f64>,
    /// The score at which a request is flagged (default 0.5).
    #[serde(default)]
    pub flag_at: Option<f64>,
    /// Extra phrases and their weights.
    #[serde(default)]
    pub terms: Weighted,
    /// Extra combinations.
    #[serde(default)]
    pub combos: Vec<ComboConfig>,
    /// Regular expressions over the normalised text, and their weights.
    #[serde(default)]
    pub patterns: Weighted,
    /// Extra exceptions.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Whether the built-in terms and combinations of the category are
    /// dropped (its built-in exceptions stay).
    #[serde(default)]
    pub replace_defaults: bool,
}

/// One combination: a phrase of every group must occur.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboConfig {
    /// The groups of phrases.
    pub all: Vec<Vec<String>>,
    /// Its weight (default 1.0).
    #[serde(default)]
    pub weight: Option<f64>,
    /// A name for the audit log.
    #[serde(default)]
    pub name: Option<String>,
}

/// A blocklisted image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedImage {
    /// Its dHash as 16 hexadecimal digits.
    pub hash: String,
    /// The category a match is denied under.
    pub category: String,
    /// A label for the audit log.
    #[serde(default)]
    pub label: String,
}

/// Phrases with weights, written either as a table `{"phrase": weight}` or
/// as a list `["phrase", ...]` (each weighing 1.0).
#[derive(Debug, Default)]
pub struct Weighted(pub Vec<(String, f64)>);

impl<'de> Deserialize<'de> for Weighted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Weighted;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of phrases to weights, or a list of phrases")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Weighted, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    out.push((p, 1.0));
                }
                Ok(Weighted(out))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Weighted, A::Error> {
                let mut out = Vec::new();
                while let Some((p, w)) = map.next_entry::<String, f64>()? {
                    out.push((p, w));
                }
                Ok(Weighted(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Config {
    /// Reads the configuration from the JSON the host gives; errors name
    /// the key at fault, e.g. `categories.violence.termz: unknown field`.
    pub fn from_json(value: serde_json::Value) -> Result<Self, ConfigError> {
        // No configuration, the usual case: nothing to read.
        if value.is_null() || value.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(Self::default());
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                ConfigError(inner.to_string())
            } else {
                ConfigError(format!("{path}: {inner}"))
            }
        })
    }

    /// Reads the configuration from JSON text.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let value = serde_json::from_str(text)
            .map_err(|e| ConfigError(format!("the configuration is not JSON: {e}")))?;
        Self::from_json(value)
    }
}
