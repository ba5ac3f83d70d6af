//! Scoring texts against a [`Rules`] set: pure functions, no host calls.
//!
//! For each token of the normalised text, the phrases whose first word it
//! can be are looked up (by the token's squeezed form, by its first letters
//! for prefix words, and among the number conditions for numbers) and
//! matched word by word from there. Exceptions (`allow`) found this way take
//! their tokens out for their category. Each category then sums the weights
//! of its distinct matched terms, of its combinations whose every group
//! matched, and of its patterns that match the normalised text.

use crate::category::Category;
use crate::index::{Item, Role};
use crate::key::word_keys;
use crate::normalize::{Doc, Token, squeezed};
use crate::phrase::NumberCondition;
use crate::rules::Rules;

/// What a text deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing found.
    Allow,
    /// Let through but record for review.
    Flag,
    /// Refuse.
    Deny,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Allow, flag or deny.
    pub decision: Decision,
    /// The category concerned (none when allowed).
    pub category: Option<Category>,
    /// Why, for the audit log: the category's score and the rules that
    /// matched (empty when allowed).
    pub reason: String,
    /// Every category's score, by [`Category::index`].
    pub scores: [f64; 8],
}

impl Outcome {
    /// Nothing found.
    pub fn allow() -> Self {
        Self {
            decision: Decision::Allow,
            category: None,
            reason: String::new(),
            scores: [0.0; 8],
        }
    }
}

/// A phrase found in the text: item `item` over tokens `start..end`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    item: u32,
    start: u32,
    end: u32,
}

/// Tolerance for sums of decimal weights (0.1 + 0.2 + 0.7 is 0.9999…).
const EPSILON: f64 = 1e-9;

/// Scores one text.
pub fn evaluate_text(rules: &Rules, text: &str) -> Outcome {
    evaluate(rules, [text])
}

/// Scores several texts together (a prompt and its parameters): phrases do
/// not span two texts, combinations do.
pub fn evaluate<'t>(rules: &Rules, texts: impl IntoIterator<Item = &'t str>) -> Outcome {
    evaluate_document(rules, document(texts))
}

/// The normalised texts, one after the other.
pub(crate) fn document<'t>(texts: impl IntoIterator<Item = &'t str>) -> Doc {
    // Sized up front: growing the buffers costs copies.
    let texts: Vec<&str> = texts.into_iter().collect();
    let mut doc = Doc::with_capacity(texts.iter().map(|t| t.len()).sum());
    for t in texts {
        doc.push(t);
    }
    doc
}

/// Scores a [`document`]: splits its words run together and corrects its
/// misspellings, then matches the rules.
pub(crate) fn evaluate_document(rules: &Rules, doc: Doc) -> Outcome {
    evaluate_doc(rules, &corrected(doc))
}

/// A [`document`] as the rules read it: leetspeak rejoined, words run
/// together split, misspellings and misspelled names corrected.
pub(crate) fn corrected(mut doc: Doc) -> Doc {
    doc.read_leet_numbers();
    doc.rejoin_leet(|w| crate::split::lookup(w).or_else(|| crate::fuzzy::correct(w)));
    doc.split_tokens(crate::split::split);
    let mut corrections = crate::fuzzy::Corrections::default();
    doc.correct_tokens(|w| corrections.correct(w));
    crate::names::correct(&mut doc);
    doc
}

fn evaluate_doc(rules: &Rules, doc: &Doc) -> Outcome {
    let hits = find_hits(rules, doc);
    // Exceptions take their tokens out, per category (a bit per category).
    let mut masks: Vec<u8> = Vec::new();
    for h in &hits {
        let item = rules.item(h.item);
        if matches!(item.role, Role::Allow) {
            if masks.is_empty() {
                masks = vec![0; doc.len()];
            }
            for m in &mut masks[h.start as usize..h.end as usize] {
                *m |= 1 << item.category.index();
            }
        }
    }
    let masked = |h: &Hit, c: Category| {
        !masks.is_empty()
            && masks[h.start as usize..h.end as usize]
                .iter()
                .any(|m| m & (1 << c.index()) != 0)
    };
    let mut seen = vec![0u64; rules.item_count().div_ceil(64)];
    let mut groups = vec![0u32; rules.combo_count()];
    let mut scores = [0.0f64; 8];
    for h in &hits {
        let item = rules.item(h.item);
        if masked(h, item.category) {
            continue;
        }
        match rules.role(h.item) {
            Role::Term(w) => {
                let (word, bit) = (h.item as usize / 64, 1u64 << (h.item % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    scores[item.category.index()] += w;
                }
            }
            Role::Combo { combo, group } => groups[combo as usize] |= 1 << group,
            Role::Allow => {}
        }
    }
    for (c, &mask) in rules.combos().zip(&groups) {
        if mask.count_ones() == u32::from(c.groups) {
            scores[c.category.index()] += c.weight;
        }
    }
    let mut pattern_hits: Vec<(Category, usize, String)> = Vec::new();
    for category in Category::ALL {
        let cat = &rules.categories[category.index()];
        if !cat.enabled || cat.patterns.is_empty() {
            continue;
        }
        let text = doc.joined(|i| masks.is_empty() || masks[i] & (1 << category.index()) == 0);
        for (p, pattern) in cat.patterns.iter().enumerate() {
            if let Some(m) = pattern.regex.find(&text) {
                scores[category.index()] += pattern.weight;
                pattern_hits.push((category, p, snippet(m.as_str())));
            }
        }
    }

    let mut best: Option<(Decision, Category)> = None;
    for category in Category::ALL {
        let cat = &rules.categories[category.index()];
        let score = scores[category.index()];
        let decision = if score + EPSILON >= cat.deny_at {
            Decision::Deny
        } else if score + EPSILON >= cat.flag_at {
            Decision::Flag
        } else {
            continue;
        };
        let better = match best {
            None => true,
            Some((d, c)) => {
                (decision == Decision::Deny && d == Decision::Flag)
                    || (decision == d && score > scores[c.index()])
            }
        };
        if better {
            best = Some((decision, category));
        }
    }
    let Some((decision, category)) = best else {
        return Outcome {
            scores,
            ..Outcome::allow()
        };
    };
    let reason = explain(
        rules,
        doc,
        &hits,
        &groups,
        &pattern_hits,
        category,
        &masked,
        scores,
    );
    Outcome {
        decision,
        category: Some(category),
        reason,
        scores,
    }
}

/// Every phrase occurrence in the text, in token order.
fn find_hits(rules: &Rules, doc: &Doc) -> Vec<Hit> {
    let mut hits = Vec::new();
    for i in 0..doc.len() {
        let word = doc.text(i);
        if word.is_empty() {
            continue;
        }
        let mut try_item = |id: u32, item: &Item| {
            if let Some(end) = match_phrase(&item.phrase, doc, i) {
                hits.push(Hit {
                    item: id,
                    start: i as u32,
                    end: end as u32,
                });
            }
        };
        let (key, prefix) = word_keys(word);
        rules.each_with_key(key, &mut try_item);
        if let Some(prefix) = prefix {
            rules.each_with_key(prefix, &mut try_item);
        }
        if doc.token(i).num.is_some() {
            rules.each_numeric(&mut try_item);
        }
    }
    hits
}

/// Whether `phrase` occurs at token `start`; the end of the match if so.
fn match_phrase(phrase: &str, doc: &Doc, start: usize) -> Option<usize> {
    let mut i = start;
    let mut rest = phrase;
    loop {
        // Split by hand, as `str::split(' ')` would: on words this short its
        // searcher costs more than the comparisons (a long prompt's tokens
        // try a thousand phrases).
        let (word, more) = match rest.bytes().position(|b| b == b' ') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        if i >= doc.len() || !word_matches(word, doc.text(i), doc.token(i)) {
            return None;
        }
        i += 1;
        match more {
            Some(more) => rest = more,
            None => return Some(i),
        }
    }
}

/// Whether one word of a phrase matches one token.
fn word_matches(word: &str, text: &str, token: Token) -> bool {
    if text.is_empty() {
        return false;
    }
    if word.starts_with('#') {
        return match (NumberCondition::parse(word), token.num) {
            (Some(c), Some(n)) => c.holds(n),
            _ => false,
        };
    }
    if let Some(prefix) = word.strip_suffix('*') {
        return if token.elongated {
            let mut t = squeezed(text);
            squeezed(prefix).all(|b| t.next() == Some(b))
        } else {
            text.starts_with(prefix)
        };
    }
    if token.elongated {
        squeezed(text).eq(squeezed(word))
    } else {
        text == word
    }
}

/// A matched piece of text, cut to a readable length.
fn snippet(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Writes the audit-log reason for `category`: its score, its threshold
/// and what matched, heaviest first.
#[allow(clippy::too_many_arguments)]
fn explain(
    rules: &Rules,
    doc: &Doc,
    hits: &[Hit],
    groups: &[u32],
    pattern_hits: &[(Category, usize, String)],
    category: Category,
    masked: &dyn Fn(&Hit, Category) -> bool,
    scores: [f64; 8],
) -> String {
    let mut parts: Vec<(f64, String)> = Vec::new();
    let mut seen_terms: Vec<u32> = Vec::new();
    for h in hits {
        let item = rules.item(h.item);
        if item.category != category || masked(h, category) || seen_terms.contains(&h.item) {
            continue;
        }
        if let Role::Term(w) = rules.role(h.item) {
            seen_terms.push(h.item);
            let found = doc.span(h.start as usize, h.end as usize);
            let text = if found == item.phrase {
                format!("term \"{}\" (weight {w:?})", item.phrase)
            } else {
                format!("term \"{}\" as \"{found}\" (weight {w:?})", item.phrase)
            };
            parts.push((w, text));
        }
    }
    for (index, combo) in rules.combos().enumerate() {
        if combo.category != category || groups[index].count_ones() != u32::from(combo.groups) {
            continue;
        }
        let mut found: Vec<String> = Vec::new();
        for g in 0..combo.groups {
            let first = hits.iter().find(|h| {
                let item = rules.item(h.item);
                matches!(item.role, Role::Combo { combo: c, group } if c as usize == index && group == g)
                    && !masked(h, category)
            });
            if let Some(h) = first {
                found.push(format!(
                    "\"{}\"",
                    doc.span(h.start as usize, h.end as usize)
                ));
            }
        }
        parts.push((
            combo.weight,
            format!(
                "combo {}: {} (weight {:?})",
                combo.name,
                found.join(", "),
                combo.weight
            ),
        ));
    }
    for (c, p, matched) in pattern_hits {
        if *c == category {
            let pattern = &rules.categories[c.index()].patterns[*p];
            parts.push((
                pattern.weight,
                format!(
                    "pattern \"{}\" matched \"{matched}\" (weight {:?})",
                    pattern.source, pattern.weight
                ),
            ));
        }
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    const SHOWN: usize = 5;
    let more = parts.len().saturating_sub(SHOWN);
    let mut list: Vec<String> = parts.into_iter().take(SHOWN).map(|(_, s)| s).collect();
    if more > 0 {
        list.push(format!("and {more} more"));
    }
    let cat = &rules.categories[category.index()];
    format!(
        "{category} score {:.2} (deny at {:?}, flag at {:?}): {}",
        scores[category.index()],
        cat.deny_at,
        cat.flag_at,
        list.join("; ")
    )
}
