//! # policy-terms: imini's bundled content-moderation policy
//!
//! Checks prompts, provider parameters and generated captions against term
//! lists, combinations of terms and operator patterns in eight categories,
//! and reference and output images against an operator blocklist of
//! perceptual hashes. A small learned classifier (`classifier`, trained at
//! build time on the evaluation set's dev part and on everyday prompts; on
//! unless the operator turns it off) refuses requests the rules let
//! through when it is confident they are harmful.
//!
//! The crate is organised as: the categories ([`category`]), the operator's
//! configuration ([`config`]), the built-in rules (`defaults`, one file per
//! category, as written), text normalisation (`normalize`), phrases and
//! their kinds of words (`phrase`), the keys phrases are indexed by (`key`)
//! and the index itself (`index`), the built-in rules as the build script
//! normalised and indexed them (`builtin`), the validated rule set
//! ([`rules`]), scoring ([`engine`]), the classifier (`classifier`: its
//! features, its training, and the model the build script trained) and
//! image matching ([`images`]), all
//! free of host calls so they are tested natively; and here the glue to the
//! WIT interface: [`check_request_with`] and [`check_output_with`] take the
//! rules and a blob reader, and the exported [`Policy`] builds the rules
//! from the host's configuration on every call (the host gives each call a
//! fresh instance), which costs next to nothing unless the operator adds
//! phrases.

mod builtin;
pub mod category;
mod classifier;
pub mod config;
// The built-in rules as written: the build script compiles them into
// `builtin`, and the tests check them.
#[cfg(test)]
mod defaults;
pub mod engine;
mod fuzzy;
pub mod images;
mod index;
mod key;
mod names;
mod normalize;
mod phrase;
pub mod rules;
mod split;
#[cfg(test)]
pub(crate) mod tests;

use imini_sdk::{
    Blob, GenerationRequest, Media, MediaData, MediaKind, PluginError, Policy, PolicyInfo, Verdict,
    export_policy,
};

pub use category::Category;
pub use config::{Config, ConfigError};
pub use engine::{Decision, Outcome, evaluate, evaluate_text};
pub use rules::Rules;

/// The policy's name.
pub const NAME: &str = "policy-terms";

/// Keys of `extra_params` whose values say what to keep out of the result,
/// like the negative prompt, and so are not checked ("no gore" must pass).
const NEGATIVE_KEYS: &[&str] = &["negativeprompt", "negative", "negativeprompts"];

/// Words that, in a negative prompt, keep clothing out of the image: a
/// negative prompt naming one asks for nudity, and is checked as the words
/// "no clothes" with the prompt (so a minor or a real person in the prompt
/// is refused, as "a child with no clothes" would be).
const CLOTHING: &[&str] = &[
    "clothes",
    "clothing",
    "clothed",
    "cloth",
    "dress",
    "dresses",
    "dressed",
    "shirt",
    "shirts",
    "tshirt",
    "top",
    "tops",
    "swimsuit",
    "swimsuits",
    "swimwear",
    "bikini",
    "bikinis",
    "underwear",
    "panties",
    "bra",
    "bras",
    "pants",
    "trousers",
    "shorts",
    "skirt",
    "skirts",
    "outfit",
    "outfits",
    "garment",
    "garments",
    "covered",
    "covering",
    "censored",
    "censor",
    "censorship",
];

/// Whether a negative prompt keeps clothing out of the image: one of its
/// items (negative prompts are lists: "clothes, swimsuit, blurry") is a
/// garment on its own. A garment with words around it ("modern clothing",
/// "clothing logos") keeps out something else.
fn removes_clothing(negative: &str) -> bool {
    negative.split([',', ';', '|', '\n']).any(|item| {
        // Weights and emphasis as image UIs write them: "(clothes:1.4)".
        let item = item.trim_matches(|c: char| !c.is_alphanumeric());
        let item = item.split(':').next().unwrap_or_default().trim();
        CLOTHING.contains(&item.to_lowercase().as_str())
    })
}

/// Reads a blob's bytes.
pub type BlobReader<'a> = dyn FnMut(Blob) -> Result<Vec<u8>, PluginError> + 'a;

/// What `describe` answers.
pub fn info() -> PolicyInfo {
    PolicyInfo {
        name: NAME.to_string(),
        categories: Category::ALL.map(|c| c.name().to_string()).to_vec(),
    }
}

/// Checks a request: its prompt, every string in its `extra_params` (except
/// negative prompts) and, when the operator blocklists images, its
/// reference images. The rules do not check the negative prompt as text: it
/// lists what to keep out. When the rules do not refuse, the classifier,
/// unless the operator turned it off, reads the same texts and, apart, the
/// negative prompt, and refuses from its threshold on.
pub fn check_request_with(
    rules: &Rules,
    req: &GenerationRequest,
    read_blob: &mut BlobReader<'_>,
) -> Result<Verdict, PluginError> {
    let extra: Option<serde_json::Value> = serde_json::from_str(&req.extra_params).ok();
    let mut texts: Vec<&str> = vec![&req.prompt];
    match &extra {
        Some(value) => collect_strings(value, &mut texts),
        // Not JSON (the host should not let that happen): check it as text.
        None => texts.push(&req.extra_params),
    }
    let mut doc = engine::document(texts);
    // The classifier reads the texts as normalised, and the negative
    // prompt apart.
    let classified = rules
        .classifier
        .enabled
        .then(|| classifier::classify(&doc, req.negative_prompt.as_deref()));
    // The rules do not check the negative prompt as text ("no gore" must
    // pass), but one that removes clothing says what the image will show.
    if req.negative_prompt.as_deref().is_some_and(removes_clothing) {
        doc.push("no clothes");
    }
    let outcome = engine::evaluate_document(rules, doc);
    if outcome.decision == Decision::Deny {
        return Ok(verdict(outcome));
    }
    if let Some(refusal) = classified.and_then(|c| classifier_refusal(rules, &c)) {
        return Ok(refusal);
    }
    if rules.blocklist.is_empty() {
        return Ok(verdict(outcome));
    }
    for (i, r) in req.references.iter().enumerate() {
        if !matches!(r.kind, MediaKind::Image) && !is_image_mime(&r.mime) {
            continue;
        }
        let bytes = read_blob(r.data)?;
        if let Some(m) = images::check(rules, &bytes) {
            let reason = m.reason(&format!("reference image {}", i + 1));
            return Ok(Verdict::deny(m.entry.category.name(), reason));
        }
    }
    Ok(verdict(outcome))
}

/// The classifier's refusal, when its score reaches the threshold, the
/// prompt has enough words (`classifier::MIN_WORDS`), and the category it
/// names is enabled (an operator who disabled a category lets what the
/// classifier takes for it through).
fn classifier_refusal(rules: &Rules, c: &classifier::Classified) -> Option<Verdict> {
    let deny_at = rules.classifier.deny_at;
    if !c.refuses(deny_at) {
        return None;
    }
    let category = c.category();
    if !rules.categories[category.index()].enabled {
        return None;
    }
    Some(Verdict::deny(
        category.name(),
        format!(
            "classifier score {:.4} (deny at {deny_at:?}), no rule refused; {category} is the \
             category the classifier's category model rates highest",
            c.score
        ),
    ))
}

/// Checks outputs: the text each came with (a revised prompt, a caption)
/// and, when the operator blocklists images, every output with an image
/// MIME type whose bytes are inline or in a blob.
pub fn check_output_with(
    rules: &Rules,
    outputs: &[Media],
    read_blob: &mut BlobReader<'_>,
) -> Result<Verdict, PluginError> {
    let outcome = evaluate(rules, outputs.iter().filter_map(|m| m.text.as_deref()));
    if outcome.decision == Decision::Deny || rules.blocklist.is_empty() {
        return Ok(verdict(outcome));
    }
    for (i, m) in outputs.iter().enumerate() {
        if !is_image_mime(&m.mime) {
            continue;
        }
        let found = match &m.data {
            MediaData::Bytes(b) => images::check(rules, b),
            MediaData::Blob(h) => images::check(rules, &read_blob(*h)?),
            MediaData::Url(_) => None,
        };
        if let Some(found) = found {
            let reason = found.reason(&format!("output {}", i + 1));
            return Ok(Verdict::deny(found.entry.category.name(), reason));
        }
    }
    Ok(verdict(outcome))
}

/// The verdict for an outcome.
pub fn verdict(outcome: Outcome) -> Verdict {
    match (outcome.decision, outcome.category) {
        (Decision::Deny, Some(c)) => Verdict::deny(c.name(), outcome.reason),
        (Decision::Flag, Some(c)) => Verdict::flag(c.name(), outcome.reason),
        _ => Verdict::allow(),
    }
}

fn is_image_mime(mime: &str) -> bool {
    mime.trim().to_ascii_lowercase().starts_with("image/")
}

/// Every string in a JSON value, except under negative-prompt keys.
fn collect_strings<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                // The key's letters and digits, lowercase ("negative_prompt"
                // reads "negativeprompt").
                let letters = || {
                    key.bytes()
                        .filter(u8::is_ascii_alphanumeric)
                        .map(|b| b.to_ascii_lowercase())
                };
                if !NEGATIVE_KEYS.iter().any(|k| letters().eq(k.bytes())) {
                    collect_strings(v, out);
                }
            }
        }
        _ => {}
    }
}

/// The rules from the host's configuration.
fn load_rules() -> Result<Rules, ConfigError> {
    let value: serde_json::Value =
        imini_sdk::host::config_as().map_err(|e| ConfigError(e.message))?;
    Rules::build(&Config::from_json(value)?)
}

/// The rules, or the error the host sees when the configuration is bad.
fn rules_or_error() -> Result<Rules, PluginError> {
    load_rules().map_err(|e| PluginError::internal(format!("{NAME} configuration: {e}")))
}

struct Terms;

impl Policy for Terms {
    fn validate_config(config: &serde_json::Value) -> Result<(), PluginError> {
        Config::from_json(config.clone())
            .and_then(|c| Rules::build(&c))
            .map(|_| ())
            .map_err(|e| PluginError::invalid_request(format!("{NAME} configuration: {e}")))
    }

    fn describe() -> Result<PolicyInfo, PluginError> {
        load_rules()
            .map_err(|e| PluginError::invalid_request(format!("{NAME} configuration: {e}")))?;
        Ok(info())
    }

    fn check_request(req: GenerationRequest) -> Result<Verdict, PluginError> {
        check_request_with(
            &rules_or_error()?,
            &req,
            &mut imini_sdk::host::blob_read_all,
        )
    }

    fn check_output(_req: GenerationRequest, outputs: Vec<Media>) -> Result<Verdict, PluginError> {
        check_output_with(
            &rules_or_error()?,
            &outputs,
            &mut imini_sdk::host::blob_read_all,
        )
    }
}

export_policy!(Terms);
