//! Native tests of the rule engine and of the plugin's glue.

pub(crate) mod bench;
mod benign;
mod classifier;
mod config;
mod defaults;
mod deny;
mod eval;
mod fuzzy;
mod languages;
mod patterns;
mod plugin;
mod probe;
mod split;

use crate::{Category, Decision, Outcome, Rules, evaluate_text};

/// Evaluates `text` with the built-in rules.
fn check(text: &str) -> Outcome {
    evaluate_text(&Rules::defaults(), text)
}

/// Asserts that `text` is allowed.
#[track_caller]
fn assert_allowed(text: &str) {
    let o = check(text);
    assert_eq!(o.decision, Decision::Allow, "{text:?}: {o:?}");
}

/// Asserts that `text` is denied under `category`.
#[track_caller]
fn assert_denied(text: &str, category: Category) {
    let o = check(text);
    assert_eq!(
        (o.decision, o.category),
        (Decision::Deny, Some(category)),
        "{text:?} should be denied as {category}: {o:?}"
    );
}
