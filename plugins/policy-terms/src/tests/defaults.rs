//! The built-in rules are well-formed.

use std::borrow::Cow;

use crate::builtin;
use crate::category::Category;
use crate::defaults;
use crate::phrase::{NumberCondition, normalize_phrase};

fn every_phrase() -> Vec<(Category, Cow<'static, str>)> {
    let mut all = Vec::new();
    for c in Category::ALL {
        let d = defaults::of(c);
        all.extend(d.all_terms().map(|(p, _)| (c, p)));
        for combo in d.combos {
            all.extend(
                combo
                    .groups
                    .iter()
                    .flat_map(|g| g.iter())
                    .map(|p| (c, Cow::Borrowed(*p))),
            );
        }
        all.extend(
            d.allow
                .iter()
                .flat_map(|l| l.iter())
                .map(|p| (c, Cow::Borrowed(*p))),
        );
    }
    all
}

#[test]
fn built_in_phrases_are_already_normalised() {
    for (c, p) in every_phrase() {
        assert_eq!(normalize_phrase(&p).as_deref(), Ok(&*p), "{c}: {p:?}");
        for word in p.split(' ') {
            if word.starts_with('#') {
                assert!(NumberCondition::parse(word).is_some(), "{c}: {p:?}");
            }
        }
    }
}

#[test]
fn built_in_weights_are_sane() {
    for c in Category::ALL {
        let d = defaults::of(c);
        for (p, w) in d.all_terms() {
            assert!(w > 0.0 && w <= 1.0, "{c}: {p:?} weighs {w}");
        }
        for combo in d.combos {
            // A combination of negative weight (a context that takes a
            // descriptive match back: "in a museum") may have one group.
            let context = combo.weight == -1.0 && combo.groups.len() == 1;
            assert!(
                context || (combo.weight > 0.0 && combo.weight <= 1.0),
                "{c}: {}",
                combo.name
            );
            assert!(
                (context || combo.groups.len() >= 2) && combo.groups.iter().all(|g| !g.is_empty())
            );
        }
    }
}

#[test]
fn no_duplicate_terms() {
    for c in Category::ALL {
        let terms: Vec<_> = defaults::of(c).all_terms().collect();
        for (i, (p, _)) in terms.iter().enumerate() {
            assert!(!terms[..i].iter().any(|(q, _)| q == p), "{c}: {p:?} twice");
        }
    }
}

#[test]
fn the_generated_index_is_the_defaults_indexed() {
    let (index, combos, persons_combo) = defaults::indexed();
    assert_eq!(persons_combo, builtin::PERSONS_COMBO);
    assert_eq!(index.len(), builtin::INDEX.len());
    assert_eq!(
        format!("{index:?}"),
        format!("{:?}", builtin::INDEX),
        "build.rs wrote an index that differs from the sources"
    );
    assert_eq!(format!("{combos:?}"), format!("{:?}", builtin::COMBOS));
}
