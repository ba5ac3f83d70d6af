//! The built-in rules of `terrorism`: terrorism.

use super::{Combo, Defaults, Product, TEACHING_CONTEXT};

const EXTREMISTS: &[&str] = &[
    "isis", "isil", "daesh", "al qaeda", "alqaeda", "al shabaab", "boko haram", "jihadi",
    "jihadis", "jihadist", "jihadists", "terrorist", "terrorists", "terror group",
    "terrorist group", "terrorist organization", "terror cell",
    "estado islamico", "etat islamique", "islamischer staat", "daech", 
    "yihadista", "yihadistas", "jihadiste", "jihadistes", "dschihadist*", "terroristas",
    "terroristes", "terroristen", "伊斯兰国", "基地组织", "恐怖分子", "恐怖组织", 
    "hamas", "hezbollah", "taliban", "al qaida", "osama bin laden", "bin laden", "atomwaffen",
    "atomwaffen division", "oklahoma city bomber", "timothy mcveigh", "unabomber",
    "anders breivik", "breivik", "brenton tarrant", "christchurch shooter", "dylann roof",
    "islamic state",  "synagogue shooter", "mosque shooter",
    "church shooter", "school shooter", "mass shooter",
    "jihad", "yihad", "djihad", "dschihad", "jihadi john", "mujahideen", "mujahedeen",
    "mujahidin", "black standard", "isis fighter",
    "isis fighters", "al nusra", "nusra front", "lashkar e taiba", "jaish e mohammed",
    "aum shinrikyo", "bataclan attackers", "bataclan terrorists", "manchester arena bomber",
    "manchester bomber", "arena bomber", "boston marathon bomber", "boston bombers",
    "marathon bomber", "mcveigh", "hijackers", "9 11 hijackers", "mohamed atta",
    "suicide bomber", "suicide bombers", "suicide bombing", "terrorista suicida",
    "selbstmordattentater*", "attentater*", "kamikaze terrorist", "infidels", "kuffar",
    "kafir", "kafirs", "daesh fighters", "al qaeda fighters", "自杀式", "人肉炸弹", "恐怖主义",
    "al qaida", "alqaida", "boko haram fighters", "shabaab",
    "holy war", "holy warrior", "guerra santa", "guerre sainte", "heiliger krieg",
    "heiligen krieg",
];

const GLORIFYING: &[&str] = &[
    "propaganda", "recruitment", "recruiting", "flag", "flags", "banner", "glorif*",
    "celebrat*", "heroic", "martyr", "martyrs", "martyrdom", "training camp", "manifesto",
    "join us", "victory",
    "reclutamiento", "recrutement", "rejoindre", "rekrutierung*", "propagande", "propaganda",
    "bandera negra", "drapeau noir", "schwarze flagge", "schwarzer flagge", "招募", "宣传",
    "圣战", "黑旗", "号召", "rekrutierungsplakat",
    "hero", "heroes", "praising", "tribute", "glorious",
    "celebration", "take up arms", "martyrdom operation",
    "saint", "as a hero", "as heroes", "legend", "poster boy", "call to hijrah", "hijrah",
    "call to jihad", "holy warriors", "glory", "homenaje", "heroe", "heroes", "martir",
    "martires", "hommage", "heros", "martyr", "helden", "heldenhaft", "verherrlich*", "歌颂", "赞美", "英雄", "烈士", "致敬",
    "thumbnail praising", "praise", "taste of martyrdom", "blessed operation", "als held",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("poison the water supply", 1.0),
        ("poison the city water", 1.0), ("poisoning the water supply", 1.0),
        ("poison the city water supply", 1.0), ("contaminate the water supply", 1.0),
        ("poison the reservoir", 1.0),
        ("martyrdom operation", 1.0), ("martyrdom operations", 1.0), ("release poison gas", 1.0),
        ("poison gas attack", 1.0), ("maximum casualties", 1.0), 
        ("race war", 0.5),
        ("bomba casera", 1.0), ("fabricar una bomba", 1.0), ("hacer una bomba", 1.0),
        ("bombe artisanale", 1.0), ("fabriquer une bombe", 1.0), ("rohrbombe", 1.0),
        ("rohrbomben", 1.0), ("bombe bauen", 1.0), ("atentado terrorista", 1.0),
        ("attentat terroriste", 1.0), ("terroranschlag", 1.0), ("rekrutierungsplakat des is", 1.0),
        ("制造炸弹", 1.0), ("自制炸弹", 1.0), ("恐怖袭击", 1.0), ("放置炸弹", 1.0), ("爆炸袭击", 1.0),
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
        ("carbomb", 1.0), ("carbombs", 1.0), ("pipebomb", 1.0), ("pipebombs", 1.0),
        ("suicidebomb*", 1.0), ("coche bomba", 1.0), ("voiture piegee", 1.0), ("autobombe", 1.0),
        ("汽车炸弹", 1.0), ("自杀式炸弹", 1.0), ("自杀式袭击", 0.6), ("selbstmordattentat*", 0.6),
        ("atentado suicida", 0.6), ("attentat suicide", 0.6), ("truck bomb", 1.0),
        ("bomb vest", 1.0), ("explosive vest", 1.0), ("martyr vest", 1.0), ("martyrdom vest", 1.0),         ("poisoning a city s water", 1.0),
        ("poisoning a citys water", 1.0), ("release sarin", 1.0), ("sarin gas attack", 1.0),
        ("recruitment poster for isis", 1.0), ("isis recruitment", 1.0), ("join the jihad", 1.0),
        ("join jihad", 1.0), ("isis recrutment", 1.0), ("recruit for isis", 1.0),
        ("recruit people for the islamic state", 1.0), ("jihadi recruitment", 1.0),
        ("jihad recruitment", 1.0), ("pipe bom", 1.0), ("car bom", 1.0), ("suicide bomer", 1.0),
        ("sucide bomber", 1.0), ("sucide bomer", 1.0), ("sucide bomb", 1.0),
        ("terrorist atack", 1.0), ("terror atack", 1.0), ("bomb instrucions", 1.0),
    ],
    // Attacks on places: every head before every place, as terms
    // ("bomb the airport", "planting a bomb in a mall").
    products: &[Product {
        heads: &[
            "bomb", "bombing", "blow up", "blowing up", "plant a bomb on", "plant a bomb in",
            "plant a bomb at", "planting a bomb on", "planting a bomb in", "planting a bomb at",
        ],
        tails: &[
            "the airport", "the embassy", "the plane", "the mall", "the stadium", "the subway",
            "the train station", "the school", "the church", "the mosque", "the synagogue", "the concert",
            "the parade", "the parliament", "the capitol", "the white house", "the hospital", "the market",
            "the metro", "the festival", "a plane", "a mall", "a stadium", "a subway",
            "a train station", "a school", "a church", "a mosque", "a synagogue", "a concert",
            "a parade", "a parliament", "a capitol", "a white house", "a hospital", "a market",
            "a metro", "a festival", "an airport", "an embassy",
        ],
        weight: 1.0,
    }],
    combos: &[
        Combo { name: "extremist group+glorification", weight: 1.0, groups: &[EXTREMISTS, GLORIFYING] },
        Combo {
            name: "explosive+instructions",
            weight: 1.0,
            groups: &[
                &["bomb", "bombs", "explosive", "explosives", "ied", "detonator", "grenade", "bomba", "bombas", "bombe", "bombes", "explosifs", "explosivos", "sprengstoff", "炸弹"],
                &[
                    "instructions", "tutorial", "recipe", "step by step", "diagram", "blueprint",
                    "schematic", "how to make", "how to build", "assembly", "assemble",
                    "assembling", "ingredients",
            "diagrama", "fabricar", "instrucciones", "plan attaque", "plan d attaque", "fabriquer", "anleitung", "bauanleitung", "infografik", "计划图", "制作方法", "教程"],
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
            name: "attack plan on a target",
            weight: 1.0,
            groups: &[
                &["blow up", "blowing up", "bomb", "bombing", "explosives", "detonate"],
                &[
                    "bridge", "stadium", "subway", "train station", "airport", "power plant",
                    "parliament", "embassy", "mall", "concert", "parade", "crowd", "crowded",
                ],
                &[
                    "plan", "map", "how to", "where to", "during rush hour", "maximum casualties",
                    "blueprint", "instructions", "step by step",
                ],
            ],
        },
        Combo {
            name: "blowing oneself up in a crowd",
            weight: 1.0,
            groups: &[
                &[
                    "blows himself up", "blew himself up", "blowing himself up",
                    "blows herself up", "blowing herself up", "detonating his vest",
                    "detonates his vest", "detonating her vest", "haciendo explotar",
                    "hace explotar", "hizo explotar", "se hace explotar", "se inmola",
                    "se fait exploser", "s est fait exploser", "faisant exploser",
                    "sprengt sich", "sprengte sich", "sich in die luft",
                ],
                &[
                    "crowd", "market", "concert", "stadium", "station", "mosque", "church",
                    "school", "bus", "mercado", "multitud", "estadio", "estacion", "iglesia",
                    "marche", "foule", "gare", "eglise", "markt", "menge", "bahnhof",
                    "kirche", "chaleco", "gilet", "weste",
                ],
            ],
        },
        Combo {
            name: "shooting up a place",
            weight: 1.0,
            groups: &[
                &[
                    "shooting up", "shoot up", "shooting spree", "open fire", "opening fire",
                    "opened fire", "opens fire",
                ],
                &[
                    "school", "high school", "classroom",
                    "campus", "mall", "church", "mosque", "synagogue", "concert", "nightclub",
                    "crowd", "parade", "festival",
                ],
            ],
        },
        Combo {
            name: "shooter in a crowded place",
            weight: 1.0,
            groups: &[
                &[
                    "active shooter", "gunman", "gunmen", "mass shooter", "school shooter",
                    "shooter in a mall", "shooter in the mall", "shooter at the mall",
                    "shooter in a church", "shooter in a mosque", "shooter in a synagogue",
                ],
                &[
                    "mall", "school", "school hallway", "classroom", "church", "mosque",
                    "synagogue", "concert", "crowd", "crowded", "pov", "festival", "campus",
                    "supermarket", "nightclub",
                ],
            ],
        },
        Combo {
            name: "extremist+hostage",
            weight: 1.0,
            groups: &[
                EXTREMISTS,
                &[
                    "kneeling hostage", "kneeling hostages", "hostage in orange",
                    "hostages in orange", "orange jumpsuit", "orange jumpsuits", "over a hostage",
                    "knife to the throat", "beheading",
                ],
            ],
        },
        Combo {
            name: "chemical or biological attack",
            weight: 1.0,
            groups: &[
                &[
                    "sarin", "nerve agent", "nerve gas", "vx gas", "ricin", "anthrax",
                    "mustard gas", "chlorine gas", "poison gas", "botulinum",
                ],
                &[
                    "how to release", "how to make", "how to produce", "synthesize",
                    "synthesise", "recipe", "disperse", "on a subway", "in a subway", "in a crowd",
                    "release it", "attack on",
                ],
            ],
        },
        Combo {
            name: "hijacked plane+building+glorification",
            weight: 1.0,
            groups: &[
                &[
                    "hijacked plane", "hijacked planes", "hijacked airliner", "hijacked jet",
                    "plane crashing into", "plane flying into", "planes flying into",
                ],
                &["skyscraper", "skyscrapers", "tower", "towers", "building", "twin towers"],
                &[
                    "celebrat*", "propaganda", "glorious", "victory", "glorif*", "heroic",
                    "martyrdom", "blessed",
                ],
            ],
        },
        Combo {
            name: "9/11 glorification",
            weight: 1.0,
            groups: &[
                &["9 11", "september 11", "twin towers"],
                &[
                    "glorious", "celebrat*", "victory", "blessed", "our brothers", "propaganda",
                    "glorif*",
                ],
            ],
        },
        Combo { name: "teaching, history or news context", weight: -1.0, groups: &[TEACHING_CONTEXT] },
        Combo {
            name: "glorification or instructions despite the context",
            weight: 1.0,
            groups: &[
                TEACHING_CONTEXT,
                &[
                    "glorif*", "celebrat*", "heroic", "hero", "heroes", "as a hero", "praising",
                    "praise", "tribute", "glorious", "glory", "join us", "take up arms",
                    "call to jihad", "blessed operation", "taste of martyrdom", "legend", "saint",
                    "how to make", "how to build", "step by step", "instructions", "tutorial",
                    "recipe", "blueprint", "diagram",
                ],
            ],
        },
        Combo {
            name: "veiled bomb+crowded place",
            weight: 1.0,
            groups: &[
                &[
                    "go boom", "goes boom", "going boom", "go bang", "goes bang", "go kaboom",
                    "blow sky high", "pressure cooker surprise", "surprise package",
                    "package that goes off", "backpack that goes off", "martyr vest",
                    "martyrs vest", "martyrdom vest", "taking the unbelievers",
                    "take the unbelievers", "taking the infidels", "take the infidels",
                    "taking the kuffar", "going to paradise", "go to paradise",
                    "straight to paradise",
                ],
                &[
                    "stadium", "crowd", "crowded", "market", "concert", "marathon", "finish line",
                    "subway", "train station", "airport", "mall", "bus", "parade", "festival",
                    "embassy", "bridge", "school", "church", "mosque", "synagogue", "wedding",
                    "unbelievers", "infidels", "people", "rush hour", "final",
                ],
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
        "active shooter drill", "active shooter drills", "active shooter training",
        "active shooter preparedness", "active shooter safety",
        "school shooting vigil", "school shooting memorial", "shooting vigil", "shooting memorial",
        "school shooting survivors", "school shooting victims", "school shooting prevention",
        "against school shootings", "stop school shootings", "end school shootings",
        "bath bomb", "bath bombs", "photo bomb", "photobomb", "bomb pop", "bombshell",
        "f bomb", "da bomb", "counter terrorist", "counter terrorists", "counter terrorism",
        "anti terrorism", "flag football", "seed bomb", "seed bombs", "glitter bomb",
        "bomb jacket", "bomb diggity", "goddess isis", "isis goddess", "temple of isis",
        "isis and osiris", "fireworks go boom", "fireworks goes boom", "fireworks going boom",
        "fireworks go bang", "confetti cannons go boom",
        // News of an attack, after the fact.
        "after a mass shooting", "after the mass shooting", "victims of a mass shooting",
        "victims of the mass shooting", "about a terrorist attack", "about the terrorist attack",
        "after a terrorist attack", "after the terrorist attack", "victims of a terrorist attack",
        "victims of the terrorist attack", "irish car bomb", "victims of a school shooting",
        "victims of the school shooting", "after a school shooting", "after the school shooting",
    ]],
};
