//! The classifier's features, its training, and its cross-validated score
//! on the evaluation set's dev part with the everyday training prompts
//! (never the held-out part, nor the everyday check set).

mod cross_validation;

use imini_sdk::{Blob, GenerationRequest, PluginError};

use super::features::{Features, Kind, Side, each_bucket, members};
use super::train::{
    CATEGORY_ALPHA, Example, LEARNER, example_buckets, parse_benign_lines, train, training_examples,
};
use crate::normalize::Doc;
use crate::{Config, Rules, check_request_with};

/// The distinct buckets of a prompt alone.
fn buckets(prompt: &str) -> Vec<u32> {
    members(&Features::of(&Doc::of(prompt), None).set).collect()
}

#[test]
fn disguises_the_normaliser_undoes_give_the_same_features() {
    let plain = buckets("kill the naked child");
    for disguised in [
        "KILL the Naked Child",
        "k1ll th3 n4k3d ch1ld",
        "k i l l the n.a.k.e.d child",
        "ｋｉｌｌ the nаked сhild",
        "kíll the nákéd chíld",
        "kiiiill the naaaked child",
    ] {
        assert_eq!(buckets(disguised), plain, "{disguised:?}");
    }
    assert_ne!(buckets("skill the naked child"), plain);
}

#[test]
fn the_negative_prompts_features_are_apart_from_the_prompts() {
    let as_prompt = buckets("nude child");
    let set = Features::of(&Doc::of("a photo"), Some(&Doc::of("nude child"))).set;
    let photo = buckets("a photo");
    let as_negative: Vec<u32> = members(&set).filter(|b| !photo.contains(b)).collect();
    assert!(!as_negative.is_empty());
    assert!(
        as_negative.iter().all(|b| !as_prompt.contains(b)),
        "{as_negative:?} {as_prompt:?}"
    );
    // The same words as prompt or as negative prompt are different features.
    let mut prompt_side = Vec::new();
    let mut negative_side = Vec::new();
    let doc = Doc::of("nude child");
    each_bucket(&doc, Side::Prompt, &mut |b, _| prompt_side.push(b));
    each_bucket(&doc, Side::Negative, &mut |b, _| negative_side.push(b));
    assert_eq!(prompt_side.len(), negative_side.len());
    assert_ne!(prompt_side, negative_side);
}

#[test]
fn features_are_words_bigrams_and_character_grams() {
    // "ab": the word, and the grams of " ab ": " ab", "ab ", " ab " (3 and 4).
    let mut n = 0;
    each_bucket(&Doc::of("ab"), Side::Prompt, &mut |_, _| n += 1);
    assert_eq!(n, 1 + 3);
    // "ab cd": two words, one bigram, 3 grams each.
    let mut n = 0;
    each_bucket(&Doc::of("ab cd"), Side::Prompt, &mut |_, _| n += 1);
    assert_eq!(n, 2 + 1 + 6);
    // "abcde": the word and the grams of " abcde " (5 of 3, 4 of 4, 3 of 5).
    let mut n = 0;
    each_bucket(&Doc::of("abcde"), Side::Prompt, &mut |_, _| n += 1);
    assert_eq!(n, 1 + 5 + 4 + 3);
    // No bigram spans two texts.
    let mut doc = Doc::of("ab");
    doc.push("cd");
    let mut n = 0;
    each_bucket(&doc, Side::Prompt, &mut |_, _| n += 1);
    assert_eq!(n, 2 + 6);
}

#[test]
fn a_requests_words_are_its_distinct_word_features() {
    let mut words = Vec::new();
    each_bucket(&Doc::of("image 12 image"), Side::Prompt, &mut |b, kind| {
        if kind == Kind::Word {
            words.push(b);
        }
    });
    assert_eq!(words.len(), 3);
    assert_eq!(words[0], words[2]);
    let f = Features::of(
        &Doc::of("image 12 image"),
        Some(&Doc::of("blurry, watermark")),
    );
    // "image" and "12": the negative prompt's words are not counted.
    assert_eq!(f.words.len(), 2, "{:?}", f.words);
    assert!(f.words.windows(2).all(|w| w[0] < w[1]));
    assert!(f.words.iter().all(|&b| members(&f.set).any(|m| m == b)));
    // Its buckets are all counted, the negative prompt's too.
    assert_eq!(f.count, members(&f.set).count() as u32);
    assert!(f.count > Features::of(&Doc::of("image 12 image"), None).count);
}

/// The examples the shipped model is trained on, as the build script reads
/// them: the dev part's, the extra labelled prompts', then the everyday
/// prompts (benign).
fn training() -> Vec<Example> {
    training_examples(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
}

#[test]
fn the_everyday_prompts_are_read_as_benign() {
    let everyday = parse_benign_lines(include_str!("../../data/everyday-train.txt"));
    assert!(everyday.len() >= 600, "{}", everyday.len());
    assert!(everyday.iter().all(|e| e.category.is_none()
        && e.negative.is_none()
        && !e.prompt.is_empty()
        && !e.prompt.starts_with('#')));
    let parsed = parse_benign_lines("# a comment\n\n  3 cats \nimage 4\n");
    let prompts: Vec<&str> = parsed.iter().map(|e| e.prompt.as_str()).collect();
    assert_eq!(prompts, ["3 cats", "image 4"]);
    // The check set is never trained on: no prompt is in both.
    let check = parse_benign_lines(include_str!("../../eval/everyday-check.txt"));
    for e in &check {
        assert!(
            !everyday.iter().any(|t| t.prompt == e.prompt),
            "{:?} is in both",
            e.prompt
        );
    }
}

#[test]
fn training_is_deterministic() {
    let examples: Vec<_> = training()
        .iter()
        .map(|e| (example_buckets(e), e.category))
        .collect();
    let a = train(&examples, LEARNER, CATEGORY_ALPHA);
    let b = train(&examples, LEARNER, CATEGORY_ALPHA);
    assert_eq!(a.weights, b.weights);
    assert_eq!(a.category_weights, b.category_weights);
    assert_eq!(
        (a.scale, a.bias, a.category_scale, a.category_bias),
        (b.scale, b.bias, b.category_scale, b.category_bias)
    );
    // The shipped model is this one.
    assert_eq!(a.weights[..], super::model::WEIGHTS[..]);
    assert_eq!(a.category_weights[..], super::model::CATEGORY_WEIGHTS[..]);
    assert_eq!(a.bias, super::model::BIAS);
}

/// A rough timing of a request's check of 2,000 characters with the
/// classifier and without, rules built included, natively. Run with
/// `cargo test --release -p policy-terms -- --ignored --nocapture --test-threads 1 timing`.
#[test]
#[ignore = "timing; run explicitly in release mode"]
fn classifier_timing() {
    let prompt = crate::tests::bench::long_prompt();
    let req = GenerationRequest::image("any/model", &prompt);
    let mut no_blobs = |_: Blob| -> Result<Vec<u8>, PluginError> { Ok(Vec::new()) };
    for config in [
        r#"{"classifier": {"enabled": false}}"#,
        r#"{"classifier": {"enabled": true}}"#,
    ] {
        let mut samples = Vec::new();
        for _ in 0..3000 {
            let start = std::time::Instant::now();
            let rules = Rules::build(&Config::from_text(config).unwrap()).unwrap();
            std::hint::black_box(check_request_with(&rules, &req, &mut no_blobs).unwrap());
            samples.push(start.elapsed());
        }
        samples.sort();
        println!(
            "{config}: p50 {:?}, p99 {:?}",
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100]
        );
    }
}
