//! One character at a time: compatibility decomposition without combining
//! marks, invisible characters dropped, Cyrillic and Greek look-alikes read
//! as Latin letters, lowercase.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Normalises one character, giving zero or more lowercase characters.
pub(super) fn normalize_char(c: char, out: &mut impl FnMut(char)) {
    if c.is_ascii() {
        out(c.to_ascii_lowercase());
        return;
    }
    if is_invisible(c) {
        return;
    }
    if let Some(s) = confusable(c) {
        s.chars().for_each(&mut *out);
        return;
    }
    decompose_compatible(c, |d| {
        if d.is_ascii() {
            out(d.to_ascii_lowercase());
        } else if is_combining_mark(d) || is_invisible(d) {
        } else if let Some(s) = confusable(d) {
            s.chars().for_each(&mut *out);
        } else {
            d.to_lowercase().for_each(&mut *out);
        }
    });
}

/// Characters that render as nothing and would split a word invisibly.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{034F}' // combining grapheme joiner
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180E}'
            | '\u{200B}'..='\u{200F}' // zero-width space, (non-)joiner, marks
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}' // byte order mark
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// Latin letters that other scripts' look-alikes (and a few Latin letters
/// without a decomposition) stand for. Case matters for a few Greek letters:
/// capital eta looks like H, small eta like n.
pub(super) fn confusable(c: char) -> Option<&'static str> {
    Some(match c {
        // Cyrillic
        'А' | 'а' => "a",
        'В' | 'в' | 'Ь' | 'ь' => "b",
        'С' | 'с' => "c",
        'Ԁ' | 'ԁ' => "d",
        'Е' | 'е' | 'Ё' | 'ё' | 'Є' | 'є' | 'Э' | 'э' => "e",
        'Һ' | 'һ' | 'Н' | 'н' => "h",
        'І' | 'і' | 'Ї' | 'ї' | 'Ӏ' => "i",
        'Ј' | 'ј' => "j",
        'К' | 'к' => "k",
        'ӏ' => "l",
        'М' | 'м' => "m",
        'О' | 'о' => "o",
        'Р' | 'р' => "p",
        'Ԛ' | 'ԛ' => "q",
        'Ѕ' | 'ѕ' => "s",
        'Т' | 'т' => "t",
        'Ц' | 'ц' | 'Џ' | 'џ' => "u",
        'Ѵ' | 'ѵ' => "v",
        'Ԝ' | 'ԝ' | 'Ш' | 'ш' | 'Щ' | 'щ' => "w",
        'Х' | 'х' | 'Ж' | 'ж' => "x",
        'У' | 'у' | 'Ү' | 'ү' | 'Ў' | 'ў' => "y",
        'З' | 'з' => "3",
        'Г' | 'г' => "r",
        'П' | 'п' | 'Л' | 'л' => "n",
        'Я' | 'я' => "r",
        // Greek
        'Α' | 'α' => "a",
        'Β' | 'β' => "b",
        'Γ' | 'γ' => "y",
        'Δ' | 'δ' => "d",
        'Ε' | 'ε' | 'ϵ' => "e",
        'Ζ' | 'ζ' => "z",
        'Η' => "h",
        'η' => "n",
        'Θ' | 'θ' => "o",
        'Ι' | 'ι' => "i",
        'Κ' | 'κ' => "k",
        'Λ' | 'λ' => "l",
        'Μ' => "m",
        'μ' => "u",
        'Ν' => "n",
        'ν' => "v",
        'Ο' | 'ο' | 'σ' | 'ς' => "o",
        'Π' | 'π' => "n",
        'Ρ' | 'ρ' => "p",
        'Σ' => "e",
        'Τ' | 'τ' => "t",
        'Υ' => "y",
        'υ' => "u",
        'Φ' | 'φ' => "o",
        'Χ' | 'χ' => "x",
        'Ω' | 'ω' => "w",
        // Latin letters with no decomposition
        'ı' => "i",
        'ł' | 'Ł' => "l",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'ħ' | 'Ħ' => "h",
        'ŧ' | 'Ŧ' => "t",
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ɑ' => "a",
        'ɡ' => "g",
        'ʟ' => "l",
        'ɪ' => "i",
        'ᴋ' => "k",
        _ => return None,
    })
}
