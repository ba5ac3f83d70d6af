//! Misspelled names of real people: where one word of a two-word stretch
//! of a built-in name is written right and the word beside it is a letter
//! or two off the name's other word ("Tayler Swift", "Emma Watsen",
//! "Vladimir Puttin", "Scarlett Johannsen"), that word reads as the name's.
//!
//! Off means, with the same first letter and a word of four letters or
//! more: one letter missing, one too many, one changed or two neighbours
//! swapped; two such slips in a name word of eight letters or more. A word
//! of the built-in phrases is never read as a name ("Tom hands" stays).

use crate::builtin::{NAME_FIRST_BITS, NAME_PAIRS, NAME_PAIRS_BY_SECOND, NAME_SECOND_BITS};
use crate::key::{FNV_START, fnv_step};
use crate::normalize::Doc;
use crate::split::{known, lookup};

/// The shortest name word a misspelling is read as.
const MIN_NAME_WORD: usize = 4;
/// The shortest name word two slips are allowed in.
const MIN_TWO_SLIPS: usize = 8;
/// The longest word compared.
const MAX_WORD: usize = 32;

/// Reads the misspelled name words of `doc` as the names'.
pub(crate) fn correct(doc: &mut Doc) {
    // The hash of the word before, carried along: each word hashed once.
    let mut previous: Option<u64> = None;
    for i in 0..doc.len().saturating_sub(1) {
        let (a, b) = (doc.text(i), doc.text(i + 1));
        let ha = previous.take().unwrap_or_else(|| hash(a));
        let hb = hash(b);
        previous = Some(hb);
        if a.len() < 2 || b.len() < 2 || doc.token(i).num.is_some() {
            continue;
        }
        // Most pairs: neither a first word of a name before a word with
        // the first letter of its second word, nor the reverse (a slip
        // keeps the first letter).
        let fa = has(&NAME_FIRST_BITS, bit(ha, b.as_bytes()[0]));
        let sb = has(&NAME_SECOND_BITS, bit(hb, a.as_bytes()[0]));
        if !fa && !sb {
            continue;
        }
        let (ka, kb) = (known(a), known(b));
        if ka == kb || (ka && !fa) || (kb && !sb) {
            continue;
        }
        let found = if ka {
            let from = NAME_PAIRS.partition_point(|&(f, _)| f < a);
            NAME_PAIRS[from..]
                .iter()
                .take_while(|&&(f, _)| f == a)
                .find(|&&(_, s)| close(b, s))
                .map(|&(_, s)| (i + 1, s))
        } else {
            let from = NAME_PAIRS_BY_SECOND.partition_point(|&(_, s)| s < b);
            NAME_PAIRS_BY_SECOND[from..]
                .iter()
                .take_while(|&&(_, s)| s == b)
                .find(|&&(f, _)| close(a, f))
                .map(|&(f, _)| (i, f))
        };
        if let Some((at, word)) = found
            && let Some(word) = lookup(word)
        {
            doc.replace_token(at, word);
            previous = None;
        }
    }
}

/// The FNV-1a hash of `word`.
#[inline]
fn hash(word: &str) -> u64 {
    word.bytes().fold(FNV_START, fnv_step)
}

/// The bit in the filters of a word of hash `word` beside a word beginning
/// with `letter`: the FNV-1a hash of the word and the letter, modulo 65,536.
#[inline]
fn bit(word: u64, letter: u8) -> usize {
    fnv_step(word, letter) as usize & 65535
}

/// Whether bit `h` is set in `bits`.
#[inline]
fn has(bits: &[u64; 1024], h: usize) -> bool {
    bits[h / 64] & (1 << (h % 64)) != 0
}

/// Whether `word` (no word of the phrases) is a slip or two off `name`.
fn close(word: &str, name: &str) -> bool {
    let (a, b) = (word.as_bytes(), name.as_bytes());
    if b.len() < MIN_NAME_WORD
        || a.len() > MAX_WORD
        || a.first() != b.first()
        || !a.iter().all(u8::is_ascii_lowercase)
        || a.len().abs_diff(b.len()) > 2
    {
        return false;
    }
    let most = if b.len() >= MIN_TWO_SLIPS { 2 } else { 1 };
    distance(a, b) <= most
}

/// The optimal string alignment distance: letters inserted, deleted,
/// changed, or two neighbours swapped.
pub(crate) fn distance(a: &[u8], b: &[u8]) -> usize {
    let n = b.len();
    let mut before = [0usize; MAX_WORD + 1];
    let mut previous: [usize; MAX_WORD + 1] = std::array::from_fn(|j| j);
    let mut current = [0usize; MAX_WORD + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        before = previous;
        previous = current;
    }
    previous[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance(b"tayler", b"taylor"), 1);
        assert_eq!(distance(b"watsen", b"watson"), 1);
        assert_eq!(distance(b"elish", b"eilish"), 1);
        assert_eq!(distance(b"swfit", b"swift"), 1);
        assert_eq!(distance(b"johannsen", b"johansson"), 2);
        assert_eq!(distance(b"kitten", b"sitting"), 3);
    }

    #[test]
    fn misspelled_names_read_as_the_names() {
        for (text, want) in [
            ("tayler swift", "taylor swift"),
            ("emma watsen", "emma watson"),
            ("billie elish", "billie eilish"),
            ("vladimir puttin", "vladimir putin"),
            ("scarlett johannsen", "scarlett johansson"),
        ] {
            let mut doc = Doc::of(text);
            correct(&mut doc);
            assert_eq!(doc.span(0, doc.len()), want, "{text:?}");
        }
        for text in ["tom hands", "emma watson", "a taylor made suit"] {
            let mut doc = Doc::of(text);
            correct(&mut doc);
            assert_eq!(doc.span(0, doc.len()), text, "{text:?}");
        }
    }
}
