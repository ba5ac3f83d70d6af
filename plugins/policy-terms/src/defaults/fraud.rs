//! The built-in rules of `fraud`: fraud.

use super::{Combo, Defaults};

const FORGED: &[&str] = &[
    "fake", "faked", "counterfeit", "counterfeited", "forged", "forgery", "forgeries",
    "replica", "realistic copy", "exact copy", "realistic fake", "photoshopped",
    "falso", "falsa", "falsos", "falsas", "falsificado", "falsificada", "faux", "fausse",
    "fausses", "falsifie", "falsifiee", "gefalscht*", "falsch*", "假", "伪造", "仿冒", "假的",
];

const DOCUMENTS: &[&str] = &[
    "passport", "passports", "id card", "id cards", "identity card", "identity cards", "id",
    "ids", "drivers license", "drivers licence", "driver license", "driving licence",
    "driving license", "banknote", "banknotes", "bank note", "bank notes", "money",
    "dollar bill", "dollar bills", "euro notes", "euro banknotes", "currency", "cheque",
    "cheques", "bank check", "bank cheque", "cashiers check", "paycheck", "invoice",
    "invoices", "diploma", "diplomas", "degree certificate", "university degree", "receipt",
    "receipts", "paypal login", "login page", "birth certificate", "social security card",
    "vaccination card", "vaccine card", "vaccination certificate", "medical certificate",
    "doctors note", "sick note", "bank statement", "bank statements", "pay stub", "pay stubs",
    "payslip", "signature", "police badge", "visa", "residence permit", "green card",
    "work permit", "boarding pass", "license plate", "notary seal",
    "dni", "pasaporte", "billete", "billetes", "documento de identidad", "passeport",
    "carte d identite", "permis de conduire", "billet de banque", "billets de banque",
    "reisepass", "personalausweis", "fuhrerschein", "geldschein", "geldscheine",
    "arbeitszeugnis", "zeugnis", "身份证", "护照", "驾照", "钞票", "人民币", "发票", "登录页面",
    "pagina de inicio de sesion", "inicio de sesion", "page de connexion", "anmeldeseite",
    "etiquetas", "etiquettes", "etiketten",
    "pound note", "pound notes", "euro note", "euro banknote", "utility bill",
    "proof of address",
];

pub(super) static RULES: Defaults = Defaults {
    terms: &[
        ("fakeid", 1.0), ("fakeids", 1.0),
        ("phishing*", 1.0), ("fake login page", 1.0), ("fake login", 1.0),
        ("bank login page", 1.0), ("ransomware", 1.0), ("malware", 1.0), ("keylogger", 1.0),
        ("spyware", 1.0), ("credit card generator", 1.0), ("cc generator", 1.0),
        ("stolen credit card", 1.0), ("stolen credit cards", 1.0), ("carding", 0.6),
        ("scam website", 1.0), ("scam page", 1.0), ("sextortion", 1.0), ("fake giveaway", 0.6),
        ("fake airdrop", 0.6), ("crypto scam", 0.6), ("counterfeit money", 1.0),
        ("prop money", 0.5),
    ],
    combos: &[
        Combo {
            name: "banknote+printing",
            weight: 1.0,
            groups: &[
                &[
                    "banknote", "banknotes", "bank note", "bank notes", "euro note", "euro notes",
                    "pound note", "pound notes", "dollar bill", "dollar bills",
                ],
                &[
                    "exact size", "printable", "for printing",
                    "print ready",
                ],
            ],
        },
        Combo {
            name: "prop money+spending",
            weight: 1.0,
            groups: &[
                &["prop money", "movie money", "play money"],
                &["spending", "to spend", "looks real", "100 real", "pass as real"],
            ],
        },
        Combo {
            name: "novelty document+passes",
            weight: 1.0,
            groups: &[
                &["novelty", "souvenir", "replacement"],
                &[
                    "drivers license", "drivers licence", "driver license", "id card", "visa",
                    "visa sticker", "passport", "tags", "labels",
                ],
                &[
                    "passes", "scanner", "would accept", "authentic", "looks real", "border guards",
                ],
            ],
        },
        Combo { name: "forged+document", weight: 1.0, groups: &[FORGED, DOCUMENTS] },
        Combo {
            name: "brand+login page",
            weight: 0.5,
            groups: &[
                &[
                    "bank", "banking", "paypal", "apple id", "icloud", "microsoft", "amazon",
                    "netflix", "gmail", "outlook", "office 365", "chase", "wells fargo",
                    "bank of america", "coinbase", "metamask", "binance", "facebook", "instagram",
                ],
                &[
                    "login page", "log in page", "sign in page", "signin page", "login screen",
                    "login form", "verify your account", "account suspended", "password reset",
                    "security alert",
                ],
            ],
        },
        Combo {
            name: "cloned login page",
            weight: 0.5,
            groups: &[
                &["login page", "log in page", "sign in page", "signin page", "login screen", "login form"],
                &["fake", "clone", "cloned", "replica", "copy of", "identical", "lookalike", "look alike"],
            ],
        },
    ],
    allow: &[&[
        "fake fur", "fake plants", "fake flowers", "fake snow", "fake grass", "fake smile",
        "fake leather", "fake tan", "fake eyelashes", "fake lashes", "fake nails",
        "replica ship", "replica car", "money plant", "money tree",
    ]],
};
