//! Training the classifier: multinomial naive Bayes over the features of
//! [`super::features`], on the labelled prompts of `eval/dev.jsonl` and of
//! `data/train-extra*.jsonl` and the everyday prompts of
//! `data/everyday-train.txt` (benign). Run by the build
//! script (the shipped model) and by the tests (cross-validation).
//!
//! Deterministic: the examples are read in file order, the buckets in
//! increasing order, sums are in `f64` in that order, and nothing depends
//! on a hash map's order or a random seed.

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

/// Trains on `examples` (bucket sets from [`example_buckets`], with their
/// categories; `None` is benign) with the smoothing `alpha` (the
/// harmful-or-benign model) and `category_alpha` (the category model).
pub(crate) fn train(examples: &[Labelled], alpha: f64, category_alpha: f64) -> Model {
    // Each class's total weight per bucket, and over all buckets.
    let mut harmful = vec![0.0f64; BUCKETS];
    let mut benign = vec![0.0f64; BUCKETS];
    let mut by_category = vec![[0.0f64; 8]; CATEGORY_BUCKETS];
    let (mut harmful_total, mut benign_total) = (0.0f64, 0.0f64);
    let mut category_total = [0.0f64; 8];
    let (mut harmful_n, mut benign_n) = (0u32, 0u32);
    let mut category_n = [0u32; 8];
    for ((set, count), category) in examples {
        if *count == 0 {
            continue;
        }
        let x = 1.0 / f64::from(*count).sqrt();
        match category {
            Some(c) => {
                harmful_n += 1;
                category_n[c.index()] += 1;
                for b in members(set) {
                    harmful[b as usize] += x;
                    harmful_total += x;
                    by_category[(b >> (BITS - CATEGORY_BITS)) as usize][c.index()] += x;
                    category_total[c.index()] += x;
                }
            }
            None => {
                benign_n += 1;
                for b in members(set) {
                    benign[b as usize] += x;
                    benign_total += x;
                }
            }
        }
    }
    assert!(harmful_n > 0 && benign_n > 0, "both labels are needed");
    let buckets = BUCKETS as f64;
    let weights: Vec<f64> = harmful
        .iter()
        .zip(&benign)
        .map(|(h, b)| {
            ((h + alpha) / (harmful_total + alpha * buckets)).ln()
                - ((b + alpha) / (benign_total + alpha * buckets)).ln()
        })
        .collect();
    let (weights, scale) = quantise(&weights);

    // Per category, less each bucket's mean over the categories (which
    // shifts every category's score alike, so the best stays the best).
    let buckets = CATEGORY_BUCKETS as f64;
    let mut category_weights = Vec::with_capacity(CATEGORY_BUCKETS * 8);
    for counts in &by_category {
        let theta: [f64; 8] = std::array::from_fn(|c| {
            ((counts[c] + category_alpha) / (category_total[c] + category_alpha * buckets)).ln()
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
    Model {
        weights,
        scale,
        bias: (f64::from(harmful_n) / f64::from(benign_n)).ln(),
        category_weights,
        category_scale,
        category_bias,
    }
}
