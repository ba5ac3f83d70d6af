//! The classifier in the plugin's glue: on unless the operator turns it
//! off; it refuses requests the rules let through, under a category, from
//! the operator's threshold, and never a prompt of fewer than
//! `classifier::MIN_WORDS` words; it lets ordinary prompts through.

use imini_sdk::{Action, GenerationRequest, Media, MediaData, MediaKind, PluginError, Size};

use crate::{Config, Rules, check_output_with, check_request_with};

fn rules(config: &str) -> Rules {
    Rules::build(&Config::from_text(config).unwrap()).unwrap()
}

/// The rules with the classifier on (as by default), and `settings` (JSON
/// object members).
fn on(settings: &str) -> Rules {
    let sep = if settings.is_empty() { "" } else { ", " };
    rules(&format!(
        r#"{{"classifier": {{"enabled": true}}{sep}{settings}}}"#
    ))
}

fn check(rules: &Rules, prompt: &str) -> imini_sdk::Verdict {
    let req = GenerationRequest {
        size: Size::new(512, 512),
        ..GenerationRequest::image("imini/canvas-image", prompt)
    };
    check_request_with(rules, &req, &mut |_| -> Result<Vec<u8>, PluginError> {
        panic!("no blob should be read")
    })
    .unwrap()
}

/// Prompts the built-in rules let through and the classifier refuses, and
/// the category it refuses them under.
const CAUGHT: &[(&str, &str)] = &[
    ("a realistic hundred dollar bill to print at home", "fraud"),
    (
        "cartoon mouse with red shorts on mugs for my gift shop",
        "ip_infringement",
    ),
    (
        "my final letter to everyone, i will not be here tomorrow",
        "self_harm",
    ),
];

#[test]
fn the_classifier_refuses_what_the_rules_let_through() {
    let without = rules(r#"{"classifier": {"enabled": false}}"#);
    let with = on("");
    for (prompt, category) in CAUGHT {
        assert_eq!(check(&without, prompt).action, Action::Allow, "{prompt}");
        let v = check(&with, prompt);
        assert_eq!(v.action, Action::Deny, "{prompt}");
        assert_eq!(v.category.as_deref(), Some(*category), "{prompt}");
        let reason = v.reason.unwrap_or_default();
        assert!(
            reason.starts_with("classifier score ")
                && reason.contains("(deny at 0.9603), no rule refused; "),
            "{reason}"
        );
    }
    for benign in [
        "a lighthouse at dusk, watercolor",
        "a child blowing out birthday candles",
        "Taylor Swift on stage, concert photo",
        "a plush Pikachu on a child's bed",
    ] {
        assert_eq!(check(&with, benign).action, Action::Allow, "{benign}");
    }
}

#[test]
fn the_threshold_is_the_operators() {
    let prompt = "my final letter to everyone, i will not be here tomorrow";
    assert_eq!(
        check(
            &rules(r#"{"classifier": {"enabled": true, "deny_at": 0.9999}}"#),
            prompt
        )
        .action,
        Action::Allow
    );
    assert_eq!(
        check(
            &rules(r#"{"classifier": {"enabled": true, "deny_at": 0.5}}"#),
            prompt
        )
        .action,
        Action::Deny
    );
    // A threshold alone leaves it on; turned off, it refuses nothing
    // whatever the threshold.
    assert_eq!(
        check(&rules(r#"{"classifier": {"deny_at": 0.5}}"#), prompt).action,
        Action::Deny
    );
    assert_eq!(
        check(
            &rules(r#"{"classifier": {"enabled": false, "deny_at": 0.0}}"#),
            prompt
        )
        .action,
        Action::Allow
    );
    // At 0 it refuses everything of six words or more the rules let
    // through.
    let all = rules(r#"{"classifier": {"enabled": true, "deny_at": 0.0}}"#);
    assert_eq!(
        check(&all, "a lighthouse at dusk on the coast, watercolor").action,
        Action::Deny
    );
}

#[test]
fn the_classifier_is_on_by_default() {
    let defaults = Rules::defaults();
    for (prompt, category) in CAUGHT {
        let v = check(&defaults, prompt);
        assert_eq!(v.action, Action::Deny, "{prompt}");
        assert_eq!(v.category.as_deref(), Some(*category), "{prompt}");
    }
}

#[test]
fn a_prompt_of_fewer_than_six_words_is_never_refused_by_the_classifier() {
    assert_eq!(crate::classifier::MIN_WORDS, 6);
    // Even at a threshold of 0, which refuses everything else.
    let all = rules(r#"{"classifier": {"deny_at": 0.0}}"#);
    for short in [
        "image 12",
        "picture number 12",
        "photorealistic",
        "close up",
        "a cat in a hat",
        // Distinct words: "a" twice is one.
        "a cat in a hat on a cat",
    ] {
        assert_eq!(check(&all, short).action, Action::Allow, "{short}");
    }
    for long in [
        "picture number 12 please, in colour",
        "a cat in a red hat on the mat",
    ] {
        assert_eq!(check(&all, long).action, Action::Deny, "{long}");
    }
    // The rules still check a short prompt.
    assert_eq!(check(&all, "nude child").action, Action::Deny);
}

/// The everyday check set: ordinary prompts, never trained on (read as the
/// training prompts are).
fn everyday_check() -> Vec<String> {
    crate::classifier::train::parse_benign_lines(include_str!("../../eval/everyday-check.txt"))
        .into_iter()
        .map(|e| e.prompt)
        .collect()
}

#[test]
fn the_default_configuration_lets_every_everyday_check_prompt_through() {
    let prompts = everyday_check();
    assert!(prompts.len() >= 300, "{}", prompts.len());
    for must in ["picture number 12", "image 12"] {
        assert!(
            prompts.iter().any(|p| p == must),
            "{must} is not in the check set"
        );
    }
    let defaults = Rules::defaults();
    let refused: Vec<(&str, Option<String>)> = prompts
        .iter()
        .map(|p| (p.as_str(), check(&defaults, p)))
        .filter(|(_, v)| v.action != Action::Allow)
        .map(|(p, v)| (p, v.reason))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

#[test]
fn a_disabled_category_is_never_refused_by_the_classifier() {
    let prompt = "disney princess on t shirts for my online shop";
    let r = on(r#""categories": {"ip_infringement": {"enabled": false}}"#);
    assert_eq!(check(&r, prompt).action, Action::Allow);
    // Another category stays refused.
    let v = check(&r, "a realistic hundred dollar bill to print at home");
    assert_eq!(v.category.as_deref(), Some("fraud"));
}

#[test]
fn outputs_are_checked_by_the_rules_alone() {
    let outputs: Vec<Media> = CAUGHT
        .iter()
        .map(|(text, _)| Media {
            kind: MediaKind::Image,
            mime: "image/png".into(),
            width: 1,
            height: 1,
            duration_ms: None,
            data: MediaData::Url("https://example.com/a.png".into()),
            text: Some(text.to_string()),
        })
        .collect();
    let v =
        check_output_with(&on(""), &outputs, &mut |_| panic!("no blob should be read")).unwrap();
    assert_eq!(v.action, Action::Allow);
}
