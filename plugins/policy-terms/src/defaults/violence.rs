//! The built-in rules of `violence`: graphic violence and violence against real people.

use super::{Combo, Defaults};

/// Violent acts that leave no doubt.
const ACTS: &[&str] = &[
    "kill", "kills", "killing", "killed", "murder", "murders", "murdered", "murdering",
    "stab", "stabs", "stabbing", "stabbed", "massacre", "massacred", "massacring",
    "slaughter", "slaughtered", "slaughtering", "slaughters", "butchered", "butchering",
    "lynching", "lynched", "lynch mob", "strangl*", "beat to death", "beaten to death",
    "beating to death", "burn alive", "burned alive", "burning alive", "set on fire",
    "setting on fire", "gun down", "gunned down", "gunning down", "mow down", "mowed down",
    "mowing down", "shot dead", "shoot dead", "torture", "tortured", "torturing", "behead*",
    "decapitat*", "dismember*", "bomb", "bombing", "hanged",
    "bludgeon*", "impale*", "curb stomp*", "curbstomp*", "kicked to death", "kicking to death",
    "stomped to death", "stomping to death", "stoned to death", "stoning", "shot in the head",
    "shot in the face", "thrown against a wall", "set on fire", "being set on fire",
    "setting fire to", "strangle", "strangled", "strangling", "choked to death", "unalive",
    "beat his wife", "beating his wife", "beats his wife",
    "stab someone", "kill someone", "murder someone", "apunala*", "acuchilla*", "asesina*",
    "matar", "erstochen", "erschlagen", "ermordet", "ermorden", "poignarde*", "tuer",
    "砍人", "杀人", "捅死", "杀死",
];

/// Acts that are often innocent ("shooting a film", "executing a plan").
const WEAK_ACTS: &[&str] = &[
    "shoot", "shoots", "shooting", "execute", "executes", "executed", "execution", "attack",
    "attacks", "attacking", "attacked", "assault", "assaulting", "assaulted", "punching",
    "kicking", "beating", "hang", "hanging", "drown", "drowning", "drowned", "blow up",
    "blowing up", "blew up", "bombed", "executing", "shot", "shooting at", "beaten", "punched",
    "kicked", "choking", "burning", "hitting", "hit", "thrown", "throwing",
];

/// Real people as victims.
const TARGETS: &[&str] = &[
    "child", "children", "kid", "kids", "baby", "babies", "toddler", "toddlers", "infant",
    "infants", "school", "schools", "schoolchildren", "student", "students", "classmate",
    "classmates", "teacher", "teachers", "crowd", "crowds", "protester", "protesters",
    "protestor", "protestors", "people", "civilian", "civilians", "innocent people",
    "innocents", "pedestrians", "worshippers", "worshipers", "congregation", "refugees",
    "immigrants", "migrants", "jews", "muslims", "christians", "black people", "gay people",
    "women", "hostages", "shoppers", "concertgoers", "family", "my family", "my wife",
    "my husband", "my neighbor", "my neighbour", "my boss", "my teacher", "my coworkers",
    "my coworker", "my classmates", "my classmate", "my mom", "my dad", "my parents",
    "my girlfriend", "my boyfriend", "my ex", "police officers", "mall", "church", "mosque",
    "synagogue", "temple", "hospital", "daycare", "kindergarten", "nursery", "president",
    "woman", "girl", "boy", "wife", "husband", "someone", "somebody", "a person", "person",
    "homeless", "homeless man", "homeless person", "hostage", "prisoner", "prisoners",
    "neighbor", "neighbors", "neighbour", "neighbours", "victim", "victims", "old man",
    "elderly", "grandma", "grandpa", "girlfriend", "boyfriend", "protester", "student",
    "mujer", "hombre", "rehen", "femme", "homme", "otage", "enfant", "frau", "geisel", "女人",
    "男人", "孩子", "人质",
];

const WEAPONS_OR_WOUNDS: &[&str] = &[
    "gun", "guns", "rifle", "rifles", "pistol", "pistols", "handgun", "handguns", "shotgun",
    "firearm", "firearms", "ar 15", "ak 47", "assault rifle", "machine gun", "gunman",
    "gunmen", "shooter", "sniper", "bullet", "bullets", "blood", "bloody", "bleeding", "dead",
    "corpse", "corpses", "wounded", "knife", "machete", "bomb", "bombs", "explosive",
    "explosives", "explosion", "grenade", "baseball bat", "bat", "axe", "hammer", "crowbar",
    "belt", "chainsaw", "razor", "shotgun blast", "brass knuckles",
];

const HARMED_CHILD: &[&str] = &[
    "child", "children", "kid", "kids", "baby", "babies", "toddler", "toddlers", "infant",
    "infants",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("intestines spilling", 1.0), ("spilled intestines", 1.0), 
        ("brains on the wall", 1.0), ("brain matter", 1.0), ("skull caved in", 1.0),
        ("skull crushed", 1.0), ("crushed skull", 1.0), ("head crushed", 1.0),
         ("shot in the head", 0.6), ("skin peeled off", 1.0),
         ("severed finger", 1.0), ("severed fingers", 1.0),
        ("torture scene", 0.6), ("torture victim", 1.0), ("torture victims", 1.0),
         ("being tortured", 1.0), ("colombian necktie", 1.0),
        ("throats opened", 1.0), ("throat opened", 1.0), ("corpse pile", 0.6),
        ("pile of corpses", 0.6), ("pile of bodies", 0.6), 
        
        ("decapitad*", 1.0), ("decapitacion", 1.0), ("decapite", 1.0), ("decapitee", 1.0),
        ("decapites", 1.0), ("mutilad*", 1.0), ("mutile", 1.0), ("mutilee", 1.0),
        ("mutiles", 1.0), ("desmembrad*", 1.0), ("descuartizad*", 1.0), ("demembre*", 1.0),
        ("enthaupt*", 1.0), ("zerstuckelt*", 1.0), ("verstummelt*", 1.0), ("gefoltert*", 1.0),
        ("torturado", 1.0), ("torturada", 1.0), ("torture a mort", 1.0),
        ("斩首", 1.0), ("砍头", 1.0), ("肢解", 1.0), ("分尸", 1.0), ("碎尸", 1.0),
        ("内脏外露", 1.0), ("开膛破肚", 1.0), ("虐杀", 1.0),
        ("slit throat", 1.0), ("slit throats", 1.0), ("throat slit", 1.0), ("slit his throat", 1.0), ("slit her throat", 1.0),
        ("gore", 1.0), ("gory", 1.0), ("guro", 1.0), ("behead*", 1.0), ("decapitat*", 1.0),
        ("dismember*", 1.0), ("disembowel*", 1.0), ("mutilat*", 1.0), ("eviscerat*", 1.0),
        ("torture porn", 1.0), ("snuff film", 1.0), ("snuff films", 1.0), ("snuff movie", 1.0),
        ("snuff video", 1.0), ("flayed alive", 1.0), ("skinned alive", 1.0),
        ("severed head", 1.0), ("severed heads", 1.0), ("severed limb", 1.0),
        ("severed limbs", 1.0), ("entrails", 0.7), ("guts spilling", 1.0),
        ("brains splattered", 1.0), ("head blown off", 1.0), ("exploding head", 0.6),
        ("lynching", 1.0), ("lynched", 1.0), ("gouged eyes", 1.0), ("eye gouging", 1.0),
        ("execution video", 1.0), ("beheading video", 1.0), ("public execution", 0.6),
        ("school shooting", 1.0), ("school shootings", 1.0), ("mass murder", 0.6),
        ("bloodbath", 0.5), ("blood bath", 0.5), ("blood splatter", 0.3), ("blood spatter", 0.3),
        ("pool of blood", 0.4), ("covered in blood", 0.3), ("dead bodies", 0.4),
        ("dead body", 0.3), ("mass grave", 0.5), ("torture chamber", 0.2), ("torturing", 0.4),
        ("animal cruelty", 0.6), ("animal abuse", 0.6), ("torturing animals", 1.0),
        ("burned alive", 0.6), ("burning alive", 0.6), ("corpse", 0.2), ("corpses", 0.3),
        // Full words for misspellings, and more graphic injuries.
        ("decapitation", 1.0), ("decapitated", 1.0), ("dismembered", 1.0),
        ("dismemberment", 1.0), ("mutilated", 1.0), ("mutilation", 1.0), ("disemboweled", 1.0),
        ("disembowelled", 1.0), ("eviscerated", 1.0),
        ("blood spurting", 1.0), ("spurting blood", 1.0), ("blood gushing", 0.6),
        ("gushing blood", 0.6), ("face blown off", 1.0), ("faces blown off", 1.0),
        ("brains blown out", 1.0), ("blew his brains out", 1.0), ("blown to pieces", 0.6),
        ("red mist", 0.5), ("glasgow smile", 1.0), ("chelsea grin", 1.0),
        ("throat being slit", 1.0), ("slitting her throat", 1.0), ("slitting his throat", 1.0),
        ("cut his throat", 1.0), ("cut her throat", 1.0), ("cutting his throat", 1.0),
        ("cutting her throat", 1.0), ("slit the throat", 1.0), ("eyeball gouged", 1.0),
        ("eye gouged out", 1.0), ("eyes gouged out", 1.0), ("gouged out", 0.6),
        ("skinned", 0.4), ("flayed", 0.4), ("intestines", 0.4), ("guts", 0.2),
        ("ghost gun", 0.6), ("zip gun", 0.6), ("untraceable gun", 0.6), ("molotov", 0.4),
        ("kill someone", 1.0), ("kill somebody", 1.0), ("stab someone", 1.0),
        ("strangle someone", 1.0), ("poison someone", 1.0), ("murder someone", 1.0),
        ("kill a person", 1.0), ("killing someone", 1.0), ("hurt someone", 0.6),
        ("without leaving marks", 0.5), ("bleed out", 0.4), ("wife beating", 0.6),
        ("beaten to a pulp", 0.6), ("egorge*", 1.0), ("degolla*", 1.0), ("degollad*", 1.0),
        ("kehle durchgeschnitten", 1.0), ("abgeschlachtet", 1.0), ("massaker", 0.6),
        ("masacre", 0.6), ("charco de sangre", 0.4), ("bano de sangre", 0.6),
        ("bain de sang", 0.6), ("blutbad", 0.6), ("sangriento", 0.4), ("sanglant", 0.4),
        ("blutig", 0.4), ("cabeza cortada", 1.0), ("tete coupee", 1.0),
        ("abgetrennter kopf", 1.0), ("血腥", 0.6), ("鲜血四溅", 1.0), ("血肉模糊", 1.0),
        ("爆头", 1.0), ("割喉", 1.0), ("尸体", 0.3), ("throat cut", 1.0), ("her throat cut", 1.0),
        ("his throat cut", 1.0), ("hacked to pieces", 1.0), ("chopped to pieces", 1.0),
        ("cut to pieces", 0.6), ("throw acid", 1.0), ("throwing acid", 1.0), ("acid attack", 0.4),
        ("beaten bloody", 1.0), ("beating him bloody", 1.0), ("beating her bloody", 1.0),
        ("beat him bloody", 1.0), ("beat her bloody", 1.0), ("bayoneting", 1.0), ("bayoneted", 1.0),
    ],
    combos: &[
        Combo {
            name: "torture+depiction",
            weight: 1.0,
            groups: &[
                &["torture", "tortured", "torturing"],
                &[
                    "blood", "bloody", "pliers", "blowtorch", "teeth pulled", "skin peeled",
                    "screaming",
                ],
            ],
        },
        Combo { name: "violent act+victim", weight: 1.0, groups: &[ACTS, TARGETS] },
        Combo { name: "ambiguous act+victim", weight: 0.4, groups: &[WEAK_ACTS, TARGETS] },
        Combo {
            name: "ambiguous act+victim+weapon",
            weight: 0.6,
            groups: &[WEAK_ACTS, TARGETS, WEAPONS_OR_WOUNDS],
        },
        Combo {
            name: "harmed child",
            weight: 1.0,
            groups: &[
                HARMED_CHILD,
                &[
                    "corpse", "corpses", "mutilated", "bloodied", "blood soaked",
                    "covered in blood", "drenched in blood", "pool of blood", "dead body",
                    "dead bodies", "decapitated", "dismembered", "severed", "shot in the head",
                    "thrown against", "stabbed", "strangled", "beaten to death", "drowned",
                    "burned alive", "kicked", "thrown",
                ],
            ],
        },
        Combo {
            name: "vehicle ramming",
            weight: 1.0,
            groups: &[
                &[
                    "plowing into", "plowed into", "ploughed into", "rammed into",
                    "ramming into", "driving into", "drove into", "mowing down", "mowed down",
                ],
                &["crowd", "crowds", "protesters", "protestors", "pedestrians", "shoppers", "marchers"],
            ],
        },
        Combo {
            name: "weapon+instructions",
            weight: 1.0,
            groups: &[
                &[
                    "ghost gun", "ghost guns", "zip gun", "untraceable gun", "3 d printed gun",
                    "3 d printed guns", "molotov", "molotov cocktail", "molotov cocktails", "napalm",
                    "thermite", "silencer", "suppressor", "auto sear", "pipe gun",
                ],
                &[
                    "how to make", "how to build", "step by step", "instructions", "assembly",
                    "tutorial", "diagram", "blueprint", "recipe", "schematic", "parts list",
                    "make one", "homemade", "diy", "build your own",
                ],
            ],
        },
        Combo {
            name: "severing a body part",
            weight: 1.0,
            groups: &[
                &[
                    "cutting off", "chopping off", "chopped off", "hacked off", "hacking off",
                    "sawing off", "severing", "ripping off", "tearing off",
                ],
                &[
                    "hand", "hands", "head", "arm", "arms", "leg", "legs", "finger", "fingers",
                    "ear", "ears", "tongue", "limbs", "nose", "foot", "feet",
                ],
            ],
        },
        Combo {
            name: "cruelty to animals",
            weight: 1.0,
            groups: &[
                &[
                    "kicked to death", "beaten to death", "burned alive", "skinned alive", "tortured",
                    "torturing", "stabbed", "stabbing", "strangled", "mutilated", "set on fire",
                    "being kicked", "being beaten",
                ],
                &[
                    "puppy", "puppies", "dog", "dogs", "cat", "cats", "kitten", "kittens", "animal",
                    "animals", "horse", "horses",
                ],
            ],
        },
        Combo {
            name: "acid attack+depiction",
            weight: 1.0,
            groups: &[&["acid attack"], &["melting", "graphic", "burning face", "realistic gore"]],
        },
        Combo {
            name: "running someone over",
            weight: 1.0,
            groups: &[
                &["running over a", "ran over a", "run over a", "running over the", "runs over a"],
                &[
                    "child", "kid", "pedestrian", "pedestrians", "woman", "man", "person", "cyclist",
                    "protester", "crowd",
                ],
                &["on purpose", "deliberately", "intentionally", "blood", "crushed", "gore", "killing"],
            ],
        },
        Combo {
            name: "beating+injury",
            weight: 1.0,
            groups: &[
                &["beating", "beaten", "kicking", "punching", "stomping", "bashing"],
                &["to a pulp", "senseless", "unconscious", "to death", "bloody with"],
            ],
        },
        Combo {
            name: "how to kill",
            weight: 1.0,
            groups: &[
                &[
                    "how to stab", "how to strangle", "how to murder", "best way to strangle",
                    "best way to stab", "where to stab", "where should i aim",
                    "so they bleed out", "so he bleeds out", "so she bleeds out",
                    "without leaving marks", "fastest way to kill",
                ],
                &[
                    "someone", "somebody", "person", "a man", "a woman", "him", "her", "them",
                    "people", "knife",
                ],
            ],
        },
        Combo {
            name: "execution of a captive",
            weight: 1.0,
            groups: &[
                &["execute", "executing", "executed", "execution", "execution style"],
                &[
                    "kneeling", "hostage", "hostages", "prisoner", "prisoners", "captive",
                    "captives", "blindfolded", "protester", "protesters", "civilian", "civilians",
                ],
            ],
        },
        Combo {
            name: "gore+scene",
            weight: 1.0,
            groups: &[
                &["murder", "murdered", "killing", "stabbing", "slaughter", "massacre", "torture"],
                &[
                    "blood everywhere", "blood splatter", "blood spatter", "pool of blood",
                    "covered in blood", "realistic gore", "bloody", "corpse", "corpses",
                    "dead body", "screaming victim",
                ],
            ],
        },
        Combo {
            name: "hurt child",
            weight: 0.6,
            groups: &[HARMED_CHILD, &["dead", "bleeding", "bloody", "wounded", "beaten", "abused"]],
        },
    ],
    allow: &[&[
        "killer whale", "killer whales", "kill time", "killing time", "kill switch",
        "kill the lights", "killing it", "kills it", "killed it", "dressed to kill",
        "photo shoot", "photo shoots", "fashion shoot", "film shoot", "video shoot",
        "photo shooting", "shooting star", "shooting stars", "shooting hoops", "shoot hoops",
        "shooting baskets", "shooting a film", "shooting a movie", "shooting a video",
        "shooting guard", "shoot the ball", "shooting the ball", "shooting range",
        "water gun", "water guns", "water pistol", "water pistols", "nerf gun", "nerf guns",
        "squirt gun", "squirt guns", "toy gun", "toy guns", "glue gun", "staple gun",
        "al gore", "gore tex", "heart attack", "panic attack", "attack on titan",
        "day of the dead", "dead sea", "walking dead", "dead end", "grateful dead",
        "dead leaves", "dead tree", "dead trees", "dead wood", "play dead", "playing dead",
        "murder mystery", "murder of crows", "murder hornet", "murder hornets", "bath bomb",
        "bath bombs", "photo bomb", "photobomb", "bomb pop", "bombshell", "hanging out",
        "hang out", "hanging plants", "hanging lights", "hanging basket", "hang gliding",
        "hang glider", "hanging lanterns", "hang the laundry", "hanging laundry",
        "killer app", "killer heels", "killer smile", "kill bill", "bomb jacket",
        "drowning in paperwork", "execute a plan", "execution of a gambit", "bomb shelter",
        "bomb shelters", "no gore", "without gore", "not gory", "no blood", "no violence",
        "non violent", "nonviolent", "judith beheading holofernes", "beheading holofernes",
        "beheading of saint john", "beheading of st john", "beheading of john the baptist",
        "shot glass", "shot glasses", "espresso shot", "vaccine shot", "flu shot",
        "booster shot", "shot put", "slap shot", "jump shot", "trick shot", "hit song",
        "hit songs", "hit single", "burning man", "kicked back", "hit list",
        "blood orange", "blood moon", "bloody mary", "bloody marys", "血腥玛丽",
        "blood donation", "blood drive", "blood test", "blood pressure", "blood type",
        "murder wings", "victims of a school shooting", "victims of the school shooting",
        "after a school shooting", "after the school shooting",
    ]],
};
