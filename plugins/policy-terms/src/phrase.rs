//! Phrases, the unit of every rule: words separated by single spaces,
//! normalised like texts, where a word ending in `*` is a prefix and a word
//! such as `#<18` is a condition on a number.

use crate::key::PREFIX_KEY;
use crate::normalize::{Doc, squeezed};

/// A comparison of a number condition word such as `#<18`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumberCondition {
    Less(u64),
    AtMost(u64),
    More(u64),
    AtLeast(u64),
    Equal(u64),
}

impl NumberCondition {
    /// Parses `#<18`, `#<=17`, `#>65`, `#>=65` or `#=12`.
    pub fn parse(word: &str) -> Option<Self> {
        let rest = word.strip_prefix('#')?;
        let (make, digits): (fn(u64) -> Self, &str) = if let Some(d) = rest.strip_prefix("<=") {
            (Self::AtMost, d)
        } else if let Some(d) = rest.strip_prefix(">=") {
            (Self::AtLeast, d)
        } else if let Some(d) = rest.strip_prefix('<') {
            (Self::Less, d)
        } else if let Some(d) = rest.strip_prefix('>') {
            (Self::More, d)
        } else if let Some(d) = rest.strip_prefix('=') {
            (Self::Equal, d)
        } else {
            return None;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(make)
    }

    /// Whether `n` satisfies the condition.
    pub fn holds(self, n: u64) -> bool {
        match self {
            Self::Less(m) => n < m,
            Self::AtMost(m) => n <= m,
            Self::More(m) => n > m,
            Self::AtLeast(m) => n >= m,
            Self::Equal(m) => n == m,
        }
    }
}

/// Normalises an operator's phrase the way texts are normalised, keeping a
/// trailing `*` on a word (prefix) and `#<18`-style number conditions.
pub(crate) fn normalize_phrase(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut segment = String::new();
    let flush = |segment: &mut String, out: &mut String, star: bool| -> Result<(), String> {
        if segment.is_empty() {
            return Ok(());
        }
        let doc = Doc::of(segment);
        let words: Vec<&str> = (0..doc.len()).map(|i| doc.text(i)).collect();
        if words.is_empty() {
            return Err(format!("{:?} has no letters or digits", segment.trim()));
        }
        if star {
            let last = words[words.len() - 1];
            if squeezed(last).count() < PREFIX_KEY {
                return Err(format!(
                    "the prefix \"{last}*\" is too short (at least {PREFIX_KEY} letters)"
                ));
            }
        }
        for w in &words {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
        if star {
            out.push('*');
        }
        segment.clear();
        Ok(())
    };
    for word in raw.split_whitespace() {
        if word.starts_with('#') {
            flush(&mut segment, &mut out, false)?;
            if NumberCondition::parse(word).is_none() {
                return Err(format!(
                    "{word:?} is not a number condition (#<18, #<=17, #>65, #>=65 or #=12)"
                ));
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        } else if let Some(stem) = word.strip_suffix('*') {
            if stem.contains('*') || stem.is_empty() {
                return Err(format!("{word:?}: only one trailing * is allowed"));
            }
            segment.push_str(stem);
            flush(&mut segment, &mut out, true)?;
        } else if word.contains('*') {
            return Err(format!("{word:?}: * is only allowed at the end of a word"));
        } else {
            segment.push_str(word);
            segment.push(' ');
        }
    }
    flush(&mut segment, &mut out, false)?;
    if out.is_empty() {
        return Err("the phrase is empty".into());
    }
    Ok(out)
}
