//! The operator's configuration
//! (`[plugin_settings.policy-openai-moderation.config]`), as the host hands
//! it over: JSON. Unknown keys are refused, and every error names the key at
//! fault, so a typo never silently leaves a category on its default.

use std::collections::BTreeMap;

use imini_sdk::upstream::{ApiDefaults, ApiSettings};
use imini_sdk::{PluginError, host};
use serde_json::{Map, Value};

/// The API's origin and how long one moderation call may take. Every path
/// carries `/v1`, so a `base_url` ending in `/v1` is accepted too; there is
/// nothing to poll.
pub const DEFAULTS: ApiDefaults = ApiDefaults {
    base_url: "https://api.openai.com",
    timeout_ms: 5_000,
    poll_interval_ms: 1_000,
    strip_v1: true,
};

/// The moderation model asked for unless the operator names another.
pub const DEFAULT_MODEL: &str = "omni-moderation-latest";

/// The score at which a category refuses, unless configured.
pub const DEFAULT_DENY_AT: f64 = 0.5;

/// One of OpenAI's moderation categories: its name on the wire, the
/// category of our terms a refusal is recorded under, and its default
/// threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenAiCategory {
    /// The key in OpenAI's `category_scores`, e.g. `"sexual/minors"`.
    pub name: &'static str,
    /// The category a verdict names, e.g. `"sexual_minors"`.
    pub ours: &'static str,
    /// The score at or above which it refuses by default.
    pub deny_at: f64,
}

/// OpenAI's documented categories and how they map onto ours. Where our
/// terms have a category (`policy-terms` names them) the verdict uses it;
/// adult sexual content, harassment and illicit advice are not among them
/// and keep a name of their own.
pub const CATEGORIES: &[OpenAiCategory] = &[
    cat("sexual", "sexual", DEFAULT_DENY_AT),
    // The severest category: refused on a weaker signal.
    cat("sexual/minors", "sexual_minors", 0.2),
    cat("harassment", "harassment", DEFAULT_DENY_AT),
    cat("harassment/threatening", "violence", DEFAULT_DENY_AT),
    cat("hate", "hate", DEFAULT_DENY_AT),
    cat("hate/threatening", "hate", DEFAULT_DENY_AT),
    cat("illicit", "illicit", DEFAULT_DENY_AT),
    cat("illicit/violent", "violence", DEFAULT_DENY_AT),
    cat("self-harm", "self_harm", DEFAULT_DENY_AT),
    cat("self-harm/intent", "self_harm", DEFAULT_DENY_AT),
    cat("self-harm/instructions", "self_harm", DEFAULT_DENY_AT),
    cat("violence", "violence", DEFAULT_DENY_AT),
    cat("violence/graphic", "violence", DEFAULT_DENY_AT),
];

const fn cat(name: &'static str, ours: &'static str, deny_at: f64) -> OpenAiCategory {
    OpenAiCategory {
        name,
        ours,
        deny_at,
    }
}

/// The keys of the configuration's top level.
const KEYS: &[&str] = &[
    "base_url",
    "timeout_ms",
    "model",
    "check_negative_prompt",
    "categories",
];

/// The keys of one category's table.
const CATEGORY_KEYS: &[&str] = &["enabled", "deny_at", "flag_at", "category"];

/// What one OpenAI category does under this configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// OpenAI's name for it.
    pub name: &'static str,
    /// The category a verdict names.
    pub category: String,
    /// The score at or above which it refuses.
    pub deny_at: f64,
    /// The score at or above which (and below `deny_at`) it lets the
    /// request through but records it for review; none: never flagged.
    pub flag_at: Option<f64>,
}

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `base_url` and `timeout_ms`.
    pub api: ApiSettings,
    /// The moderation model (`model`).
    pub model: String,
    /// Whether the negative prompt goes to the classifier with the prompt
    /// (`check_negative_prompt`, default true).
    pub check_negative_prompt: bool,
    /// The enabled categories, in [`CATEGORIES`] order.
    pub rules: Vec<Rule>,
}

/// A configuration error naming `key`.
fn error(key: &str, message: impl std::fmt::Display) -> PluginError {
    host::config_error(key, message)
}

/// A number in (0, 1], as a threshold must be.
fn threshold(value: &Value, key: &str) -> Result<f64, PluginError> {
    match value.as_f64() {
        Some(x) if x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(error(
            key,
            format!("must be a number above 0 and at most 1 (got {value})"),
        )),
    }
}

impl Config {
    /// Reads and checks the configuration the host gives.
    pub fn from_json(config: &Value) -> Result<Self, PluginError> {
        let top = host::config_table(config, KEYS, "policy")?;
        let api = ApiSettings::from_config(config, &DEFAULTS)?;
        let model =
            host::config_text(config, "model")?.unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let check_negative_prompt = match top.get("check_negative_prompt") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(error(
                    "check_negative_prompt",
                    format!("must be true or false (got {other})"),
                ));
            }
        };
        let empty = Map::new();
        let tables = match top.get("categories") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(error(
                    "categories",
                    format!("must be a table of OpenAI's categories (got {other})"),
                ));
            }
        };
        if let Some(name) = tables
            .keys()
            .find(|k| !CATEGORIES.iter().any(|c| c.name == k.as_str()))
        {
            let known: Vec<&str> = CATEGORIES.iter().map(|c| c.name).collect();
            return Err(error(
                &format!("categories.{name}"),
                format!("is not one of OpenAI's categories ({})", known.join(", ")),
            ));
        }
        let mut rules = Vec::new();
        for c in CATEGORIES {
            if let Some(rule) = Self::rule(c, tables.get(c.name))? {
                rules.push(rule);
            }
        }
        Ok(Self {
            api,
            model,
            check_negative_prompt,
            rules,
        })
    }

    /// One category's rule; none when it is disabled.
    fn rule(c: &OpenAiCategory, table: Option<&Value>) -> Result<Option<Rule>, PluginError> {
        let at = |key: &str| format!("categories.{}.{key}", c.name);
        let mut rule = Rule {
            name: c.name,
            category: c.ours.to_string(),
            deny_at: c.deny_at,
            flag_at: None,
        };
        let table = match table {
            None | Some(Value::Null) => return Ok(Some(rule)),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(error(
                    &format!("categories.{}", c.name),
                    format!(
                        "must be a table of {} (got {other})",
                        CATEGORY_KEYS.join(", ")
                    ),
                ));
            }
        };
        if let Some(key) = table.keys().find(|k| !CATEGORY_KEYS.contains(&k.as_str())) {
            return Err(error(
                &at(key),
                format!("is not a category setting ({})", CATEGORY_KEYS.join(", ")),
            ));
        }
        match table.get("enabled") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Ok(None),
            Some(other) => {
                return Err(error(
                    &at("enabled"),
                    format!("must be true or false (got {other})"),
                ));
            }
        }
        if let Some(v) = table.get("deny_at") {
            rule.deny_at = threshold(v, &at("deny_at"))?;
        }
        if let Some(v) = table.get("flag_at") {
            let flag_at = threshold(v, &at("flag_at"))?;
            if flag_at >= rule.deny_at {
                return Err(error(
                    &at("flag_at"),
                    format!(
                        "({flag_at}) must be below deny_at ({}): flagging is the band under a refusal",
                        rule.deny_at
                    ),
                ));
            }
            rule.flag_at = Some(flag_at);
        }
        match table.get("category") {
            None => {}
            Some(Value::String(s)) if is_category_name(s) => rule.category = s.clone(),
            Some(other) => {
                return Err(error(
                    &at("category"),
                    format!(
                        "must be a category name of lowercase letters, digits and _ (got {other})"
                    ),
                ));
            }
        }
        Ok(Some(rule))
    }

    /// The categories its verdicts can name, each once, in order.
    pub fn categories(&self) -> Vec<String> {
        let mut seen = BTreeMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            seen.entry(r.category.clone()).or_insert(i);
        }
        let mut names: Vec<(usize, String)> = seen.into_iter().map(|(n, i)| (i, n)).collect();
        names.sort();
        names.into_iter().map(|(_, n)| n).collect()
    }
}

/// Whether `s` can name a category: 1-64 of `a-z`, `0-9` and `_`.
fn is_category_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
