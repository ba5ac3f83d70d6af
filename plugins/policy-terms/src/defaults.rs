//! The built-in rules, as written. The build script (`build.rs`) includes
//! this module, normalises every phrase and writes the indexed rule set out
//! as statics (see `builtin`), so a call does no work for them.
//!
//! Every phrase here is written already normalised (lowercase ASCII words
//! separated by single spaces, apostrophes dropped, hyphens as spaces), so
//! that it reads as it matches; a unit test checks that each one normalises
//! to itself. A word ending in `*` matches any word it begins; `#<18`
//! matches a number below 18.
//!
//! Weights: 1.0 denies on its own (the default `deny_at`), 0.5 to 0.9 flags
//! on its own (the default `flag_at` is 0.5), less than 0.5 only counts
//! together with other matches. Words that are ambiguous on their own
//! ("shoot", "minor", "execution") only appear in combinations, and common
//! innocent phrases containing them are listed as exceptions (`allow`).

use std::borrow::Cow;

use crate::category::Category;
use crate::index::{self, Index, Item, Role};
use crate::phrase::normalize_phrase;

// Data tables, one file per category, laid out by hand. The paths are
// explicit because the build script includes this file through `#[path]`.
#[rustfmt::skip]
#[path = "defaults/sexual_minors.rs"]
mod sexual_minors;
#[rustfmt::skip]
#[path = "defaults/violence.rs"]
mod violence;
#[rustfmt::skip]
#[path = "defaults/terrorism.rs"]
mod terrorism;
#[rustfmt::skip]
#[path = "defaults/self_harm.rs"]
mod self_harm;
#[rustfmt::skip]
#[path = "defaults/hate.rs"]
mod hate;
#[rustfmt::skip]
#[path = "defaults/deepfake.rs"]
mod deepfake;
#[rustfmt::skip]
#[path = "defaults/fraud.rs"]
mod fraud;
#[rustfmt::skip]
#[path = "defaults/ip_infringement.rs"]
mod ip_infringement;

/// The built-in rules of one category.
pub(crate) struct Defaults {
    /// Phrases and their weights.
    pub terms: &'static [(&'static str, f64)],
    /// More phrases, written as products: their phrases are terms too.
    pub products: &'static [Product],
    /// Combinations: one phrase of every group must occur.
    pub combos: &'static [Combo],
    /// Exceptions, taken out of the text before matching (lists of phrases).
    pub allow: &'static [&'static [&'static str]],
}

/// Terms written as every head followed by every tail ("bomb" and "the
/// airport": "bomb the airport"), all of one weight.
pub(crate) struct Product {
    pub heads: &'static [&'static str],
    pub tails: &'static [&'static str],
    pub weight: f64,
}

impl Defaults {
    /// Every term: the phrases of the products, then [`Defaults::terms`].
    pub(crate) fn all_terms(&self) -> impl Iterator<Item = (Cow<'static, str>, f64)> + '_ {
        let products = self.products.iter().flat_map(|p| {
            p.heads.iter().flat_map(move |h| {
                p.tails
                    .iter()
                    .map(move |t| (Cow::Owned(format!("{h} {t}")), p.weight))
            })
        });
        products.chain(
            self.terms
                .iter()
                .map(|&(phrase, weight)| (Cow::Borrowed(phrase), weight)),
        )
    }
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

/// The real people of `data/persons.txt`: one name a line, `#` starting a
/// comment line. They are added to group [`PERSONS_GROUP`] of the deepfake
/// combination [`PERSONS_COMBO`].
pub(crate) const PERSONS: &str = include_str!("../data/persons.txt");

/// The deepfake combination the names of [`PERSONS`] join.
pub(crate) const PERSONS_COMBO: &str = "real person+discrediting";

/// The group of [`PERSONS_COMBO`] they join.
pub(crate) const PERSONS_GROUP: u8 = 0;

/// The names of [`PERSONS`], as written.
pub(crate) fn persons() -> impl Iterator<Item = &'static str> {
    PERSONS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
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

/// The built-in rules of every category, normalised and indexed, and their
/// combinations: per category its terms, its combinations' phrases (the
/// names of [`PERSONS`] with their group), its exceptions; and the number of
/// [`PERSONS_COMBO`]. The build script writes this out as `builtin`.
pub(crate) fn indexed() -> (Index, Vec<index::Combo>, u32) {
    let mut persons_combo = None;
    let mut items = Vec::new();
    let mut combos = Vec::new();
    for category in Category::ALL {
        let rules = of(category);
        let mut add = |phrase: &str, role| {
            let normalised = normalize_phrase(phrase)
                .unwrap_or_else(|e| panic!("built-in {category} phrase {phrase:?}: {e}"));
            items.push(Item::new(Cow::Owned(normalised), category, role));
        };
        for (phrase, weight) in rules.all_terms() {
            add(&phrase, Role::Term(weight));
        }
        for combo in rules.combos {
            let index = combos.len() as u32;
            for (g, group) in combo.groups.iter().enumerate() {
                for phrase in *group {
                    let role = Role::Combo {
                        combo: index,
                        group: g as u8,
                    };
                    add(phrase, role);
                }
            }
            if category == Category::Deepfake && combo.name == PERSONS_COMBO {
                persons_combo = Some(index);
                let role = Role::Combo {
                    combo: index,
                    group: PERSONS_GROUP,
                };
                let written: Vec<String> = combo.groups[PERSONS_GROUP as usize]
                    .iter()
                    .map(|p| p.to_string())
                    .collect();
                let mut seen = std::collections::HashSet::new();
                for name in persons() {
                    let normalised = normalize_phrase(name)
                        .unwrap_or_else(|e| panic!("data/persons.txt: {name:?}: {e}"));
                    if !written.contains(&normalised) && seen.insert(normalised) {
                        add(name, role);
                    }
                }
            }
            combos.push(index::Combo {
                name: Cow::Borrowed(combo.name),
                category,
                groups: combo.groups.len() as u8,
                weight: combo.weight,
            });
        }
        for list in rules.allow {
            for phrase in *list {
                add(phrase, Role::Allow);
            }
        }
    }
    let persons_combo = persons_combo.expect("the deepfake rules have the persons combination");
    (Index::new(items), combos, persons_combo)
}

/// Teaching, history and news context: a museum, a history lesson or
/// textbook, a documentary, a news report. Categories whose symbols and
/// events are shown in such settings (hate, terrorism) have a combination of
/// weight -1.0 with this one group, which cancels one descriptive match
/// ("Nazi propaganda posters in a museum"), and a combination of weight 1.0
/// of this group with their glorifying or instructing words, which cancels
/// the cancel ("a museum exhibit glorifying Hitler as a hero" is still
/// refused).
#[rustfmt::skip]
pub(crate) const TEACHING_CONTEXT: &[&str] = &[
    "history textbook", "history textbooks", "history lesson",
    "history lessons", "history class", "history classroom", "history teacher", "history students",
    "for a history", "school textbook", "textbook", "textbooks", "museum", "museums",
    "museum exhibit", "exhibit", "exhibition", "archival", "archive photo", "archives",
    "documentary", "lesson about", "lesson on", "teaching about", "teacher explaining",
    "how to recognise", "how to recognize", "how to spot", "how propaganda works",
    "historical analysis", "encyclopedia", "lecture", "news anchor", "news report",
    "news reporter", "reporting on", "news broadcast", "newspaper", "manuel d histoire",
    "livre d histoire", "cours d histoire", "libro de historia", "clase de historia",
    "geschichtsbuch", "geschichtsunterricht", "历史课本", "历史书", "博物馆", "museo", "musee",
    "news photo", "news studio", "tv news", "news anchors", "news article", "article about",
    "an article on", "front page", "journalist", "journalists", "news footage", "news segment",
    "journal televise", "reportage", "noticiero", "telediario", "periodico", "nachrichten",
    "nachrichtensendung", "zeitung", "新闻", "新闻报道", "记者",
];

/// Police arresting or convicting someone, which, beside a crime, is an
/// account of it rather than a request for it ("police arrest man behind
/// counterfeit money ring"): in `fraud`, a combination of weight -1.0.
#[rustfmt::skip]
pub(crate) const LAW_ENFORCEMENT: &[&str] = &[
    "police arrest", "police arrested", "police arrests", "arrested", "arrest of", "busted",
    "police raid", "seized", "convicted", "sentenced", "behind bars", "courtroom",
    "detenido", "detenidos", "arrete", "arretes", "festgenommen", "verhaftet", "警方", "破获",
    "逮捕",
];

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
