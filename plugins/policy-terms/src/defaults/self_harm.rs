//! The built-in rules of `self_harm`: self-harm and suicide.

use super::{Combo, Defaults};

const SUICIDE: &[&str] = &[
    "suicide", "suicidal", "end my life", "kill myself", "end it all", "suicidio", "suicidarse",
    "se suicider", "suicidaire", "selbstmord", "suizid", "自杀", "自殺",
    "kill herself", "kill himself", "killing herself", "killing himself",
    "take my own life", "suicde", "sucide", "suiside", "suicid", "unalive",
    "suicidar*", "se tuer", "mich umbringen", "umbringen", "轻生", "寻死",
];

/// Methods of suicide, and ways to ask for them.
const METHODS: &[&str] = &[
    "how to", "method", "methods", "ways to", "painless", "painlessly", "instructions",
    "tutorial", "tutoral", "guide", "tips", "best way", "easiest way", "least painful", "pills",
    "overdose", "noose", "jump off", "jumping off", "razor", "gun to my head", "hanging",
    "hang", "step by step", "lethal dose", "sleeping pills",
    "carbon monoxide", "bridge", "train tracks", "anima", "encourage", "anleitung",
    "schlinge", "鼓励", "方法", "como", "comment", "wie", "怎样", "怎么", "如何", "无痛", "教程",
    "图解", "sin dolor", "sans douleur", "schmerzlos", "medicaments", "medicamentos",
    "pastillas", "tabletten", "安眠药", "guia", "jump", "jumping", "glamorous", "glamour*",
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
        ("starving yourself", 1.0), ("starve yourself", 1.0), ("starve myself", 1.0),
        ("starve herself", 1.0), ("starving herself", 1.0), ("stop eating", 0.4),
        ("eat nothing", 0.4), ("cutting aesthetic", 1.0), ("cuts aesthetic", 1.0),
        ("self harm aesthetic", 1.0), ("scars aesthetic", 0.6), ("barcode arms", 1.0),
        ("barcode wrists", 1.0), ("exit bag", 1.0), ("suicide bag", 1.0),
        ("bleed out", 0.4), ("fresh cuts on", 0.6), ("fresh self harm", 1.0),
        ("kill myself painlessly", 1.0),
        ("hung herself", 1.0), ("hung himself", 1.0), ("hanging herself", 1.0),
        ("hanging himself", 1.0), ("not wake up", 0.5), ("never wake up", 0.5),
        ("wont wake up", 0.5), ("to not wake up", 0.5), ("anorexia tips", 1.0),
        ("purge without", 1.0), ("how to purge", 1.0), ("bulimia tips", 1.0),
        ("cortarse", 0.6), ("cortandose", 0.6), ("scarifications", 0.6),
        ("se scarifier", 1.0), ("ritzt", 0.6), ("ritzen sich", 1.0), ("sich ritzen", 1.0),
        ("自杀教程", 1.0), ("割脉", 1.0), ("上吊", 0.6), ("self harme", 1.0), ("selfharme", 1.0),
        ("self harn", 1.0), ("cutwrists", 1.0), ("cuting my wrists", 1.0), ("cuting my rists", 1.0),
        ("cutting my rists", 1.0), ("kill themselves", 1.0), ("kill yourselves", 1.0),
        ("end your life", 1.0), ("end their lives", 0.6), ("take your own life", 1.0),
        ("goodbye note", 0.4), ("makes the pain go away", 0.6), ("cigarette burns on", 0.6),
        ("ana goals", 1.0), ("ana coach", 1.0), ("ana buddy", 1.0), ("mia tips", 1.0),
        ("thigh gap goals", 0.6), ("skip meals", 0.4), ("skip dinner", 0.3),
        ("gun in his mouth", 1.0), ("gun in her mouth", 1.0), ("gun in my mouth", 1.0),
        ("barrel in his mouth", 1.0), ("barrel in her mouth", 1.0), ("to starve", 0.6),
        ("cutting deeper", 0.6), ("cut deeper", 0.6), ("without stitches", 0.4),
    ],
    combos: &[
        Combo { name: "suicide+method", weight: 1.0, groups: &[SUICIDE, METHODS] },
        Combo {
            name: "overdose+intent",
            weight: 1.0,
            groups: &[
                &[
                    "pills", "sleeping pills", "paracetamol", "acetaminophen", "tylenol",
                    "painkillers", "medication", "medications",
                ],
                &[
                    "to die", "lethal dose", "fatal dose", "deadly dose", "not wake up",
                    "never wake up", "wont wake up", "end it", "end it all", "take to die",
                    "guide to overdosing", "how to overdose", "overdosing on",
                ],
            ],
        },
        Combo {
            name: "noose+depiction",
            weight: 1.0,
            groups: &[
                &["noose", "nooses", "hanging from a noose", "hanged herself", "hanged himself"],
                &[
                    "tutorial", "how to", "ceiling fan", "aesthetic", "beautiful", "romantic",
                    "peaceful", "step by step", "instructions", "tie",
                ],
            ],
        },
        Combo {
            name: "jump+intent",
            weight: 1.0,
            groups: &[
                &[
                    "jumping off", "jump off", "jumping from", "about to jump", "leap from",
                    "leaping off", "jump in front of", "on the train tracks", "roof ledge",
                ],
                &["to end it", "end it", "end it all", "to die", "glamoriz*", "glamoris*", "glamouris*"],
            ],
        },
        Combo {
            name: "cutting+depiction",
            weight: 1.0,
            groups: &[
                &[
                    "cuts", "cutting", "razor blade", "razor", "fresh cuts", "fresh wounds",
                    "scars", "red lines",
                ],
                &[
                    "forearm", "forearms", "wrist", "wrists", "thigh", "thighs", "arms", "vein",
                    "veins", "artery",
                ],
                &[
                    "aesthetic", "tumblr", "sad", "depressing", "so no one sees", "no one sees",
                    "nobody sees", "hide them", "how deep", "deep enough", "to die",
                    "glamori*", "grunge", "best places",
                ],
            ],
        },
        Combo {
            name: "suicide romanticised",
            weight: 1.0,
            groups: &[
                &["overdosing", "overdose", "noose", "suicide", "slit wrists", "goodbye note"],
                &[
                    "make it look inviting", "inviting", "romantic", "romanticized",
                    "romanticised", "glamorized", "glamorised", "glamourised", "beautiful and peaceful",
                    "peaceful and inviting", "aesthetic", "dreamy", "tonight s the night",
                    "tonights the night",
                ],
            ],
        },
        Combo {
            name: "gas+intent",
            weight: 1.0,
            groups: &[
                &["carbon monoxide", "exhaust fumes", "charcoal burning", "gas oven"],
                &["painless", "painlessly", "end it", "end my life", "to die", "peaceful death"],
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
                &["anorexia", "anorexic", "bulimia", "bulimic", "eating disorder", "purging", "starve"],
                &[
                    "tips", "motivation", "goals", "inspiration", "how to", "encourag*", "glorif*",
                    "poster", "thinspo", "progress",
                ],
            ],
        },
    ],
    allow: &[&[
        "suicide prevention", "suicide awareness", "suicide hotline", "suicide helpline",
        "suicide squad", "suicide doors", "suicide crisis", "cut myself a slice",
        "cutting myself a slice", "cut myself a piece", "cut myself some",
        "overdose prevention", "overdose awareness", "eating disorder recovery",
        "eating disorder awareness", "anorexia recovery", "recovery poster",
        "suicide prevention hotline", "starving artist", "starving artists",
        "self harm warning", "self harm signs", "self harm awareness",
        "self harm prevention", "self harm support", "self harm recovery",
    ]],
};
