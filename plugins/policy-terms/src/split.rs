//! Words written together: a Latin word that is no word of the built-in
//! phrases but reads as several of them run together ("nakedchild",
//! "bombmaking", "jewsasrats") is split into them, and a run of Chinese or
//! Japanese characters, written without spaces, is cut into the built-in
//! phrases' words it contains ("裸体小女孩照片" reads "裸体 小女孩").
//!
//! The words are those of the built-in terms and combinations
//! ([`builtin::VOCABULARY`], written by the build script) and a few common
//! nouns of prompts ("poster", "photo"), at least four letters long (or one
//! of a few strong three-letter words: "sex", "kid"), joined by short words
//! ("as", "the", "of") that neither begin nor end the word, so "therapist"
//! is not "the rapist" and "notice" not "not ice". A Latin word is split
//! only when every letter of it belongs to a piece, and never when a
//! built-in prefix word begins it ("firebombed" stays whole for "firebomb*").

use crate::builtin::{STEMS, TRIGRAMS, VOCABULARY, VOCABULARY_LONGEST, VOCABULARY_TABLE};
use crate::key::{FNV_START, fnv_step};

/// Short words that may join two pieces but not begin or end a word.
const JOINERS: &[&str] = &[
    "a", "an", "the", "as", "of", "for", "to", "in", "on", "and", "with", "my", "is", "are", "by",
    "at", "or", "from", "did",
];

/// Words that read as words of the phrases run together but are ordinary
/// words, never split.
const NEVER_SPLIT: &[&str] = &[
    "middlesex",
    "sussex",
    "essex",
    "wessex",
    "childhood",
    "childhoods",
    "kidnapped",
    "manhunt",
    "therapist",
    "therapists",
    "grandchild",
    "grandchildren",
    "stepchild",
    "stepchildren",
    "godchild",
    "schoolchildren",
    "schoolkids",
    "bombshell",
    "bombshells",
    "gunshot",
    "gunshots",
    "headshot",
    "headshots",
    "snapshot",
    "snapshots",
    "moonshot",
    "mugshots",
    "sexton",
    "analog",
    "analogue",
    "grapevine",
    "shotgun",
    "cockpit",
    "cocktail",
    "cocktails",
    "peacock",
    "hancock",
    "hitchcock",
    "dickens",
    "scunthorpe",
    "penistone",
    "arsenal",
    "assassin",
    "assassins",
    "classic",
    "classics",
    "passion",
    "document",
    "documents",
    "therapy",
    "superstar",
    "nudibranch",
    "teenage",
    "childcare",
    "mankind",
];

/// Three-letter words that may be pieces.
const SHORT_PIECES: &[&str] = &[
    "sex", "kid", "kys", "gun", "kkk", "cum", "gas", "war", "die", "all", "now", "man",
];

/// Common nouns of prompts that may be pieces too ("shakiranudeleak").
/// The build script reads this list from this file's text and adds it to
/// `VOCABULARY`; a test checks they are there.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const COMMON: &[&str] = &[
    "poster",
    "posters",
    "photo",
    "photos",
    "picture",
    "pictures",
    "image",
    "images",
    "pic",
    "pics",
    "drawing",
    "diagram",
    "aesthetic",
    "art",
    "leak",
    "leaks",
    "meme",
    "memes",
    "cartoon",
    "selfie",
    "video",
    "print",
    "prints",
    "shirt",
    "shirts",
    "tshirt",
    "tshirts",
    "shop",
    "hoodie",
    "sale",
    "copy",
    "style",
    "closeup",
    "model",
    "card",
    "cards",
    "guide",
    "tutorial",
    "plan",
    "plans",
    "page",
    "sticker",
    "stickers",
    "label",
    "labels",
    "merch",
    "template",
    "templates",
    "banner",
    "banners",
    "flyer",
    "flyers",
    "propaganda",
    "tickets",
    "realistic",
    "brutal",
];

const MIN_WORD: usize = 6;
const MIN_PIECE: usize = 3;
const MAX_LATIN: usize = 48;
const MAX_CJK_PIECE: usize = 8;

/// Whether `w` is a word of the built-in phrases (or a common noun).
pub(crate) fn known(w: &str) -> bool {
    lookup(w).is_some()
}

/// `w` as a word of the built-in phrases (or a common noun), if it is one.
pub(crate) fn lookup(w: &str) -> Option<&'static str> {
    lookup_hashed(w, w.bytes().fold(FNV_START, fnv_step))
}

/// [`known`], given the word's hash.
#[inline]
fn known_hashed(w: &str, hash: u64) -> bool {
    lookup_hashed(w, hash).is_some()
}

/// [`lookup`], given the word's hash.
#[inline]
pub(crate) fn lookup_hashed(w: &str, hash: u64) -> Option<&'static str> {
    let mask = VOCABULARY_TABLE.len() - 1;
    let mut at = hash as usize & mask;
    loop {
        match VOCABULARY_TABLE[at] {
            0 => return None,
            e if VOCABULARY[usize::from(e) - 1] == w => {
                return Some(VOCABULARY[usize::from(e) - 1]);
            }
            _ => at = (at + 1) & mask,
        }
    }
}

/// Whether `w`, whose hash is `hash`, may be a piece of a Latin word.
#[inline]
fn piece(w: &str, hash: u64) -> bool {
    // Three letters: known first, a table lookup, then the short list.
    let long_enough = w.len() > MIN_PIECE || (known_hashed(w, hash) && SHORT_PIECES.contains(&w));
    long_enough && (w.len() != 4 || !JOINERS.contains(&w)) && known_hashed(w, hash)
}

/// Whether a word of the phrases may begin at `rest` (its first three
/// letters begin one).
pub(crate) fn may_begin(rest: &[u8]) -> bool {
    match rest {
        [a, b, c, ..] => {
            let i =
                (usize::from(a - b'a') * 26 + usize::from(b - b'a')) * 26 + usize::from(c - b'a');
            TRIGRAMS[i / 64] & (1 << (i % 64)) != 0
        }
        _ => false,
    }
}

/// The pieces of `word` as byte ranges, into `out` (left empty when it is
/// not to be split).
pub(crate) fn split(word: &str, out: &mut Vec<(usize, usize)>) {
    let bytes = word.as_bytes();
    if bytes.iter().all(u8::is_ascii_lowercase) {
        if bytes.len() >= MIN_WORD && bytes.len() <= MAX_LATIN {
            split_latin(word, out);
        }
    } else if word.chars().any(is_cjk) {
        split_cjk(word, out);
    }
}

fn split_latin(word: &str, out: &mut Vec<(usize, usize)>) {
    if known(word) {
        return;
    }
    let b = word.as_bytes();
    let n = b.len();
    const NONE: u8 = u8::MAX;
    // The fewest pieces for b[..i] ending with a word of the phrases
    // (`word_end`) or with a joiner (`joiner_end`), and where that piece began.
    let mut word_end = [NONE; MAX_LATIN + 1];
    let mut joiner_end = [NONE; MAX_LATIN + 1];
    let mut word_from = [0u8; MAX_LATIN + 1];
    // Whether the piece before that word was a joiner.
    let mut word_after_joiner = [false; MAX_LATIN + 1];
    let mut joiner_from = [0u8; MAX_LATIN + 1];
    // Whether the piece before that joiner was a joiner too ("gays are a
    // disease"): two joiners in a row, never more.
    let mut joiner_after_joiner = [false; MAX_LATIN + 1];
    for i in 0..n {
        let (after_word, after_joiner) = if i == 0 {
            (0, NONE)
        } else {
            (word_end[i], joiner_end[i])
        };
        let here = after_word.min(after_joiner);
        if i > 0 && here == NONE {
            continue;
        }
        let pieces = if i == 0 { 0 } else { here };
        if may_begin(&b[i..]) {
            let mut hash = b[i..i + MIN_PIECE - 1]
                .iter()
                .fold(FNV_START, |h, &c| fnv_step(h, c));
            for j in i + MIN_PIECE..=n.min(i + VOCABULARY_LONGEST) {
                hash = fnv_step(hash, b[j - 1]);
                if pieces + 1 < word_end[j] && piece(&word[i..j], hash) {
                    word_end[j] = pieces + 1;
                    word_from[j] = i as u8;
                    word_after_joiner[j] = i > 0 && after_joiner < after_word;
                }
            }
        }
        // A joiner follows a word, or a joiner that follows a word.
        let before_joiner = if i > 0 && after_joiner != NONE && !joiner_after_joiner[i] {
            after_word.min(after_joiner)
        } else {
            after_word
        };
        if i > 0 && before_joiner != NONE {
            for joiner in JOINERS {
                let j = i + joiner.len();
                if j < n
                    && b[i..].starts_with(joiner.as_bytes())
                    && before_joiner + 1 < joiner_end[j]
                {
                    joiner_end[j] = before_joiner + 1;
                    joiner_from[j] = i as u8;
                    joiner_after_joiner[j] = after_word == NONE || after_joiner < after_word;
                }
            }
        }
    }
    if word_end[n] == NONE || word_end[n] < 2 || NEVER_SPLIT.contains(&word) {
        return;
    }
    // Back from the end: a word piece, then a joiner or a word, ...
    let mut at = n;
    let mut in_word = true;
    let start = out.len();
    while at > 0 {
        let (from, next_in_word) = if in_word {
            (word_from[at], !word_after_joiner[at])
        } else {
            // A joiner follows a word, or a joiner that follows a word.
            (joiner_from[at], !joiner_after_joiner[at])
        };
        out.push((usize::from(from), at));
        in_word = next_in_word;
        at = usize::from(from);
    }
    out[start..].reverse();
    // A word a prefix word begins ("firebombed", "firebomb*") is matched
    // whole, unless its first piece holds that prefix word
    // ("deportallmuslims", "deport*").
    let first = out[start].1;
    if (first + 1..n).any(|k| STEMS.binary_search(&&word[..k]).is_ok()) {
        out.truncate(start);
    }
}

/// Whether `c` is a Chinese or Japanese character, written without spaces.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x2ffff)
}

/// Cuts a run of CJK characters into the longest known words, from the
/// left; characters in no known word are left out.
fn split_cjk(word: &str, out: &mut Vec<(usize, usize)>) {
    let ends: Vec<usize> = word.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    let mut k = 0;
    let mut at = 0;
    while k < ends.len() {
        let longest = (k..ends.len().min(k + MAX_CJK_PIECE))
            .rev()
            .find(|&e| known(&word[at..ends[e]]));
        match longest {
            Some(e) => {
                out.push((at, ends[e]));
                at = ends[e];
                k = e + 1;
            }
            None => {
                at = ends[k];
                k += 1;
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn pieces(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    split(word, &mut out);
    out.into_iter().map(|(a, b)| &word[a..b]).collect()
}
