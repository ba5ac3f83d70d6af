//! Numbers in words: a number written together with a unit or noun
//! ("12yo", "1girl", "ak47"), and numbers written as words, in English and
//! in other languages.

/// Units and nouns that follow a number written together with it ("12yo",
/// "4k", "1girl"): such a word is a number and a word, not leetspeak.
pub(super) const NUMBER_SUFFIXES: &[&str] = &[
    "am", "b", "boy", "boys", "cm", "d", "f", "fps", "ft", "g", "gb", "girl", "girls", "h", "hz",
    "in", "k", "kg", "km", "kid", "kids", "m", "man", "mb", "men", "min", "mm", "mp", "nd", "p",
    "pm", "px", "rd", "s", "st", "th", "woman", "women", "x", "y", "yo", "yr", "yrs", "year",
    "years", "yearold", "yearsold", "yold",
];

/// Where to split a word made of a number and letters: "12yo" and "1girl"
/// after the number, "ak47" before it (two or more trailing digits).
pub(super) fn number_split(run: &[char]) -> Option<usize> {
    if !run.iter().all(char::is_ascii_alphanumeric) {
        return None;
    }
    let lead = run.iter().take_while(|c| c.is_ascii_digit()).count();
    if lead > 0 {
        let rest = &run[lead..];
        if rest.iter().any(char::is_ascii_digit) {
            return None;
        }
        let is_suffix = |s: &&str| s.chars().eq(rest.iter().copied());
        return (lead >= 2 || NUMBER_SUFFIXES.iter().any(is_suffix)).then_some(lead);
    }
    let trail = run.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let letters = run.len() - trail;
    (trail >= 2 && !run[..letters].iter().any(char::is_ascii_digit)).then_some(letters)
}

/// The value of a number token or a number word.
pub(super) fn number_value(word: &str) -> Option<u64> {
    if word.is_empty() {
        return None;
    }
    if word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    if !(3..=9).contains(&word.len()) {
        return None;
    }
    if let Some(n) = foreign_number(word) {
        return Some(n);
    }
    let first = word.as_bytes()[0];
    WORDS
        .iter()
        .position(|w| w.len() == word.len() && w.as_bytes()[0] == first && *w == word)
        .map(|n| n as u64)
}

/// The value of a number word in French, Spanish or German, from two to
/// seventeen (not those that are English words too, "once", "elf",
/// "seize", nor the articles that also mean one, "une", "una", "eine").
pub(super) fn foreign_number(word: &str) -> Option<u64> {
    Some(match word {
        "deux" | "zwei" => 2,
        "trois" | "tres" | "drei" => 3,
        "quatre" | "cuatro" | "vier" => 4,
        "cinq" | "cinco" | "funf" => 5,
        "seis" | "sechs" => 6,
        "sept" | "siete" | "sieben" => 7,
        "huit" | "ocho" | "acht" => 8,
        "neuf" | "nueve" | "neun" => 9,
        "dix" | "diez" | "zehn" => 10,
        "onze" => 11,
        "douze" | "doce" | "zwolf" => 12,
        "treize" | "trece" | "dreizehn" => 13,
        "quatorze" | "catorce" | "vierzehn" => 14,
        "quinze" | "quince" | "funfzehn" => 15,
        "dieciseis" | "sechzehn" => 16,
        "siebzehn" => 17,
        _ => return None,
    })
}
