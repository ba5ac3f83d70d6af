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
    let mut doc = crate::engine::document([text.as_str()]);
    doc.rejoin_leet(|w| crate::split::lookup(w).or_else(|| crate::fuzzy::correct(w)));
    doc.split_tokens(crate::split::split);
    doc.correct_tokens(crate::fuzzy::correct);
    crate::names::correct(&mut doc);
    println!("{:?}", doc.span(0, doc.len()));
}
