//! A rough timing of a whole check, building the rules included (the host
//! builds them on every call). Run with
//! `cargo test --release -p policy-terms -- --ignored --nocapture timing`.

use std::time::Instant;

use crate::{Config, Rules, evaluate_text};

/// A benign prompt of about 2,000 characters.
pub(crate) fn long_prompt() -> String {
    let base = "A sweeping cinematic landscape of a quiet alpine valley at golden hour, \
                wildflowers in the foreground, a wooden cabin with smoke rising from the \
                chimney, children playing near a stream, a dog chasing butterflies, snow-capped \
                peaks reflecting in a crystal clear lake, soft volumetric light, 35mm film \
                grain, shot on a Hasselblad, highly detailed, trending on artstation. ";
    let mut s = String::new();
    while s.len() < 2000 {
        s.push_str(base);
    }
    s.truncate(2000);
    s
}

#[test]
#[ignore = "timing; run explicitly in release mode"]
fn timing() {
    let prompt = long_prompt();
    let config = Config::default();
    let rounds = 2_000;
    let start = Instant::now();
    for _ in 0..rounds {
        let rules = Rules::build(&config).unwrap();
        std::hint::black_box(evaluate_text(&rules, &prompt));
    }
    let whole = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(Rules::build(&config).unwrap());
    }
    let build = start.elapsed() / rounds;
    let rules = Rules::build(&config).unwrap();
    println!(
        "rules: {} phrases, {} combos",
        rules.item_count(),
        rules.combo_count()
    );
    println!(
        "check of a {}-char prompt, rules built each time: {whole:?} (building alone {build:?})",
        prompt.len()
    );
}
