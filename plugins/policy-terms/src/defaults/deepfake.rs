//! The built-in rules of `deepfake`: deepfakes of real people.

use super::{Combo, Defaults, NOT_SEXUAL};

const REAL_PEOPLE: &[&str] = &[
    "celebrity", "celebrities", "famous actress", "famous actor", "famous singer",
    "famous person", "real person", "president", "prime minister", "politician",
    "politicians", "senator", "congressman", "congresswoman", "governor", "pope", "ceo",
    "my ex", "ex girlfriend", "ex boyfriend", "ex wife", "ex husband", "my boss",
    "my coworker", "my co worker", "my colleague", "my classmate", "my teacher",
    "my neighbor", "my neighbour", "my sister", "my stepsister", "my stepmom", "my crush",
    "taylor swift", "joe biden", "biden", "donald trump", "trump", "barack obama", "obama",
    "michelle obama", "elon musk", "emma watson", "scarlett johansson", "pope francis",
    "kim kardashian", "kanye west", "beyonce", "rihanna", "selena gomez", "ariana grande",
    "billie eilish", "mark zuckerberg", "jeff bezos", "bill gates", "vladimir putin", "putin",
    "xi jinping", "kamala harris", "hillary clinton", "king charles", "narendra modi",
    "zelensky", "zelenskyy", "tom cruise", "tom hanks", "keanu reeves", "jennifer lawrence",
    "margot robbie", "gal gadot", "angelina jolie", "emma stone", "dwayne johnson",
    "justin bieber", "oprah", "greta thunberg", "meghan markle", "jenna ortega",
    "sydney sweeney", "millie bobby brown", "dua lipa", "zendaya",
    // And the names of data/persons.txt, added by the build script.
    "杨幂", "范冰冰", "刘亦菲", "赵丽颖", "迪丽热巴", "杨紫", "习近平", "彭丽媛", "特朗普",
    "拜登", "普京", "马斯克", "泽连斯基", "成龙", "周杰伦", "蔡依林", "林志玲", "王一博", "肖战",
];

const DISCREDITING: &[&str] = &[
    "nude", "nudes", "naked", "nudity", "no clothes", "without clothes", "unclothed", "sex",
    "sexual", "sexy", "porn*", "topless",
    "lingerie", "undress*", "deepfake", "deepfakes", "deep fake", "face swap", "faceswap",
    "swap face", "swapped face", "fake photo", "fake image", "fake picture", "fake video",
    "fake nude", "arrested", "arrest", "under arrest", "handcuffed", "handcuffs", "mugshot",
    "mug shot", "in jail", "in prison", "behind bars", "scandal", "scandalous", "endorsing",
    "endorses", "endorse", "endorsement", "in bed with", "in bed", "humiliat*",
    "drunk", "passed out", "doing drugs", "snorting", "cocaine", "smoking crack", "bribe",
    "bribes", "taking a bribe", "caught cheating", "cheating on", "leaked", "hidden camera",
    "upskirt", "nazi salute", "nazi uniform", "hitler salute", "dead body", "assassinat*",
    "bloody", "crying in court", "perp walk", "explicit", "nsfw", "uncensored", "birthday suit",
    "sex tape", "strip club", "stripping", "pole dancing", "shoplifting", "stealing",
    "drug lord", "cartel boss", "suitcase of cash", "envelope of cash", "bribing", "bribed",
    "prison cell", "collapsing", "collapsed", "rushed to hospital", "kneeling before",
    "hidden cam", "undressed", "shower nude",
    "desnudo", "desnuda", "filtrada", "filtrado", "arrestado", "arrestada", "esposado",
    "drogandose", "nue", "arrete par la police", "arretee par la police", "menotte",
    "prendre de la drogue", "drogue", "nackt", "nackte", "nacktfoto*", "handschellen",
    "in handschellen", "verhaftet", "betrunken", "裸照", "裸体", "不雅照", "偷拍", "被捕",
    "吸毒", "性爱",
    // Common misspellings and euphemisms.
    "nued", "nuds", "nudez", "noods", "nood", "nakid", "naket", "nakd", "nakie", "nekkid",
    "nekid", "neked", "in the nude", "wearing nothing", "without a stitch", "spicy pics",
    "lewds", "handcufed", "seggs", "sex tape leak",
    // More compromising, sexual or deceptive scenes.
    "surrendering", "surrenders", "with an escort", "having an affair", "begging for mercy", "in his underwear",
    "in her underwear", "in underwear", "in their underwear", "in lingerie", "prostitute", "prostitutes", "hooker", "hookers", "mistress", "secret night", "vomiting", "peeing", "urinating", "wetting himself", "in a diaper",
    "in a coffin", "found dead", "assassinated", "shot dead", "blackface",
    "kkk", "kkk rally", "nazi", "swastika", "heil", "war criminal", "confessing", "confesses",
    "resigning in disgrace", "caught on camera", "cctv", "leaked photo",
    "leaked photos", "leaked video", "private pics", "private photos", "intimate photo",
    "intimate photos", "boudoir", "onlyfans", "nsfw pic", "nip slip", "wardrobe malfunction",
    "naked selfie", "nude selfie", "topless selfie", "sexting", "strip tease", "striptease",
    "porn scene", "porno", "xxx", "camel toe", "twerking naked", "bribery", "embezzling",
    "money laundering", "stealing from", "robbing", "robbery", "shoplifting", "prison uniform", "orange jumpsuit", "executed",
    "beheaded", "drunk and", "overdosing", "snorting cocaine",
    "nued", "nakd", "nakid",
    "desnuda", "desnudo", "sin ropa", "detenido", "detenida", "esposas", "en la carcel",
    "borracho", "borracha", "nu", "nue", "nues", "arrete", "arretee", "en prison", "ivre",
    "nackt", "nacktbild*", "oben ohne", "betrunken", "festgenommen", "im gefangnis",
    "verhaftung", "逮捕", "被逮捕", "手铐", "戴手铐", "入狱", "坐牢", "醉酒", "贿赂", "受贿",
    "裸", "色情", "艳照", "床照",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("deepfake", 0.5), ("deepfakes", 0.5), ("deep fake", 0.5), ("face swap", 0.5),
        ("faceswap", 0.5), ("swap face", 0.5), ("swap faces", 0.5), ("revenge porn", 1.0),
        ("upskirt", 1.0), ("hidden camera nude", 1.0),
    ],
    combos: &[Combo { name: "real person+discrediting", weight: 1.0, groups: &[REAL_PEOPLE, DISCREDITING] }],
    allow: &[NOT_SEXUAL, &["trump card", "trump cards", "presidents house"]],
};
