//! The built-in rules of `terrorism`: terrorism.

use super::{Combo, Defaults};

const EXTREMISTS: &[&str] = &[
    "isis", "isil", "daesh", "al qaeda", "alqaeda", "al shabaab", "boko haram", "jihadi",
    "jihadis", "jihadist", "jihadists", "terrorist", "terrorists", "terror group",
    "terrorist group", "terrorist organization", "terror cell",
];

const GLORIFYING: &[&str] = &[
    "propaganda", "recruitment", "recruiting", "flag", "flags", "banner", "glorif*",
    "celebrat*", "heroic", "martyr", "martyrs", "martyrdom", "training camp", "manifesto",
    "join us", "victory",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("join the caliphate", 1.0), ("joining the caliphate", 1.0),
        ("terrorist attack", 1.0), ("terrorist attacks", 1.0), ("terror attack", 1.0),
        ("suicide bomb*", 1.0), ("suicide vest", 1.0), ("car bomb", 1.0), ("car bombs", 1.0),
        ("pipe bomb", 1.0), ("pipe bombs", 1.0), ("nail bomb", 1.0), ("dirty bomb", 1.0),
        ("bomb making", 1.0), ("bombmaking", 1.0), ("make a bomb", 1.0), ("making a bomb", 1.0),
        ("build a bomb", 1.0), ("building a bomb", 1.0), ("homemade bomb", 1.0),
        ("homemade explosive", 1.0), ("homemade explosives", 1.0), ("ied", 0.6),
        ("improvised explosive", 1.0), ("isis flag", 1.0), ("isis propaganda", 1.0),
        ("jihadi propaganda", 1.0), ("jihadist propaganda", 1.0), ("jihad propaganda", 1.0),
        ("terrorist propaganda", 1.0), ("terrorist recruitment", 1.0), ("join isis", 1.0),
        ("mass shooting", 1.0), ("mass shootings", 1.0), ("school shooting", 1.0),
        ("mosque shooting", 1.0), ("synagogue shooting", 1.0), ("church shooting", 1.0),
        ("lone wolf attack", 1.0), ("anthrax attack", 1.0), ("sarin attack", 1.0),
        ("nerve agent attack", 1.0), ("chemical attack", 0.6), ("glorifying terrorism", 1.0),
        ("glorify terrorism", 1.0), ("hijacked plane", 0.6),
        ("twin towers attack", 0.6), ("9 11 attack", 0.6), ("bomb threat", 0.6),
    ],
    combos: &[
        Combo { name: "extremist group+glorification", weight: 1.0, groups: &[EXTREMISTS, GLORIFYING] },
        Combo {
            name: "explosive+instructions",
            weight: 1.0,
            groups: &[
                &["bomb", "bombs", "explosive", "explosives", "ied", "detonator", "grenade"],
                &[
                    "instructions", "tutorial", "recipe", "step by step", "diagram", "blueprint",
                    "schematic", "how to make", "how to build", "assembly", "assemble",
                    "assembling", "ingredients",
                ],
            ],
        },
        Combo {
            name: "attack+crowd",
            weight: 1.0,
            groups: &[
                &["truck attack", "vehicle attack", "bomb attack", "bombing attack", "suicide attack"],
                &["crowd", "crowds", "people", "civilians", "market", "festival", "concert"],
            ],
        },
        Combo {
            name: "plane+twin towers",
            weight: 0.5,
            groups: &[
                &["plane", "planes", "airplane", "airliner", "jet", "hijack*"],
                &["twin towers", "world trade center"],
            ],
        },
    ],
    allow: &[&[
        "bath bomb", "bath bombs", "photo bomb", "photobomb", "bomb pop", "bombshell",
        "f bomb", "da bomb", "counter terrorist", "counter terrorists", "counter terrorism",
        "anti terrorism", "flag football", "seed bomb", "seed bombs", "glitter bomb",
        "bomb jacket", "bomb diggity",
    ]],
};
