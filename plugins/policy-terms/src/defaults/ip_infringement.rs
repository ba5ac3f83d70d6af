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
    // More characters, franchises, brands and their common misspellings.
    "elsa", "anna and elsa", "frozen movie", "disney frozen", "frozens elsa", "olaf the snowman",
    "moana", "simba", "lion king", "toy story", "buzz lightyear", "lightning mcqueen",
    "totoro", "my neighbor totoro", "spirited away", "kikis delivery service", "naruto",
    "one piece anime", "luffy", "goku", "dragon ball", "sailor moon", "demon slayer", "hulk",
    "incredible hulk", "wolverine", "deadpool", "x men", "harley quinn", "wonder woman",
    "aquaman", "stormtrooper", "stormtroopers", "mandalorian", "grogu", "r2 d2",
    "yoshi", "bowser", "donkey kong", "pac man", "pacman", "angry birds", "garfield", "snoopy",
    "charlie brown", "winnie the pooh", "tigger", "paddington bear", "bluey", "cocomelon",
    "thomas the tank engine", "scooby doo", "tom and jerry", "bugs bunny", "looney tunes",
    "smurfs", "the smurfs", "transformers", "optimus prime", "my little pony", "care bears",
    "teletubbies", "sesame street", "elmo", "cookie monster", "muppets", "kermit",
    "bart simpson", "homer simpson", "rick and morty", "south park", "lilo and stitch",
    "kuromi", "my melody", "pompompurin", "cinnamoroll", "labubu", "squishmallow",
    "squishmallows", "puss in boots", "despicable me", "kung fu panda", "ninja turtles", "tmnt",
    "power rangers", "hot wheels", "pokeball", "poke ball", "charizard", "eevee", "mewtwo",
    "jigglypuff", "squirtle", "bulbasaur", "gengar", "pikachoo", "picachu", "pikachuu",
    "pokeman", "pokemons", "micky mouse", "mickie mouse", "mikey mouse", "spider men", "spidey",
    "lv handbag", "lv bag", "lv bags", "lv print", "lv monogram", "lv pattern", "lv logo",
    "louis vuiton", "luis vuitton", "chanel logo", "gucci logo", "gg logo", "versace medusa",
    "stussy", "bape", "yeezy", "yeezys", "lululemon", "tiffany and co", "cartier", "hublot",
    "audemars piguet", "patek philippe", "tag heuer", "fendi", "yves saint laurent",
    "givenchy", "tesla logo", "gryffindor", "slytherin", "deathly hallows", "lord of the rings",
    "gandalf", "frodo", "gollum", "game of thrones", "stranger things", "squid game",
    "wednesday addams", "guardians of the galaxy", "groot", "black panther", "captain marvel",
    "thanos", "justice league", "premier league", "real madrid", "manchester united", "lakers",
    "yankees", "chicago bulls", "ronald mcdonald", "michelin man", "pillsbury doughboy",
    "kool aid man", "mickey", "minnie", "pokemon card", "pokemon cards", "米奇", "小黄人",
    "宝可梦", "蜘蛛侠", "哆啦a梦", "机器猫", "凯蒂猫", "micky maus", "mickey maus",
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
    "commercial use", "commercially", "brand copy", "market stall", "my stall", "craft fair",
    "craft fairs", "for profit", "my restaurant", "for my restaurant",
    "my cafe", "for my cafe", "my coffee shop", "my bakery", "my brand", "product line",
    "my product line", "supplies i sell", "manufacture", "to manufacture", "and sell",
    "mass produce", "mass production", "wholesale", "bulk order", "my clothing line",
    "clothing line", "my clothing brand", "clothing brand", "my sportswear", "my shoe brand",
    "my sneaker brand", "my label", "my accessories", "accessories brand", "my mugs", "my cups",
    "my merch", "merch store", "my online shop", "online shop", "onlineshop", "my onlineshop",
    "webshop", "my webshop", "identical to the original", "1 1 copy", "1 1 tribute",
    "1 1 replica", "perfect copy", "identical copy", "exact replica", "exact reproduction",
    "reproduction for sale", "to print and sell", "printing and selling", "monetize",
    "monetise", "knockoffs", "bootlegs", "replicas", "counterfeits", "a la venta",
    "para mi tienda", "pour vendre", "mon magasin", "zum verkaufen", "zum verkauf",
    "verkaufen", "meinen onlineshop", "售卖", "销售", "商用", "淘宝", "网店出售", "高仿", "复刻",
    "commercial novel", "my own novel", "my novel", "my mobile game",
    "my game", "my app", "my video game", "store page", "app store", "game store",
    "my youtube channel", "my channel", "my company", "our company", "my startup",
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
    products: &[],
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
                    "trademark", "fake", "knockoff", "my brand", "accessories brand",
                    "my phone accessories", "copy the", "my business", "my shop", "my store",
                    "to sell", "selling",
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
        Combo {
            name: "stock site mark cleaned off",
            weight: 1.0,
            groups: &[
                STOCK_SITES,
                &[
                    "clean up the mark", "clean the mark", "remove the mark", "remove their mark",
                    "erase the mark", "remove the logo", "erase the logo", "remove the text",
                    "get rid of the mark", "get rid of the logo", "clean off the",
                    "so i can use it", "use it without paying", "without paying", "without a license",
                    "without licensing",
                ],
            ],
        },
    ],
    allow: &[&["amazon rainforest", "amazon river"]],
};
