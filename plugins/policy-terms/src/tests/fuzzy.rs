//! Misspellings of long words.

use super::{assert_denied, check};
use crate::fuzzy::correct;
use crate::{Category::*, Decision};

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
        let o = check(text);
        assert_eq!(o.decision, Decision::Allow, "{text:?}: {o:?}");
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
        let o = check(text);
        assert_eq!(o.decision, Decision::Allow, "{text:?}: {o:?}");
    }
    assert_denied("muderring a famly in their home, gory photo", Violence);
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
