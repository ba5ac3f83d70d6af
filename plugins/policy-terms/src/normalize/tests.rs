//! Normalisation as the rules see it: disguises undone, words kept apart.

use super::*;

fn words(text: &str) -> Vec<String> {
    let doc = Doc::of(text);
    (0..doc.len()).map(|i| doc.text(i).to_string()).collect()
}

#[test]
fn plain_words() {
    assert_eq!(
        words("A Knight, fighting a DRAGON!"),
        ["a", "knight", "fighting", "a", "dragon"]
    );
    assert_eq!(words("driver's license"), ["drivers", "license"]);
    assert_eq!(
        words("l'enfant d'Astérix qu'il"),
        ["enfant", "asterix", "il"]
    );
    assert_eq!(words("O'Brien's"), ["obriens"]);
    assert_eq!(words("self-harm"), ["self", "harm"]);
    assert_eq!(words(""), Vec::<String>::new());
    assert_eq!(words("!!! ... @"), Vec::<String>::new());
}

#[test]
fn spaced_letters_join() {
    assert_eq!(words("k i l l them"), ["kill", "them"]);
    assert_eq!(words("k.i.l.l"), ["kill"]);
    assert_eq!(words("k-i-l-l"), ["kill"]);
    assert_eq!(words("k 1 l l"), ["kill"]);
    assert_eq!(words("a cat"), ["a", "cat"]);
    assert_eq!(words("page 3 a"), ["page", "3", "a"]);
    assert_eq!(words("12 y/o"), ["12", "yo"]);
    assert_eq!(words("n.a.k.e.d c.h.i.l.d"), ["naked", "child"]);
    assert_eq!(words("n a k e d  c h i l d"), ["naked", "child"]);
    assert_eq!(words("k_i_l_l t-h-e-m"), ["kill", "them"]);
}

#[test]
fn leetspeak_in_words() {
    assert_eq!(
        words("k1ll3r b00bs $ex h@te"),
        ["killer", "boobs", "sex", "hate"]
    );
    assert_eq!(words("k!ll wow!"), ["kill", "wow"]);
    assert_eq!(words("ki||"), ["kill"]);
    assert_eq!(words("$100 and 12"), ["100", "and", "12"]);
}

#[test]
fn numbers_with_units_split() {
    assert_eq!(words("12yo"), ["12", "yo"]);
    assert_eq!(
        words("1girl 4k 1080p ak47 35mm"),
        ["1", "girl", "4", "k", "1080", "p", "ak", "47", "35", "mm"]
    );
    assert_eq!(words("5exy"), ["sexy"]);
    let doc = Doc::of("twelve 12 x");
    assert_eq!(doc.token(0).num, Some(12));
    assert_eq!(doc.token(1).num, Some(12));
    assert_eq!(doc.token(2).num, None);
}

#[test]
fn unicode_disguises() {
    // Cyrillic а, е, о; fullwidth; accents; zero-width space; soft hyphen.
    assert_eq!(words("kіll \u{0441}hild"), ["kill", "child"]);
    assert_eq!(words("ＫＩＬＬ"), ["kill"]);
    assert_eq!(words("nudé café"), ["nude", "cafe"]);
    assert_eq!(
        words("ki\u{200B}ll k\u{00AD}ill ki\u{FEFF}ll"),
        ["kill", "kill", "kill"]
    );
    assert_eq!(words("ΚΙΛΛ"), ["kill"]);
    assert_eq!(words("𝐤𝐢𝐥𝐥"), ["kill"]);
    assert_eq!(words("straße"), ["strasse"]);
}

#[test]
fn elongation_is_marked() {
    let doc = Doc::of("kiiiill kill");
    assert!(doc.token(0).elongated);
    assert!(!doc.token(1).elongated);
    assert_eq!(squeezed("kiiiill").collect::<Vec<_>>(), b"kil");
}

#[test]
fn texts_are_kept_apart() {
    let mut doc = Doc::default();
    doc.push("child");
    doc.push("porn");
    assert_eq!(doc.len(), 3);
    assert_eq!(doc.text(1), "");
    assert_eq!(doc.joined(|_| true), "child porn");
}

#[test]
fn french_spanish_and_german_number_words_are_numbers() {
    for (word, n) in [("douze", 12), ("diez", 10), ("zwolf", 12), ("quatorze", 14)] {
        assert_eq!(Doc::of(word).token(0).num, Some(n), "{word}");
    }
    for word in ["once", "elf", "une", "seize"] {
        assert_eq!(Doc::of(word).token(0).num, None, "{word}");
    }
}

#[test]
fn letters_of_several_symbols_read_as_letters() {
    assert_eq!(words("c|-|1ld"), ["child"]);
    assert_eq!(words("|\\|ud3 pr3t33n"), ["nude", "preteen"]);
    assert_eq!(words("|-|4ck1ng"), ["hacking"]);
    assert_eq!(words("\\/\\/34p0n"), ["weapon"]);
    assert_eq!(words("|\\/|urd3r"), ["murder"]);
    assert_eq!(words("\\/iolence"), ["violence"]);
    // Between spaces, or as punctuation, they stay apart.
    assert_eq!(words("cats | dogs |-| birds"), ["cats", "dogs", "birds"]);
    assert_eq!(words("yes \\/ no"), ["yes", "no"]);
    assert_eq!(words("and/or 16/9"), ["and", "or", "16", "9"]);
}

#[test]
fn numbers_between_leetspeak_words_read_as_short_words() {
    let read = |text: &str| {
        let mut doc = Doc::of(text);
        doc.read_leet_numbers();
        (0..doc.len())
            .map(|i| doc.text(i).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(read("b34t1ng 4 c|-|1ld"), ["beating", "a", "child"]);
    assert_eq!(
        read("bl4ck p30pl3 45 m0nk3y5"),
        ["black", "people", "as", "monkeys"]
    );
    assert_eq!(read("h0w 2 m4k3"), ["how", "to", "make"]);
    // Elsewhere numbers stay numbers.
    assert_eq!(read("beating 4 eggs"), ["beating", "4", "eggs"]);
    assert_eq!(read("r34d 4 books"), ["read", "4", "books"]);
}
