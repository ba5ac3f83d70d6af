//! Misspellings of long words.

use super::{assert_allowed, assert_denied};
use crate::Category::*;
use crate::fuzzy::correct;

#[test]
fn long_words_one_letter_off_are_corrected() {
    assert_eq!(correct("terorist"), Some("terrorist"));
    assert_eq!(correct("recuitment"), Some("recruitment"));
    assert_eq!(correct("arested"), Some("arrested"));
    assert_eq!(correct("johanson"), Some("johansson"));
    assert_eq!(correct("decapatated"), Some("decapitated"));
    assert_eq!(correct("pasport"), Some("passport"));
    assert_eq!(correct("terrorsit"), Some("terrorist"));
    // Words of the phrases, short words, a different first letter, a
    // letter changed in a word under nine letters: left alone.
    for word in [
        "terrorist",
        "changed",
        "laughter",
        "filling",
        "shouting",
        "nacked",
        "sensual",
        "mouse",
        "billing",
        "willing",
        "realistic",
        "landscape",
    ] {
        assert_eq!(correct(word), None, "{word}");
    }
}

#[test]
fn misspelled_prompts_are_denied() {
    for (text, category) in [
        ("Donal Trump arested by police realistic foto", Deepfake),
        ("decapatated head on a spike", Violence),
        ("fake pasport with realstic hologram", Fraud),
        ("terorist propoganda recuitment poster", Terrorism),
    ] {
        assert_denied(text, category);
    }
}

#[test]
fn ordinary_near_words_pass() {
    for text in [
        "children's laughter in a park, people changed into costumes",
        "a dentist filling a cavity, children waiting",
        "people shouting at a football match",
    ] {
        assert_allowed(text);
    }
}

#[test]
fn long_words_two_slips_off_are_corrected() {
    for (word, want) in [
        ("muderring", "murdering"),
        ("decapitatted", "decapitated"),
        ("propagnada", "propaganda"),
        ("counterfiet", "counterfeit"),
        ("recrutiment", "recruitment"),
        ("dismembred", "dismembered"),
    ] {
        assert_eq!(correct(word), Some(want), "{word}");
    }
    // English words two slips off a word of the phrases, words under eight
    // letters, and a different first letter: left alone.
    for word in [
        "expensive",
        "improved",
        "donation",
        "exciting",
        "exposing",
        "inventing",
        "decreased",
        "decoration",
        "artstation",
        "muderer",
        "nurdering",
    ] {
        assert_eq!(correct(word), None, "{word}");
    }
}

#[test]
fn ordinary_words_two_slips_off_pass() {
    for text in [
        "an expensive watch on a velvet cushion, studio lighting",
        "a cake decoration workshop, children watching, improved lighting",
        "a charity donation box at the school fair",
        "an exciting football match, fans exposing their painted faces",
    ] {
        assert_allowed(text);
    }
    assert_denied("muderring a famly in their home, gory photo", Violence);
}

#[test]
fn english_words_one_slip_off_are_not_corrected() {
    // Real words one slip off a word of the phrases: left alone.
    for word in [
        "protector",
        "protectors",
        "splashing",
        "splashed",
        "lighting",
        "streaming",
        "sending",
        "spelling",
        "dumpling",
        "sitting",
        "splitting",
        "caring",
        "meditation",
        "tyrannies",
        "exploring",
    ] {
        assert_eq!(correct(word), None, "{word}");
    }
    // Every word of the list.
    for line in include_str!("../../data/english-one.txt").lines() {
        if let Some(word) = line
            .split_whitespace()
            .next()
            .filter(|w| !w.starts_with('#'))
        {
            assert_eq!(correct(word), None, "{word}");
        }
    }
    // Misspellings that are no words are still corrected, and so are the
    // built-in words' own inflections and spellings.
    for (word, want) in [
        ("slahsing", "slashing"),
        ("slashign", "slashing"),
        ("ligthning", "lightning"),
        ("screamign", "screaming"),
        ("terorist", "terrorist"),
        ("decapitates", "decapitated"),
        ("kidnaping", "kidnapping"),
        ("assassinate", "assassinated"),
        ("husseins", "hussein"),
    ] {
        assert_eq!(correct(word), Some(want), "{word}");
    }
    assert!(
        correct("protestr").is_some_and(|w| w.starts_with("protest")),
        "{:?}",
        correct("protestr")
    );
}

#[test]
fn innocent_prompts_with_english_words_one_slip_off_pass() {
    for text in [
        "a knight as the protector of the village, children splashing in the river",
        "kids splashing in a pool, a screen protector on a phone, soft lighting",
        "a chef folding a dumpling, streaming live, dramatic lighting",
        "a girl sitting by the window, splitting firewood in the background",
        "a monk in meditation at dawn, spelling bee trophy on a shelf",
    ] {
        assert_allowed(text);
    }
    assert_denied("a girl slahsing her wrists in the bathroom", SelfHarm);
    assert_denied("a protestr beaten by police, bloody", Violence);
}

/// Writes `data/english-near.txt`: the English words of the word lists
/// named by `DICT` (paths separated by `:`, one word a line, such as
/// Debian's `wamerican` and `wbritish`) that are no word of the phrases
/// and are two slips off one of [`crate::builtin::LONG_WORDS`]. Run with
/// `DICT=/usr/share/dict/american-english:/usr/share/dict/british-english
/// cargo test -p policy-terms -- --ignored --nocapture english_near`, and
/// again whenever the built-in phrases gain long words.
#[test]
#[ignore = "prints the English words two slips off a word of the phrases; run explicitly"]
fn english_near() {
    let Ok(paths) = std::env::var("DICT") else {
        return;
    };
    let mut near: Vec<String> = Vec::new();
    for path in paths.split(':') {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let word: String = line
                .trim()
                .to_lowercase()
                .chars()
                .filter(|&c| c != '\'')
                .collect();
            if word.bytes().all(|b| b.is_ascii_lowercase())
                && crate::split::lookup(&word).is_none()
                && crate::fuzzy::two_slips(word.as_bytes()).is_some()
            {
                near.push(word);
            }
        }
    }
    near.sort_unstable();
    near.dedup();
    println!("{}", near.join("\n"));
}

/// Writes `data/english-one.txt`: the English words of the word lists
/// named by `DICT` (as for [`english_near`]) that are no word of the
/// phrases and that the correction reads as a word of the phrases one slip
/// off ([`crate::fuzzy::one_slip`]), each with that word, unless the two are
/// the same word's spellings or inflections ([`same_word`]: "terrorists"
/// still reads "terrorist"). Run with
/// `DICT=/usr/share/dict/american-english:/usr/share/dict/british-english
/// cargo test -p policy-terms -- --ignored --nocapture english_one`, and
/// again whenever the built-in phrases gain words.
#[test]
#[ignore = "prints the English words one slip off a word of the phrases; run explicitly"]
fn english_one() {
    let Ok(paths) = std::env::var("DICT") else {
        return;
    };
    let mut words = std::collections::HashSet::new();
    for path in paths.split(':') {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let word: String = line
                .trim()
                .to_lowercase()
                .chars()
                .filter(|&c| c != '\'')
                .collect();
            words.insert(word);
        }
    }
    let mut near: Vec<(&str, &str)> = Vec::new();
    for word in &words {
        if crate::builtin::ALLOW_WORDS
            .binary_search(&word.as_str())
            .is_ok()
        {
            continue;
        }
        if let Some(target) = crate::fuzzy::one_slip(word) {
            if same_word(word, target, &words) {
                eprintln!("SAME {word} {target}");
            } else {
                near.push((word, target));
            }
        }
    }
    near.sort_unstable();
    println!(
        "# English words (from word lists) one slip off a word of the built-in\n\
         # phrases, each with that word: never read as it. Written by\n\
         # DICT=/usr/share/dict/american-english:/usr/share/dict/british-english \
         cargo test -p policy-terms -- --ignored --nocapture english_one"
    );
    for (word, target) in near {
        println!("{word} {target}");
    }
}

/// Whether `word`, one slip off `target`, is a spelling or an inflection
/// of it, as `words` (the word lists) tell: one is the other with an "s"
/// ("terrorists", a name's possessive "husseins"; "leechs" is "leech's",
/// "leeches"), "d" ("decapitate", unless the other less "ed" is a word:
/// "severe" is not "severed"), "-es" for "-ed" ("decapitates"), "-men"
/// for "-man" ("congressmen"), or after a built-in prefix ("masturbate",
/// "masturbat*"); or both are words of the lists and differ as British
/// and American spellings do ("-ise"/"-ize", "-our"/"-or", "-re"/"-er",
/// "-ae-"/"-e-", "-ence"/"-ense", a consonant doubled before an ending:
/// "kidnaping", but "striped" is not "stripped": "stripe" is a word).
fn same_word(word: &str, target: &str, words: &std::collections::HashSet<String>) -> bool {
    let (w, t) = (word.as_bytes(), target.as_bytes());
    let plus = |long: &[u8], short: &[u8], c: u8| {
        long.len() == short.len() + 1 && long.starts_with(short) && long[short.len()] == c
    };
    if plus(w, t, b's')
        || (plus(t, w, b's') && !word.ends_with('s'))
        || (word.ends_with('s')
            && target.ends_with("es")
            && w[..w.len() - 1] == t[..t.len() - 2]
            && ["s", "x", "z", "ch", "sh"]
                .iter()
                .any(|e| word[..w.len() - 1].ends_with(e)))
        || (plus(w, t, b'd') && target.ends_with('e') && words.contains(target))
        || (plus(t, w, b'd')
            && word.ends_with('e')
            && words.contains(target)
            && !words.contains(&target[..t.len() - 2]))
        || (word.starts_with(target) && crate::builtin::STEMS.binary_search(&target).is_ok())
        || (w.len() == t.len()
            && w.len() > 3
            && w[..w.len() - 1] == t[..t.len() - 1]
            && w[w.len() - 2] == b'e'
            && [w[w.len() - 1], t[t.len() - 1]]
                .iter()
                .all(|c| b"sd".contains(c)))
        || (w.len() == t.len()
            && w.len() > 3
            && w[..w.len() - 2] == t[..t.len() - 2]
            && [&w[w.len() - 3..], &t[t.len() - 3..]]
                .iter()
                .all(|e| *e == b"men" || *e == b"man"))
    {
        return true;
    }
    // Spellings: both are words of the lists.
    if !words.contains(target) {
        return false;
    }
    if w.len() == t.len() {
        let diff: Vec<usize> = (0..w.len()).filter(|&i| w[i] != t[i]).collect();
        return match diff[..] {
            [i] => {
                let pair = [w[i].min(t[i]), w[i].max(t[i])];
                pair == *b"sz" || (pair == *b"cs" && i >= 2 && &w[i - 2..i] == b"en")
            }
            [i, j] => {
                let rest = &w[j + 1..];
                j == i + 1
                    && [w[i], w[j]].iter().all(|c| b"er".contains(c))
                    && (rest.is_empty() || rest == b"s" || rest == b"d")
            }
            _ => false,
        };
    }
    let (long, short) = if w.len() > t.len() { (w, t) } else { (t, w) };
    let i = long.iter().zip(short).take_while(|(x, y)| x == y).count();
    let c = long[i];
    let (before, after) = (&long[..i], &long[i + 1..]);
    (c == b'u' && before.ends_with(b"o") && after.starts_with(b"r"))
        || ((c == b'a' || c == b'o') && after.starts_with(b"e") && !before.is_empty())
        || (before.len() >= 5
            && before.last() == Some(&c)
            && !words.contains(&format!("{}e", String::from_utf8_lossy(before)))
            && ["ed", "ing", "er", "ers", "ings"]
                .iter()
                .any(|e| after == e.as_bytes()))
}
