//! The operator's configuration.

use serde_json::json;

use crate::engine::evaluate_text;
use crate::{Category, Config, Decision, Rules};

fn rules(config: serde_json::Value) -> Rules {
    Rules::build(&Config::from_json(config).unwrap()).unwrap()
}

fn error(config: serde_json::Value) -> String {
    match Config::from_json(config).and_then(|c| Rules::build(&c)) {
        Ok(_) => panic!("the configuration should be refused"),
        Err(e) => e.0,
    }
}

#[test]
fn empty_configuration_is_the_defaults() {
    for c in [json!({}), serde_json::Value::Null] {
        let r = rules(c);
        assert_eq!(evaluate_text(&r, "a beheading").decision, Decision::Deny);
        assert_eq!(r.hash_max_distance, 6);
    }
    assert!(Config::from_text("").is_ok());
}

#[test]
fn operator_terms_are_added() {
    let r = rules(json!({"categories": {
        "violence": {"terms": {"Haymaker": 1.0, "sucker punch*": 0.6}},
        "fraud": {"terms": ["Pump and Dump"]},
    }}));
    let o = evaluate_text(&r, "a HAYMAKER to the face");
    assert_eq!(
        (o.decision, o.category),
        (Decision::Deny, Some(Category::Violence))
    );
    assert!(o.reason.contains("term \"haymaker\""), "{}", o.reason);
    assert_eq!(
        evaluate_text(&r, "sucker punching").decision,
        Decision::Flag
    );
    assert_eq!(
        evaluate_text(&r, "p u m p and dump scheme").category,
        Some(Category::Fraud)
    );
    // The built-ins are still there.
    assert_eq!(evaluate_text(&r, "a beheading").decision, Decision::Deny);
}

#[test]
fn operator_weight_overrides_a_built_in_term() {
    let r = rules(json!({"categories": {"violence": {"terms": {"gore": 0.0}}}}));
    assert_eq!(evaluate_text(&r, "gore").decision, Decision::Allow);
    assert_eq!(evaluate_text(&r, "beheading").decision, Decision::Deny);
}

#[test]
fn replace_defaults_drops_the_built_ins() {
    let r = rules(json!({"categories": {"violence": {
        "replace_defaults": true, "terms": ["haymaker"]
    }}}));
    assert_eq!(evaluate_text(&r, "a beheading").decision, Decision::Allow);
    assert_eq!(
        evaluate_text(&r, "a man killing children").decision,
        Decision::Allow
    );
    assert_eq!(evaluate_text(&r, "haymaker").decision, Decision::Deny);
    // Other categories keep theirs.
    assert_eq!(evaluate_text(&r, "a naked child").decision, Decision::Deny);
}

#[test]
fn disabled_category_never_matches() {
    let r = rules(json!({
        "categories": {"ip_infringement": {"enabled": false}},
        "image_blocklist": [{"hash": "0123456789abcdef", "category": "ip_infringement"}],
    }));
    assert!(!r.enabled(Category::IpInfringement));
    assert_eq!(
        evaluate_text(&r, "remove watermark").decision,
        Decision::Allow
    );
    assert!(r.blocklist.is_empty());
}

#[test]
fn thresholds() {
    let r = rules(json!({"categories": {"deepfake": {"deny_at": 0.5, "flag_at": 0.2}}}));
    assert_eq!(evaluate_text(&r, "a deepfake").decision, Decision::Deny);
    let r = rules(json!({"categories": {"violence": {"deny_at": 5.0}}}));
    assert_eq!(evaluate_text(&r, "a beheading").decision, Decision::Flag);
}

#[test]
fn combos_patterns_and_allow() {
    let r = rules(json!({"categories": {"fraud": {
        "combos": [{"all": [["lottery"], ["winner notice", "claim your prize"]], "weight": 1.0, "name": "lottery scam"}],
        "patterns": {"\\bwire \\d+ (usd|dollars)\\b": 0.6},
        "allow": ["fake plants"],
    }}}));
    let o = evaluate_text(&r, "Lottery winner notice letter");
    assert_eq!(o.decision, Decision::Deny);
    assert!(
        o.reason
            .contains("combo lottery scam: \"lottery\", \"winner notice\""),
        "{}",
        o.reason
    );
    let o = evaluate_text(&r, "an email asking to WIRE 500 USD now");
    assert_eq!(o.decision, Decision::Flag);
    assert!(o.reason.contains("pattern"), "{}", o.reason);
    assert_eq!(
        evaluate_text(&r, "lottery ticket").decision,
        Decision::Allow
    );
}

#[test]
fn allow_phrases_are_per_category() {
    let r = rules(json!({"categories": {"violence": {"allow": ["beheading scene in a museum"]}}}));
    assert_eq!(
        evaluate_text(&r, "the beheading scene in a museum").decision,
        Decision::Allow
    );
    assert_eq!(evaluate_text(&r, "a beheading").decision, Decision::Deny);
}

#[test]
fn number_conditions() {
    let r = rules(json!({"categories": {"fraud": {
        "replace_defaults": true, "terms": {"#>=1000 free coins": 1.0, "#=7 day trial": 0.5}
    }}}));
    assert_eq!(
        evaluate_text(&r, "get 5000 free coins").decision,
        Decision::Deny
    );
    assert_eq!(
        evaluate_text(&r, "get 50 free coins").decision,
        Decision::Allow
    );
    assert_eq!(
        evaluate_text(&r, "a seven day trial").decision,
        Decision::Flag
    );
}

#[test]
fn bad_configurations_are_refused_naming_the_key() {
    let cases = [
        (json!({"categroies": {}}), "unknown field `categroies`"),
        (
            json!({"categories": {"violense": {}}}),
            "categories.violense: unknown category",
        ),
        (
            json!({"categories": {"violence": {"termz": []}}}),
            "categories.violence.termz: unknown field `termz`",
        ),
        (
            json!({"categories": {"violence": {"terms": {"x": "heavy"}}}}),
            "categories.violence.terms.x",
        ),
        (
            json!({"categories": {"violence": {"terms": 3}}}),
            "categories.violence.terms",
        ),
        (
            json!({"categories": {"violence": {"terms": {"gore": 1000}}}}),
            "weight 1000 is out of range",
        ),
        (
            json!({"categories": {"violence": {"terms": ["!!!"]}}}),
            "has no letters or digits",
        ),
        (
            json!({"categories": {"violence": {"terms": ["ab*"]}}}),
            "too short",
        ),
        (
            json!({"categories": {"violence": {"terms": ["#<x years"]}}}),
            "not a number condition",
        ),
        (
            json!({"categories": {"violence": {"patterns": ["(unclosed"]}}}),
            "categories.violence.patterns[\"(unclosed\"]: not a valid regular expression",
        ),
        (
            json!({"categories": {"violence": {"deny_at": 0}}}),
            "categories.violence.deny_at: 0 is out of range",
        ),
        (
            json!({"categories": {"violence": {"flag_at": 2.0}}}),
            "categories.violence.flag_at: 2 is above deny_at",
        ),
        (
            json!({"categories": {"violence": {"combos": [{"all": []}]}}}),
            "categories.violence.combos[0].all",
        ),
        (
            json!({"categories": {"violence": {"combos": [{"all": [["a"]], "wieght": 1}]}}}),
            "unknown field `wieght`",
        ),
        (
            json!({"image_blocklist": [{"hash": "xyz", "category": "hate"}]}),
            "image_blocklist[0].hash",
        ),
        (
            json!({"image_blocklist": [{"hash": "0123456789abcdef", "category": "nope"}]}),
            "image_blocklist[0].category: unknown category",
        ),
        (
            json!({"image_blocklist": [{"hash": "0123456789abcdef"}]}),
            "missing field `category`",
        ),
        (
            json!({"hash_max_distance": 40}),
            "hash_max_distance: 40 is out of range",
        ),
        (json!({"hash_max_distance": -1}), "hash_max_distance"),
        (
            json!({"classifier": {"deny_at": 1.5}}),
            "classifier.deny_at: 1.5 is out of range (0 to 1)",
        ),
        (
            json!({"classifier": {"deny_at": -0.1}}),
            "classifier.deny_at: -0.1 is out of range",
        ),
        (
            json!({"classifier": {"enabld": false}}),
            "classifier.enabld: unknown field `enabld`",
        ),
        (json!([1, 2]), "invalid type"),
    ];
    for (config, want) in cases {
        let got = error(config.clone());
        assert!(
            got.contains(want),
            "{config}: {got:?} should contain {want:?}"
        );
    }
    assert!(
        Config::from_text("{not json")
            .unwrap_err()
            .0
            .contains("not JSON")
    );
}

#[test]
fn the_readme_example_is_valid() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let settings: toml::Value = toml::from_str(&readme[start..end]).unwrap();
    let config = &settings["plugin_settings"]["policy-terms"]["config"];
    let r = rules(serde_json::to_value(config).unwrap());
    assert_eq!(
        evaluate_text(&r, "a curb stomping").decision,
        Decision::Deny
    );
    assert_eq!(evaluate_text(&r, "epic headshot").decision, Decision::Flag);
    assert_eq!(
        evaluate_text(&r, "remove watermark").decision,
        Decision::Allow
    );
    assert_eq!(
        evaluate_text(&r, "a fake diploma").decision,
        Decision::Allow
    );
    assert_eq!(
        evaluate_text(&r, "a fake passport").decision,
        Decision::Deny
    );
    assert_eq!(r.blocklist.len(), 1);
}

#[test]
fn operators_add_real_people_who_are_denied_in_discrediting_context_only() {
    let config =
        Config::from_json(serde_json::json!({"persons": ["Jane Q Mayor", "Zyx Wqvbnm"]})).unwrap();
    let rules = Rules::build(&config).unwrap();
    let o = evaluate_text(&rules, "Jane Q. Mayor naked in the shower");
    assert_eq!(o.decision, Decision::Deny, "{o:?}");
    assert_eq!(o.category, Some(Category::Deepfake));
    assert!(
        o.reason.contains("real person+discrediting"),
        "{}",
        o.reason
    );
    let o = evaluate_text(&rules, "zyx wqvbnm arrested in handcuffs");
    assert_eq!(o.decision, Decision::Deny, "{o:?}");
    for benign in ["Jane Q Mayor cutting a ribbon", "Zyx Wqvbnm on stage"] {
        assert_eq!(
            evaluate_text(&rules, benign).decision,
            Decision::Allow,
            "{benign}"
        );
    }
    // Without the configuration, the names are nobody.
    assert_eq!(
        evaluate_text(&Rules::defaults(), "Zyx Wqvbnm naked").decision,
        Decision::Allow
    );
}

#[test]
fn persons_are_validated() {
    let bad = |value: serde_json::Value| {
        Rules::build(&Config::from_json(value).unwrap())
            .unwrap_err()
            .0
    };
    assert!(bad(serde_json::json!({"persons": ["ok name", "!!"]})).starts_with("persons[1]: "));
    assert!(bad(serde_json::json!({"persons": ["abc*"]})).contains("not a name"));
    let replaced = bad(serde_json::json!({
        "persons": ["Jane Doe"],
        "categories": {"deepfake": {"replace_defaults": true}}
    }));
    assert!(replaced.starts_with("persons: "), "{replaced}");
    // With deepfake off, the names are not needed and not refused.
    let off = serde_json::json!({"persons": ["Jane Doe"], "categories": {"deepfake": {"enabled": false}}});
    assert!(Rules::build(&Config::from_json(off).unwrap()).is_ok());
    assert!(Config::from_json(serde_json::json!({"persons": "Jane"})).is_err());
}
