//! Misspellings of long words: a word of six letters or more that is no
//! word of the built-in phrases, but is one letter away from one of seven
//! letters or more ("terorist", "recuitment", "arested", "Johanson": a
//! letter missing, one too many, two swapped; a letter changed only in words
//! of nine letters or more, "decapatated"), with the same first letter,
//! reads as that word. Short words are never corrected: "changed" is not
//! "hanged", "laughter" not "slaughter", "filling" not "killing".

use crate::builtin::{DELETE_BITS, DELETES, VOCABULARY};
use crate::key::{FNV_START, fnv_step};
use crate::split::known;

const MIN_WORD: usize = 6;
const MAX_WORD: usize = 32;
const MIN_TARGET: usize = 7;
const MIN_CHANGED: usize = 9;

/// The word of the phrases `word` misspells, if any.
pub(crate) fn correct(word: &str) -> Option<&'static str> {
    let b = word.as_bytes();
    let n = b.len();
    if !(MIN_WORD..=MAX_WORD).contains(&n) || !b.iter().all(u8::is_ascii_lowercase) || known(word) {
        return None;
    }
    let mut buf = [0u8; MAX_WORD];
    // One letter too many: the word without it is a word of the phrases.
    // Or a letter missing or changed, or two swapped: the word, or the word
    // without one letter, is a word of the phrases without one letter.
    if let Some(w) = words_with_delete(hash(b)).find(|w| one_apart(b, w.as_bytes())) {
        return Some(w);
    }
    for k in 0..n {
        buf[..k].copy_from_slice(&b[..k]);
        buf[k..n - 1].copy_from_slice(&b[k + 1..]);
        let d = &buf[..n - 1];
        if d.len() >= MIN_TARGET {
            let d = std::str::from_utf8(d).expect("ASCII");
            if known(d) && one_apart(b, d.as_bytes()) {
                return VOCABULARY.iter().find(|w| **w == d).copied();
            }
        }
        if let Some(w) = words_with_delete(hash(&buf[..n - 1])).find(|w| one_apart(b, w.as_bytes()))
        {
            return Some(w);
        }
    }
    None
}

fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_START, |h, &c| fnv_step(h, c)) as u32
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
