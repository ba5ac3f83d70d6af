//! Prints the verdict of the default configuration on each line of the file
//! named by `PROBE` (a prompt, or `prompt ||| negative prompt`), to try
//! wordings by hand. Run with
//! `PROBE=file cargo test -p policy-terms -- --ignored --nocapture probe`.

use imini_sdk::{Blob, GenerationRequest, PluginError, Size};

use crate::{Rules, check_request_with};

#[test]
#[ignore = "prints verdicts for the prompts of the file named by PROBE; run explicitly"]
fn probe() {
    let Ok(path) = std::env::var("PROBE") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let rules = Rules::defaults();
    let mut no_blobs = |_: Blob| -> Result<Vec<u8>, PluginError> { Ok(Vec::new()) };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (prompt, negative) = match line.split_once("|||") {
            Some((p, n)) => (p.trim(), Some(n.trim().to_string())),
            None => (line.trim(), None),
        };
        let req = GenerationRequest {
            size: Size::new(1024, 1024),
            negative_prompt: negative,
            ..GenerationRequest::image("any/model", prompt)
        };
        let v = check_request_with(&rules, &req, &mut no_blobs).unwrap();
        println!("{:?} {prompt:?}: {:?}", v.action, v.reason);
    }
}

#[test]
#[ignore = "prints the normalised, split and corrected words of PROBE_TEXT"]
fn probe_doc() {
    let Ok(text) = std::env::var("PROBE_TEXT") else {
        return;
    };
    let doc = crate::engine::corrected(crate::engine::document([text.as_str()]));
    println!("{:?}", doc.span(0, doc.len()));
}

/// Scores the labelled prompts (JSON lines, the evaluation set's schema) of
/// the file named by `SUMMARY` with the default configuration and prints
/// only the counts, by category and by form: never an item, so it can
/// score a set that must not be looked into, as `imini moderation eval`
/// scores the held-out part. Run with
/// `SUMMARY=file cargo test -p policy-terms -- --ignored --nocapture summary`.
#[test]
#[ignore = "prints the counts for the labelled prompts of the file named by SUMMARY"]
fn summary() {
    use std::collections::BTreeMap;
    let Ok(path) = std::env::var("SUMMARY") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let rules = Rules::defaults();
    let mut by: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let field = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        let refused =
            u32::from(super::eval::verdict_of(&rules, &item).action == imini_sdk::Action::Deny);
        let label = field("label");
        let keys = [
            (label.clone(), "all".to_string()),
            (label.clone(), format!("category {}", field("category"))),
            (label, format!("form {}", field("form"))),
        ];
        for key in keys {
            let t = by.entry(key).or_default();
            t.0 += refused;
            t.1 += 1;
        }
    }
    for ((label, key), (refused, total)) in &by {
        let percent = 100.0 * f64::from(*refused) / f64::from(*total);
        println!("{label} {key}: refused {refused}/{total} ({percent:.1}%)");
    }
}

/// Prints, for each line of the file named by `PROBE_WORDS`, the word a
/// misspelling of it reads as (`fuzzy::correct`, only where there is one),
/// and the line's words once split and corrected, names included (only
/// where they changed): to compare two versions of the corrections over
/// many words. Run with
/// `PROBE_WORDS=file cargo test --release -p policy-terms -- --ignored --nocapture probe_words`.
#[test]
#[ignore = "prints the corrections of the words of the file named by PROBE_WORDS"]
fn probe_words() {
    let Ok(path) = std::env::var("PROBE_WORDS") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines() {
        if let Some(w) = crate::fuzzy::correct(line) {
            println!("{line} -> {w}");
        }
        let doc = crate::engine::document([line]);
        let before = doc.span(0, doc.len());
        let doc = crate::engine::corrected(doc);
        let after = doc.span(0, doc.len());
        if after != before {
            println!("{line:?} => {after:?}");
        }
    }
}
