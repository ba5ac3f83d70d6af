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
//! the phrases ("bobs" stays "bobs", not "boobs"). An English word is never
//! read as another word one slip off it ([`ENGLISH_ONE`]: "protector" is not
//! "protestor", "splashing" not "slashing", "lighting" not "lightning"),
//! though the built-in words' own inflections and spellings are
//! ("decapitates", "kidnaping"). A word of eight letters
//! or more that is none of those reads as a word of the phrases of nine
//! letters or more two slips off it, with the same first letter (two
//! letters changed, missing, one too many, or two neighbours swapped:
//! "muderring", "assasinaton"), unless it is an English word
//! ([`ENGLISH_NEAR`]: "expensive" is not "explosive", "donation" not
//! "domination"). A word of the built-in
//! exceptions is never corrected ("signs" stays "signs", not "sings").

use crate::builtin::{
    ALLOW_WORDS, DELETE_BITS, DELETES, ENGLISH_NEAR, ENGLISH_ONE, LONG_STARTS, LONG_WORDS,
    NEAR_BITS, NEAR_BLOOM, VOCABULARY,
};
use crate::key::{FNV_START, fnv_step, poly_bloom, poly_step};
use crate::split::lookup_hashed;

const MIN_WORD: usize = 6;
const MAX_WORD: usize = 32;
const MIN_TARGET: usize = 7;
const MIN_CHANGED: usize = 9;
/// The shortest word corrected by [`correct_short`].
const MIN_SHORT: usize = 5;
/// The shortest word corrected by [`correct_two`].
const MIN_TWO: usize = 8;

/// The word of the phrases `word` misspells, if any.
pub(crate) fn correct(word: &str) -> Option<&'static str> {
    // Looked for only when a correction is found: most words have none.
    correction(word).filter(|_| ALLOW_WORDS.binary_search(&word).is_err())
}

/// [`correct`] for the words of one check, each distinct word corrected
/// once: the words of a long prompt recur ("a highly detailed portrait,
/// detailed background"), and even a word without a correction costs some
/// twenty lookups in the filter to find it has none.
#[derive(Default)]
pub(crate) struct Corrections {
    /// The distinct words corrected, one after the other.
    words: String,
    /// By FNV-1a hash, open addressing, a power of two long (empty until
    /// the first word): the hash, the word's range in `words` (an end of 0
    /// is an empty entry: words are never empty), its correction.
    table: Vec<(u64, u32, u32, Option<&'static str>)>,
    len: usize,
}

impl Corrections {
    /// [`correct`], remembered.
    pub(crate) fn correct(&mut self, word: &str) -> Option<&'static str> {
        if !may_have_correction(word) {
            return None;
        }
        if self.len * 2 >= self.table.len() {
            self.grow();
        }
        let hash = fnv(word.as_bytes());
        let mask = self.table.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.table[at] {
                (_, _, 0, _) => break,
                (h, from, to, found)
                    if h == hash && &self.words[from as usize..to as usize] == word =>
                {
                    return found;
                }
                _ => at = (at + 1) & mask,
            }
        }
        let found =
            correction_hashed(word, hash).filter(|_| ALLOW_WORDS.binary_search(&word).is_err());
        let from = self.words.len() as u32;
        self.words.push_str(word);
        self.table[at] = (hash, from, self.words.len() as u32, found);
        self.len += 1;
        found
    }

    /// Doubles the table (64 entries at first).
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        let old = std::mem::replace(&mut self.table, vec![(0, 0, 0, None); size]);
        for entry in old.into_iter().filter(|e| e.2 != 0) {
            let mut at = entry.0 as usize & (size - 1);
            while self.table[at].2 != 0 {
                at = (at + 1) & (size - 1);
            }
            self.table[at] = entry;
        }
    }
}

/// Whether `word` is of a length and alphabet [`correction`] may correct.
fn may_have_correction(word: &str) -> bool {
    (MIN_SHORT..=MAX_WORD).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_lowercase())
}

/// [`correct`], without the exceptions' words.
///
/// A word has some twenty variants to look up (without each letter, each
/// letter doubled, two swapped), and almost none is a word of the phrases
/// or one without a letter: each is first looked for in a filter of those
/// ([`NEAR_BLOOM`]), from hashes of the word's beginnings and endings
/// ([`Hashes`]) computed once, and only the few that pass it are written
/// out, hashed and looked up.
fn correction(word: &str) -> Option<&'static str> {
    if !may_have_correction(word) {
        return None;
    }
    correction_hashed(word, fnv(word.as_bytes()))
}

/// [`correction`] of a word that [`may_have_correction`], given its FNV-1a
/// hash: an English word one slip off a word of the phrases
/// ([`ENGLISH_ONE`]) has none.
fn correction_hashed(word: &str, hash: u64) -> Option<&'static str> {
    if lookup_hashed(word, hash).is_some() {
        return None;
    }
    match one_slip_hashed(word, hash) {
        // Looked for only when a correction is found: most words have none.
        Some(w) => ENGLISH_ONE.binary_search(&word).is_err().then_some(w),
        None => correct_two(word.as_bytes()),
    }
}

/// The word of the phrases one slip off `word` (a word that
/// [`may_have_correction`] and is no word of the phrases), as the
/// correction reads it, whether or not `word` is an English word: the
/// words of [`ENGLISH_ONE`] are those for which this is another word.
#[cfg(test)]
pub(crate) fn one_slip(word: &str) -> Option<&'static str> {
    if !may_have_correction(word) {
        return None;
    }
    let hash = fnv(word.as_bytes());
    if lookup_hashed(word, hash).is_some() {
        return None;
    }
    one_slip_hashed(word, hash)
}

/// `one_slip` given the word's FNV-1a hash.
fn one_slip_hashed(word: &str, hash: u64) -> Option<&'static str> {
    let b = word.as_bytes();
    let n = b.len();
    let hashes = Hashes::of(b);
    if let Some(w) = correct_short(b, &hashes) {
        return Some(w);
    }
    if n < MIN_WORD {
        return None;
    }
    // One letter too many: the word without it is a word of the phrases.
    // Or a letter missing or changed, or two swapped: the word, or the word
    // without one letter, is a word of the phrases without one letter.
    if near(hashes.whole())
        && let Some(w) = words_with_delete(hash as u32).find(|w| one_apart(b, w.as_bytes()))
    {
        return Some(w);
    }
    let mut buf = [0u8; MAX_WORD];
    for k in (0..n).filter(|&k| near(hashes.without(k))) {
        buf[..k].copy_from_slice(&b[..k]);
        buf[k..n - 1].copy_from_slice(&b[k + 1..]);
        let h = fnv(&buf[..n - 1]);
        if n > MIN_TARGET {
            let d = std::str::from_utf8(&buf[..n - 1]).expect("ASCII");
            if let Some(w) = lookup_hashed(d, h).filter(|w| one_apart(b, w.as_bytes())) {
                return Some(w);
            }
        }
        if let Some(w) = words_with_delete(h as u32).find(|w| one_apart(b, w.as_bytes())) {
            return Some(w);
        }
    }
    None
}

/// A word of [`MIN_TWO`] letters or more two slips off a word of the
/// phrases of nine letters or more ([`LONG_WORDS`]) with the same first
/// letter, and whose second letter is the word's second or third (a slip
/// on the second letter itself is not looked for), corrected to it (the shortest such word first), unless it is
/// an English word ([`ENGLISH_NEAR`]). The words are
/// compared only when their lengths differ by two at most and their counts
/// of each letter by four in all (two slips change no more; first told
/// from their sets of letters, [`letter_sets`]), which leaves few of the
/// thirty-odd words of a first letter to compare.
fn correct_two(b: &[u8]) -> Option<&'static str> {
    let found = two_slips(b)?;
    let word = std::str::from_utf8(b).expect("ASCII");
    (ENGLISH_NEAR.binary_search(&word).is_err() && !PROMPT_WORDS.contains(&word)).then_some(found)
}

/// Words of image prompts that no English word list has, two slips off a
/// word of the phrases: never read as it ("trending on artstation" is not
/// "attestation").
const PROMPT_WORDS: &[&str] = &["artstation", "carbonara"];

/// The first word of [`LONG_WORDS`] two slips off `b` or less, if `b` has
/// [`MIN_TWO`] letters or more.
pub(crate) fn two_slips(b: &[u8]) -> Option<&'static str> {
    if b.len() < MIN_TWO || b.len() > MAX_WORD {
        return None;
    }
    let (once, twice) = letter_sets(b);
    let mut counts = [0i8; 26];
    for &c in b {
        counts[usize::from(c - b'a')] += 1;
    }
    // The words whose second letter is the word's second or third.
    let first = usize::from(b[0] - b'a') * 26;
    let seconds = [b[1], b[2]];
    let seconds = if b[1] == b[2] {
        &seconds[..1]
    } else {
        &seconds[..]
    };
    let mut found: Option<&'static [u8]> = None;
    for &second in seconds {
        let pair = first + usize::from(second - b'a');
        let bucket =
            &LONG_WORDS[usize::from(LONG_STARTS[pair])..usize::from(LONG_STARTS[pair + 1])];
        // Sorted by length: those two letters longer or shorter at most.
        let shortest = bucket.partition_point(|&(n, ..)| usize::from(n) + 2 < b.len());
        let word = bucket[shortest..]
            .iter()
            .take_while(|&&(n, ..)| usize::from(n) <= b.len() + 2)
            .filter(|&&(_, _, o, t)| (o ^ once).count_ones() + (t ^ twice).count_ones() <= 4)
            .map(|&(_, i, ..)| VOCABULARY[usize::from(i)].as_bytes())
            .find(|w| counts_within_four(&counts, w) && within_two(b, w));
        if let Some(w) = word
            && found.is_none_or(|f| w.len() < f.len())
        {
            found = Some(w);
        }
    }
    found.map(|w| std::str::from_utf8(w).expect("ASCII"))
}

/// Whether the letters of `w` differ from `counts` (a word's, letter by
/// letter) by four at most, added up: two slips change them by four at
/// most (a letter changed takes one off and adds one).
fn counts_within_four(counts: &[i8; 26], w: &[u8]) -> bool {
    let mut diff = *counts;
    for &c in w {
        diff[usize::from(c - b'a')] -= 1;
    }
    diff.iter().map(|d| d.unsigned_abs()).sum::<u8>() <= 4
}

/// Whether the optimal string alignment distance of `a` and `b` (letters
/// inserted, deleted, changed, or two neighbours swapped) is two at most:
/// only the cells within two of the diagonal are computed, and it stops
/// as soon as a row has none within two.
fn within_two(a: &[u8], b: &[u8]) -> bool {
    const FAR: u8 = 3;
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > 2 || n > MAX_WORD || m > MAX_WORD {
        return false;
    }
    // Rows i - 2, i - 1 and i, in turn.
    let mut rows = [[FAR; MAX_WORD + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(m.min(2) + 1) {
        *cell = j as u8;
    }
    for i in 1..=n {
        let (cur, prev, before) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        let from = i.saturating_sub(2).max(1);
        let to = (i + 2).min(m);
        rows[cur] = [FAR; MAX_WORD + 1];
        rows[cur][0] = if i <= 2 { i as u8 } else { FAR };
        let mut best = rows[cur][0];
        for j in from..=to {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[before][j - 2] + 1);
            }
            rows[cur][j] = d.min(FAR);
            best = best.min(rows[cur][j]);
        }
        if best > 2 {
            return false;
        }
    }
    rows[n % 3][m] <= 2
}

/// The set of the lowercase letters of `b`, and of those it has twice or
/// more, a bit each. Where two words' sets differ by a letter, their counts
/// of it differ by one at least, and by two where both sets differ; so
/// words two slips apart differ by four such bits at most.
fn letter_sets(b: &[u8]) -> (u32, u32) {
    b.iter().fold((0, 0), |(once, twice), &c| {
        let bit = 1 << (c - b'a');
        (once | bit, twice | (once & bit))
    })
}

/// A word of five or six letters with a doubled letter written once or two
/// letters after the first swapped, corrected to a word of the phrases.
fn correct_short(b: &[u8], hashes: &Hashes) -> Option<&'static str> {
    let n = b.len();
    if n > MIN_WORD {
        return None;
    }
    let mut buf = [0u8; MIN_WORD + 1];
    // A letter doubled.
    for i in 0..n {
        buf[..=i].copy_from_slice(&b[..=i]);
        buf[i + 1..=n].copy_from_slice(&b[i..]);
        if !crate::split::may_begin(&buf[..=n]) || !near(hashes.doubled(i)) {
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
        if !crate::split::may_begin(&buf[..n]) || !near(hashes.swapped(b, i)) {
            continue;
        }
        let d = std::str::from_utf8(&buf[..n]).expect("ASCII");
        if let Some(w) = crate::split::lookup(d) {
            return Some(w);
        }
    }
    None
}

/// The FNV-1a hash of `bytes`, as [`VOCABULARY_TABLE`] and [`DELETES`] have
/// it.
///
/// [`VOCABULARY_TABLE`]: crate::builtin::VOCABULARY_TABLE
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_START, |h, &c| fnv_step(h, c))
}

/// Whether the string of polynomial hash `h` may be a lowercase word of the
/// phrases or one of seven letters or more without a letter (never false
/// for those; true for under 1% of other strings).
#[inline]
fn near(h: u64) -> bool {
    let (at, mask) = poly_bloom(h, NEAR_BITS);
    NEAR_BLOOM[at] & mask == mask
}

/// The polynomial hashes (`key::poly_step`) of a word's variants, from its
/// beginnings and endings: the hash of a string is the sum of its letters,
/// each times the base to the power of the number of letters after it.
struct Hashes {
    n: usize,
    /// `prefix[k]`: the hash of the first `k` letters.
    prefix: [u64; MAX_WORD + 1],
    /// `suffix[k]`: the letters from `k` on, as they count in the whole word.
    suffix: [u64; MAX_WORD + 1],
    /// `power[k]`: the base to the power `k`.
    power: [u64; MAX_WORD + 1],
}

impl Hashes {
    fn of(b: &[u8]) -> Self {
        let n = b.len();
        let mut h = Self {
            n,
            prefix: [0; MAX_WORD + 1],
            suffix: [0; MAX_WORD + 1],
            power: [1; MAX_WORD + 1],
        };
        for (k, &c) in b.iter().enumerate() {
            h.prefix[k + 1] = poly_step(h.prefix[k], c);
            h.power[k + 1] = poly_step(h.power[k], 0);
        }
        for (k, &c) in b.iter().enumerate().rev() {
            h.suffix[k] = u64::from(c)
                .wrapping_mul(h.power[n - 1 - k])
                .wrapping_add(h.suffix[k + 1]);
        }
        h
    }

    /// The word's.
    fn whole(&self) -> u64 {
        self.prefix[self.n]
    }

    /// The word's without letter `k`: the letters before it count one
    /// place less.
    fn without(&self, k: usize) -> u64 {
        self.prefix[k]
            .wrapping_mul(self.power[self.n - 1 - k])
            .wrapping_add(self.suffix[k + 1])
    }

    /// The word's with letter `i` doubled: the letters up to it count one
    /// place more.
    fn doubled(&self, i: usize) -> u64 {
        self.prefix[i + 1]
            .wrapping_mul(self.power[self.n - i])
            .wrapping_add(self.suffix[i])
    }

    /// The word's (`b`) with letters `i` and `i + 1` swapped: each moves by
    /// one place.
    fn swapped(&self, b: &[u8], i: usize) -> u64 {
        let moved = u64::from(b[i + 1]).wrapping_sub(u64::from(b[i]));
        let places = self.power[self.n - 1 - i].wrapping_sub(self.power[self.n - 2 - i]);
        self.whole().wrapping_add(moved.wrapping_mul(places))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0, |h, &c| poly_step(h, c))
    }

    #[test]
    fn variants_hash_as_written_out() {
        for word in [
            "terorist",
            "blody",
            "swfit",
            "abcdefghijklmnopqrstuvwxyzabcdef",
        ] {
            let b = word.as_bytes();
            let n = b.len();
            let h = Hashes::of(b);
            assert_eq!(h.whole(), poly(b));
            for k in 0..n {
                let without: Vec<u8> = [&b[..k], &b[k + 1..]].concat();
                assert_eq!(h.without(k), poly(&without), "{word} without {k}");
                let doubled: Vec<u8> = [&b[..=k], &b[k..]].concat();
                assert_eq!(h.doubled(k), poly(&doubled), "{word} doubled {k}");
                if k + 1 < n {
                    let mut swapped = b.to_vec();
                    swapped.swap(k, k + 1);
                    assert_eq!(h.swapped(b, k), poly(&swapped), "{word} swapped {k}");
                }
            }
        }
    }

    #[test]
    fn corrections_are_remembered_as_found() {
        let words = [
            "terorist",
            "blody",
            "landscape",
            "signs",
            "pasport",
            "a",
            "Terorist",
        ];
        let mut corrections = Corrections::default();
        // Twice over, and enough other words for the table to grow.
        for round in 0..2 {
            for w in words {
                assert_eq!(corrections.correct(w), correct(w), "{w}, round {round}");
            }
            for i in 0..200 {
                let w = format!("word{}", char::from(b'a' + (i % 26) as u8)).repeat(1 + i / 26);
                assert_eq!(corrections.correct(&w), correct(&w), "{w}");
            }
        }
    }

    /// [`within_two`] agrees with the full distance on words and their
    /// slips.
    #[test]
    fn within_two_is_the_distance_bounded() {
        let words = [
            "murdering",
            "propaganda",
            "decapitated",
            "ab",
            "abc",
            "terrorist",
        ];
        for w in words {
            let b = w.as_bytes();
            let mut variants: Vec<Vec<u8>> = vec![b.to_vec()];
            for _ in 0..3 {
                let mut next = Vec::new();
                for v in &variants {
                    for k in 0..v.len() {
                        next.push([&v[..k], &v[k + 1..]].concat());
                        next.push([&v[..k], b"x", &v[k + 1..]].concat());
                        next.push([&v[..k], b"q", &v[k..]].concat());
                        if k + 1 < v.len() {
                            let mut s = v.clone();
                            s.swap(k, k + 1);
                            next.push(s);
                        }
                    }
                }
                variants.extend(next);
                variants.sort();
                variants.dedup();
            }
            for v in &variants {
                assert_eq!(
                    within_two(v, b),
                    crate::names::distance(v, b) <= 2,
                    "{:?} {w}",
                    String::from_utf8_lossy(v)
                );
            }
        }
    }

    /// The filter the build script wrote holds what [`near`] is asked for.
    #[test]
    fn the_filter_holds_the_words_and_their_deletes() {
        for w in VOCABULARY
            .iter()
            .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        {
            let h = Hashes::of(w.as_bytes());
            assert!(near(h.whole()), "{w}");
            if w.len() >= MIN_TARGET {
                assert!((0..w.len()).all(|k| near(h.without(k))), "{w}");
            }
        }
    }
}
