//! Five-fold cross-validation of the classifier on what it is trained on:
//! the evaluation set's dev part, the extra labelled prompts
//! (`data/train-extra.jsonl` and `data/train-extra-2.jsonl` to
//! `data/train-extra-4.jsonl`) and the everyday training prompts (never the
//! held-out part, nor `eval/everyday-check.txt`). Each item is scored
//! by a model trained on the other four fifths. It chooses the threshold
//! and the minimum-evidence rule.

use std::collections::BTreeMap;

use imini_sdk::{Action, Blob, GenerationRequest, PluginError, Size};

use super::super::train::{
    CATEGORY_ALPHA, Example, LEARNER, Learner, Model, example_buckets, parse, parse_benign_lines,
    train,
};
use super::super::{DEFAULT_DENY_AT, MIN_WORDS, classify_with};
use crate::category::Category;
use crate::normalize::Doc;
use crate::{Config, Rules, check_request_with};

/// How many folds the cross-validation has.
const FOLDS: usize = 5;

/// The most of the labelled benign prompts (dev's and the extra ones) the
/// rules and the classifier together may refuse (%).
const MAX_DEV_FALSE_POSITIVES: f64 = 1.0;
/// The most of the everyday prompts they may refuse (%).
const MAX_EVERYDAY_FALSE_POSITIVES: f64 = 0.5;

/// Where an item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `eval/dev.jsonl`.
    Dev,
    /// `data/train-extra.jsonl`, counted with dev.
    Extra,
    /// `data/train-extra-2.jsonl`, counted with dev.
    Extra2,
    /// `data/train-extra-3.jsonl`, counted with dev.
    Extra3,
    /// `data/train-extra-4.jsonl`, counted with dev.
    Extra4,
    /// `data/everyday-train.txt`: all benign.
    Everyday,
}

/// One item, cross-validated.
struct Scored {
    source: Source,
    /// Its category when harmful.
    category: Option<Category>,
    /// Its form (dev's harmful items).
    form: String,
    /// Whether the rules alone refuse it.
    rules: bool,
    /// The classifier's score by the model trained on the other folds.
    score: f64,
    /// That model's weights (log ratios) of the distinct words of the
    /// item's prompt.
    leans: Vec<f64>,
    /// The category that model's category model gives it.
    predicted: Category,
}

/// A minimum-evidence rule: the classifier refuses only a request whose
/// prompt has at least `min` distinct words leaning harmful by at least
/// `lean` (the log ratio of their frequencies in harmful and in benign
/// prompts; minus infinity counts every word).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Evidence {
    lean: f64,
    min: u32,
}

/// The rule the plugin ships: at least [`MIN_WORDS`] distinct words.
const SHIPPED: Evidence = Evidence {
    lean: f64::NEG_INFINITY,
    min: MIN_WORDS as u32,
};

impl Scored {
    /// Whether it is labelled (dev or extra), rather than everyday.
    fn labelled(&self) -> bool {
        matches!(
            self.source,
            Source::Dev | Source::Extra | Source::Extra2 | Source::Extra3 | Source::Extra4
        )
    }

    /// Whether the classifier alone refuses it at `deny_at` under `rule`.
    fn classifier_refuses(&self, deny_at: f64, rule: Evidence) -> bool {
        let evidence = self.leans.iter().filter(|&&w| w >= rule.lean).count();
        self.score >= deny_at && evidence >= rule.min as usize
    }

    /// Whether the rules or the classifier refuse it.
    fn refused(&self, deny_at: f64, rule: Evidence) -> bool {
        self.rules || self.classifier_refuses(deny_at, rule)
    }
}

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

/// The forms of a set's items, in file order.
fn forms(jsonl: &str) -> impl Iterator<Item = String> + '_ {
    jsonl.lines().filter(|l| !l.trim().is_empty()).map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["form"].as_str().unwrap().to_string()
    })
}

/// An item of the cross-validation, read, checked by the rules and dealt
/// to its fold once for every model it is scored by.
struct Item {
    example: Example,
    fold: usize,
    source: Source,
    form: String,
    /// Whether the rules alone refuse it.
    rules: bool,
    /// Its bucket set, as trained on.
    buckets: (Vec<u64>, u32),
}

/// Reads every item of dev, of the extra labelled prompts and of the
/// everyday training prompts, and checks it with the rules alone. The
/// labelled sets are dealt to the folds by category (see [`folds`]), the
/// everyday prompts in turn, in file order.
fn prepare() -> Vec<Item> {
    let labelled = [
        (Source::Dev, include_str!("../../../eval/dev.jsonl")),
        (
            Source::Extra,
            include_str!("../../../data/train-extra.jsonl"),
        ),
        (
            Source::Extra2,
            include_str!("../../../data/train-extra-2.jsonl"),
        ),
        (
            Source::Extra3,
            include_str!("../../../data/train-extra-3.jsonl"),
        ),
        (
            Source::Extra4,
            include_str!("../../../data/train-extra-4.jsonl"),
        ),
    ];
    let everyday = parse_benign_lines(include_str!("../../../data/everyday-train.txt"));
    let items: Vec<(Example, usize, Source, String)> = labelled
        .into_iter()
        .flat_map(|(source, jsonl)| {
            parse(jsonl)
                .into_iter()
                .zip(folds(jsonl))
                .zip(forms(jsonl))
                .map(move |((e, k), form)| (e, k, source, form))
        })
        .chain(
            everyday
                .into_iter()
                .enumerate()
                .map(|(i, e)| (e, i % FOLDS, Source::Everyday, "everyday".to_string())),
        )
        .collect();
    let rules =
        Rules::build(&Config::from_text(r#"{"classifier": {"enabled": false}}"#).unwrap()).unwrap();
    let mut no_blobs = |_: Blob| -> Result<Vec<u8>, PluginError> { Ok(Vec::new()) };
    items
        .into_iter()
        .map(|(example, fold, source, form)| {
            let req = GenerationRequest {
                size: Size::new(1024, 1024),
                negative_prompt: example.negative.clone(),
                ..GenerationRequest::image("any/model", &example.prompt)
            };
            let verdict = check_request_with(&rules, &req, &mut no_blobs).unwrap();
            Item {
                buckets: example_buckets(&example),
                example,
                fold,
                source,
                form,
                rules: verdict.action == Action::Deny,
            }
        })
        .collect()
}

/// Scores every item with the classifier trained by `learner` (and the
/// category model with the smoothing `category_alpha`) on the other folds.
fn cross_validate(items: &[Item], learner: Learner, category_alpha: f64) -> Vec<Scored> {
    let models: Vec<Model> = (0..FOLDS)
        .map(|k| {
            let rest: Vec<_> = items
                .iter()
                .filter(|item| item.fold != k)
                .map(|item| (item.buckets.clone(), item.example.category))
                .collect();
            train(&rest, learner, category_alpha)
        })
        .collect();
    items
        .iter()
        .map(|item| {
            let e = &item.example;
            let model = models[item.fold].linear();
            let c = classify_with(model, &Doc::of(&e.prompt), e.negative.as_deref());
            Scored {
                source: item.source,
                category: e.category,
                form: item.form.clone(),
                rules: item.rules,
                score: c.score,
                leans: c
                    .words
                    .iter()
                    .map(|&b| f64::from(model.weights[b as usize]) * model.scale)
                    .collect(),
                predicted: c.category_with(models[item.fold].per_category()),
            }
        })
        .collect()
}

/// Counts: the labelled harmful items (dev's and the extra ones) refused,
/// of how many; the labelled benign items refused, of how many; the
/// everyday items refused, of how many.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tally {
    recall: (u32, u32),
    dev_fp: (u32, u32),
    everyday_fp: (u32, u32),
}

/// What the rules with the classifier at `deny_at` under `rule` refuse.
fn tally(scored: &[Scored], deny_at: f64, rule: Evidence) -> Tally {
    let mut t = Tally {
        recall: (0, 0),
        dev_fp: (0, 0),
        everyday_fp: (0, 0),
    };
    for s in scored {
        let counts = match (s.labelled(), s.category) {
            (true, Some(_)) => &mut t.recall,
            (true, None) => &mut t.dev_fp,
            (false, _) => &mut t.everyday_fp,
        };
        counts.0 += u32::from(s.refused(deny_at, rule));
        counts.1 += 1;
    }
    t
}

fn percent((n, of): (u32, u32)) -> f64 {
    100.0 * f64::from(n) / f64::from(of)
}

/// The lowest threshold at which, under `rule`, the rules and the
/// classifier together refuse at most [`MAX_DEV_FALSE_POSITIVES`] of dev's
/// benign items and [`MAX_EVERYDAY_FALSE_POSITIVES`] of the everyday ones:
/// just above the highest score of a benign item the rules let through and
/// the rule would let the classifier refuse (or of the second highest when
/// the rules leave room for one more, and so on), in each source; rounded
/// up to three significant digits of its distance from 1 (0.99x,
/// 0.999x...). `None` when the rules alone are over a limit.
fn lowest_threshold(scored: &[Scored], rule: Evidence) -> Option<f64> {
    lowest_threshold_within(
        scored,
        rule,
        MAX_DEV_FALSE_POSITIVES,
        MAX_EVERYDAY_FALSE_POSITIVES,
    )
}

/// [`lowest_threshold`] with other limits (%) on dev's benign items and on
/// the everyday ones.
fn lowest_threshold_within(
    scored: &[Scored],
    rule: Evidence,
    max_dev: f64,
    max_everyday: f64,
) -> Option<f64> {
    let rules_only = tally(scored, f64::INFINITY, rule);
    let mut top = 0.0f64;
    for (source, (rules_fp, benign), limit) in [
        (Source::Dev, rules_only.dev_fp, max_dev),
        (Source::Everyday, rules_only.everyday_fp, max_everyday),
    ] {
        let allowed = (f64::from(benign) * limit / 100.0).floor() as u32;
        let room = allowed.checked_sub(rules_fp)? as usize;
        let mut scores: Vec<f64> = scored
            .iter()
            .filter(|s| s.labelled() == (source == Source::Dev))
            .filter(|s| s.category.is_none() && !s.rules)
            .filter(|s| s.classifier_refuses(0.0, rule))
            .map(|s| s.score)
            .collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        if let Some(&s) = scores.get(room) {
            top = top.max(s);
        }
    }
    if top == 0.0 {
        return Some(0.0);
    }
    // 1 - t, rounded down to three significant digits, below 1 - top.
    let gap = 1.0 - top;
    let unit = 10f64.powf(gap.log10().floor() - 2.0);
    let t = 1.0 - ((gap / unit).ceil() - 1.0) * unit;
    assert!(t > top && t <= 1.0, "{t} {top}");
    Some(t)
}

/// The minimum-evidence rules the cross-validation chooses among, the
/// strictest first: at least 6 down to 1 distinct words, of any lean (the
/// rule the plugin applies is a minimum number of words).
fn candidates() -> Vec<Evidence> {
    (1..=6)
        .rev()
        .map(|min| Evidence {
            lean: f64::NEG_INFINITY,
            min,
        })
        .collect()
}

/// The rule and threshold with the highest cross-validated recall within
/// both limits, and its tally: a looser rule is chosen over a stricter one
/// only when it refuses at least two more harmful prompts (one more is
/// within the noise of a fold, and a looser rule reaches shorter ordinary
/// prompts).
fn best(scored: &[Scored]) -> (Evidence, f64, Tally) {
    let mut best: Option<(Evidence, f64, Tally)> = None;
    for rule in candidates() {
        let Some(t) = lowest_threshold(scored, rule) else {
            continue;
        };
        let tally = tally(scored, t, rule);
        if best.is_none_or(|(_, _, b)| tally.recall.0 > b.recall.0 + 1) {
            best = Some((rule, t, tally));
        }
    }
    best.expect("some rule is within the limits")
}

/// Five-fold cross-validation on dev and the everyday training prompts:
/// with the classifier at its default threshold and minimum evidence, the
/// policy refuses more of dev's harmful prompts than the rules alone, and
/// at most 1% of dev's benign prompts and 0.5% of the everyday ones; and
/// that threshold and rule are the best of [`candidates`] by these
/// figures. Prints the figures; run with `cargo test -p policy-terms --
/// --nocapture cross_validated`.
#[test]
fn cross_validated_recall_beats_the_rules_within_the_false_positive_limits() {
    let scored = cross_validate(&prepare(), LEARNER, CATEGORY_ALPHA);
    let none = Evidence {
        lean: f64::NEG_INFINITY,
        min: 0,
    };
    let rules_only = tally(&scored, f64::INFINITY, none);
    let shipped = tally(&scored, DEFAULT_DENY_AT, SHIPPED);
    let without_rule = tally(&scored, DEFAULT_DENY_AT, none);
    let alone: Vec<Scored> = scored
        .iter()
        .map(|s| Scored {
            source: s.source,
            category: s.category,
            form: s.form.clone(),
            rules: false,
            score: s.score,
            leans: s.leans.clone(),
            predicted: s.predicted,
        })
        .collect();
    let alone = tally(&alone, DEFAULT_DENY_AT, SHIPPED);
    for (name, t) in [
        ("rules alone", rules_only),
        ("classifier alone", alone),
        ("rules + classifier without the evidence rule", without_rule),
        ("rules + classifier", shipped),
    ] {
        println!(
            "{name}: recall {:.1}% {:?}, dev false positives {:.1}% {:?}, everyday {:.1}% {:?}",
            percent(t.recall),
            t.recall,
            percent(t.dev_fp),
            t.dev_fp,
            percent(t.everyday_fp),
            t.everyday_fp
        );
    }
    println!("(threshold {DEFAULT_DENY_AT}, at least {MIN_WORDS} words)");
    // Each labelled set's recall and false positives apart.
    for (name, source) in [
        ("dev", Source::Dev),
        ("extra", Source::Extra),
        ("extra-2", Source::Extra2),
        ("extra-3", Source::Extra3),
        ("extra-4", Source::Extra4),
    ] {
        let part: Vec<&Scored> = scored.iter().filter(|s| s.source == source).collect();
        let count = |harmful: bool| {
            let of: Vec<_> = part
                .iter()
                .filter(|s| s.category.is_some() == harmful)
                .collect();
            let refused = of
                .iter()
                .filter(|s| s.refused(DEFAULT_DENY_AT, SHIPPED))
                .count();
            (refused as u32, of.len() as u32)
        };
        let (recall, fp) = (count(true), count(false));
        println!(
            "  {name} alone: recall {:.1}% {recall:?}, false positives {:.1}% {fp:?}",
            percent(recall),
            percent(fp)
        );
    }
    // By category and form, what the classifier adds to the rules.
    let mut by: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut right_category = (0, 0);
    for s in &scored {
        let Some(c) = s.category else { continue };
        let refused = s.refused(DEFAULT_DENY_AT, SHIPPED);
        for key in [format!("category {c}"), format!("form {}", s.form)] {
            let t = by.entry(key).or_default();
            t.0 += u32::from(s.rules);
            t.1 += u32::from(refused);
            t.2 += 1;
        }
        if !s.rules && refused {
            right_category.1 += 1;
            right_category.0 += u32::from(s.predicted == c);
        }
    }
    for (k, (rules, both, total)) in &by {
        println!("  {k}: rules {rules}/{total}, with the classifier {both}/{total}");
    }
    println!(
        "classifier refusals under the item's own category: {}/{}",
        right_category.0, right_category.1
    );
    // Every rule's best figures, the shipped one marked.
    for rule in candidates() {
        if let Some(t) = lowest_threshold(&scored, rule) {
            let r = tally(&scored, t, rule);
            println!(
                "{} at least {} words leaning {}: threshold {t}, recall {:.1}%, dev fp {:?}, everyday fp {:?}",
                if rule == SHIPPED { "*" } else { " " },
                rule.min,
                rule.lean,
                percent(r.recall),
                r.dev_fp,
                r.everyday_fp
            );
        }
    }
    assert!(
        shipped.recall.0 > rules_only.recall.0,
        "the classifier adds nothing: {shipped:?}"
    );
    assert!(
        percent(shipped.recall) >= 92.0,
        "cross-validated recall {:.1}% is below the floor",
        percent(shipped.recall)
    );
    assert!(
        percent(shipped.dev_fp) <= MAX_DEV_FALSE_POSITIVES,
        "cross-validated dev false positives {:.1}% are above the limit",
        percent(shipped.dev_fp)
    );
    assert!(
        percent(shipped.everyday_fp) <= MAX_EVERYDAY_FALSE_POSITIVES,
        "cross-validated everyday false positives {:.1}% are above the limit",
        percent(shipped.everyday_fp)
    );
    // The shipped threshold and rule are the ones these figures choose.
    let (rule, t, tally) = best(&scored);
    assert_eq!(
        (rule, t),
        (SHIPPED, DEFAULT_DENY_AT),
        "the best within the limits is {tally:?}"
    );
}

/// The figures the learner was chosen by: for each, the area under the
/// classifier's ROC curve alone (the everyday prompts counted with the
/// benign ones), and with the rules the best evidence rule and threshold
/// within the limits; naive Bayes with several smoothings, logistic
/// regression with several penalties, from zero and from naive Bayes. Run
/// with `cargo test --release -p policy-terms -- --ignored --nocapture
/// learner_grid`.
#[test]
#[ignore = "prints the cross-validation grid; run explicitly"]
fn learner_grid() {
    let items = prepare();
    let mut learners: Vec<Learner> = [0.003, 0.01, 0.03, 0.1, 0.3]
        .into_iter()
        .map(|alpha| Learner::NaiveBayes { alpha })
        .collect();
    for (toward_bayes, lambdas) in [
        (false, &[1e-6, 1e-5, 1e-4][..]),
        (
            true,
            &[1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3][..],
        ),
    ] {
        for &lambda in lambdas {
            learners.push(Learner::Logistic {
                lambda,
                epochs: 30,
                toward_bayes,
                benign_weight: 1.0,
            });
        }
    }
    // Whether 30 epochs are enough: the same with 10 and 100.
    for epochs in [10, 100] {
        learners.push(Learner::Logistic {
            lambda: 1e-4,
            epochs,
            toward_bayes: true,
            benign_weight: 1.0,
        });
    }
    // Benign prompts weighing more.
    for benign_weight in [2.0, 4.0] {
        for lambda in [3e-7, 3e-6] {
            learners.push(Learner::Logistic {
                lambda,
                epochs: 30,
                toward_bayes: true,
                benign_weight,
            });
        }
    }
    if let Ok(only) = std::env::var("LEARNERS") {
        let only: Vec<usize> = only.split(',').map(|i| i.parse().unwrap()).collect();
        learners = only.into_iter().map(|i| learners[i]).collect();
    }
    // The everyday check set, which the rules alone let through: how many
    // of its prompts the model trained on everything refuses at the rule
    // and threshold the cross-validation chooses (the unit test requires
    // none).
    let check = parse_benign_lines(include_str!("../../../eval/everyday-check.txt"));
    let everything: Vec<_> = items
        .iter()
        .map(|item| (item.buckets.clone(), item.example.category))
        .collect();
    for learner in learners {
        let started = std::time::Instant::now();
        let scored = cross_validate(&items, learner, CATEGORY_ALPHA);
        let elapsed = started.elapsed();
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
        let (rule, t, tally) = best(&scored);
        // With no labelled benign prompt refused, at least six words.
        let strict = lowest_threshold_within(&scored, SHIPPED, 0.0, MAX_EVERYDAY_FALSE_POSITIVES)
            .map(|t| (t, self::tally(&scored, t, SHIPPED).recall));
        let model = train(&everything, learner, CATEGORY_ALPHA);
        let checked = check
            .iter()
            .filter(|e| {
                let c = classify_with(model.linear(), &Doc::of(&e.prompt), None);
                c.score >= t && c.words.len() >= rule.min as usize
            })
            .count();
        println!(
            "{learner:?} ({elapsed:.1?}): AUC {auc:.4}, best: at least {} words at {t}: \
             recall {:.1}% {:?}, dev fp {:?}, everyday fp {:?}; everyday check refused {checked}/{}; \
             no labelled fp: {strict:?}",
            rule.min,
            percent(tally.recall),
            tally.recall,
            tally.dev_fp,
            tally.everyday_fp,
            check.len()
        );
    }
}
