//! The keys phrases are indexed by: a hash of a whole first word, or of the
//! first letters of a prefix word. Shared with the build script, which
//! indexes the built-in phrases with the same keys.

use crate::normalize::squeezed;

/// How many bytes of a prefix word's squeezed form are indexed.
pub(crate) const PREFIX_KEY: usize = 3;
/// Marks prefix keys in the table, apart from whole words.
const PREFIX_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// The start of an FNV-1a hash.
pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// One step of FNV-1a.
#[inline]
pub(crate) fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// The base of [`poly_step`], odd.
const POLY_BASE: u64 = 0x0000_0100_0000_01b3;

/// One step of a polynomial hash (`h * base + b`, wrapping): unlike FNV-1a,
/// the hash of a word with one letter left out, doubled or swapped is a
/// sum of the hashes of its parts, so `fuzzy` hashes all of a word's
/// variants from one pass over it.
#[inline]
pub(crate) fn poly_step(h: u64, b: u8) -> u64 {
    h.wrapping_mul(POLY_BASE).wrapping_add(u64::from(b))
}

/// The word of a filter of 2^`bits` 64-bit words and the three bits of it
/// that a polynomial hash sets (a Bloom filter blocked in one word: one
/// memory read per lookup). The hash's low bits depend on few letters, so
/// they are mixed into the high ones first.
#[inline]
pub(crate) fn poly_bloom(h: u64, bits: u32) -> (usize, u64) {
    let m = (h ^ (h >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let word = (m >> (64 - bits)) as usize;
    let mask = (1u64 << ((m >> 20) & 63)) | (1u64 << ((m >> 26) & 63)) | (1u64 << ((m >> 32) & 63));
    (word, mask)
}

/// FNV-1a over bytes.
fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(FNV_START, fnv_step)
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

/// Both keys of a word of a text in one pass: [`word_key`] and
/// [`prefix_key`].
pub(crate) fn word_keys(word: &str) -> (u64, Option<u64>) {
    let (mut whole, mut prefix, mut len) = (FNV_START, FNV_START, 0);
    let mut previous = 0u8;
    for &b in word.as_bytes() {
        // As `squeezed`: a repeated letter counts once.
        if b == previous && b.is_ascii_alphabetic() {
            continue;
        }
        previous = b;
        whole = fnv_step(whole, b);
        if len < PREFIX_KEY {
            prefix = fnv_step(prefix, b);
        }
        len += 1;
    }
    (whole, (len >= PREFIX_KEY).then_some(prefix ^ PREFIX_SALT))
}

/// The key of a phrase's first word (0 for a number condition, which is
/// not in the table).
pub(crate) fn first_word_key(phrase: &str) -> u64 {
    let first = phrase.split(' ').next().unwrap_or("");
    if first.starts_with('#') {
        0
    } else if let Some(prefix) = first.strip_suffix('*') {
        prefix_key(prefix).unwrap_or(0)
    } else {
        word_key(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_keys_are_both_keys() {
        for word in [
            "", "a", "ab", "abc", "kill", "kiiiill", "aaab", "shoot", "x1!", "zzz",
        ] {
            assert_eq!(
                word_keys(word),
                (word_key(word), prefix_key(word)),
                "{word:?}"
            );
        }
    }
}
