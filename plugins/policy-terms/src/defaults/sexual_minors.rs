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
    "#<18 yold", "aged #<18", "age #<18", "#<18 yeer old", "#<18 yeer", "#<18 yeers old",
    "#<18 yers old", "#<18 yer old", "#<18 yaer old",
    // Spanish, French, German, Chinese, Japanese.
    "una nina", "nina de", "ninas de", "nino de", "ninos de", "menor de edad",
    "menores de edad", "menores", "colegiala", "colegialas", "adolescente", "adolescentes",
    "adolescent", "adolescents", "chiquilla", "#<18 anos", "fillette", "fillettes", "enfant",
    "enfants", "petite fille", "petites filles", "petit garcon", "petits garcons", "mineure",
    "mineures", "mineur", "mineurs", "ecoliere", "ecolieres", "collegienne", "collegiennes",
    "#<18 ans", "kinder", "kindes", "kindern", "nacktes kind", "kleines kind", "madchen",
    "kleines madchen", "schulmadchen", "minderjahrig*", "jugendliche", "#<18 jahrig*",
    "#<18 jahre", "儿童", "小女孩", "小男孩", "女童", "男童", "幼女", "幼童", "未成年", "未成年人",
    "萝莉", "小学生", "初中生", "孩子", "女孩", "児童", "小学生", "中学生", "ロリ",
    // Common misspellings and slang.
    "chlid", "chld", "chidl", "chilld", "kidz", "kiddo", "kiddos", "lil girl",
    "lil girls", "lil boy", "lil boys", "yung girl", "yung boy", "teeny",
    "litle girl", "litle boy", "litle girls", "litle boys", "littel girl", "littel boy",
    "littel girls", "littel boys", "litle kid", "littel kid", "yung", "chilren", "childen",
    // School years and other words for children.
    "kindergartener", "kindergarteners", "kindergartner", "kindergartners", "grade schooler",
    "grade schoolers", "grade school", "first grader", "second grader", "third grader",
    "fourth grader", "fifth grader", "sixth grader", "seventh grader", "eighth grader",
    "first graders", "second graders", "third graders", "fourth graders", "fifth graders",
    "sixth graders", "seventh graders", "eighth graders", "first grade", "second grade",
    "third grade", "fourth grade", "fifth grade", "sixth grade", "seventh grade",
    "eighth grade", "junior high", "middle schooler",
    "middle schoolers", "elementary schooler", "elementary schoolers", "elementary student",
    "elementary students", "primary schooler", "little one", "little ones", "youngster",
    "youngsters", "small girl", "small girls", "small boy", "small boys", "preschooler", "preschoolers", "pre teens", "pre teenage", "tweenager",
    "lolita", "lolitas", "jailbait", "stepdaughter", "my daughter", "my son", "boy aged",
    "girl aged", "child aged", "pageant girl", "child pageant", "barely legal teen",
    "chiquillo", "chiquilla", "colegial", "garcon", "garcons", "gamin", "gamins", "collegien",
    "collegiens", "ado", "ados",
    "kleiner junge", "kleinen jungen", "kleine madchen", "kleinen madchen", "schuler",
    "schulerin", "zehnjahrig*", "elfjahrig*", "zwolfjahrig*", "dreizehnjahrig*",
    "vierzehnjahrig*", "neunjahrig*", "achtjahrig*", "男孩", "少女", "少年", "小孩", "幼儿",
    "婴儿", "学生妹", "女学生", "男学生", "小朋友", "正太",
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
    "birthday suit", "au naturel", "desnuda", "desnudo", "desnudas", "desnudos", "lenceria",
    "erotica", "erotico", "erotica", "provocativa", "sin ropa", "en ropa interior", "nue",
    "nues", "toute nue", "tout nu", "sans vetements", "erotique", "deshabillee", "nackt",
    "nackte", "nackter", "nacktes", "nackten", "nacktfoto*", "reizwasche", "erotisch",
    "erotische", "ohne kleidung", "entkleidet", "裸体", "裸照", "全裸", "赤裸", "裸露", "色情",
    "情趣内衣", "性感", "不雅", "脱衣", "性爱", "做爱", "ヌート", "エロ", // ヌード as normalised
    // Common misspellings and euphemisms.
    "nued", "nuds", "nudez", "noods", "nood", "nakid", "naket", "nakd", "nakie", "nekkid",
    "nekid", "neked", "erotik", "sexi", "secks", "seggs", "lingeree", "in the nude",
    "without any clothes", "without any clothing", "with no clothes", "no clothes on",
    "wearing nothing", "not wearing anything", "lingery", "lingeri", "sexxy", "nuddy", "nudy",
    "nakey", "nakked",
    "wearing nothing", "without a stitch", "spicy pics", "lewds", "in the buff",
    "not a stitch", "without a stitch on", "what she was born in", "what he was born in",
    "what they were born in", "clothing optional", "clothes optional", "come hither",
    "pin up pose", "pin up style", "pinup pose", "pinup style", "spicy photo", "spicy photos", "spicy photoshoot", "spicy shoot",
    "barely covered", "barely dressed", "scantily clad", "scantily dressed", "half naked",

    "sexxy", "sexxxy", "secksy", "sexey", "nsfww", "nud", "nudr",
    // More markers of sexualisation.
    "stripping", "strip for", "strips for", "stripped naked", "panties", "no panties",
    "g string", "voyeur", "voyeuristic", "suggestive", "wet t shirt", "her top off",
    "spread legs", "legs spread", "seductively", "seductive pose", "sexy pose", "sexualizing",
    "sexualising", "horny", "lust", "lustful", "boudoir", "skimpy", "barely there",
    "busty", "camel toe", "nip slip", "rule 34", "r 18", "18 only",
    "adult content", "spicy pic", "uncensored", "onlyfans", "fansly", "bedroom eyes",
    "in her underwear", "in his underwear", "in their underwear", "bare breasts",
    "bare chest sexy", "semidesnuda", "semidesnudo", "sensual", "provocativo", "sensuelle",
    "denudee", "denude", "denudes", "aufreizend", "nacktbild*", "oben ohne", "erotik*",
    "裸", "诱惑", "露点", "走光", "内衣诱惑",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("pornografia infantil", 1.0), ("porno infantil", 1.0), ("pedopornografia", 1.0),
        ("pedopornographie", 1.0), ("kinderpornografie", 1.0), ("kinderporno*", 1.0),
        ("儿童色情", 1.0), ("児童ホルノ", 1.0), // 児童ポルノ, the sound marks dropped like every combining mark
        ("jailbait", 1.0), ("lolicon", 1.0), ("shotacon", 1.0), ("loli porn", 1.0),
        ("child porn*", 1.0), ("cp porn", 1.0), ("kiddie porn*", 1.0), ("kiddy porn*", 1.0),
        ("csam", 1.0), ("child sexual abuse material", 1.0), ("child erotica", 1.0),
        ("pedo porn", 1.0), ("preteen model", 0.5), ("child model nude", 1.0),
        ("nina desnuda", 1.0), ("ninas desnudas", 1.0), ("nino desnudo", 1.0),
        ("ninos desnudos", 1.0),
    ],
    products: &[],
    combos: &[
        Combo {
            name: "cp+media+minor",
            weight: 1.0,
            groups: &[
                &["cp"],
                &["images", "pics", "pictures", "videos", "links", "content", "collection"],
                &["kids", "children", "young kids", "child", "minors", "underage", "preteen"],
            ],
        },Combo { name: "minor+sexual", weight: 1.0, groups: &[MINORS, SEXUAL] }],
    allow: &[NOT_SEXUAL, &[
        "sex education", "sex ed", "minor chord", "minor key", "minor league", "minor details",
        "minor injury", "minor injuries", "sexual health education",
    ]],
};
