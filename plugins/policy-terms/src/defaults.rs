//! The built-in rules, compiled into the plugin.
//!
//! Every phrase here is written already normalised (lowercase ASCII words
//! separated by single spaces, apostrophes dropped, hyphens as spaces) so
//! that building the rules costs no text processing; a unit test checks that
//! each one normalises to itself. A word ending in `*` matches any word it
//! begins; `#<18` matches a number below 18.
//!
//! Weights: 1.0 denies on its own (the default `deny_at`), 0.5 to 0.9 flags
//! on its own (the default `flag_at` is 0.5), less than 0.5 only counts
//! together with other matches. Words that are ambiguous on their own
//! ("shoot", "minor", "execution") only appear in combinations, and common
//! innocent phrases containing them are listed as exceptions (`allow`).

use crate::category::Category;

// Data tables, one file per category, laid out by hand.
#[rustfmt::skip]
mod sexual_minors;
#[rustfmt::skip]
mod violence;
#[rustfmt::skip]
mod terrorism;
#[rustfmt::skip]
mod self_harm;
#[rustfmt::skip]
mod hate;
#[rustfmt::skip]
mod deepfake;
#[rustfmt::skip]
mod fraud;
#[rustfmt::skip]
mod ip_infringement;

/// The built-in rules of one category.
pub(crate) struct Defaults {
    /// Phrases and their weights.
    pub terms: &'static [(&'static str, f64)],
    /// Combinations: one phrase of every group must occur.
    pub combos: &'static [Combo],
    /// Exceptions, taken out of the text before matching (lists of phrases).
    pub allow: &'static [&'static [&'static str]],
}

/// A built-in combination.
pub(crate) struct Combo {
    /// A name for the audit log, e.g. "minor+sexual".
    pub name: &'static str,
    /// Its weight when every group matches.
    pub weight: f64,
    /// The groups.
    pub groups: &'static [&'static [&'static str]],
}

/// The built-in rules of `category`.
pub(crate) fn of(category: Category) -> &'static Defaults {
    match category {
        Category::SexualMinors => &sexual_minors::RULES,
        Category::Violence => &violence::RULES,
        Category::Terrorism => &terrorism::RULES,
        Category::SelfHarm => &self_harm::RULES,
        Category::Hate => &hate::RULES,
        Category::Deepfake => &deepfake::RULES,
        Category::Fraud => &fraud::RULES,
        Category::IpInfringement => &ip_infringement::RULES,
    }
}

/// Innocent phrases with sexual words: colours and fashion, idioms, and
/// negations ("kid-friendly, no explicit content").
#[rustfmt::skip]
const NOT_SEXUAL: &[&str] = &[
    "nude color", "nude colour", "nude colored", "nude coloured", "nude tone", "nude tones",
    "nude lipstick", "nude lip", "nude lips", "nude heels", "nude pumps", "nude shoes",
    "nude makeup", "nude palette", "nude beige", "nude pink", "nude nails", "nude dress",
    "naked eye", "naked mole rat", "naked flame", "naked cake", "naked truth", "same sex",
    "opposite sex", "topless car", "topless convertible", "topless bus", "no explicit",
    "not explicit", "non explicit", "nothing explicit", "without explicit", "no nudity",
    "without nudity", "no nude", "no nudes", "not nude", "non nude", "no sexual", "non sexual",
    "not sexual", "nothing sexual", "no nsfw", "not nsfw", "non nsfw", "not sexy",
];
