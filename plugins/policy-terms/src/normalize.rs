//! Text normalisation and tokenisation, so that trivial disguises of a word
//! ("K I L L", "k.i.l.l", "k1ll", "kiiiill", Cyrillic or fullwidth look-alikes,
//! zero-width characters) read as the word itself.
//!
//! A text becomes a [`Doc`]: a list of tokens (words and numbers). Each
//! character is decomposed (NFKD) with its combining marks dropped, so "é"
//! reads "e" and fullwidth or mathematical letters read as ASCII; invisible
//! characters are dropped; Cyrillic and Greek look-alikes become Latin
//! letters; everything is lowercased. Words are runs of letters and digits;
//! an apostrophe inside a word is dropped ("driver's" reads "drivers"). In a
//! word with letters, digits and `@ $ ! |` are read as the letters they
//! imitate ("k1ll", "$ex"), except a leading number before a unit ("12yo",
//! "4k", "1girl") or a trailing number of two or more digits ("ak47"), which
//! are split off. Runs of two or more single letters join into one word
//! ("k i l l"). A word with a run of three or more of the same letter is
//! "elongated": it matches a term when both read the same with every run of
//! repeated letters squeezed to one ("kiiiill" matches "kill", while "shot"
//! stays different from "shoot").

// The paths are explicit because the build script includes this file
// through `#[path]`.
#[path = "normalize/chars.rs"]
mod chars;
#[path = "normalize/numbers.rs"]
mod numbers;

use chars::normalize_char;
use numbers::{number_split, number_value};

/// One word or number of a [`Doc`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    start: u32,
    end: u32,
    /// Whether a run of three or more of the same ASCII letter occurs in it.
    pub elongated: bool,
    /// The value of a number, written in digits or as a word ("twelve").
    pub num: Option<u64>,
    /// How many characters separate it from the previous token (at most 255).
    gap: u8,
    /// Whether that separation holds whitespace.
    gap_space: bool,
    /// Whether digits or symbols in it were read as letters ("b34t1ng").
    leet: bool,
}

/// A normalised text: its tokens. Texts pushed one after the other are kept
/// apart by an empty token, so that no phrase spans two of them.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    text: String,
    tokens: Vec<Token>,
    scratch: Vec<char>,
    /// The separation before the next token.
    gap: u8,
    gap_space: bool,
}

impl Doc {
    /// An empty document with room for about `chars` characters of text.
    pub fn with_capacity(chars: usize) -> Self {
        Self {
            text: String::with_capacity(chars),
            tokens: Vec::with_capacity(chars / 4 + 1),
            scratch: Vec::with_capacity(32),
            gap: 0,
            gap_space: false,
        }
    }

    /// The normalised tokens of one text.
    pub fn of(text: &str) -> Self {
        let mut doc = Self::with_capacity(text.len());
        doc.push(text);
        doc
    }

    /// Adds a text.
    pub fn push(&mut self, text: &str) {
        let text = &*multi_leet(text);
        if !self.tokens.is_empty() {
            self.add_token(self.text.len());
        }
        let first = self.tokens.len();
        let mut run = std::mem::take(&mut self.scratch);
        run.clear();
        for c in text.chars() {
            if c.is_ascii() {
                // Most text: no need for the Unicode tables.
                self.feed(&mut run, c.to_ascii_lowercase());
            } else {
                normalize_char(c, &mut |n| self.feed(&mut run, n));
            }
        }
        if !run.is_empty() {
            self.finish_run(&run);
        }
        self.scratch = run;
        self.join_single_letters(first);
    }

    /// Takes one normalised character: it extends the current run of word
    /// characters, or ends it.
    #[inline]
    fn feed(&mut self, run: &mut Vec<char>, n: char) {
        if is_word_char(n) || (is_leet_symbol(n) && (!run.is_empty() || n != '!')) {
            run.push(n);
        } else if is_apostrophe(n) && is_elision(run) {
            // A French elided article or pronoun: "l'enfant", "d'Astérix",
            // "qu'il" read "enfant", "asterix", "il".
            run.clear();
            self.gap = self.gap.saturating_add(1);
        } else if is_apostrophe(n) && !run.is_empty() {
            // Inside a word: "driver's" reads "drivers".
        } else {
            if !run.is_empty() {
                self.finish_run(run);
                run.clear();
            }
            self.gap = self.gap.saturating_add(1);
            self.gap_space |= n.is_whitespace();
        }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Token `i`.
    pub fn token(&self, i: usize) -> Token {
        self.tokens[i]
    }

    /// The text of token `i` (empty for the separator between two texts).
    pub fn text(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.start as usize..t.end as usize]
    }

    /// The tokens `from..to` joined by single spaces.
    pub fn span(&self, from: usize, to: usize) -> String {
        let mut out = String::new();
        for i in from..to {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(self.text(i));
        }
        out
    }

    /// The text of the tokens for which `keep` holds, joined by single
    /// spaces (a text boundary or a left-out token also ends up as one space).
    pub fn joined(&self, mut keep: impl FnMut(usize) -> bool) -> String {
        let mut out = String::with_capacity(self.text.len() + self.tokens.len());
        for i in 0..self.tokens.len() {
            let t = self.text(i);
            if !t.is_empty() && keep(i) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(t);
            }
        }
        out
    }

    /// Replaces every token in which `split` finds pieces (byte ranges of
    /// the token's text, in order) by those pieces; the others stay.
    pub fn split_tokens(&mut self, mut split: impl FnMut(&str, &mut Vec<(usize, usize)>)) {
        let mut pieces = Vec::new();
        let mut out: Option<Vec<Token>> = None;
        for i in 0..self.tokens.len() {
            let t = self.tokens[i];
            pieces.clear();
            split(&self.text[t.start as usize..t.end as usize], &mut pieces);
            if pieces.is_empty() {
                if let Some(out) = &mut out {
                    out.push(t);
                }
                continue;
            }
            let out = out.get_or_insert_with(|| self.tokens[..i].to_vec());
            for &(a, b) in &pieces {
                let (a, b) = (t.start as usize + a, t.start as usize + b);
                out.push(self.make_token(a, b));
            }
        }
        if let Some(out) = out {
            self.tokens = out;
        }
    }

    /// Replaces the text of every token for which `correct` gives a word.
    pub fn correct_tokens(&mut self, mut correct: impl FnMut(&str) -> Option<&'static str>) {
        for i in 0..self.tokens.len() {
            let t = self.tokens[i];
            if t.elongated || t.num.is_some() {
                continue;
            }
            if let Some(word) = correct(&self.text[t.start as usize..t.end as usize]) {
                self.replace_token(i, word);
            }
        }
    }

    /// Replaces the text of token `i` by `word`.
    pub fn replace_token(&mut self, i: usize, word: &str) {
        let t = self.tokens[i];
        let start = self.text.len();
        self.text.push_str(word);
        let mut token = self.make_token(start, self.text.len());
        token.gap = t.gap;
        token.gap_space = t.gap_space;
        self.tokens[i] = token;
    }

    /// Joins back a word and the number of two or more digits split off its
    /// end ("g45", "b00m") when, read as leetspeak, they are a word that
    /// `lookup` knows: "g45" reads "gas" where "ak47" stays "ak 47".
    pub fn rejoin_leet(&mut self, mut lookup: impl FnMut(&str) -> Option<&'static str>) {
        let mut i = 0;
        let mut word = String::new();
        while i + 1 < self.tokens.len() {
            let (a, b) = (self.tokens[i], self.tokens[i + 1]);
            let joinable = b.gap == 0
                && a.num.is_none()
                && b.num.is_some()
                && a.end == b.start
                && self.text(i).bytes().all(|c| c.is_ascii_lowercase())
                && self.text(i + 1).bytes().all(|c| b"0134578".contains(&c));
            if joinable {
                word.clear();
                word.push_str(self.text(i));
                word.extend(self.text(i + 1).chars().map(leet));
                if let Some(w) = lookup(&word) {
                    self.replace_token(i, w);
                    self.tokens.remove(i + 1);
                }
            }
            i += 1;
        }
    }

    /// Turns one run of word characters into zero, one or two tokens.
    fn finish_run(&mut self, run: &[char]) {
        let start = self.text.len();
        if run.iter().all(char::is_ascii_lowercase) {
            // Most words: nothing to trim, split or read as letters.
            self.text.extend(run);
            self.add_token(start);
            return;
        }
        let run = trim_bangs(run);
        if run.is_empty() {
            return;
        }
        let has_letter = run.iter().any(|c| is_letter(*c));
        if !has_letter {
            // A number ("$100" reads 100); symbols alone are nothing.
            self.text.extend(run.iter().filter(|c| c.is_ascii_digit()));
            if self.text.len() > start {
                self.add_token(start);
            }
            return;
        }
        if let Some(split) = number_split(run) {
            let (a, b) = run.split_at(split);
            self.text.extend(a);
            self.add_token(start);
            let mid = self.text.len();
            self.text.extend(b);
            self.add_token(mid);
            return;
        }
        self.text.extend(run.iter().map(|&c| leet(c)));
        self.add_token(start);
        if run.iter().any(|&c| leet(c) != c)
            && let Some(t) = self.tokens.last_mut()
        {
            t.leet = true;
        }
    }

    /// Ends the token that started at byte `start` of the text.
    fn add_token(&mut self, start: usize) {
        let mut token = self.make_token(start, self.text.len());
        token.gap = std::mem::take(&mut self.gap);
        token.gap_space = std::mem::take(&mut self.gap_space);
        self.tokens.push(token);
    }

    /// Joins runs of two or more one-character tokens, from token `first` on
    /// ("k i l l" reads "kill"; a lone digit inside such a run is read as a
    /// letter, "k 1 l l"; digits at either end of the run stay numbers).
    fn join_single_letters(&mut self, first: usize) {
        let n = self.tokens.len();
        let mut out = first;
        let mut i = first;
        while i < n {
            let mut j = i;
            while j < n && self.is_single(j) {
                j += 1;
            }
            if j == i {
                self.tokens[out] = self.tokens[i];
                out += 1;
                i += 1;
                continue;
            }
            // Where the letters are spaced by punctuation ("n.a.k.e.d c.h.i.l.d")
            // or by a single space ("k i l l  t h e m"), a space or a wider gap
            // separates two words.
            let gaps = &self.tokens[i + 1..j];
            let narrowest = gaps.iter().map(|t| t.gap).min().unwrap_or(0);
            let punctuated = gaps.iter().any(|t| !t.gap_space);
            let mut a = i;
            for k in i + 1..=j {
                let t = self.tokens.get(k);
                let breaks =
                    k == j || t.is_some_and(|t| t.gap > narrowest || (punctuated && t.gap_space));
                if breaks {
                    out = self.join_run(a, k, out);
                    a = k;
                }
            }
            i = j;
        }
        self.tokens.truncate(out);
    }

    /// Joins the one-character tokens `i..j` into the token at `out` (digits
    /// at either end stay numbers); returns where the next token goes.
    fn join_run(&mut self, i: usize, j: usize, mut out: usize) -> usize {
        let (mut a, mut b) = (i, j);
        while a < b && !self.is_letter_token(a) {
            a += 1;
        }
        while b > a && !self.is_letter_token(b - 1) {
            b -= 1;
        }
        let letters = (a..b).filter(|&k| self.is_letter_token(k)).count();
        for k in i..j {
            if letters < 2 || k < a || k >= b {
                self.tokens[out] = self.tokens[k];
                out += 1;
            } else if k == a {
                // The tokens are adjacent in the text: merge them in place
                // (same length), reading digits as letters.
                let start = self.tokens[a].start as usize;
                let end = self.tokens[b - 1].end as usize;
                let joined: String = self.text[start..end].chars().map(leet).collect();
                self.text.replace_range(start..end, &joined);
                self.tokens[out] = self.make_token(start, end);
                out += 1;
            }
        }
        out
    }

    /// Whether token `i` is one character.
    fn is_single(&self, i: usize) -> bool {
        let mut chars = self.text(i).chars();
        chars.next().is_some() && chars.next().is_none()
    }

    /// Whether token `i` starts with a letter.
    fn is_letter_token(&self, i: usize) -> bool {
        self.text(i).chars().next().is_some_and(is_letter)
    }

    fn make_token(&self, start: usize, end: usize) -> Token {
        let word = &self.text[start..end];
        Token {
            start: start as u32,
            end: end as u32,
            elongated: elongated(word),
            num: number_value(word),
            gap: 0,
            gap_space: false,
            leet: false,
        }
    }

    /// Reads a number that stands alone between two words written in
    /// leetspeak as the short word it imitates there: 4 "a", 45 "as", 2
    /// "to" ("b34t1ng 4 ch1ld", "bl4ck p30pl3 45 m0nk3y5"); elsewhere a
    /// number stays a number ("4 kids").
    pub fn read_leet_numbers(&mut self) {
        for i in 1..self.tokens.len().saturating_sub(1) {
            let (before, t, after) = (self.tokens[i - 1], self.tokens[i], self.tokens[i + 1]);
            if t.num.is_none() || !before.leet || !after.leet || !t.gap_space || !after.gap_space {
                continue;
            }
            let word = match self.text(i) {
                "4" => "a",
                "45" => "as",
                "2" => "to",
                _ => continue,
            };
            self.replace_token(i, word);
        }
    }
}

#[inline]
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
}

/// Whether a word cut by an apostrophe is a French elision ("l'", "d'",
/// "qu'"...), which is dropped rather than joined to the next word.
fn is_elision(run: &[char]) -> bool {
    matches!(
        run,
        ['l' | 'd' | 'j' | 'n' | 's' | 'c' | 'm' | 't'] | ['q', 'u']
    )
}

#[inline]
fn is_letter(c: char) -> bool {
    is_word_char(c) && !c.is_ascii_digit()
}

#[inline]
fn is_leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!' | '|')
}

#[inline]
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`')
}

/// A run without its leading and trailing exclamation marks (inside a word
/// "!" reads "i"; around it, it is punctuation).
fn trim_bangs(run: &[char]) -> &[char] {
    let start = run.iter().position(|&c| c != '!').unwrap_or(run.len());
    let end = run.iter().rposition(|&c| c != '!').map_or(start, |e| e + 1);
    &run[start..end]
}

/// Letters written with several symbols, longest first: `|-|` reads "h",
/// `|\|` and `/\/` "n", `|\/|` and `/\/\` "m", `\/\/` "w", `\/` "v",
/// `|<` "k", `|_|` "u".
const MULTI_LEET: &[(&str, char)] = &[
    ("|\\/|", 'm'),
    ("/\\/\\", 'm'),
    ("\\/\\/", 'w'),
    ("|\\|", 'n'),
    ("/\\/", 'n'),
    ("|-|", 'h'),
    ("|_|", 'u'),
    ("\\/", 'v'),
    ("|<", 'k'),
];

/// `text` with the letters written with several symbols ([`MULTI_LEET`])
/// read as letters where they touch a letter or digit ("c|-|1ld" reads
/// "ch1ld", `|\|ud3` "nud3"); a sequence between spaces stays as it is.
/// Only a text with `|` or `\` is looked through.
fn multi_leet(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.as_bytes().contains(&b'|') && !text.as_bytes().contains(&b'\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let found = MULTI_LEET.iter().find(|(seq, _)| {
            b[i..].starts_with(seq.as_bytes()) && {
                let before = i.checked_sub(1).map(|k| b[k]);
                let after = b.get(i + seq.len()).copied();
                [before, after]
                    .into_iter()
                    .flatten()
                    .any(|c| c.is_ascii_alphanumeric())
            }
        });
        match found {
            Some((seq, letter)) => {
                out.push(*letter);
                i += seq.len();
            }
            None => {
                // Copy up to the next symbol that may begin a sequence.
                let next = b[i + 1..]
                    .iter()
                    .position(|&c| matches!(c, b'|' | b'\\' | b'/'))
                    .map_or(b.len(), |k| i + 1 + k);
                out.push_str(&text[i..next]);
                i = next;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What a character in a word with letters stands for.
#[inline]
fn leet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '8' => 'b',
        '|' => 'l',
        c => c,
    }
}

/// Whether a run of three or more of the same ASCII letter occurs in `word`.
fn elongated(word: &str) -> bool {
    let (mut previous, mut repeats) = (0u8, 0);
    for &b in word.as_bytes() {
        if b == previous && b.is_ascii_alphabetic() {
            repeats += 1;
            if repeats == 2 {
                return true;
            }
        } else {
            repeats = 0;
        }
        previous = b;
    }
    false
}

/// `word` with every run of a repeated ASCII letter squeezed to one letter.
pub(crate) fn squeezed(word: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = word.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(move |&(i, &b)| !(i > 0 && b == bytes[i - 1] && b.is_ascii_alphabetic()))
        .map(|(_, &b)| b)
}

#[cfg(test)]
mod tests;
