//! `imini moderation eval`: scores a content policy against a labelled set
//! of prompts (plugins/policy-terms/eval/: `dev.jsonl`, which rules may be
//! tuned against, and `heldout.jsonl`, which they never are), through the
//! same sandbox and the same fresh instance per call as a gateway: recall
//! on harmful prompts by category, false positives on benign ones by
//! topic, and how long a check takes. Offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::cli::plugin::check::{Local, load_bytes};
use crate::plugins::bindings::policy_api::Action;
use crate::plugins::bindings::types::{GenerationRequest, MediaKind, Size};
use crate::plugins::{CallInput, LoadedPlugin};

/// `imini moderation eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The directory of the set (`dev.jsonl`, `heldout.jsonl`).
    #[arg(default_value = "plugins/policy-terms/eval")]
    pub set: PathBuf,
    /// A policy component to score instead of the bundled policy-terms.
    #[arg(long, requires = "manifest")]
    pub component: Option<PathBuf>,
    /// Its manifest.
    #[arg(long, requires = "component")]
    pub manifest: Option<PathBuf>,
    /// A gateway configuration file whose settings for the policy apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Fail when recall on harmful prompts, overall, is below this (%), in
    /// either part.
    #[arg(long)]
    pub min_recall: Option<f64>,
    /// Fail when recall on `sexual_minors` is below this (%), in either
    /// part.
    #[arg(long)]
    pub min_recall_minors: Option<f64>,
    /// Fail when more than this share of benign prompts (%) is refused, in
    /// either part.
    #[arg(long)]
    pub max_false_positives: Option<f64>,
}

/// One labelled prompt.
#[derive(Debug, Deserialize)]
struct Item {
    id: String,
    prompt: String,
    #[serde(default)]
    negative_prompt: Option<String>,
    label: Label,
    category: String,
    form: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Label {
    Harmful,
    Benign,
}

/// How one part of the set scored.
#[derive(Debug, Default)]
struct Score {
    /// By category: (refused, total).
    by_category: BTreeMap<String, (u32, u32)>,
    /// Harmful prompts by form: (refused, total).
    by_form: BTreeMap<String, (u32, u32)>,
    harmful: (u32, u32),
    benign: (u32, u32),
    /// Harmful prompts let through, and benign ones refused.
    misses: Vec<String>,
    false_positives: Vec<String>,
    /// Checks the policy failed (counted as not refused).
    errors: u32,
    took: Vec<Duration>,
}

fn percent((hit, total): (u32, u32)) -> f64 {
    if total == 0 {
        100.0
    } else {
        f64::from(hit) * 100.0 / f64::from(total)
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Reads a part of the set; `None` if the file is not there.
fn read_part(path: &Path) -> anyhow::Result<Option<Vec<Item>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {}: not an evaluation item", path.display(), i + 1)
            })
        })
        .collect::<anyhow::Result<Vec<Item>>>()
        .map(Some)
}

/// Runs the evaluation and prints the scores; fails below the thresholds.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let mut parts = Vec::new();
    for name in ["dev", "heldout"] {
        if let Some(items) = read_part(&args.set.join(format!("{name}.jsonl")))? {
            parts.push((name, items));
        }
    }
    if parts.is_empty() {
        bail!(
            "{} has neither dev.jsonl nor heldout.jsonl",
            args.set.display()
        );
    }
    let Local {
        executor, plugin, ..
    } = match (&args.component, &args.manifest) {
        (Some(component), Some(manifest)) => {
            let wasm = std::fs::read(component)
                .with_context(|| format!("reading {}", component.display()))?;
            let manifest = std::fs::read_to_string(manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            load_bytes(wasm, &manifest, args.config.as_deref(), false)?
        }
        _ => {
            let bundled = crate::bundled::BUNDLED
                .iter()
                .find(|p| p.crate_name == "policy-terms")
                .ok_or_else(|| anyhow::anyhow!("this build bundles no policy-terms"))?;
            load_bytes(
                bundled.wasm.to_vec(),
                bundled.manifest,
                args.config.as_deref(),
                false,
            )?
        }
    };
    let LoadedPlugin::Policy(policy) = &plugin else {
        bail!("{} is a provider, not a policy", plugin.core().label());
    };
    println!("policy {}", policy.core().label());
    let input = CallInput {
        request_id: "req_eval".into(),
        blobs: Vec::new(),
    };
    let mut failed = Vec::new();
    for (name, items) in &parts {
        let mut score = Score::default();
        for item in items {
            let req = GenerationRequest {
                model: "any/model".into(),
                kind: MediaKind::Image,
                prompt: item.prompt.clone(),
                negative_prompt: item.negative_prompt.clone(),
                n: 1,
                size: Size {
                    width: 1024,
                    height: 1024,
                },
                aspect_ratio: None,
                resolution: None,
                duration_ms: None,
                generate_audio: false,
                seed: None,
                references: Vec::new(),
                extra_params: "{}".into(),
            };
            let started = Instant::now();
            let verdict = executor.block_on(policy.check_request(&input, &req));
            score.took.push(started.elapsed());
            let refused = match verdict {
                Ok(Ok(v)) => v.action == Action::Deny,
                _ => {
                    score.errors += 1;
                    false
                }
            };
            let hit = u32::from(refused == (item.label == Label::Harmful));
            let tally = |t: &mut (u32, u32), hit: u32| {
                t.0 += hit;
                t.1 += 1;
            };
            // By category: refused for harmful ones, refused (a false
            // positive) for benign ones.
            tally(
                score.by_category.entry(item.category.clone()).or_default(),
                u32::from(refused),
            );
            match item.label {
                Label::Harmful => {
                    tally(&mut score.harmful, hit);
                    tally(score.by_form.entry(item.form.clone()).or_default(), hit);
                    if hit == 0 {
                        score.misses.push(format!("{} {:?}", item.id, item.prompt));
                    }
                }
                Label::Benign => {
                    tally(&mut score.benign, u32::from(refused));
                    if refused {
                        score
                            .false_positives
                            .push(format!("{} {:?}", item.id, item.prompt));
                    }
                }
            }
        }
        score.took.sort();
        // What the held-out part misses is not listed: rules are never
        // tuned against it.
        print_score(name, &score, *name != "heldout");
        let minors = score
            .by_category
            .get("sexual_minors")
            .copied()
            .unwrap_or((0, 0));
        if let Some(min) = args.min_recall
            && percent(score.harmful) < min
        {
            failed.push(format!(
                "{name}: recall {:.1}% is below {min}%",
                percent(score.harmful)
            ));
        }
        if let Some(min) = args.min_recall_minors
            && percent(minors) < min
        {
            failed.push(format!(
                "{name}: recall on sexual_minors {:.1}% is below {min}%",
                percent(minors)
            ));
        }
        if let Some(max) = args.max_false_positives
            && percent(score.benign) > max
        {
            failed.push(format!(
                "{name}: false positives {:.1}% are above {max}%",
                percent(score.benign)
            ));
        }
    }
    drop(plugin);
    drop(executor);
    if !failed.is_empty() {
        bail!("below the targets: {}", failed.join("; "));
    }
    Ok(())
}

fn print_score(name: &str, s: &Score, list: bool) {
    println!();
    println!(
        "{name}: {} harmful, {} benign prompts",
        s.harmful.1, s.benign.1
    );
    println!(
        "  recall {:.1}% ({}/{}); false positives {:.1}% ({}/{}); policy errors {}",
        percent(s.harmful),
        s.harmful.0,
        s.harmful.1,
        percent(s.benign),
        s.benign.0,
        s.benign.1,
        s.errors
    );
    println!(
        "  check latency (fresh instance per call): p50 {:?}, p99 {:?}, max {:?}",
        quantile(&s.took, 0.5),
        quantile(&s.took, 0.99),
        s.took.last().copied().unwrap_or_default()
    );
    println!("  by category (refused/total):");
    for (category, t) in &s.by_category {
        println!(
            "    {category:<28} {:>4}/{:<4} {:>6.1}%",
            t.0,
            t.1,
            percent(*t)
        );
    }
    println!("  harmful by form (refused/total):");
    for (form, t) in &s.by_form {
        println!("    {form:<28} {:>4}/{:<4} {:>6.1}%", t.0, t.1, percent(*t));
    }
    if !list {
        return;
    }
    if !s.misses.is_empty() {
        println!("  harmful prompts let through:");
        for m in &s.misses {
            println!("    {m}");
        }
    }
    if !s.false_positives.is_empty() {
        println!("  benign prompts refused:");
        for m in &s.false_positives {
            println!("    {m}");
        }
    }
}
