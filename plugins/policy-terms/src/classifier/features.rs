//! The classifier's features: hashed word unigrams, word bigrams and
//! character 3- to 5-grams of the normalised text ([`Doc`]), the prompt's
//! and the negative prompt's apart. Shared with the build script, which
//! trains the model on the same features.
//!
//! A feature is a bucket of [`BUCKETS`]; a text's features are the distinct
//! buckets its words and n-grams fall in (presence, not counts), each
//! weighing `1 / sqrt(count)` so that the vector has unit length.

use crate::normalize::Doc;

/// How many bits a bucket has.
pub(crate) const BITS: u32 = 16;
/// How many buckets the features are hashed into.
pub(crate) const BUCKETS: usize = 1 << BITS;
/// How many bits a bucket of the category model has: the top bits of the
/// classifier's bucket.
pub(crate) const CATEGORY_BITS: u32 = 12;
/// How many buckets the category model has.
pub(crate) const CATEGORY_BUCKETS: usize = 1 << CATEGORY_BITS;

/// Which text a feature comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The prompt (and the other texts the rules check).
    Prompt,
    /// The negative prompt: what to keep out of the image.
    Negative,
}

impl Side {
    const fn salt(self) -> u64 {
        match self {
            Side::Prompt => 0x243f_6a88_85a3_08d3,
            Side::Negative => 0x1319_8a2e_0370_7344,
        }
    }
}

/// What kind of feature a bucket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole word.
    Word,
    /// Two neighbouring words.
    Bigram,
    /// A character n-gram of a word.
    Gram,
}

/// Salts by kind of feature: keep a word apart from an n-gram of the same
/// letters.
const WORD: u64 = 0xa409_3822_299f_31d0;
const BIGRAM: u64 = 0x082e_fa98_ec4e_6c89;
const GRAM: u64 = 0x4528_21e6_38d0_1377;

/// The smallest and largest character n-grams.
const GRAM_MIN: usize = 3;
const GRAM_MAX: usize = 5;
/// The character that pads a word, so that n-grams see its ends.
const PAD: u8 = b' ';
/// 2^64 divided by the golden ratio, odd: multiplying by it spreads a key
/// over the top bits (Fibonacci hashing).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's finaliser: spreads every bit of `x` over the result.
#[inline]
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The bucket of a 64-bit hash: its top [`BITS`] bits.
#[inline]
fn bucket(h: u64) -> u32 {
    (h >> (64 - BITS)) as u32
}

/// A word's hash (FNV-1a of its bytes).
fn word_hash(word: &str) -> u64 {
    word.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Squeezes every run of three or more of the same ASCII letter to one
/// letter; doubled letters stay ("kiiiill" reads "kill").
fn squeeze_runs(word: &mut String) {
    let bytes = word.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let run = bytes[i..].iter().take_while(|&&c| c == b).count();
        if run >= 3 && b.is_ascii_alphabetic() {
            out.push(b);
        } else {
            out.extend_from_slice(&bytes[i..i + run]);
        }
        i += run;
    }
    // Only ASCII bytes were dropped: the rest is still UTF-8.
    *word = String::from_utf8(out).unwrap_or_default();
}

/// Calls `emit` with the bucket of every feature of `doc` (repeats
/// included), as read from `side`, and its kind.
pub(crate) fn each_bucket(doc: &Doc, side: Side, emit: &mut impl FnMut(u32, Kind)) {
    let salt = side.salt();
    // The salt of each length of n-gram.
    let salts: [u64; GRAM_MAX + 1] = std::array::from_fn(|n| mix(GRAM ^ salt ^ n as u64));
    let mut previous: Option<u64> = None;
    let mut squeezed_word = String::new();
    for i in 0..doc.len() {
        let mut word = doc.text(i);
        if word.is_empty() {
            // The boundary between two texts: no bigram spans it.
            previous = None;
            continue;
        }
        if doc.token(i).elongated {
            // "kiiiill", "nuuuude" read "kill", "nude".
            squeezed_word.clear();
            squeezed_word.push_str(word);
            squeeze_runs(&mut squeezed_word);
            word = &squeezed_word;
        }
        let h = word_hash(word);
        emit(bucket(mix(h ^ WORD ^ salt)), Kind::Word);
        if let Some(p) = previous {
            emit(
                bucket(mix(p.rotate_left(17) ^ h ^ BIGRAM ^ salt)),
                Kind::Bigram,
            );
        }
        previous = Some(h);
        each_gram(word, &salts, emit);
    }
}

/// A character's code in an n-gram: ASCII as itself, any other character
/// folded into the 12 bits that follow (distinct characters may share a
/// code, as features share a bucket).
#[inline]
fn code(c: char) -> u64 {
    let c = u32::from(c);
    u64::from(if c < 0x80 { c } else { 0x80 + c % 0xf7f })
}

/// The character n-grams of one word padded with a space at each end: the
/// last five characters' codes packed 12 bits each, the n-gram the low
/// `12 n` bits, hashed by one multiplication (the top bits of the product
/// are the bucket).
#[inline]
fn each_gram(word: &str, salts: &[u64; GRAM_MAX + 1], emit: &mut impl FnMut(u32, Kind)) {
    const MASKS: [u64; GRAM_MAX + 1] = {
        let mut m = [0u64; GRAM_MAX + 1];
        let mut n = 0;
        while n <= GRAM_MAX {
            m[n] = (1u64 << (12 * n)) - 1;
            n += 1;
        }
        m
    };
    let mut window = u64::from(PAD);
    let mut seen = 1usize;
    let mut push = |c: u64| {
        window = (window << 12) | c;
        seen += 1;
        for n in GRAM_MIN..=GRAM_MAX.min(seen) {
            emit(
                bucket(((window & MASKS[n]) ^ salts[n]).wrapping_mul(GOLDEN)),
                Kind::Gram,
            );
        }
    };
    for c in word.chars() {
        push(code(c));
    }
    push(u64::from(PAD));
}

/// A request's features: the distinct buckets of its prompt and its
/// negative prompt, and which of the prompt's are whole words.
#[derive(Debug, Clone)]
pub(crate) struct Features {
    /// The buckets, a bit set of [`BUCKETS`] bits.
    pub set: Vec<u64>,
    /// How many buckets [`Features::set`] has.
    pub count: u32,
    /// The distinct buckets of the prompt's whole words, in increasing
    /// order (the negative prompt's are not counted: a long list of what
    /// to keep out says nothing of what the prompt asks for).
    pub words: Vec<u32>,
}

impl Features {
    /// The features of a prompt and its negative prompt.
    pub fn of(prompt: &Doc, negative: Option<&Doc>) -> Features {
        let mut set = vec![0u64; BUCKETS / 64];
        let mut count = 0u32;
        let mut words = Vec::new();
        let mut add = |b: u32, kind: Kind, side: Side| {
            let (word, bit) = (b as usize / 64, 1u64 << (b % 64));
            if set[word] & bit == 0 {
                count += 1;
                set[word] |= bit;
            }
            if kind == Kind::Word && side == Side::Prompt {
                words.push(b);
            }
        };
        each_bucket(prompt, Side::Prompt, &mut |b, kind| {
            add(b, kind, Side::Prompt)
        });
        if let Some(negative) = negative {
            each_bucket(negative, Side::Negative, &mut |b, kind| {
                add(b, kind, Side::Negative)
            });
        }
        words.sort_unstable();
        words.dedup();
        Features { set, count, words }
    }
}

/// The buckets of a bit set ([`Features::set`]), in increasing order.
pub(crate) fn members(set: &[u64]) -> impl Iterator<Item = u32> + '_ {
    set.iter().enumerate().flat_map(|(i, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let b = w.trailing_zeros();
                w &= w - 1;
                i as u32 * 64 + b
            })
        })
    })
}

/// A linear model over the buckets: weights quantised to `i8`, each
/// worth `scale`, and a bias.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linear<'a> {
    pub weights: &'a [i8],
    pub scale: f64,
    pub bias: f64,
}

impl Linear<'_> {
    /// The model's score (log-odds) for a bucket set of `count` buckets.
    pub fn score(&self, set: &[u64], count: u32) -> f64 {
        debug_assert_eq!(self.weights.len(), BUCKETS);
        if count == 0 {
            return self.bias;
        }
        let sum: i64 = members(set)
            .map(|b| i64::from(self.weights[b as usize]))
            .sum();
        self.bias + self.scale * sum as f64 / f64::from(count).sqrt()
    }
}

/// A model of one linear score per category, over the top
/// [`CATEGORY_BITS`] bits of the buckets: `weights[bucket * 8 + category]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PerCategory<'a> {
    pub weights: &'a [i8],
    pub scale: f64,
    pub bias: &'a [f64; 8],
}

impl PerCategory<'_> {
    /// Each category's score (log-likelihood, up to a constant) for a
    /// bucket set of `count` buckets.
    pub fn scores(&self, set: &[u64], count: u32) -> [f64; 8] {
        debug_assert_eq!(self.weights.len(), CATEGORY_BUCKETS * 8);
        let mut sums = [0i64; 8];
        for b in members(set) {
            let at = (b >> (BITS - CATEGORY_BITS)) as usize * 8;
            for (s, &w) in sums.iter_mut().zip(&self.weights[at..at + 8]) {
                *s += i64::from(w);
            }
        }
        let norm = f64::from(count.max(1)).sqrt();
        std::array::from_fn(|c| self.bias[c] + self.scale * sums[c] as f64 / norm)
    }
}
