//! The built-in rules of `self_harm`: self-harm and suicide.

use super::{Combo, Defaults};

const SUICIDE: &[&str] = &[
    "suicide", "suicidal", "end my life", "kill myself", "end it all", "suicidio", "suicidarse",
    "se suicider", "suicidaire", "selbstmord", "suizid", "自杀", "自殺",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("cutting her wrists", 1.0), ("cutting his wrists", 1.0), ("cutting their wrists", 1.0),
        ("cut her wrists", 1.0), ("cut his wrists", 1.0), ("overdosing on pills", 1.0),
        ("overdose on pills", 1.0), ("kill yourself", 1.0), ("kill urself", 1.0),
        ("kill ur self", 1.0), ("unalive myself", 1.0), ("unalive", 0.6), ("sewerslide", 1.0),
        ("sewer slide", 1.0), ("suicide by hanging", 1.0), ("dying by hanging", 1.0),
        ("how to tie a noose", 1.0), ("tie a noose", 1.0), ("noose tying", 1.0),
        ("tying a noose", 1.0), ("no one will miss you", 1.0), ("nobody will miss you", 1.0),
        ("burning their own arm", 1.0), ("burning her own arm", 1.0),
        ("burning his own arm", 1.0),
        ("cortandose las munecas", 1.0), ("cortarse las munecas", 1.0), ("quitarse la vida", 1.0),
        ("autolesion", 1.0), ("autolesiones", 1.0), ("se scarifie", 1.0), ("scarification", 0.6),
        ("se taillader les veines", 1.0), ("automutilation", 1.0), ("ritzt sich", 1.0),
        ("ritzen", 0.6), ("selbstverletzung", 1.0), ("割腕", 1.0), ("自残", 1.0), ("自杀方法", 1.0),
        ("鼓励自杀", 1.0), ("リストカット", 1.0),
        ("kys", 1.0),
        ("self harm", 1.0), ("selfharm", 1.0), ("self harming", 1.0), ("self injury", 1.0),
        ("self mutilation", 1.0), ("self inflicted", 0.6), ("cutting myself", 1.0),
        ("cut myself", 1.0), ("kill myself", 1.0), ("killing myself", 1.0),
        ("hang myself", 1.0), ("hanging myself", 1.0), ("end my life", 1.0),
        ("ending my life", 1.0), ("take my own life", 1.0), ("taking my own life", 1.0),
        ("i want to die", 1.0), ("want to die", 0.6), ("slit wrists", 1.0),
        ("slit my wrists", 1.0), ("slit her wrists", 1.0), ("slit his wrists", 1.0),
        ("slit their wrists", 1.0), ("slitting wrists", 1.0), ("slitting my wrists", 1.0),
        ("slashed wrists", 1.0), ("slashing wrists", 1.0), ("cut wrists", 1.0),
        ("cut my wrists", 1.0), ("cutting my wrists", 1.0), ("cutting wrists", 1.0),
        ("wrist cutting", 1.0), ("cutting scars", 0.6), ("pro ana", 1.0), ("proana", 1.0),
        ("pro mia", 1.0), ("thinspiration", 1.0), ("thinspo", 1.0), ("bonespo", 1.0),
        ("meanspo", 1.0), ("starving myself", 1.0), ("suicidal", 0.5), ("suicide", 0.3),
        ("suicide note", 0.6), ("noose", 0.2), ("overdose", 0.2),
    ],
    combos: &[
        Combo {
            name: "suicide+method",
            weight: 1.0,
            groups: &[
                SUICIDE,
                &[
                    "how to", "method", "methods", "ways to", "painless", "instructions",
                    "tutorial", "guide", "tips", "best way", "easiest way", "pills", "overdose",
                    "noose", "jump off", "jumping off", "razor", "gun to my head",
                "anima", "encourage", "anleitung", "schlinge", "鼓励", "方法", "como"],
            ],
        },
        Combo {
            name: "suicide+first person",
            weight: 1.0,
            groups: &[
                SUICIDE,
                &[
                    "myself", "i want", "i will", "im going", "i am going", "i feel", "i wanna",
                    "my own", "commit",
                ],
            ],
        },
        Combo {
            name: "eating disorder promotion",
            weight: 1.0,
            groups: &[
                &["anorexia", "anorexic", "bulimia", "bulimic", "eating disorder", "purging"],
                &["tips", "motivation", "goals", "inspiration", "how to", "encourag*", "glorif*"],
            ],
        },
    ],
    allow: &[&[
        "suicide prevention", "suicide awareness", "suicide hotline", "suicide helpline",
        "suicide squad", "suicide doors", "suicide crisis", "cut myself a slice",
        "cutting myself a slice", "cut myself a piece", "cut myself some",
    ]],
};
