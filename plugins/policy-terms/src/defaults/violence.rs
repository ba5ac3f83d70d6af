//! The built-in rules of `violence`: graphic violence and violence against real people.

use super::{Combo, Defaults, TEACHING_CONTEXT};

// The path is explicit because the build script includes this file
// through `#[path]`.
#[path = "violence/terms.rs"]
mod terms;

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
    "hacked to death", "hacking to death", "hacking someone to death", "beaten to death",
    "whipped to death", "balle dans la tete", "une balle dans la tete", "bala en la cabeza",
    "tiro en la cabeza", "kopfschuss",
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
    "kicked", "choking", "burning", "hitting", "hit", "thrown", "throwing", "whipping",
    "whipped", "flogging", "flogged", "lashing", "stomping", "stomping on", "stomped on",
    "dragged", "dragging",
    "beating up", "beaten up", "beat up", "getting beaten", "golpeando", "golpea", "golpear",
    "golpeado", "golpeada", "paliza", "frappe", "frappant", "frapper", "tabasse", "tabasser",
    "passage a tabac", "prugelt", "verprugelt", "pruegelt", "schlagt", "schlagen",
    "verpruegelt", "execution", "ejecucion", "hinrichtung",
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
    "villagers", "wedding guests", "partygoers", "festivalgoers", "schoolgirls", "schoolboys",
    "mujer", "hombre", "rehen", "femme", "homme", "otage", "enfant", "frau", "geisel", "女人",
    "男人", "孩子", "人质", "cashier", "cashiers", "clerk", "shopkeeper", "landlord",
    "my landlord", "stepfather", "my stepfather", "stepdad", "my stepdad", "stepmother",
    "my stepmother", "stepmom", "my stepmom", "roommate", "my roommate", "my brother",
    "my sister", "my son", "my daughter", "my uncle", "my aunt", "my grandma", "my grandpa",
    "nino", "nina", "ninos", "obdachlosen", "obdachloser", "obdachlose", "sans abri",
    "indigente", "mendigo", "coworkers",
    "teen", "teens", "teenager", "teenagers", "adolescent", "adolescents", "stranger",
    "strangers", "passerby", "passersby", "pedestrian", "jogger", "cyclist", "police officer",
    "cop", "cops", "voisin", "voisine", "vecino", "vecina", "nachbar", "nachbarn", "nachbarin",
];

/// Euphemisms for killing someone, or for what comes after ("make him sleep
/// forever", "a dirt nap", "where to leave the body").
const KILLING_EUPHEMISMS: &[&str] = &[
    "sleep forever", "sleeps forever", "sleeping forever", "never wakes up", "never wake up",
    "never wakes up again", "never wake up again", "never woke up again", "six feet under",
    "dirt nap", "permanent nap", "eternal sleep", "meet his maker", "meet her maker",
    "meet their maker", "meet your maker", "meets his maker", "meets her maker",
    "disappear permanently", "disappear for good", "hide the body", "hiding the body",
    "hide his body", "hide her body", "where to leave the body", "leave the body",
    "dump the body", "dumping the body", "dispose of the body", "get rid of the body",
    "bury the body", "body in the trunk", "no witnesses", "silence him forever",
    "silence her forever", "concrete shoes", "cement shoes", "sleep with the fishes",
    "sleeping with the fishes", "sleeps with the fishes", "never testifies", "never testify",
    "never talks again", "never talk again", "whats left of", "wont wake up from",
];

/// Who a euphemism for killing is aimed at.
const EUPHEMISM_TARGETS: &[&str] = &[
    "him", "her", "them", "my ex", "my boss", "my wife", "my husband", "my neighbor",
    "my neighbour", "neighbor", "neighbour", "my teacher", "teacher", "my coworker",
    "coworker", "landlord", "my landlord", "cashier", "stepfather", "my stepfather",
    "stepdad", "stepmother", "stepmom", "roommate", "my roommate", "my mom", "my dad",
    "my brother", "my sister", "my parents", "wife", "husband", "girlfriend", "boyfriend",
    "kid next door", "the kid", "old man", "witness", "witnesses", "rival", "snitch",
    "informant", "informants", "guy next door",
    "voisin", "voisine", "patron", "mon ex", "femme", "mari", "pere", "beau pere",
    "vecino", "vecina", "jefe", "mi ex", "esposa", "marido", "padrastro", "suegra", "nachbarn",
    "nachbar", "nachbarin", "meinen chef", "frau", "meinen mann", "stiefvater", "meinen ex",
    "meine ex",
];

/// Words for silencing or putting to sleep, which with "forever" and
/// someone are a euphemism for killing them, in English, French, Spanish
/// and German ("faire taire mon voisin pour toujours", "dormir para
/// siempre").
const SILENCING: &[&str] = &[
    "shut him up", "shut her up", "put him to sleep",
    "put her to sleep", "faire taire", "fais taire", "fait taire", "reduire au silence", "au silence",
    "endormir", "dormir", "callar", "hacer callar", "silenciar", "dormir a", "mandar a dormir",
    "zum schweigen bringen", "zum schweigen", "einschlafen lassen", "schlafen legen",
];

/// "Forever", "for good".
const FOREVER: &[&str] = &[
    "forever", "for good", "permanently", "pour toujours", "jamais",
    "pour de bon", "definitivement", "para siempre", "por siempre",
    "fur immer", "fuer immer", "endgultig", "endgueltig", "auf ewig",
];

const WEAPONS_OR_WOUNDS: &[&str] = &[
    "gun", "guns", "rifle", "rifles", "pistol", "pistols", "handgun", "handguns", "shotgun",
    "firearm", "firearms", "ar 15", "ak 47", "assault rifle", "machine gun", "gunman",
    "gunmen", "shooter", "sniper", "bullet", "bullets", "blood", "bloody", "bleeding", "dead",
    "corpse", "corpses", "wounded", "knife", "machete", "bomb", "bombs", "explosive",
    "explosives", "explosion", "grenade", "baseball bat", "bat", "axe", "hammer", "crowbar",
    "belt", "chainsaw", "razor", "shotgun blast", "brass knuckles", "brutally", "brutal",
    "savagely", "viciously", "black and blue", "bruises", "bruised", "bloodied", "unconscious",
    "to death", "leather belt", "whip", "cinturon", "brutalmente", "ceinture", "brutalement",
    "gurtel", "zu tode", "cuchillo", "couteau", "messer",
];

const HARMED_CHILD: &[&str] = &[
    "child", "children", "kid", "kids", "baby", "babies", "toddler", "toddlers", "infant",
    "infants",
];

pub(super) static RULES: Defaults = Defaults {
    terms: terms::TERMS,
    products: &[],
    combos: &[
        Combo { name: "teaching, history or news context", weight: -1.0, groups: &[TEACHING_CONTEXT] },
        Combo {
            name: "gore or glorification despite the context",
            weight: 1.0,
            groups: &[
                TEACHING_CONTEXT,
                &[
                    "blood", "bloody", "bloodied", "gore", "gory", "graphic", "corpse",
                    "corpses", "dead body", "dead bodies", "mutilated", "dismembered",
                    "decapitated", "severed", "close up", "closeup", "up close", "glorif*",
                    "celebrat*", "heroic", "hero", "tribute", "how to", "step by step",
                    "pov", "brutal", "brutally", "screaming",
                ],
            ],
        },
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
                    "car into", "truck into", "van into", "ran my car into", "run over by",
                    "being run over", "running over", "ran over", "plow into", "plough into",
                ],
                &[
                    "crowd", "crowds", "protesters", "protestors", "pedestrians", "shoppers", "marchers",
                    "crowd of", "market crowd", "parade",
                ],
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
            name: "body cut to pieces",
            weight: 1.0,
            groups: &[
                &[
                    "cut into pieces", "chopped into pieces", "hacked into pieces", "cut to pieces",
                    "hacked to pieces", "chopped to pieces", "cut up into pieces", "dismembered",
                ],
                &[
                    "body", "bodies", "corpse", "man", "woman", "person", "victim", "someone",
                    "people", "human",
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
                    "otage", "otages", "genoux", "rehen", "rodillas", "geisel", "kniend",
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
                    "dead body", "screaming victim", "bodies and blood", "blood and bodies",
                    "dead bodies", "bodies everywhere", "bodys everywhere",
                ],
            ],
        },
        Combo {
            name: "euphemism for killing+victim",
            weight: 1.0,
            groups: &[KILLING_EUPHEMISMS, EUPHEMISM_TARGETS],
        },
        Combo {
            name: "silencing someone forever",
            weight: 1.0,
            groups: &[SILENCING, FOREVER, EUPHEMISM_TARGETS],
        },
        Combo {
            name: "teaching someone a lesson with a weapon or wounds",
            weight: 1.0,
            groups: &[
                &[
                    "teach him a lesson", "teach her a lesson", "teach them a lesson",
                    "teaching him a lesson", "teaching her a lesson", "teaching them a lesson",
                    "taught him a lesson", "taught her a lesson", "teaching his wife a lesson",
                    "teaching my wife a lesson", "permanent lesson", "lesson she wont forget",
                    "lesson he wont forget", "lesson they wont forget", "lesson he wont wake up from",
                    "lesson she wont wake up from", "lesson he will never forget",
                    "lesson she will never forget", "taught a lesson", "teach a lesson",
                ],
                WEAPONS_OR_WOUNDS,
            ],
        },
        Combo {
            name: "taking someone out for good",
            weight: 1.0,
            groups: &[
                &[
                    "taking out", "take out", "took out", "takes out", "taken out",
                    "taking care of", "take care of", "took care of", "get rid of",
                    "getting rid of",
                ],
                EUPHEMISM_TARGETS,
                &["for good", "permanently", "the body", "his body", "her body", "no witnesses", "silencer"],
            ],
        },
        Combo {
            name: "poisoning a person",
            weight: 1.0,
            groups: &[
                &["poison", "poisons", "poisoning", "poisoned", "rat poison", "antifreeze", "arsenic", "cyanide"],
                &[
                    "my husband", "my wife", "my boss", "my neighbor", "my neighbour", "my mom",
                    "my dad", "my mother", "my father", "my stepfather", "my roommate",
                    "my coworker", "my ex", "my teacher", "slowly", "without getting caught",
                    "without being caught", "undetectable", "untraceable", "in his juice",
                    "in her juice", "in his drink", "in her drink", "in his coffee",
                    "in her coffee", "in his food", "in her food", "kid next door", "the kid",
                ],
            ],
        },
        Combo {
            name: "ramming people on purpose",
            weight: 1.0,
            groups: &[
                &[
                    "plowing into", "plowed into", "ploughed into", "rammed into", "ramming into",
                    "driving into", "drove into", "drives into", "car into", "truck into",
                    "van into", "plow into", "plough into",
                ],
                &["people", "the people", "christmas market", "market", "festival", "parade", "marchers"],
                &[
                    "on purpose", "deliberately", "intentionally", "celebrat*", "glorif*",
                    "as many as", "attack", "heroic",
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
        "lynching memorial", "memorial to lynching", "victims of lynching", "lynching victims",
        "memorial for peace and justice", "history of lynching",
        "school shooting vigil", "school shooting memorial", "shooting vigil", "shooting memorial",
        "school shooting survivors", "school shooting victims", "school shooting prevention",
        "against school shootings", "stop school shootings", "end school shootings",
        "sleeping beauty", "never wake a sleeping baby", "never wake up a sleeping baby",
        "six feet under cast", "six feet under tv", "six feet under series",
        "six feet under show", "poison ivy", "poison oak", "food poisoning", "poison apple",
        "poison dart frog", "poison dart frogs", "for good luck", "for good measure",
        "take out food", "take out menu", "take out the trash", "take out the garbage",
        "taking out the trash", "taking out the garbage", "take out box",
    ]],
};
