//! The rule set: the built-in rules plus the operator's, validated and
//! indexed for matching.
//!
//! The host starts a fresh plugin instance for every call, so the rules are
//! built on every call. The built-in phrases were normalised and indexed at
//! build time (`builtin`) and are used in place: building validates the
//! operator's configuration, normalises and indexes only the operator's
//! phrases (usually none) in a second, small table, and compiles regular
//! expressions only when the operator configured patterns. The operator's
//! choices about the built-ins (a category disabled, its defaults replaced,
//! a built-in term's weight changed) are applied as the tables are read.

use std::borrow::Cow;

use imini_sdk::imaging;

use crate::builtin;
use crate::category::Category;
use crate::config::{Config, ConfigError};
use crate::index::{Combo, Index, Item, Role};
use crate::phrase::normalize_phrase;

/// The default score at which a category denies.
pub const DEFAULT_DENY_AT: f64 = 1.0;
/// The default score at which a category flags.
pub const DEFAULT_FLAG_AT: f64 = 0.5;
/// The default largest hash distance at which an image matches.
pub const DEFAULT_HASH_MAX_DISTANCE: u32 = 6;
/// The most groups a combination may have.
const MAX_GROUPS: usize = 16;
/// The largest absolute weight.
const MAX_WEIGHT: f64 = 100.0;
/// The largest threshold.
const MAX_THRESHOLD: f64 = 1000.0;

/// An operator's pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub source: String,
    pub regex: regex_lite::Regex,
    pub weight: f64,
}

/// The settings of one category.
#[derive(Debug)]
pub(crate) struct CategoryRules {
    pub enabled: bool,
    /// Whether its built-in terms and combinations count (its built-in
    /// exceptions always do).
    pub defaults: bool,
    pub deny_at: f64,
    pub flag_at: f64,
    pub patterns: Vec<Pattern>,
}

/// A blocklisted image.
#[derive(Debug, Clone)]
pub struct BlockedImage {
    /// Its dHash.
    pub hash: u64,
    /// The category a match is denied under.
    pub category: Category,
    /// The operator's label (or the hash when none was given).
    pub label: String,
}

/// A validated, indexed rule set.
///
/// Items and combinations are numbered across both tables: the built-in
/// ones first, then the operator's.
#[derive(Debug)]
pub struct Rules {
    pub(crate) categories: [CategoryRules; 8],
    /// Categories whose built-in terms and combinations count, a bit each.
    builtin_rules: u8,
    /// Enabled categories, whose built-in exceptions count, a bit each.
    builtin_allow: u8,
    /// Built-in terms whose weight the operator set.
    overrides: Vec<(u32, f64)>,
    /// The operator's phrases.
    custom: Index,
    /// The operator's combinations.
    custom_combos: Vec<Combo>,
    /// Known images to refuse.
    pub blocklist: Vec<BlockedImage>,
    /// The largest hash distance at which an image matches.
    pub hash_max_distance: u32,
    /// The learned classifier's settings.
    pub classifier: ClassifierRules,
}

/// The learned classifier's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierRules {
    /// Whether it runs.
    pub enabled: bool,
    /// The score (0 to 1) at which it refuses.
    pub deny_at: f64,
}

impl Rules {
    /// The built-in rules, with the default settings (the classifier on).
    pub fn defaults() -> Self {
        Self::build(&Config::default()).expect("the built-in rules are valid")
    }

    /// The built-in rules with the operator's configuration applied.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let mut b = Builder::default();
        let mut categories = Category::ALL.map(|_| CategoryRules {
            enabled: true,
            defaults: true,
            deny_at: DEFAULT_DENY_AT,
            flag_at: DEFAULT_FLAG_AT,
            patterns: Vec::new(),
        });
        for name in config.categories.keys() {
            if Category::from_name(name).is_none() {
                return Err(ConfigError(format!(
                    "categories.{name}: unknown category; expected one of {}",
                    category_list()
                )));
            }
        }
        for category in Category::ALL {
            let Some(c) = config.categories.get(category.name()) else {
                continue;
            };
            let rules = &mut categories[category.index()];
            let at = |key: &str| format!("categories.{category}.{key}");
            rules.enabled = c.enabled.unwrap_or(true);
            rules.deny_at = threshold(c.deny_at, DEFAULT_DENY_AT, &at("deny_at"))?;
            rules.flag_at = threshold(c.flag_at, DEFAULT_FLAG_AT, &at("flag_at"))?;
            if rules.flag_at > rules.deny_at {
                return Err(ConfigError(format!(
                    "{}: {} is above deny_at ({}); set flag_at at most deny_at",
                    at("flag_at"),
                    rules.flag_at,
                    rules.deny_at
                )));
            }
            if !rules.enabled {
                continue;
            }
            rules.defaults = !c.replace_defaults;
            b.add_custom(category, rules.defaults, c, &mut rules.patterns)?;
        }
        let deepfake = &categories[Category::Deepfake.index()];
        if deepfake.enabled && !config.persons.is_empty() {
            if !deepfake.defaults {
                return Err(ConfigError(
                    "persons: the names join the built-in deepfake combination, which \
                     categories.deepfake.replace_defaults drops; put them in a combination of \
                     your own instead"
                        .into(),
                ));
            }
            b.add_persons(&config.persons)?;
        }
        let hash_max_distance = config
            .hash_max_distance
            .unwrap_or(DEFAULT_HASH_MAX_DISTANCE);
        if hash_max_distance > 32 {
            return Err(ConfigError(format!(
                "hash_max_distance: {hash_max_distance} is out of range (0 to 32)"
            )));
        }
        let classifier = ClassifierRules {
            enabled: config.classifier.enabled.unwrap_or(true),
            deny_at: config
                .classifier
                .deny_at
                .unwrap_or(crate::classifier::DEFAULT_DENY_AT),
        };
        if !(0.0..=1.0).contains(&classifier.deny_at) {
            return Err(ConfigError(format!(
                "classifier.deny_at: {} is out of range (0 to 1)",
                classifier.deny_at
            )));
        }
        let mut blocklist = Vec::with_capacity(config.image_blocklist.len());
        for (i, entry) in config.image_blocklist.iter().enumerate() {
            let at = format!("image_blocklist[{i}]");
            let hash = imaging::parse_hash(&entry.hash).ok_or_else(|| {
                ConfigError(format!(
                    "{at}.hash: {:?} is not a hash (16 hexadecimal digits)",
                    entry.hash
                ))
            })?;
            let category = Category::from_name(&entry.category).ok_or_else(|| {
                ConfigError(format!(
                    "{at}.category: unknown category {:?}; expected one of {}",
                    entry.category,
                    category_list()
                ))
            })?;
            if !categories[category.index()].enabled {
                continue;
            }
            let label = match entry.label.trim() {
                "" => imaging::hash_hex(hash),
                l => l.to_string(),
            };
            blocklist.push(BlockedImage {
                hash,
                category,
                label,
            });
        }
        let bits = |keep: fn(&CategoryRules) -> bool| {
            Category::ALL
                .iter()
                .filter(|c| keep(&categories[c.index()]))
                .fold(0u8, |bits, c| bits | 1 << c.index())
        };
        Ok(Rules {
            builtin_rules: bits(|c| c.enabled && c.defaults),
            builtin_allow: bits(|c| c.enabled),
            categories,
            overrides: b.overrides,
            custom: Index::new(b.items),
            custom_combos: b.combos,
            blocklist,
            hash_max_distance,
            classifier,
        })
    }

    /// Whether `category` is checked.
    pub fn enabled(&self, category: Category) -> bool {
        self.categories[category.index()].enabled
    }

    /// How many items there are (numbered from 0).
    pub(crate) fn item_count(&self) -> usize {
        builtin::INDEX.len() + self.custom.len()
    }

    /// Item `id`.
    pub(crate) fn item(&self, id: u32) -> &Item {
        let id = id as usize;
        match id.checked_sub(builtin::INDEX.len()) {
            None => &builtin::INDEX.items[id],
            Some(custom) => &self.custom.items[custom],
        }
    }

    /// What item `id` does (a built-in term with the operator's weight).
    pub(crate) fn role(&self, id: u32) -> Role {
        let item = self.item(id);
        match item.role {
            Role::Term(_) if (id as usize) < builtin::INDEX.len() => {
                match self.overrides.iter().find(|(at, _)| *at == id) {
                    Some(&(_, w)) => Role::Term(w),
                    None => item.role,
                }
            }
            role => role,
        }
    }

    /// Every combination, numbered from 0 as `Role::Combo` refers to them.
    pub(crate) fn combos(&self) -> impl Iterator<Item = &Combo> {
        builtin::COMBOS.iter().chain(&self.custom_combos)
    }

    /// How many combinations there are.
    pub(crate) fn combo_count(&self) -> usize {
        builtin::COMBOS.len() + self.custom_combos.len()
    }

    /// Calls `f` with every item that counts whose first word has `key`,
    /// and its id: the built-in ones first, each table in order.
    pub(crate) fn each_with_key(&self, key: u64, f: &mut impl FnMut(u32, &Item)) {
        for (id, item) in builtin::INDEX.with_key(key) {
            if self.builtin_counts(item) {
                f(id, item);
            }
        }
        let offset = builtin::INDEX.len() as u32;
        for (id, item) in self.custom.with_key(key) {
            f(id + offset, item);
        }
    }

    /// Calls `f` with every item that counts whose first word is a number
    /// condition, and its id, in order.
    pub(crate) fn each_numeric(&self, f: &mut impl FnMut(u32, &Item)) {
        for (id, item) in builtin::INDEX.numeric() {
            if self.builtin_counts(item) {
                f(id, item);
            }
        }
        let offset = builtin::INDEX.len() as u32;
        for (id, item) in self.custom.numeric() {
            f(id + offset, item);
        }
    }

    /// Whether a built-in item counts under the operator's configuration.
    fn builtin_counts(&self, item: &Item) -> bool {
        let bits = match item.role {
            Role::Allow => self.builtin_allow,
            _ => self.builtin_rules,
        };
        bits & (1 << item.category.index()) != 0
    }
}

fn category_list() -> String {
    Category::ALL.map(|c| c.name()).join(", ")
}

fn threshold(value: Option<f64>, default: f64, at: &str) -> Result<f64, ConfigError> {
    let v = value.unwrap_or(default);
    if v.is_finite() && v > 0.0 && v <= MAX_THRESHOLD {
        Ok(v)
    } else {
        Err(ConfigError(format!(
            "{at}: {v} is out of range (more than 0, at most {MAX_THRESHOLD})"
        )))
    }
}

fn weight(w: f64, at: &str) -> Result<f64, ConfigError> {
    if w.is_finite() && w.abs() <= MAX_WEIGHT {
        Ok(w)
    } else {
        Err(ConfigError(format!(
            "{at}: weight {w} is out of range (-{MAX_WEIGHT} to {MAX_WEIGHT})"
        )))
    }
}

/// The operator's rules, as they are read from the configuration.
#[derive(Default)]
struct Builder {
    items: Vec<Item>,
    combos: Vec<Combo>,
    overrides: Vec<(u32, f64)>,
}

impl Builder {
    fn add(&mut self, phrase: String, category: Category, role: Role) {
        self.items
            .push(Item::new(Cow::Owned(phrase), category, role));
    }

    /// Adds the operator's real people to the built-in deepfake
    /// combination's group of people.
    fn add_persons(&mut self, names: &[String]) -> Result<(), ConfigError> {
        let role = Role::Combo {
            combo: builtin::PERSONS_COMBO,
            group: builtin::PERSONS_GROUP,
        };
        for (i, raw) in names.iter().enumerate() {
            let phrase =
                normalize_phrase(raw).map_err(|e| ConfigError(format!("persons[{i}]: {e}")))?;
            if phrase.contains('*') || phrase.contains('#') {
                return Err(ConfigError(format!(
                    "persons[{i}]: {raw:?} is not a name (no * or # conditions)"
                )));
            }
            if builtin::INDEX
                .find(&phrase, Category::Deepfake, |r| r == role)
                .is_none()
            {
                self.add(phrase, Category::Deepfake, role);
            }
        }
        Ok(())
    }

    /// Adds the operator's rules for `category`; `defaults` says whether
    /// its built-in terms count.
    fn add_custom(
        &mut self,
        category: Category,
        defaults: bool,
        c: &crate::config::CategoryConfig,
        patterns: &mut Vec<Pattern>,
    ) -> Result<(), ConfigError> {
        let at = |key: &str| format!("categories.{category}.{key}");
        let is_term = |role| matches!(role, Role::Term(_));
        for (raw, w) in &c.terms.0 {
            let here = format!("{}[{raw:?}]", at("terms"));
            let w = weight(*w, &here)?;
            let phrase = normalize_phrase(raw).map_err(|e| ConfigError(format!("{here}: {e}")))?;
            // The same phrase as a built-in term, or as one of the
            // operator's already read: the last weight wins.
            if let Some(id) = defaults
                .then(|| builtin::INDEX.find(&phrase, category, is_term))
                .flatten()
            {
                match self.overrides.iter_mut().find(|(at, _)| *at == id) {
                    Some(o) => o.1 = w,
                    None => self.overrides.push((id, w)),
                }
            } else if let Some(item) = self
                .items
                .iter_mut()
                .find(|i| i.category == category && is_term(i.role) && i.phrase == phrase)
            {
                item.role = Role::Term(w);
            } else {
                self.add(phrase, category, Role::Term(w));
            }
        }
        for (n, combo) in c.combos.iter().enumerate() {
            let here = format!("{}[{n}]", at("combos"));
            let w = weight(combo.weight.unwrap_or(1.0), &here)?;
            if combo.all.is_empty() || combo.all.len() > MAX_GROUPS {
                return Err(ConfigError(format!(
                    "{here}.all: a combination needs 1 to {MAX_GROUPS} groups of phrases"
                )));
            }
            let index = (builtin::COMBOS.len() + self.combos.len()) as u32;
            for (g, group) in combo.all.iter().enumerate() {
                if group.is_empty() {
                    return Err(ConfigError(format!("{here}.all[{g}]: the group is empty")));
                }
                for raw in group {
                    let phrase = normalize_phrase(raw)
                        .map_err(|e| ConfigError(format!("{here}.all[{g}][{raw:?}]: {e}")))?;
                    let role = Role::Combo {
                        combo: index,
                        group: g as u8,
                    };
                    self.add(phrase, category, role);
                }
            }
            let name = combo
                .name
                .clone()
                .unwrap_or_else(|| format!("combo #{}", n + 1));
            self.combos.push(Combo {
                name: Cow::Owned(name),
                category,
                groups: combo.all.len() as u8,
                weight: w,
            });
        }
        for (source, w) in &c.patterns.0 {
            let here = format!("{}[{source:?}]", at("patterns"));
            let w = weight(*w, &here)?;
            let regex = regex_lite::Regex::new(source)
                .map_err(|e| ConfigError(format!("{here}: not a valid regular expression: {e}")))?;
            patterns.push(Pattern {
                source: source.clone(),
                regex,
                weight: w,
            });
        }
        for raw in &c.allow {
            let phrase = normalize_phrase(raw)
                .map_err(|e| ConfigError(format!("{}[{raw:?}]: {e}", at("allow"))))?;
            self.add(phrase, category, Role::Allow);
        }
        Ok(())
    }
}
