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
