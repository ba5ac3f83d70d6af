//! {{name}}: an imini content policy plugin.
//!
//! It refuses a request whose prompt or negative prompt contains one of the
//! words the operator lists in its configuration (`blocked_words`, in
//! `[plugin_settings.{{name}}.config]`), whatever their case, under the
//! category `custom`. Outputs are allowed.
//!
//! Build: `cargo build --target wasm32-wasip2 --release`.
//! Test:  `cargo test`.

use imini_sdk::{GenerationRequest, PluginError, Policy, PolicyInfo, Verdict, export_policy, host};
use serde_json::Value;

struct Plugin;

impl Policy for Plugin {
    /// The gateway asks before a configuration goes live: `blocked_words`,
    /// when given, must be a list of strings.
    fn validate_config(config: &Value) -> Result<(), PluginError> {
        match config.get("blocked_words") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(words)) if words.iter().all(Value::is_string) => Ok(()),
            Some(_) => Err(PluginError::invalid_request(
                "blocked_words must be a list of strings, e.g. [\"ending of\"]",
            )
            .with_param("blocked_words")),
        }
    }

    fn describe() -> Result<PolicyInfo, PluginError> {
        Ok(PolicyInfo {
            name: "{{name}}".into(),
            categories: vec!["custom".into()],
        })
    }

    fn check_request(req: GenerationRequest) -> Result<Verdict, PluginError> {
        Ok(verdict(&req, &blocked_words(&host::config())))
    }
}

/// The words of the configuration, lowercase.
fn blocked_words(config: &Value) -> Vec<String> {
    config
        .get("blocked_words")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_lowercase)
        .filter(|w| !w.trim().is_empty())
        .collect()
}

/// Denies the request if a blocked word is in its prompts.
fn verdict(req: &GenerationRequest, blocked: &[String]) -> Verdict {
    let text = format!(
        "{} {}",
        req.prompt,
        req.negative_prompt.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    match blocked.iter().find(|w| text.contains(w.as_str())) {
        Some(word) => Verdict::deny("custom", format!("the prompt contains {word:?}")),
        None => Verdict::allow(),
    }
}

export_policy!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use imini_sdk::Action;
    use serde_json::json;

    fn request(prompt: &str) -> GenerationRequest {
        GenerationRequest::image("any/model", prompt)
    }

    #[test]
    fn a_word_list_of_the_wrong_shape_is_refused() {
        for config in [json!({"blocked_words": "spoiler"}), json!({"blocked_words": [1]})] {
            let e = Plugin::validate_config(&config).unwrap_err();
            assert!(e.message.contains("blocked_words"), "{config}");
        }
        assert!(Plugin::validate_config(&json!({})).is_ok());
        assert!(Plugin::validate_config(&json!({"blocked_words": ["a b"]})).is_ok());
    }

    #[test]
    fn a_listed_word_in_any_case_is_refused() {
        let blocked = blocked_words(&json!({"blocked_words": ["Spoiler", " "]}));
        assert_eq!(blocked, ["spoiler"]);
        let refused = verdict(&request("the SPOILER of the film"), &blocked);
        assert!(matches!(refused.action, Action::Deny));
        assert_eq!(refused.category.as_deref(), Some("custom"));
        assert!(matches!(verdict(&request("a quiet lake"), &blocked).action, Action::Allow));
    }

    #[test]
    fn without_configuration_everything_is_allowed() {
        let blocked = blocked_words(&json!({}));
        assert!(matches!(verdict(&request("anything"), &blocked).action, Action::Allow));
    }
}
