//! Misspellings of long words: a word of six letters or more that is no
//! word of the built-in phrases, but is one letter away from one of seven
//! letters or more ("terorist", "recuitment", "arested", "Johanson": a
//! letter missing, one too many, two swapped; a letter changed only in words
//! of nine letters or more, "decapatated"), with the same first letter,
//! reads as that word. Short words are never corrected: "changed" is not
//! "hanged", "laughter" not "slaughter", "filling" not "killing". Only the
//! two commonest slips are corrected in shorter words (five or six
//! letters): a doubled letter written once ("blody", "bulets") and two
//! letters swapped after the first ("nakde", "swfit"), towards a word of
//! the phrases ("bobs" stays "bobs", not "boobs"). A word of the built-in
//! exceptions is never corrected ("signs" stays "signs", not "sings").

use crate::builtin::{ALLOW_WORDS, DELETE_BITS, DELETES, VOCABULARY};
use crate::key::{FNV_START, fnv_step};
use crate::split::{known, lookup_hashed};

const MIN_WORD: usize = 6;
const MAX_WORD: usize = 32;
const MIN_TARGET: usize = 7;
const MIN_CHANGED: usize = 9;
/// The shortest word corrected by [`correct_short`].
const MIN_SHORT: usize = 5;

/// The word of the phrases `word` misspells, if any.
pub(crate) fn correct(word: &str) -> Option<&'static str> {
    // Looked for only when a correction is found: most words have none.
    correction(word).filter(|_| ALLOW_WORDS.binary_search(&word).is_err())
}

/// [`correct`], without the exceptions' words.
fn correction(word: &str) -> Option<&'static str> {
    let b = word.as_bytes();
    let n = b.len();
    if !(MIN_SHORT..=MAX_WORD).contains(&n) || !b.iter().all(u8::is_ascii_lowercase) || known(word)
    {
        return None;
    }
    if let Some(w) = correct_short(b) {
        return Some(w);
    }
    if n < MIN_WORD {
        return None;
    }
    // One letter too many: the word without it is a word of the phrases.
    // Or a letter missing or changed, or two swapped: the word, or the word
    // without one letter, is a word of the phrases without one letter.
    let whole = b.iter().fold(FNV_START, |h, &c| fnv_step(h, c));
    if let Some(w) = words_with_delete(whole as u32).find(|w| one_apart(b, w.as_bytes())) {
        return Some(w);
    }
    let mut buf = [0u8; MAX_WORD];
    buf[..n].copy_from_slice(b);
    // The hash of the first k letters, carried along.
    let mut prefix = FNV_START;
    for k in 0..n {
        let h = b[k + 1..].iter().fold(prefix, |h, &c| fnv_step(h, c));
        prefix = fnv_step(prefix, b[k]);
        if n > MIN_TARGET {
            buf[k..n - 1].copy_from_slice(&b[k + 1..]);
            let d = std::str::from_utf8(&buf[..n - 1]).expect("ASCII");
            if let Some(w) = lookup_hashed(d, h).filter(|w| one_apart(b, w.as_bytes())) {
                return Some(w);
            }
            buf[k] = b[k];
        }
        if let Some(w) = words_with_delete(h as u32).find(|w| one_apart(b, w.as_bytes())) {
            return Some(w);
        }
    }
    None
}

/// A word of five or six letters with a doubled letter written once or two
/// letters after the first swapped, corrected to a word of the phrases.
fn correct_short(b: &[u8]) -> Option<&'static str> {
    let n = b.len();
    if n > MIN_WORD {
        return None;
    }
    let mut buf = [0u8; MIN_WORD + 1];
    // A letter doubled.
    for i in 0..n {
        buf[..=i].copy_from_slice(&b[..=i]);
        buf[i + 1..=n].copy_from_slice(&b[i..]);
        if !crate::split::may_begin(&buf[..=n]) {
            continue;
        }
        let d = std::str::from_utf8(&buf[..=n]).expect("ASCII");
        if let Some(w) = crate::split::lookup(d) {
            return Some(w);
        }
    }
    // Two letters swapped, not the first.
    for i in (1..n - 1).filter(|&i| b[i] != b[i + 1]) {
        buf[..n].copy_from_slice(b);
        buf.swap(i, i + 1);
        if !crate::split::may_begin(&buf[..n]) {
            continue;
        }
        let d = std::str::from_utf8(&buf[..n]).expect("ASCII");
        if let Some(w) = crate::split::lookup(d) {
            return Some(w);
        }
    }
    None
}

/// The words that, without one of their letters, hash to `h`.
fn words_with_delete(h: u32) -> impl Iterator<Item = &'static str> {
    let top = (h >> 16) as usize;
    let from = if DELETE_BITS[top / 64] & (1 << (top % 64)) == 0 {
        DELETES.len()
    } else {
        DELETES.partition_point(|&(x, _)| x < h)
    };
    DELETES[from..]
        .iter()
        .take_while(move |&&(x, _)| x == h)
        .map(|&(_, i)| VOCABULARY[usize::from(i)])
}

/// Whether `a` (a misspelling) and `b` (a word of the phrases) are one
/// letter apart under the rules above.
fn one_apart(a: &[u8], b: &[u8]) -> bool {
    if b.len() < MIN_TARGET || a.first() != b.first() || a == b {
        return false;
    }
    match a.len() as isize - b.len() as isize {
        0 => {
            let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diff[..] {
                [i] => b.len() >= MIN_CHANGED && i > 0,
                [i, j] => j == i + 1 && a[i] == b[j] && a[j] == b[i],
                _ => false,
            }
        }
        1 => deletes_to(a, b),
        -1 => deletes_to(b, a),
        _ => false,
    }
}

/// Whether `long` without one letter is `short`.
fn deletes_to(long: &[u8], short: &[u8]) -> bool {
    let i = long.iter().zip(short).take_while(|(x, y)| x == y).count();
    long[i + 1..] == short[i..]
}
