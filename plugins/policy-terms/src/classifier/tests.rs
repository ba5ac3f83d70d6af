//! The classifier's features, its training, and its cross-validated score
//! on the evaluation set's dev part (never the held-out part).

use std::collections::BTreeMap;

use imini_sdk::{Action, Blob, GenerationRequest, PluginError, Size};

use super::features::{Side, bucket_set, each_bucket, members};
use super::train::{ALPHA, CATEGORY_ALPHA, Example, Model, example_buckets, parse, train};
use super::{DEFAULT_DENY_AT, classify_with};
use crate::category::Category;
use crate::normalize::Doc;
use crate::{Config, Rules, check_request_with};

/// The distinct buckets of a prompt alone.
fn buckets(prompt: &str) -> Vec<u32> {
    let (set, _) = bucket_set(&Doc::of(prompt), None);
    members(&set).collect()
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
    let (set, _) = bucket_set(&Doc::of("a photo"), Some(&Doc::of("nude child")));
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
    each_bucket(&doc, Side::Prompt, &mut |b| prompt_side.push(b));
    each_bucket(&doc, Side::Negative, &mut |b| negative_side.push(b));
    assert_eq!(prompt_side.len(), negative_side.len());
    assert_ne!(prompt_side, negative_side);
}

#[test]
fn features_are_words_bigrams_and_character_grams() {
    // "ab": the word, and the grams of " ab ": " ab", "ab ", " ab " (3 and 4).
    let mut n = 0;
    each_bucket(&Doc::of("ab"), Side::Prompt, &mut |_| n += 1);
    assert_eq!(n, 1 + 3);
    // "ab cd": two words, one bigram, 3 grams each.
    let mut n = 0;
    each_bucket(&Doc::of("ab cd"), Side::Prompt, &mut |_| n += 1);
    assert_eq!(n, 2 + 1 + 6);
    // "abcde": the word and the grams of " abcde " (5 of 3, 4 of 4, 3 of 5).
    let mut n = 0;
    each_bucket(&Doc::of("abcde"), Side::Prompt, &mut |_| n += 1);
    assert_eq!(n, 1 + 5 + 4 + 3);
    // No bigram spans two texts.
    let mut doc = Doc::of("ab");
    doc.push("cd");
    let mut n = 0;
    each_bucket(&doc, Side::Prompt, &mut |_| n += 1);
    assert_eq!(n, 2 + 6);
}

/// The dev part's examples.
fn dev() -> Vec<Example> {
    parse(include_str!("../../eval/dev.jsonl"))
}

#[test]
fn training_is_deterministic() {
    let examples: Vec<_> = dev()
        .iter()
        .map(|e| (example_buckets(e), e.category))
        .collect();
    let a = train(&examples, ALPHA, CATEGORY_ALPHA);
    let b = train(&examples, ALPHA, CATEGORY_ALPHA);
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

/// How many folds the cross-validation has.
const FOLDS: usize = 5;

/// Each dev item's fold: the items of each category (benign topics
/// included), in file order, are dealt to the folds in turn.
fn folds(jsonl: &str) -> Vec<usize> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let n = seen
                .entry(v["category"].as_str().unwrap().to_string())
                .or_default();
            *n += 1;
            (*n - 1) % FOLDS
        })
        .collect()
}

/// One dev item, cross-validated.
struct Scored {
    /// Its category when harmful.
    category: Option<Category>,
    form: String,
    /// Whether the rules alone refuse it.
    rules: bool,
    /// The classifier's score by the model trained on the other folds.
    score: f64,
    /// The category that model's category model gives it.
    predicted: Option<Category>,
}

/// Scores every dev item with the rules, and with the classifier trained on
/// the other folds (smoothing `alpha`, `category_alpha`).
fn cross_validate(alpha: f64, category_alpha: f64) -> Vec<Scored> {
    let jsonl = include_str!("../../eval/dev.jsonl");
    let examples = parse(jsonl);
    let fold = folds(jsonl);
    let buckets: Vec<_> = examples
        .iter()
        .map(|e| (example_buckets(e), e.category))
        .collect();
    let models: Vec<Model> = (0..FOLDS)
        .map(|k| {
            let rest: Vec<_> = buckets
                .iter()
                .zip(&fold)
                .filter(|&(_, &f)| f != k)
                .map(|(b, _)| b.clone())
                .collect();
            train(&rest, alpha, category_alpha)
        })
        .collect();
    let rules =
        Rules::build(&Config::from_text(r#"{"classifier": {"enabled": false}}"#).unwrap()).unwrap();
    let mut no_blobs = |_: Blob| -> Result<Vec<u8>, PluginError> { Ok(Vec::new()) };
    let forms: Vec<String> = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["form"].as_str().unwrap().to_string()
        })
        .collect();
    examples
        .iter()
        .zip(&fold)
        .zip(forms)
        .map(|((e, &k), form)| {
            let req = GenerationRequest {
                size: Size::new(1024, 1024),
                negative_prompt: e.negative.clone(),
                ..GenerationRequest::image("any/model", &e.prompt)
            };
            let verdict = check_request_with(&rules, &req, &mut no_blobs).unwrap();
            let c = classify_with(
                models[k].linear(),
                &Doc::of(&e.prompt),
                e.negative.as_deref(),
            );
            Scored {
                category: e.category,
                form,
                rules: verdict.action == Action::Deny,
                score: c.score,
                predicted: Some(c.category_with(models[k].per_category())),
            }
        })
        .collect()
}

/// Recall and false positives (counts) of the rules with the classifier
/// refusing from `deny_at` on.
fn tally(scored: &[Scored], deny_at: f64) -> ((u32, u32), (u32, u32)) {
    let (mut hit, mut harmful, mut wrong, mut benign) = (0, 0, 0, 0);
    for s in scored {
        let refused = s.rules || s.score >= deny_at;
        if s.category.is_some() {
            harmful += 1;
            hit += u32::from(refused);
        } else {
            benign += 1;
            wrong += u32::from(refused);
        }
    }
    ((hit, harmful), (wrong, benign))
}

fn percent((n, of): (u32, u32)) -> f64 {
    100.0 * f64::from(n) / f64::from(of)
}

/// The lowest threshold at which the rules and the classifier together
/// refuse at most 1% of the benign items: just above the highest score of
/// a benign item the rules let through, or of the second highest when the
/// rules leave room for one more, and so on; rounded up to three
/// significant digits of its distance from 1 (0.99x, 0.999x...).
fn lowest_threshold(scored: &[Scored]) -> f64 {
    let benign = scored.iter().filter(|s| s.category.is_none()).count();
    let (rules_fp, _) = tally(scored, f64::INFINITY).1;
    let room = (benign / 100).saturating_sub(rules_fp as usize);
    let mut scores: Vec<f64> = scored
        .iter()
        .filter(|s| s.category.is_none() && !s.rules)
        .map(|s| s.score)
        .collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let Some(&top) = scores.get(room) else {
        return 0.0;
    };
    // 1 - t, rounded down to three significant digits, below 1 - top.
    let gap = 1.0 - top;
    let unit = 10f64.powf(gap.log10().floor() - 2.0);
    let t = 1.0 - ((gap / unit).ceil() - 1.0) * unit;
    assert!(t > top && t <= 1.0, "{t} {top}");
    t
}

/// Five-fold cross-validation on dev: with the classifier, the policy
/// refuses more of dev's harmful prompts than the rules alone, and still
/// at most 1% of its benign ones. Each item is scored by a model that was
/// not trained on it. Prints the figures; run with `cargo test -p
/// policy-terms -- --nocapture cross_validated`.
#[test]
fn cross_validated_recall_beats_the_rules_at_one_percent_false_positives() {
    let scored = cross_validate(ALPHA, CATEGORY_ALPHA);
    let (rules_recall, rules_fp) = tally(&scored, f64::INFINITY);
    let (recall, fp) = tally(&scored, DEFAULT_DENY_AT);
    let (alone_recall, alone_fp) = tally(
        &scored
            .iter()
            .map(|s| Scored {
                category: s.category,
                form: s.form.clone(),
                rules: false,
                score: s.score,
                predicted: s.predicted,
            })
            .collect::<Vec<_>>(),
        DEFAULT_DENY_AT,
    );
    println!(
        "rules alone: recall {:.1}% {rules_recall:?}, false positives {:.1}% {rules_fp:?}",
        percent(rules_recall),
        percent(rules_fp)
    );
    println!(
        "classifier alone at {DEFAULT_DENY_AT}: recall {:.1}% {alone_recall:?}, false positives {:.1}% {alone_fp:?}",
        percent(alone_recall),
        percent(alone_fp)
    );
    println!(
        "rules + classifier at {DEFAULT_DENY_AT}: recall {:.1}% {recall:?}, false positives {:.1}% {fp:?}",
        percent(recall),
        percent(fp)
    );
    println!("lowest threshold within 1%: {}", lowest_threshold(&scored));
    // By category and form, what the classifier adds to the rules.
    let mut by: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut right_category = (0, 0);
    for s in &scored {
        let Some(c) = s.category else { continue };
        for key in [format!("category {c}"), format!("form {}", s.form)] {
            let t = by.entry(key).or_default();
            t.0 += u32::from(s.rules);
            t.1 += u32::from(s.rules || s.score >= DEFAULT_DENY_AT);
            t.2 += 1;
        }
        if !s.rules && s.score >= DEFAULT_DENY_AT {
            right_category.1 += 1;
            right_category.0 += u32::from(s.predicted == Some(c));
        }
    }
    for (k, (rules, both, total)) in &by {
        println!("  {k}: rules {rules}/{total}, with the classifier {both}/{total}");
    }
    println!(
        "classifier refusals under the item's own category: {}/{}",
        right_category.0, right_category.1
    );
    assert!(
        recall.0 > rules_recall.0,
        "the classifier adds nothing: {recall:?}"
    );
    assert!(
        percent(recall) >= 92.5,
        "cross-validated recall {:.1}% is below the floor",
        percent(recall)
    );
    assert!(
        percent(fp) <= 1.0,
        "cross-validated false positives {:.1}% are above 1%",
        percent(fp)
    );
}

/// The figures the smoothing was chosen by: for each, the area under the
/// classifier's ROC curve alone, its recall alone at the threshold where it
/// refuses no benign item, and with the rules at the lowest threshold within
/// 1% false positives. Run with `cargo test -p policy-terms -- --ignored
/// --nocapture smoothing_grid`.
#[test]
#[ignore = "prints the cross-validation grid; run explicitly"]
fn smoothing_grid() {
    for alpha in [0.003, 0.01, 0.03, 0.1, 0.3] {
        let scored = cross_validate(alpha, alpha);
        let harmful: Vec<f64> = scored
            .iter()
            .filter(|s| s.category.is_some())
            .map(|s| s.score)
            .collect();
        let benign: Vec<f64> = scored
            .iter()
            .filter(|s| s.category.is_none())
            .map(|s| s.score)
            .collect();
        let pairs = harmful
            .iter()
            .flat_map(|h| benign.iter().map(move |b| (h, b)))
            .map(|(h, b)| match h.total_cmp(b) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            })
            .sum::<f64>();
        let auc = pairs / (harmful.len() * benign.len()) as f64;
        let top_benign = benign.iter().copied().fold(0.0, f64::max);
        let alone = harmful.iter().filter(|&&h| h > top_benign).count();
        let t = lowest_threshold(&scored);
        let (recall, fp) = tally(&scored, t);
        let categories = scored
            .iter()
            .filter(|s| s.category.is_some())
            .filter(|s| s.predicted == s.category)
            .count();
        println!(
            "alpha {alpha}: AUC {auc:.4}, alone {alone}/{} above every benign item, \
             with the rules at {t}: recall {:.1}% false positives {:.1}%, category right {categories}/{}",
            harmful.len(),
            percent(recall),
            percent(fp),
            harmful.len()
        );
    }
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
    for config in ["{}", r#"{"classifier": {"enabled": true}}"#] {
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
