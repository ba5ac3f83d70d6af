//! A rough timing of a whole check, building the rules included (the host
//! builds them on every call), natively. Run with
//! `cargo test --release -p policy-terms -- --ignored --nocapture --test-threads 1 timing`.

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

/// p50 and p99 of `samples`.
fn quantiles(mut samples: Vec<std::time::Duration>) -> (std::time::Duration, std::time::Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

#[test]
#[ignore = "timing; run explicitly in release mode"]
fn timing_quantiles() {
    let config = Config::default();
    let check = |text: &str| {
        let start = Instant::now();
        let rules = Rules::build(&config).unwrap();
        std::hint::black_box(evaluate_text(&rules, text));
        start.elapsed()
    };
    // The evaluation set's dev prompts (never the held-out ones), a benign
    // 2,000-character prompt of ordinary words, and the dev prompts run one
    // after another up to 2,000 characters (dense with the rules' words).
    let dev: Vec<String> = include_str!("../../eval/dev.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["prompt"].as_str().map(str::to_string))
        .collect();
    let benign = vec![long_prompt()];
    let mut long = Vec::new();
    for chunk in dev.chunks(25) {
        let mut s = chunk.join(". ");
        while s.len() < 2000 {
            s = format!("{s}. {s}");
        }
        s.truncate(s.floor_char_boundary(2000));
        long.push(s);
    }
    for (name, texts, rounds) in [
        ("dev prompts", &dev, 20),
        ("a benign 2,000-char prompt", &benign, 2000),
        ("dev prompts run together to 2,000 chars", &long, 100),
    ] {
        for t in texts.iter() {
            check(t);
        }
        let mut samples = Vec::new();
        for _ in 0..rounds {
            for t in texts.iter() {
                samples.push(check(t));
            }
        }
        let (p50, p99) = quantiles(samples);
        println!("{name}: {} texts, p50 {p50:?}, p99 {p99:?}", texts.len());
        assert!(p50 <= p99);
    }
}
