//! The built-in rules of `hate`: hate.

use super::{Combo, Defaults, TEACHING_CONTEXT};

const GROUPS: &[&str] = &[
    "jews", "jew", "jewish people", "muslims", "muslim", "islam", "christians", "catholics",
    "hindus", "sikhs", "buddhists", "black people", "blacks", "black men", "black women",
    "africans", "african americans", "asians", "asian people", "chinese people", "mexicans",
    "latinos", "hispanics", "arabs", "indians", "immigrants", "migrants", "refugees", "gays",
    "gay people", "gay men", "lesbians", "homosexuals", "lgbt", "lgbtq", "queer people",
    "trans people", "transgender", "transgender people", "trans women", "trans men", "women",
    "disabled", "disabled people", "the disabled", "autistic people", "roma", "gypsies",
    "white people", "whites", "natives", "aboriginals",
    "judios", "judio", "juifs", "juif", "juden", "musulmanes", "musulmans", "muslime",
    "negros", "noirs", "schwarze", "gitanos", "inmigrantes", "immigres", "auslander",
    "犹太人", "黑人", "穆斯林", "移民",
    "sikh", "sikh man", "sikh men", "hindu", "arab", "mexican", "immigrant", "migrant",
    "refugee", "gay", "gay man", "lesbian", "trans woman", "trans", "black man", "black woman",
    "black person", "black family", "jewish", "jewish man", "jewish men", "muslim man",
    "muslim men", "muslim woman", "muslim women", "asian man", "asian woman", "chinese",
    "homosexual", "romani", "aborigines", "indigenous people", "pakistanis", "somalis",
    "nigerians", "haitians", "ukrainians", "russians", "irish", "gitans",
    "jooz", "joos", "joo", "homosexuels", "homosexuelle", "schwule", "les gays", "los gays", "juive", "judia",
    "fluchtlinge", "migranten", "refugies", "refugiados", "musulman", "同性恋", "难民",
    "imigrants", "immigrunts", "tranny", "trannies", "trannys", "muzzies", "muzzie", "muzzys", "moslems", "moslims", "jooos",
    "jewz", "gayz", "blaks", "mexicants", "roma people", "asian people", "fags",
    "small hats", "roms", "los inmigrantes", "die auslander",
];

const DEHUMANIZING: &[&str] = &[
    "vermin", "cockroach", "cockroaches", "parasite", "parasites", "subhuman", "subhumans",
    "sub human", "untermensch", "savages", "are animals", "are rats", "are vermin",
    "are cockroaches", "are parasites", "are inferior", "are subhuman", "are filth",
    "are a disease", "are a plague", "are trash", "are scum", "are monkeys", "are apes",
    "are dogs", "are pigs", "are evil", "are not human", "as gorillas", "as gorrilas",
    "slanted eyes", "slant eyes", "slant eyed", "slanty eyes", "eating bats", "eat bats",
    "bat eaters", "dog eaters", "eating dogs",
    "should be euthanized", "should be euthanised", "should not vote", "belong in the kitchen",
    "as a plague", "as a plauge", "a plague on", "are a plauge", "mentally ill freaks",
    "mentaly ill freaks", "are freaks", "are mentally ill", "are mentaly ill", "as roaches",
    "like apes", "like monkeys", "like animals", "as animals", "are roaches", "inferior race", "inferior races",
    "racially inferior", "genetically inferior", "should be exterminated", "should be killed",
    "should die", "must die", "must be exterminated", "must be eliminated", "deserve to die",
    "exterminate*", "extermination", "eradicate*", "death to", "kill all", "gas the",
    "as rats", "as vermin", "as cockroaches", "as parasites", "as apes", "as monkeys",
    "as pigs", "as insects", "as bats", "as a disease", "like rats", "like cockroaches",
    "like vermin", "disease carrying", "hunt them down", "to exterminate",
    "como ratas", "comme des rats", "comme des cafards", "comme de la vermine", "als ratten",
    "als ungeziefer", "a exterminer", "exterminar", "ausrotten", "ratas", "cafards",
    "ungeziefer", "画成猴子", "老鼠", "蟑螂", "害虫", "劣等",
    "as predators", "are predators", "are groomers", "as groomers", "are pedophiles",
    "as pedophiles", "as terrorists", "as a terrorist", "are terrorists", "as criminals",
    "are criminals", "are rapists", "as rapists", "as thieves", "are thieves", "thieving",
    "as a virus", "are a virus", "kung flu", "china virus", "useless eaters", "burn in hell",
    "should burn", "deserve to burn", "deben arder", "deben morir", "doivent mourir",
    "doivent bruler", "mussen sterben", "sollen brennen", "sollen sterben",
    "controlling the world", "control the world", "controls the world", "puppet master",
    "puppet masters", "pulling the strings", "dominant le monde", "dominent le monde",
    "controlent le monde", "controlan el mundo", "beherrschen die welt", "avides", "greedy",
    "gierige", "贪婪", "猿猴", "猴子", "猩猩", "描绘成", "as animals", "like animals",
    "as monkeys", "as apes", "as beasts", "as savages", "as rodents", "as insects",
    "as lice", "as a plague", "as filth", "as scum", "are scum", "subhuman",
    "untermenschen", "go back to", "send them back", "deport all", "deportation of all",
    "deport them", "expel all", "ban all", "get rid of all", "kick out all", "gas them",
    "kill them all", "master race",
    "should be hanged", "should be hung", "should hang", "should be shot", "should be gassed",
    "should be burned", "must be hanged", "deserve to hang", "big noses", "hooked nose",
    "hook nose", "counting money", "send all", "back to africa", "back to where they came from",
    "as monsters", "are monsters", "as demons", "are demons", "as freaks", "are freaks",
    "are mentally ill", "as perverts", "are perverts", "abomination", "abominations",
    "eating dogs", "eat dogs", "eating cats", "eat cats", "swarm of insects", "as a swarm",
    "swarm of locusts", "as locusts", "as diseased", "diseased animals", "blood sucking",
    "bloodsucking", "as leeches", "are leeches", "leeches", "infesting",
    "vermine", "alimanas", "plaga", "long noses", "long nosed", "run the banks",
    "running the banks", "own the banks", "control the banks", "control the media",
    "controlling the media", "own the media", "keep them away from children",
];


const EXTREMIST_SYMBOLS: &[&str] = &[
    "swastika", "swastikas", "nazi", "nazis", "hitler", "third reich", "kkk",
    "white supremacy", "white supremacist", "white supremacists", "neo nazi",
    "neo nazis", "aryan brotherhood",
    "ku klux klan", "esvastica", "croix gammee", "hakenkreuz", "纳粹", "卐字旗",
    "卐", "希特勒",
];

const GLORIFYING: &[&str] = &[
    "glorif*", "celebrat*", "heroic", "tribute", "praising", "praise", "proud", "pride", "hail",
    "glorious", "光荣", "白人至上", "glorioso", "glorieux", "ruhmreich*", "master race",
    "he was right", "hitler was right", "as a hero", "was a hero", "did nothing wrong",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("happy merchant", 1.0), ("remove kebab", 1.0), ("day of the rope", 1.0),
        ("hordes invading", 0.5), ("brown hordes", 0.5), ("defend our race", 0.5),
        ("deutschland den deutschen", 1.0), ("auslander raus", 1.0), ("白人至上", 0.5),
        ("ethnic cleansing", 1.0), ("white power", 1.0), ("heil hitler", 1.0),
        ("sieg heil", 1.0), ("gas the jews", 1.0), ("hitler did nothing wrong", 1.0),
        ("6 million wasnt enough", 1.0), ("jews will not replace us", 1.0),
        ("you will not replace us", 0.6), ("white genocide", 0.6), ("great replacement", 0.5),
        ("holocaust denial", 0.6), ("holocaust never happened", 1.0),
        ("holocaust hoax", 1.0), ("holocaust was a hoax", 1.0), ("neo nazi", 0.5),
        ("white supremacy", 0.5), ("white supremacist", 0.5), ("kkk", 0.5),
        ("ku klux klan", 0.5), ("racial slur", 0.5), ("nigger", 1.0), ("niggers", 1.0),
        ("nigga", 0.6), ("kike", 1.0), ("kikes", 1.0), ("chink", 1.0), ("chinks", 1.0),
        ("spic", 1.0), ("spics", 1.0), ("wetback", 1.0), ("wetbacks", 1.0), ("raghead", 1.0),
        ("ragheads", 1.0), ("towelhead", 1.0), ("towelheads", 1.0), ("sandnigger", 1.0),
        ("gook", 1.0), ("gooks", 1.0), ("faggot", 1.0), ("faggots", 1.0), ("beaner", 1.0),
        ("beaners", 1.0), ("tranny", 0.6), ("trannies", 0.6), ("trannys", 0.6),
        ("faggit", 1.0), ("faggits", 1.0), ("fagots", 1.0), ("faggets", 1.0), ("retard", 0.4),
        ("retards", 0.4),
        ("14 words", 1.0), ("fourteen words", 1.0), ("1488", 1.0), ("rahowa", 1.0),
        ("master race", 1.0), ("race traitor", 0.6), ("race traitors", 0.6),
        ("white pride worldwide", 1.0),
        ("no dogs or irish", 0.6), ("kung flu", 1.0), ("burning cross on", 0.6),
        ("cross burning", 0.4), ("useless eaters", 1.0), ("sonnenrad", 0.6),
        ("sun wheel", 0.3), ("black sun", 0.2), ("zionist occupied", 1.0), ("zog", 0.6),
        ("globalist jews", 1.0), ("jewish question", 0.5),
        ("juden raus", 1.0), ("judios fuera", 1.0), ("mort aux juifs", 1.0),
        ("muerte a los", 0.6), ("mort aux", 0.6), ("tod den", 0.6),
    ],
    products: &[],
    combos: &[
        Combo { name: "dehumanizing+group", weight: 1.0, groups: &[DEHUMANIZING, GROUPS] },
        Combo {
            name: "extremist symbol+propaganda",
            weight: 1.0,
            groups: &[EXTREMIST_SYMBOLS, &["propaganda", "recruitment", "white power", "flag rally", "propagande", "宣传"]],
        },
        Combo { name: "extremist symbol+glorification", weight: 1.0, groups: &[EXTREMIST_SYMBOLS, GLORIFYING] },
        Combo { name: "teaching, history or news context", weight: -1.0, groups: &[TEACHING_CONTEXT] },
        Combo {
            name: "glorification despite the context",
            weight: 1.0,
            groups: &[TEACHING_CONTEXT, GLORIFYING],
        },
        Combo {
            name: "dehumanizing despite the context",
            weight: 1.0,
            groups: &[TEACHING_CONTEXT, DEHUMANIZING, GROUPS],
        },
        Combo {
            name: "burning place of worship+celebration",
            weight: 1.0,
            groups: &[
                &[
                    "mosque", "mosques", "synagogue", "synagogues", "black church", "gurdwara",
                    "mezquita", "sinagoga", "mosquee", "moschee", "synagoge", "清真寺", "犹太教堂",
                    "sinagoge", "synagouge", "mosk",
                ],
                &[
                    "burning", "on fire", "in flames", "firebomb*", "torched", "arson", "set alight",
                    "ablaze", "ardiendo", "en llamas", "en feu", "brennend*", "燃烧", "被烧",
                ],
                &[
                    "celebrat*", "cheering", "jubilant", "heroic", "glorious", "glorif*", "applaud*",
                    "cleanse", "triumphant", "celebrando", "limpiemos", "applaudit", "jubelnd*",
                    "欢呼", "庆祝", "celibration", "celebraton", "celebracion",
                ],
            ],
        },
        Combo {
            name: "hate slogan+propaganda",
            weight: 1.0,
            groups: &[
                &[
                    "race war", "great replacement", "you will not replace us", "day of the rope",
                    "white genocide", "burning cross", "cross burning", "white pride",
                    "sun wheel", "sonnenrad", "black sun", "no dogs or irish",
                ],
                &[
                    "propaganda", "poster", "banner", "flyer", "meme", "sticker", "now", "rally",
                    "rifles", "join", "coming", "prepare", "proud", "for the race", "master race",
                    "mock up", "to hang in", "celebrat*", "glorif*", "lawn",
                ],
            ],
        },
        Combo {
            name: "antisemitic caricature",
            weight: 1.0,
            groups: &[
                &[
                    "hooked nose", "hooked noses", "hook nose", "hook nosed", "hooknosed", "happy merchant",
                    "jewish banker", "jewish bankers", "jew banker", "jew bankers",
                ],
                &[
                    "banker", "bankers", "globalist", "globalists", "jew", "jews", "jewish",
                    "puppet*", "controlling", "controls", "control the", "world domination",
                    "greedy", "rubbing his hands", "octopus", "money", "stealing", "hoarding",
                    "counting money", "sack of money",
                ],
            ],
        },
        Combo {
            name: "final solution+target",
            weight: 1.0,
            groups: &[
                &["final solution"],
                &[
                    "migrant problem", "migrants", "immigrants", "muslims", "time for", "we need",
                    "refugees", "gays", "was right", "was correct", "celebrat*", "glorif*",
                    "immigrant problem", "immigrant question", "jewish question",
                    "jewish problem", "muslim problem", "refugee problem",
                    "poster", "bring back", "jews",
                ],
            ],
        },
        Combo {
            name: "desecrated place of worship",
            weight: 1.0,
            groups: &[
                &[
                    "mosque", "mosques", "synagogue", "synagogues", "gurdwara", "quran", "koran",
                    "torah",
                ],
                &[
                    "pig head", "pig heads", "pigs head", "pigs heads", "pig s head",
                    "severed pig", "smeared with", "desecrat*", "vandaliz*", "graffiti swastika",
                ],
                &["celebrat*", "meme", "proud", "deserve", "funny", "glorif*", "cheering"],
            ],
        },
        Combo {
            name: "burning holy book+incitement",
            weight: 1.0,
            groups: &[
                &["burning quran", "burning the quran", "burning koran", "burning torah", "burn the quran"],
                &["deport*", "calling for", "get out", "invaders", "poster", "celebrat*", "meme"],
            ],
        },
        Combo {
            name: "racist ape trope",
            weight: 0.6,
            groups: &[
                &["monkey", "monkeys", "ape", "apes", "gorilla", "gorillas", "chimp", "chimps"],
                &[
                    "black people", "black person", "black man", "black men", "black woman",
                    "black women", "africans", "african americans", "blacks",
                ],
            ],
        },
    ],
    allow: &[&[
        "chink in the armor", "chink in the armour", "chink of light", "spic and span",
        "hindu swastika", "buddhist swastika", "swastika rangoli", "faggots and peas",
        "faggots and mash", "faggots in gravy", "faggots with gravy",
    ]],
};
