//! The rule set: the built-in rules plus the operator's, validated and
//! indexed for matching.
//!
//! The host starts a fresh plugin instance for every call, so the rules are
//! built on every call: building borrows the built-in phrases (no copies, no
//! text processing), normalises only the operator's phrases, compiles
//! regular expressions only when the operator configured patterns, and
//! indexes every phrase by its first word in one flat hash table.

use std::borrow::Cow;

use imini_sdk::imaging;

use crate::category::Category;
use crate::config::{Config, ConfigError};
use crate::defaults;
use crate::normalize::squeezed;
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
/// How many bytes of a prefix word's squeezed form are indexed.
pub(crate) const PREFIX_KEY: usize = 3;
/// Marks prefix keys in the table, apart from whole words.
const PREFIX_SALT: u64 = 0x9E37_79B9_7F4A_7C15;
/// No entry.
pub(crate) const NIL: u32 = u32::MAX;

/// What a phrase does when it matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// A term adding its weight to its category.
    Term(f64),
    /// A phrase of group `group` of combination `combo`.
    Combo { combo: u32, group: u8 },
    /// An exception: its words are taken out for its category.
    Allow,
}

/// One phrase of the rule set.
#[derive(Debug)]
pub(crate) struct Item {
    /// The normalised phrase: words separated by single spaces, a word
    /// ending in `*` a prefix, a word starting with `#` a number condition.
    pub phrase: Cow<'static, str>,
    pub category: Category,
    pub role: Role,
    /// The index key of its first word.
    pub(crate) key: u64,
    /// The next item in the same table bucket.
    pub(crate) next: u32,
}

/// A combination.
#[derive(Debug)]
pub(crate) struct Combo {
    pub name: Cow<'static, str>,
    pub category: Category,
    pub groups: u8,
    pub weight: f64,
}

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
#[derive(Debug)]
pub struct Rules {
    pub(crate) categories: [CategoryRules; 8],
    pub(crate) items: Vec<Item>,
    pub(crate) combos: Vec<Combo>,
    /// Heads of the hash table's buckets (item indices, or [`NIL`]).
    pub(crate) heads: Vec<u32>,
    /// Items whose first word is a number condition.
    pub(crate) numeric: Vec<u32>,
    /// Known images to refuse.
    pub blocklist: Vec<BlockedImage>,
    /// The largest hash distance at which an image matches.
    pub hash_max_distance: u32,
}

impl Rules {
    /// The built-in rules alone.
    pub fn defaults() -> Self {
        Self::build(&Config::default()).expect("the built-in rules are valid")
    }

    /// The built-in rules with the operator's configuration applied.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let mut b = Builder::default();
        let mut categories = Category::ALL.map(|_| CategoryRules {
            enabled: true,
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
        b.items.reserve(1200);
        for category in Category::ALL {
            let custom = config.categories.get(category.name());
            let rules = &mut categories[category.index()];
            let at = |key: &str| format!("categories.{category}.{key}");
            if let Some(c) = custom {
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
            }
            if !rules.enabled {
                continue;
            }
            let builtin = defaults::of(category);
            let replace = custom.is_some_and(|c| c.replace_defaults);
            if !replace {
                for &(phrase, weight) in builtin.terms {
                    b.add(Cow::Borrowed(phrase), category, Role::Term(weight));
                }
                for combo in builtin.combos {
                    let index = b.combos.len() as u32;
                    for (g, group) in combo.groups.iter().enumerate() {
                        for &phrase in *group {
                            let role = Role::Combo {
                                combo: index,
                                group: g as u8,
                            };
                            b.add(Cow::Borrowed(phrase), category, role);
                        }
                    }
                    b.combos.push(Combo {
                        name: Cow::Borrowed(combo.name),
                        category,
                        groups: combo.groups.len() as u8,
                        weight: combo.weight,
                    });
                }
            }
            for list in builtin.allow {
                for &phrase in *list {
                    b.add(Cow::Borrowed(phrase), category, Role::Allow);
                }
            }
            if let Some(c) = custom {
                b.add_custom(category, c, &mut rules.patterns)?;
            }
        }
        let hash_max_distance = config
            .hash_max_distance
            .unwrap_or(DEFAULT_HASH_MAX_DISTANCE);
        if hash_max_distance > 32 {
            return Err(ConfigError(format!(
                "hash_max_distance: {hash_max_distance} is out of range (0 to 32)"
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
        let (heads, numeric) = b.index();
        Ok(Rules {
            categories,
            items: b.items,
            combos: b.combos,
            heads,
            numeric,
            blocklist,
            hash_max_distance,
        })
    }

    /// Whether `category` is checked.
    pub fn enabled(&self, category: Category) -> bool {
        self.categories[category.index()].enabled
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

#[derive(Default)]
struct Builder {
    items: Vec<Item>,
    combos: Vec<Combo>,
}

impl Builder {
    fn add(&mut self, phrase: Cow<'static, str>, category: Category, role: Role) {
        self.items.push(Item {
            key: first_word_key(&phrase),
            phrase,
            category,
            role,
            next: NIL,
        });
    }

    /// Adds the operator's rules for `category`.
    fn add_custom(
        &mut self,
        category: Category,
        c: &crate::config::CategoryConfig,
        patterns: &mut Vec<Pattern>,
    ) -> Result<(), ConfigError> {
        let at = |key: &str| format!("categories.{category}.{key}");
        for (raw, w) in &c.terms.0 {
            let here = format!("{}[{raw:?}]", at("terms"));
            let w = weight(*w, &here)?;
            let phrase = normalize_phrase(raw).map_err(|e| ConfigError(format!("{here}: {e}")))?;
            // The same phrase as a built-in term: the operator's weight wins.
            let existing = self.items.iter_mut().find(|i| {
                i.category == category && matches!(i.role, Role::Term(_)) && i.phrase == phrase
            });
            match existing {
                Some(item) => item.role = Role::Term(w),
                None => self.add(Cow::Owned(phrase), category, Role::Term(w)),
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
            let index = self.combos.len() as u32;
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
                    self.add(Cow::Owned(phrase), category, role);
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
            self.add(Cow::Owned(phrase), category, Role::Allow);
        }
        Ok(())
    }

    /// Links every item into the table by its first word's key.
    fn index(&mut self) -> (Vec<u32>, Vec<u32>) {
        let size = (self.items.len() * 2).next_power_of_two().max(64);
        let mut heads = vec![NIL; size];
        let mut numeric = Vec::new();
        for (i, item) in self.items.iter_mut().enumerate().rev() {
            if item.phrase.starts_with('#') {
                numeric.push(i as u32);
                continue;
            }
            let bucket = &mut heads[(item.key as usize) & (size - 1)];
            item.next = *bucket;
            *bucket = i as u32;
        }
        numeric.reverse();
        (heads, numeric)
    }
}

/// FNV-1a over bytes.
pub(crate) fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The table key of a whole word (its squeezed form).
pub(crate) fn word_key(word: &str) -> u64 {
    fnv(squeezed(word))
}

/// The table key of words beginning like `word` (its squeezed form's first
/// [`PREFIX_KEY`] bytes), or `None` if it is shorter.
pub(crate) fn prefix_key(word: &str) -> Option<u64> {
    let mut bytes = squeezed(word);
    let mut key = [0u8; PREFIX_KEY];
    for k in &mut key {
        *k = bytes.next()?;
    }
    Some(fnv(key.into_iter()) ^ PREFIX_SALT)
}

/// The key of a phrase's first word (0 for a number condition, which is
/// not in the table).
fn first_word_key(phrase: &str) -> u64 {
    let first = phrase.split(' ').next().unwrap_or("");
    if first.starts_with('#') {
        0
    } else if let Some(prefix) = first.strip_suffix('*') {
        prefix_key(prefix).unwrap_or(0)
    } else {
        word_key(first)
    }
}
