//! The built-in rules of `sexual_minors`: sexual content involving minors.

use super::{Combo, Defaults, NOT_SEXUAL};

const MINORS: &[&str] = &[
    "child", "children", "childs", "kid", "kids", "kiddie", "kiddies", "minor", "minors",
    "underage", "underaged", "under age", "teen", "teens", "teenage", "teenager", "teenagers",
    "preteen", "preteens", "pre teen", "tween", "tweens", "schoolgirl", "schoolgirls",
    "schoolboy", "schoolboys", "school girl", "school girls", "school boy", "school boys",
    "school uniform", "toddler", "toddlers", "infant", "infants", "newborn", "newborns",
    "young girl", "young girls", "young boy", "young boys", "little girl", "little girls",
    "little boy", "little boys", "loli", "lolis", "shota", "shotas", "juvenile", "juveniles",
    "pubescent", "prepubescent", "elementary school", "middle school", "primary school",
    "kindergarten", "daughter", "#<18 year old", "#<18 years old", "#<18 year", "#<18 years",
    "#<18 yo", "#<18 yr", "#<18 yrs", "#<18 yr old", "#<18 yrs old", "#<18 yearold",
    "#<18 yold", "aged #<18", "age #<18",
];

const SEXUAL: &[&str] = &[
    "nude", "nudes", "nudity", "nudist", "naked", "sexual", "sexually", "sexualized",
    "sexualised", "sex", "sexy", "erotic", "erotica", "lingerie", "porn*", "nsfw", "undress*",
    "topless", "seductive", "seducing", "seduce", "explicit", "lewd", "hentai", "ecchi",
    "genital*", "boobs", "nipples", "vagina*", "penis*", "masturbat*", "orgasm*", "aroused",
    "arousing", "fetish*", "bdsm", "bondage", "no clothes", "without clothes", "no clothing",
    "unclothed", "provocative", "sensual", "sultry", "onlyfans", "stripper", "strippers",
    "striptease", "intercourse", "molest*", "rape", "raped", "raping", "rapist", "pedo",
    "pedophil*", "paedophil*", "making out", "suggestive pose",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("jailbait", 1.0), ("lolicon", 1.0), ("shotacon", 1.0), ("loli porn", 1.0),
        ("child porn*", 1.0), ("cp porn", 1.0), ("kiddie porn*", 1.0), ("kiddy porn*", 1.0),
        ("csam", 1.0), ("child sexual abuse material", 1.0), ("child erotica", 1.0),
        ("pedo porn", 1.0), ("preteen model", 0.5), ("child model nude", 1.0),
    ],
    combos: &[Combo { name: "minor+sexual", weight: 1.0, groups: &[MINORS, SEXUAL] }],
    allow: &[NOT_SEXUAL, &[
        "sex education", "sex ed", "minor chord", "minor key", "minor league", "minor details",
        "minor injury", "minor injuries", "sexual health education",
    ]],
};
