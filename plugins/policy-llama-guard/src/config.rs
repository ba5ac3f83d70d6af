//! The operator's configuration (`[plugin_settings.policy-llama-guard.config]`),
//! as the host hands it over: JSON. Unknown keys are refused, and every
//! error names the key at fault.

use imini_sdk::upstream::{ApiDefaults, ApiSettings};
use imini_sdk::{PluginError, host};
use serde_json::{Map, Value};

/// How long one classification may take unless configured. There is no
/// default origin: `base_url` is required.
pub const DEFAULTS: ApiDefaults = ApiDefaults {
    base_url: "",
    timeout_ms: 5_000,
    poll_interval_ms: 1_000,
    strip_v1: true,
};

/// The model asked for unless the operator names another (vLLM serves it
/// under its Hugging Face name; Ollama calls it `llama-guard3`).
pub const DEFAULT_MODEL: &str = "meta-llama/Llama-Guard-3-8B";

/// What a hazard code in Llama Guard's answer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Refuse the request.
    Deny,
    /// Let it through, recorded for review.
    Flag,
    /// Let it through unrecorded.
    Ignore,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "deny" => Some(Action::Deny),
            "flag" => Some(Action::Flag),
            "ignore" => Some(Action::Ignore),
            _ => None,
        }
    }
}

/// One of Llama Guard 3's hazard categories (MLCommons' taxonomy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hazard {
    /// Its code in the answer, `S1` to `S14`.
    pub code: &'static str,
    /// Its name in Llama Guard's prompt.
    pub name: &'static str,
    /// The category of our terms a verdict names.
    pub category: &'static str,
    /// What it does unless configured.
    pub action: Action,
}

const fn hazard(
    code: &'static str,
    name: &'static str,
    category: &'static str,
    action: Action,
) -> Hazard {
    Hazard {
        code,
        name,
        category,
        action,
    }
}

/// Llama Guard 3's hazards, how they map onto our categories (those of
/// `policy-terms` where one fits) and what they do by default: refused
/// where our terms prohibit it, flagged where it is a matter of judgement
/// for an image gateway, ignored where it cannot apply to one.
pub const HAZARDS: &[Hazard] = &[
    hazard("S1", "Violent Crimes", "violence", Action::Deny),
    hazard("S2", "Non-Violent Crimes", "illicit", Action::Deny),
    hazard("S3", "Sex-Related Crimes", "sex_crimes", Action::Deny),
    hazard(
        "S4",
        "Child Sexual Exploitation",
        "sexual_minors",
        Action::Deny,
    ),
    hazard("S5", "Defamation", "deepfake", Action::Deny),
    hazard(
        "S6",
        "Specialized Advice",
        "specialized_advice",
        Action::Flag,
    ),
    hazard("S7", "Privacy", "privacy", Action::Flag),
    hazard(
        "S8",
        "Intellectual Property",
        "ip_infringement",
        Action::Deny,
    ),
    hazard("S9", "Indiscriminate Weapons", "terrorism", Action::Deny),
    hazard("S10", "Hate", "hate", Action::Deny),
    hazard("S11", "Suicide & Self-Harm", "self_harm", Action::Deny),
    hazard("S12", "Sexual Content", "sexual", Action::Deny),
    hazard("S13", "Elections", "elections", Action::Flag),
    hazard(
        "S14",
        "Code Interpreter Abuse",
        "code_interpreter_abuse",
        Action::Ignore,
    ),
];

/// The hazard with `code` (`S1`…`S14`).
pub fn hazard_of(code: &str) -> Option<&'static Hazard> {
    HAZARDS.iter().find(|h| h.code == code)
}

/// The keys of the configuration's top level.
const KEYS: &[&str] = &[
    "base_url",
    "timeout_ms",
    "model",
    "api_key",
    "check_negative_prompt",
    "hazards",
];

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `base_url` (required) and `timeout_ms`.
    pub api: ApiSettings,
    /// The model name the endpoint serves Llama Guard under (`model`).
    pub model: String,
    /// Whether the `llama-guard` credential is sent as `Authorization:
    /// Bearer …` (`api_key`, default false: local servers need none).
    pub api_key: bool,
    /// Whether the negative prompt goes with the prompt
    /// (`check_negative_prompt`, default true).
    pub check_negative_prompt: bool,
    /// What each hazard does, in [`HAZARDS`] order.
    pub actions: Vec<Action>,
}

/// A configuration error naming `key`.
fn error(key: &str, message: impl std::fmt::Display) -> PluginError {
    host::config_error(key, message)
}

fn boolean(top: &Map<String, Value>, key: &str, default: bool) -> Result<bool, PluginError> {
    match top.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(error(key, format!("must be true or false (got {other})"))),
    }
}

impl Config {
    /// Reads and checks the configuration the host gives.
    pub fn from_json(config: &Value) -> Result<Self, PluginError> {
        let top = host::config_table(config, KEYS, "policy")?;
        if top.get("base_url").is_none_or(Value::is_null) {
            return Err(error(
                "base_url",
                "is required: the origin of the OpenAI-compatible server that runs Llama Guard, e.g. \"http://127.0.0.1:8000\" (vLLM) or \"http://127.0.0.1:11434\" (Ollama)",
            ));
        }
        let api = ApiSettings::from_config(config, &DEFAULTS)?;
        let model =
            host::config_text(config, "model")?.unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let mut actions: Vec<Action> = HAZARDS.iter().map(|h| h.action).collect();
        match top.get("hazards") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (code, action) in map {
                    let key = format!("hazards.{code}");
                    let i = HAZARDS.iter().position(|h| h.code == code).ok_or_else(|| {
                        error(
                            &key,
                            "is not one of Llama Guard 3's hazard codes (S1 to S14)",
                        )
                    })?;
                    actions[i] = action.as_str().and_then(Action::parse).ok_or_else(|| {
                        error(
                            &key,
                            format!("must be \"deny\", \"flag\" or \"ignore\" (got {action})"),
                        )
                    })?;
                }
            }
            Some(other) => {
                return Err(error(
                    "hazards",
                    format!(
                        "must be a table of hazard codes to \"deny\", \"flag\" or \"ignore\" (got {other})"
                    ),
                ));
            }
        }
        Ok(Self {
            api,
            model,
            api_key: boolean(top, "api_key", false)?,
            check_negative_prompt: boolean(top, "check_negative_prompt", true)?,
            actions,
        })
    }

    /// What `code` does under this configuration.
    pub fn action(&self, code: &str) -> Option<Action> {
        let i = HAZARDS.iter().position(|h| h.code == code)?;
        Some(self.actions[i])
    }

    /// The categories its verdicts can name (those of hazards not ignored),
    /// each once, in order.
    pub fn categories(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (h, a) in HAZARDS.iter().zip(&self.actions) {
            if *a != Action::Ignore && !out.iter().any(|c| c == h.category) {
                out.push(h.category.to_string());
            }
        }
        out
    }
}
