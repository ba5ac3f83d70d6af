//! Training the classifier over the features of [`super::features`], on
//! the labelled prompts of `eval/dev.jsonl` and of
//! `data/train-extra*.jsonl` and the everyday prompts of
//! `data/everyday-train.txt` (benign): the harmful-or-benign model by
//! [`LEARNER`] (logistic regression pulled toward multinomial naive
//! Bayes), the category model by naive Bayes. Run by the build script (the
//! shipped model) and by the tests (cross-validation).
//!
//! Deterministic: the examples are read in file order, the buckets in
//! increasing order, sums are in `f64` in that order, coordinate descent
//! visits the buckets in increasing order for a fixed number of epochs,
//! and nothing depends on a hash map's order or a random seed.

use super::features::{
    BITS, BUCKETS, CATEGORY_BITS, CATEGORY_BUCKETS, Features, Linear, PerCategory, members,
};
use crate::category::Category;
use crate::normalize::Doc;

/// Additive smoothing of the harmful-or-benign model, in units of a
/// feature's weight (a feature of a text of `n` features weighs
/// `1/sqrt(n)`, about 0.07 for a short prompt). Chosen by cross-validation
/// on dev (see the tests).
pub(crate) const ALPHA: f64 = 0.03;
/// Additive smoothing of the category model.
pub(crate) const CATEGORY_ALPHA: f64 = 0.03;

/// A labelled prompt.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    pub prompt: String,
    pub negative: Option<String>,
    /// Its category when harmful; `None` when benign.
    pub category: Option<Category>,
}

/// Reads the labelled prompts of the evaluation set's JSON lines (`prompt`,
/// `negative_prompt`, `label`, `category`).
pub(crate) fn parse(jsonl: &str) -> Vec<Example> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let text = |k: &str| v[k].as_str().map(str::to_string);
            let category = match text("label").as_deref() {
                Some("harmful") => Some(
                    Category::from_name(&text("category").unwrap_or_default())
                        .expect("a harmful item's category is a policy category"),
                ),
                Some("benign") => None,
                other => panic!("label {other:?} is neither harmful nor benign"),
            };
            Example {
                prompt: text("prompt").expect("a prompt"),
                negative: text("negative_prompt"),
                category,
            }
        })
        .collect()
}

/// The labelled sets the shipped model trains on, relative to the crate:
/// the evaluation set's dev part (never the held-out part) and the extra
/// labelled prompts.
pub(crate) const LABELLED_SETS: [&str; 5] = [
    "eval/dev.jsonl",
    "data/train-extra.jsonl",
    "data/train-extra-2.jsonl",
    "data/train-extra-3.jsonl",
    "data/train-extra-4.jsonl",
];

/// The everyday prompts the shipped model trains on as benign, relative to
/// the crate.
pub(crate) const EVERYDAY_SET: &str = "data/everyday-train.txt";

/// The examples the shipped model is trained on, read from the crate's
/// directory `root`: [`LABELLED_SETS`] in order, then [`EVERYDAY_SET`].
pub(crate) fn training_examples(root: &std::path::Path) -> Vec<Example> {
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    };
    let mut examples: Vec<Example> = LABELLED_SETS.iter().flat_map(|p| parse(&read(p))).collect();
    examples.extend(parse_benign_lines(&read(EVERYDAY_SET)));
    examples
}

/// Reads prompts one a line, all benign (`data/everyday-train.txt`): blank
/// lines and lines starting with `#` are skipped.
pub(crate) fn parse_benign_lines(text: &str) -> Vec<Example> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| Example {
            prompt: l.to_string(),
            negative: None,
            category: None,
        })
        .collect()
}

/// An example as trained on: its bucket set and how many buckets it has,
/// and its category (`None` when benign).
pub(crate) type Labelled = ((Vec<u64>, u32), Option<Category>);

/// The bucket set of an example, as the plugin computes it for a request.
pub(crate) fn example_buckets(e: &Example) -> (Vec<u64>, u32) {
    let negative = e.negative.as_deref().map(Doc::of);
    let features = Features::of(&Doc::of(&e.prompt), negative.as_ref());
    (features.set, features.count)
}

/// A trained model: the harmful-or-benign scores and the category scores.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub weights: Vec<i8>,
    pub scale: f64,
    pub bias: f64,
    pub category_weights: Vec<i8>,
    pub category_scale: f64,
    pub category_bias: [f64; 8],
}

impl Model {
    /// The harmful-or-benign model.
    pub fn linear(&self) -> Linear<'_> {
        Linear {
            weights: &self.weights,
            scale: self.scale,
            bias: self.bias,
        }
    }

    /// The category model.
    pub fn per_category(&self) -> PerCategory<'_> {
        PerCategory {
            weights: &self.category_weights,
            scale: self.category_scale,
            bias: &self.category_bias,
        }
    }
}

/// Quantises weights to `i8`: the weights and what one unit is worth.
fn quantise(weights: &[f64]) -> (Vec<i8>, f64) {
    let largest = weights.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    let scale = if largest > 0.0 {
        largest / f64::from(i8::MAX)
    } else {
        1.0
    };
    let q = weights.iter().map(|w| (w / scale).round() as i8).collect();
    (q, scale)
}

/// How the harmful-or-benign weights are learned from the examples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Learner {
    /// Multinomial naive Bayes: each bucket's weight is the log ratio of
    /// its frequencies in harmful and in benign prompts, smoothed by
    /// `alpha`; the bias is the log ratio of the two labels' counts.
    NaiveBayes { alpha: f64 },
    /// Logistic regression with an L2 penalty of `lambda` (per example;
    /// the loss is the mean log loss), fitted by `epochs` cycles of
    /// coordinate descent: the bias, then each bucket in increasing order,
    /// one Newton step each. `toward_bayes`: the weights start from naive
    /// Bayes' (smoothing [`ALPHA`]) and the penalty pulls them toward those
    /// rather than toward zero.
    Logistic {
        lambda: f64,
        epochs: u32,
        toward_bayes: bool,
        /// How much a benign example's loss counts against a harmful one's.
        benign_weight: f64,
    },
}

/// The learner of the shipped model, chosen by the tests'
/// cross-validation (`learner_grid`, over dev and the four extra sets,
/// each learner at the threshold and evidence rule the documented
/// procedure gives it): the highest cross-validated recall among the
/// learners that refuse no more of the benign prompts than naive Bayes
/// (none of the 1,269 labelled ones, 4 of the 865 everyday ones). Naive
/// Bayes (smoothing 0.03): 95.7%, 1,542 of 1,612; this: 96.3%, 1,552.
/// Logistic regression pulled toward naive Bayes with a weaker penalty, or
/// from zero, reaches 97.0-97.8% at the 1% and 0.5% limits, but by
/// refusing 1 to 11 of the labelled benign prompts where naive Bayes
/// refuses none (with none refused, from zero it is below naive Bayes,
/// 1,487-1,510), and its models refuse ordinary prompts the tests require
/// to pass (1 or 2 of the everyday check's 335, or "a plush Pikachu on a
/// child's bed"). The same figures with 10 and 100 epochs as with 30.
pub(crate) const LEARNER: Learner = Learner::Logistic {
    lambda: 1e-4,
    epochs: 30,
    toward_bayes: true,
    benign_weight: 1.0,
};

/// Trains on `examples` (bucket sets from [`example_buckets`], with their
/// categories; `None` is benign): the harmful-or-benign model by
/// `learner`, the category model by naive Bayes with the smoothing
/// `category_alpha`.
pub(crate) fn train(examples: &[Labelled], learner: Learner, category_alpha: f64) -> Model {
    let (weights, bias) = match learner {
        Learner::NaiveBayes { alpha } => naive_bayes(examples, alpha),
        Learner::Logistic {
            lambda,
            epochs,
            toward_bayes,
            benign_weight,
        } => {
            let prior = toward_bayes.then(|| naive_bayes(examples, ALPHA));
            logistic_regression(examples, lambda, epochs, benign_weight, prior)
        }
    };
    let (weights, scale) = quantise(&weights);
    let (category_weights, category_scale, category_bias) = categories(examples, category_alpha);
    Model {
        weights,
        scale,
        bias,
        category_weights,
        category_scale,
        category_bias,
    }
}

/// The weight of each of the features of a bucket set of `count` buckets.
fn feature_value(count: u32) -> f64 {
    1.0 / f64::from(count).sqrt()
}

/// Naive Bayes' harmful-or-benign weights, unquantised, and its bias.
fn naive_bayes(examples: &[Labelled], alpha: f64) -> (Vec<f64>, f64) {
    // Each class's total weight per bucket, and over all buckets.
    let mut harmful = vec![0.0f64; BUCKETS];
    let mut benign = vec![0.0f64; BUCKETS];
    let (mut harmful_total, mut benign_total) = (0.0f64, 0.0f64);
    let (mut harmful_n, mut benign_n) = (0u32, 0u32);
    for ((set, count), category) in examples {
        if *count == 0 {
            continue;
        }
        let x = feature_value(*count);
        let (class, total, n) = match category {
            Some(_) => (&mut harmful, &mut harmful_total, &mut harmful_n),
            None => (&mut benign, &mut benign_total, &mut benign_n),
        };
        *n += 1;
        for b in members(set) {
            class[b as usize] += x;
            *total += x;
        }
    }
    assert!(harmful_n > 0 && benign_n > 0, "both labels are needed");
    let buckets = BUCKETS as f64;
    let weights = harmful
        .iter()
        .zip(&benign)
        .map(|(h, b)| {
            ((h + alpha) / (harmful_total + alpha * buckets)).ln()
                - ((b + alpha) / (benign_total + alpha * buckets)).ln()
        })
        .collect();
    (weights, (f64::from(harmful_n) / f64::from(benign_n)).ln())
}

/// The logistic function (the build script has no access to the
/// classifier's).
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The most a weight moves in one step of coordinate descent: a Newton
/// step on a bucket whose examples are all fitted already can be large.
const MAX_STEP: f64 = 2.0;

/// L2-regularised logistic regression's weights, unquantised, and its
/// bias, by cyclic coordinate descent (see [`Learner::Logistic`]); the
/// penalty pulls the weights toward `prior`'s, and they start there, when
/// there is one (else toward zero, from zero with the bias of the labels'
/// counts).
fn logistic_regression(
    examples: &[Labelled],
    lambda: f64,
    epochs: u32,
    benign_weight: f64,
    prior: Option<(Vec<f64>, f64)>,
) -> (Vec<f64>, f64) {
    let kept: Vec<&Labelled> = examples.iter().filter(|((_, n), _)| *n > 0).collect();
    // Each example's feature value, label (1 harmful, 0 benign) and
    // weight.
    let rows: Vec<(f64, f64, f64)> = kept
        .iter()
        .map(|((_, n), c)| match c {
            Some(_) => (feature_value(*n), 1.0, 1.0),
            None => (feature_value(*n), 0.0, benign_weight),
        })
        .collect();
    let harmful = rows.iter().filter(|r| r.1 > 0.0).count();
    assert!(
        harmful > 0 && harmful < rows.len(),
        "both labels are needed"
    );
    // The examples of each bucket, in order: bucket `b`'s are
    // `column[start[b]..start[b + 1]]`.
    let mut start = vec![0usize; BUCKETS + 1];
    for ((set, _), _) in &kept {
        for b in members(set) {
            start[b as usize + 1] += 1;
        }
    }
    for b in 0..BUCKETS {
        start[b + 1] += start[b];
    }
    let mut column = vec![0u32; start[BUCKETS]];
    let mut next = start.clone();
    for (i, ((set, _), _)) in kept.iter().enumerate() {
        for b in members(set) {
            column[next[b as usize]] = i as u32;
            next[b as usize] += 1;
        }
    }
    let n = rows.len() as f64;
    let (center, mut bias) = match prior {
        Some(p) => p,
        None => (
            vec![0.0; BUCKETS],
            (harmful as f64 / (rows.len() - harmful) as f64).ln(),
        ),
    };
    let mut weights = center.clone();
    // Each example's log-odds.
    let mut z: Vec<f64> = kept
        .iter()
        .zip(&rows)
        .map(|(((set, _), _), (x, ..))| {
            bias + x * members(set).map(|b| weights[b as usize]).sum::<f64>()
        })
        .collect();
    // The objective times n: the summed log loss and n * lambda / 2 times
    // the squared distance from the center.
    let penalty = lambda * n;
    for _ in 0..epochs {
        // The bias, not penalised.
        let (mut g, mut h) = (0.0, 0.0);
        for (&(_, y, weight), &zi) in rows.iter().zip(&z) {
            let p = sigmoid(zi);
            g += weight * (p - y);
            h += weight * p * (1.0 - p);
        }
        let step = (g / h.max(1e-12)).clamp(-MAX_STEP, MAX_STEP);
        bias -= step;
        z.iter_mut().for_each(|zi| *zi -= step);
        for b in 0..BUCKETS {
            let col = &column[start[b]..start[b + 1]];
            if col.is_empty() {
                continue;
            }
            let mut g = penalty * (weights[b] - center[b]);
            let mut h = penalty;
            for &i in col {
                let (x, y, weight) = rows[i as usize];
                let p = sigmoid(z[i as usize]);
                g += weight * (p - y) * x;
                h += weight * p * (1.0 - p) * x * x;
            }
            let step = (g / h).clamp(-MAX_STEP, MAX_STEP);
            weights[b] -= step;
            for &i in col {
                z[i as usize] -= step * rows[i as usize].0;
            }
        }
    }
    (weights, bias)
}

/// The category model: per category, naive Bayes over the top
/// [`CATEGORY_BITS`] bits of the buckets with the smoothing `alpha`, less
/// each bucket's mean over the categories (which shifts every category's
/// score alike, so the best stays the best); quantised, with each
/// category's bias.
fn categories(examples: &[Labelled], alpha: f64) -> (Vec<i8>, f64, [f64; 8]) {
    let mut by_category = vec![[0.0f64; 8]; CATEGORY_BUCKETS];
    let mut category_total = [0.0f64; 8];
    let mut category_n = [0u32; 8];
    for ((set, count), category) in examples {
        let Some(c) = category else { continue };
        if *count == 0 {
            continue;
        }
        let x = feature_value(*count);
        category_n[c.index()] += 1;
        for b in members(set) {
            by_category[(b >> (BITS - CATEGORY_BITS)) as usize][c.index()] += x;
            category_total[c.index()] += x;
        }
    }
    let harmful_n: u32 = category_n.iter().sum();
    let buckets = CATEGORY_BUCKETS as f64;
    let mut category_weights = Vec::with_capacity(CATEGORY_BUCKETS * 8);
    for counts in &by_category {
        let theta: [f64; 8] = std::array::from_fn(|c| {
            ((counts[c] + alpha) / (category_total[c] + alpha * buckets)).ln()
        });
        let mean = theta.iter().sum::<f64>() / 8.0;
        category_weights.extend(theta.iter().map(|t| t - mean));
    }
    let (category_weights, category_scale) = quantise(&category_weights);
    // A category with no examples is never chosen.
    let category_bias = std::array::from_fn(|c| match category_n[c] {
        0 => -1e9,
        n => (f64::from(n) / f64::from(harmful_n)).ln(),
    });
    (category_weights, category_scale, category_bias)
}
