//! The built-in rules of `ip_infringement`: trademark and copyright infringement.

use super::{Combo, Defaults};

const MARKS: &[&str] = &[
    "disney", "mickey mouse", "minnie mouse", "donald duck", "marvel", "spider man",
    "spiderman", "iron man", "captain america", "avengers", "batman", "superman",
    "dc comics", "pokemon", "pikachu", "nintendo", "mario", "super mario", "zelda",
    "sonic the hedgehog", "star wars", "darth vader", "baby yoda", "yoda", "harry potter",
    "hogwarts", "coca cola", "cocacola", "pepsi", "nike", "nike swoosh", "adidas",
    "apple inc", "iphone", "ipad", "macbook", "louis vuitton", "gucci", "chanel", "prada",
    "hermes birkin", "birkin bag", "rolex", "hello kitty", "sanrio", "lego", "barbie",
    "mattel", "warner bros", "pixar", "dreamworks", "studio ghibli", "mcdonalds",
    "starbucks", "the simpsons", "simpsons", "shrek", "spongebob", "minions", "peppa pig",
    "paw patrol", "fortnite", "minecraft", "playstation", "xbox", "ferrari", "lamborghini",
    "porsche", "nfl", "nba", "fifa",
    "olympic rings", "ray ban", "rayban", "north face", "burberry", "dior", "versace",
    "balenciaga", "supreme logo", "air jordan", "jumpman", "asterix", "obelix",
    "die sendung mit der maus", "米老鼠", "迪士尼", "皮卡丘", "耐克", "阿迪达斯", "漫威", "哈利波特",
    "路易威登", "香奈儿", "古驰",
    "elsa from frozen", "disney movie", "avengers endgame", "famous mouse", "electric mouse",
    "pocket monster", "pocket monsters", "lightning scar", "twin tailed siren", "siren logo",
    "siren coffee logo", "swoosh",
];

/// Platforms and companies whose names are everyday words in prompts
/// ("a youtube thumbnail", "selling on amazon"): only their logos count.
const PLATFORMS: &[&str] = &[
    "youtube", "instagram", "facebook", "tiktok", "netflix", "google", "microsoft", "amazon",
    "twitter", "spotify", "whatsapp", "snapchat", "windows", "android", "openai", "chatgpt",
];

const COMMERCIAL_USE: &[&str] = &[
    "logo", "logos", "trademark", "trademarked", "official", "merchandise", "merch",
    "exact copy", "counterfeit", "replica", "for sale", "to sell", "selling", "resale",
    "bootleg", "knockoff", "knock off", "fake", "brand label", "product label", "packaging",
    "print on demand", "etsy", "redbubble", "teepublic", "spreadshirt", "officiel",
    "officielle", "a vendre", "ma boutique", "je vends", "para vender", "mi tienda", "vendo",
    "verkaufe", "zu verkaufen", "mein shop", "meinen shop", "官方", "标志", "商标", "网店",
    "我卖的", "卖的", "仿冒", "出售",
    "i sell", "im selling", "sell on", "manufacturing", "my shop", "my store", "my business",
"t shirt business", "tshirt business", "for my shop", "my shops",
    "for prints", "phone cases",
];

const STOCK_SITES: &[&str] = &[
    "getty", "getty images", "gettyimages", "shutterstock", "istock", "istockphoto",
    "adobe stock", "alamy", "dreamstime", "depositphotos", "123 rf", "stock photo",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("remove watermark", 1.0), ("remove watermarks", 1.0), ("remove the watermark", 1.0),
        ("remove the watermarks", 1.0), ("removing watermark", 1.0),
        ("removing watermarks", 1.0), ("removing the watermark", 1.0),
        ("watermark removal", 1.0), ("watermark remover", 1.0), ("erase watermark", 1.0),
        ("erase the watermark", 1.0), ("delete watermark", 1.0), ("delete the watermark", 1.0),
        ("without watermark", 1.0), ("without the watermark", 1.0), ("apple logo", 0.5),
    ],
    combos: &[
        Combo { name: "famous mark+commercial use", weight: 1.0, groups: &[MARKS, COMMERCIAL_USE] },
        Combo {
            name: "platform logo",
            weight: 1.0,
            groups: &[
                PLATFORMS,
                &[
                    "logo", "logos", "trademark", "counterfeit", "replica", "knockoff", "fake logo",
                    "exact copy",
                ],
            ],
        },
        Combo {
            name: "apple logo+commercial use",
            weight: 0.5,
            groups: &[
                &["apple logo"],
                &[
                    "official", "merchandise", "counterfeit", "replica", "for sale", "exact copy",
                    "trademark", "fake", "knockoff",
                ],
            ],
        },
        Combo { name: "stock site+watermark", weight: 0.5, groups: &[STOCK_SITES, &["watermark", "watermarks"]] },
        Combo {
            name: "stock site watermark removal",
            weight: 0.5,
            groups: &[
                STOCK_SITES,
                &["watermark", "watermarks"],
                &["remove", "removed", "removing", "without", "erase", "erased", "no"],
            ],
        },
    ],
    allow: &[&["amazon rainforest", "amazon river"]],
};
