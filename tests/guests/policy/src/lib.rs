//! A test-only policy that misbehaves when the prompt asks it to, to prove
//! that a failing policy fails closed. In `check_request`, a prompt
//! containing `request-policy-trap` panics, `request-policy-loop` never
//! returns, `request-policy-error` returns an error, `request-policy-flag`
//! is flagged for review and `request-policy-deny` is denied (category
//! `test`); in `check_output` the same words with the `output-` prefix do
//! the same. Anything else is allowed.

use imini_sdk::{
    GenerationRequest, Media, PluginError, Policy, PolicyInfo, Verdict, export_policy,
};

struct TestPolicy;

fn decide(prompt: &str, prefix: &str) -> Result<Verdict, PluginError> {
    let has = |word: &str| prompt.contains(&format!("{prefix}{word}"));
    if has("policy-trap") {
        panic!("the test policy traps on purpose");
    }
    if has("policy-loop") {
        let mut x: u64 = 1;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    if has("policy-error") {
        return Err(PluginError::internal("the test policy fails on purpose"));
    }
    if has("policy-deny") {
        return Ok(Verdict::deny("test", "the prompt asked to be denied"));
    }
    if has("policy-flag") {
        return Ok(Verdict::flag("test", "the prompt asked to be flagged"));
    }
    Ok(Verdict::allow())
}

impl Policy for TestPolicy {
    fn describe() -> Result<PolicyInfo, PluginError> {
        Ok(PolicyInfo {
            name: "test-policy".into(),
            categories: vec!["test".into()],
        })
    }

    fn check_request(req: GenerationRequest) -> Result<Verdict, PluginError> {
        decide(&req.prompt, "request-")
    }

    fn check_output(req: GenerationRequest, outputs: Vec<Media>) -> Result<Verdict, PluginError> {
        if outputs.is_empty() {
            return Err(PluginError::internal("check_output was given no outputs"));
        }
        decide(&req.prompt, "output-")
    }
}

export_policy!(TestPolicy);
