//! The built-in rules of `fraud`: fraud.

use super::{Combo, Defaults, LAW_ENFORCEMENT, TEACHING_CONTEXT};

const FORGED: &[&str] = &[
    "fake", "faked", "counterfeit", "counterfeited", "forged", "forgery", "forgeries",
    "replica", "realistic copy", "exact copy", "realistic fake", "photoshopped",
    "falso", "falsa", "falsos", "falsas", "falsificado", "falsificada", "faux", "fausse",
    "fausses", "falsifie", "falsifiee", "gefalscht*", "falsch*", "假", "伪造", "仿冒", "假的",
    "fak", "fke", "phony", "phoney", "bogus", "fraudulent", "falsified", "falsify", "doctored",
    "forjed", "forgd", "counterfit", "conterfeit", "couterfeit", "fakes", "fals", "falsche",
    "falscher", "falschen", "gefaelscht", "trucado", "trucada", "contrefait", "contrefaits",
    "contrefaite", "假冒", "假造",
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
    "work permit", "boarding pass", "license plate", "notary seal", "notary stamp",
    "official stamp", "government seal", "company stamp", "court order", "court document",
    "dni", "pasaporte", "billete", "billetes", "documento de identidad", "passeport",
    "carte d identite", "carte identite", "carte didentite", "carte nationale d identite", "permis de conduire", "billet de banque", "billets de banque",
    "reisepass", "personalausweis", "fuhrerschein", "geldschein", "geldscheine",
    "arbeitszeugnis", "zeugnis", "身份证", "护照", "驾照", "钞票", "人民币", "发票", "登录页面",
    "pagina de inicio de sesion", "inicio de sesion", "page de connexion", "anmeldeseite",
    "etiquetas", "etiquettes", "etiketten",
    "pound note", "pound notes", "euro note", "euro banknote", "utility bill",
    "proof of address",
    "lottery ticket", "lottery tickets", "lottery winner", "lottery win", "winning ticket",
    "gift card", "gift cards", "gift card codes", "tickets", "concert tickets", "ticket",
    "irs letter", "letter from the irs", "tax notice", "tax letter", "court summons", "warrant",
    "warrant card", "police id", "press pass", "license", "licence", "permit", "official seal",
    "hologram", "euros", "dollars", "dollar", "euro", "bills", "billets", "billet", "transcript",
    "transcripts", "medical records", "prescription", "prescriptions", "covid test",
    "test result", "test results", "insurance card", "health insurance card",
    "insurance claim", "pay slip", "tax return", "employment letter", "reference letter",
    "payment screenshot", "payment confirmation", "transfer confirmation", "bank transfer",
    "wire transfer", "deposit slip", "license card", "identity document", "id document",
    "student id", "employee badge", "credit card", "credit cards", "debit card", "money order",
    "certificate", "certificates", "birth certificates", "marriage certificate",
    "death certificate", "divorce papers", "court order", "licencia", "licencia de conducir", "carnet", "titulo", "certificado",
    "attestation", "diplome", "certificat", "releve bancaire", "zertifikat", "urkunde",
    "ausweis", "kontoauszug", "证书", "毕业证", "文凭", "银行流水",
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
        ("send 1 btc", 1.0), ("send btc", 1.0), ("send bitcoin", 1.0), ("send eth", 1.0),
        ("double your bitcoin", 1.0), ("double your crypto", 1.0), ("double your money", 0.5),
        ("get 2 back", 1.0), ("get double back", 1.0), ("payment in gift cards", 1.0),
        ("pay in gift cards", 1.0), ("paid in gift cards", 1.0), ("in gift cards", 0.5),
        ("trick old people", 1.0), ("trick elderly", 1.0), ("scam old people", 1.0),
        ("scam the elderly", 1.0), ("scam elderly", 1.0), ("scam buyers", 1.0),
        ("scam people", 1.0), ("to scam", 1.0), ("scam email", 0.6), ("scam text", 0.6),
        ("crypto giveaway", 0.5), ("bitcoin giveaway", 0.5), ("fake charity", 1.0),
        ("fake invoice", 1.0), ("fake receipt", 1.0), ("fake receipts", 1.0),
        ("refund scam", 1.0), ("fake reviews", 0.6), ("fake review", 0.6),
        ("pass the pen test", 1.0), ("passes the pen test", 1.0), ("pen test", 0.3),
        ("looks 100 real", 0.5), ("someone elses passport", 1.0),
        ("someone else s passport", 1.0), ("someone elses id", 1.0), ("someone else s id", 1.0),
        ("changed bank details", 1.0), ("new bank details", 0.6),
        ("reset your password", 0.4), ("verify your account", 0.5), ("fake link", 1.0),
        ("phish", 1.0), ("smishing", 1.0), ("vishing", 1.0), ("credential harvesting", 1.0),
        ("collect passwords", 1.0), ("collecting passwords", 1.0), ("steal passwords", 1.0),
        ("get peoples passwords", 1.0), ("get people s passwords", 1.0),
        ("robar contrasenas", 1.0), ("voler des mots de passe", 1.0),
        ("passworter stehlen", 1.0), ("钓鱼网站", 1.0), ("假钞", 1.0), ("假币", 1.0),
        ("falschgeld", 1.0), ("fausse monnaie", 1.0), ("faux billets", 1.0),
        ("billetes falsos", 1.0), ("dinero falso", 1.0), ("假身份证", 1.0), ("假护照", 1.0),
        ("假证件", 1.0),
    ],
    products: &[],
    combos: &[
        Combo { name: "teaching, history or news context", weight: -1.0, groups: &[TEACHING_CONTEXT] },
        Combo { name: "police arresting or convicting", weight: -1.0, groups: &[LAW_ENFORCEMENT] },
        Combo {
            name: "instructions or sale despite the context",
            weight: 1.0,
            groups: &[
                TEACHING_CONTEXT,
                &[
                    "how to make", "how to print", "how to", "step by step", "instructions",
                    "tutorial", "template", "templates", "for sale", "to sell", "selling",
                    "buy", "ready to print", "printable", "that looks real", "passes as real",
                    "fake", "fake news", "fabricated", "hoax", "made up", "false story",
                ],
            ],
        },
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
            name: "banknote+passing it off",
            weight: 1.0,
            groups: &[
                &[
                    "banknote", "banknotes", "bank note", "bank notes", "euro note", "euro notes",
                    "pound note", "pound notes", "dollar bill", "dollar bills", "twenty dollar bill",
                    "hundred dollar bill", "50 euro", "100 dollar", "20 dollar",
                ],
                &[
                    "wont notice", "will not notice", "wont be able to tell", "cant tell",
                    "can not tell", "pass as real", "passes as real", "pass for real",
                    "fool the cashier", "fool a cashier", "spend at the store", "undetectable",
                    "is homemade", "i printed", "home printed", "printed at home",
                ],
            ],
        },
        Combo {
            name: "signature made up on a document",
            weight: 1.0,
            groups: &[
                &[
                    "signature i made up", "made up signature", "signature i faked", "copied signature",
                    "copy his signature", "copy her signature", "copy the signature",
                    "trace his signature", "trace her signature", "sign it as",
                ],
                &[
                    "doctors note", "sick note", "prescription", "clinic", "check", "cheque",
                    "contract", "lease", "permission slip", "report card", "will", "deed",
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
                    "looks 100 real", "100 real", "for the bar", "bouncer",
                ],
            ],
        },
        Combo { name: "forged+document", weight: 1.0, groups: &[FORGED, DOCUMENTS] },
        Combo {
            name: "edited financial document",
            weight: 1.0,
            groups: &[
                &[
                    "bank statement", "bank statements", "pay stub", "pay stubs", "payslip",
                    "payslips", "bank balance", "account balance", "tax return", "credit score",
                ],
                &[
                    "edited", "edit my", "doctored", "altered", "alter my", "modify my", "modified",
                    "change the balance", "creative", "inflate*", "photoshop*", "show my landlord",
                    "for a visa application", "for my landlord", "to get approved", "for a loan",
                    "fake balance", "higher balance", "look richer", "im rich",
                ],
            ],
        },
        Combo {
            name: "identity theft document",
            weight: 1.0,
            groups: &[
                &["passport", "id card", "drivers license", "driver license", "license", "id", "ssn"],
                &[
                    "someone elses", "someone else s", "another persons", "another person s",
                    "swap the photo", "replace the photo",
                ],
            ],
        },
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
                    "security alert", "reset a password", "reset your password", "login link",
                    "fake link", "verify your identity", "unusual activity", "confirm your details",
                ],
            ],
        },
        Combo {
            name: "fake news to move a market",
            weight: 1.0,
            groups: &[
                &[
                    "fake news article", "fake press release", "fake news report", "fake headline",
                    "fake announcement", "fake article", "fake tweet", "fake earnings report",
                ],
                &[
                    "stock", "stocks", "shares", "crypto", "coin", "token", "market", "pump",
                    "short", "bank collapsed", "bankrupt", "price",
                ],
            ],
        },
        Combo {
            name: "stealing wallet secrets",
            weight: 1.0,
            groups: &[
                &[
                    "seed phrase", "seed phrases", "recovery phrase", "recovery phrases",
                    "private key", "private keys", "wallet password", "wallet passwords",
                ],
                &[
                    "steal", "stealing", "to steal", "collect", "harvest*", "phish*", "drain*",
                    "cloned", "clone", "fake", "grab", "capture",
                ],
            ],
        },
        Combo {
            name: "impersonation+credentials",
            weight: 1.0,
            groups: &[
                &[
                    "pretending to be", "posing as", "impersonating", "impersonate", "spoofing",
                    "spoofed", "disguised as", "claiming to be", "looks like it is from",
                    "fishing email", "fishing emails", "fishing page", "fishing site",
                    "fishing link", "fishing text", "fishing sms",
                ],
                &[
                    "card details", "card detials", "card number", "credit card", "password",
                    "passwords", "login details", "login credentials", "bank details", "account details",
                    "verify your account", "social security number", "gift cards",
                    "one time code", "verification code",
                ],
            ],
        },
        Combo {
            name: "cloned login page",
            weight: 0.5,
            groups: &[
                &[
                    "login page", "log in page", "sign in page", "signin page", "login screen",
                    "login form", "website", "web site", "site", "app",
                ],
                &["fake", "clone", "cloned", "replica", "copy of", "identical", "lookalike", "look alike"],
            ],
        },
    ],
    allow: &[&[
        "fake fur", "fake plants", "fake flowers", "fake snow", "fake grass", "fake smile",
        "fake leather", "fake tan", "fake eyelashes", "fake lashes", "fake nails",
        "replica ship", "replica car", "money plant", "money tree",
        "history of counterfeit", "counterfeit money exhibit", "exhibit on counterfeit",
        "museum of counterfeit", "passport cover", "passport holder", "passport wallet",
        "faux leather", "faux fur", "faux marble", "faux finish", "faux wood", "faux brick",
        "faux stone", "faux flowers", "faux plants", "spot a fake", "how to spot",
        "spot the fake", "identify counterfeit", "detect counterfeit", "anti counterfeit",
        "counterfeit detection", "dollar store", "dollar tree", "fake tattoo", "fake tattoos",
        "fake blood", "fake mustache", "fake moustache", "fake beard", "fake cake", "fake food",
        "fake plant", "fake tree", "fake christmas tree", "fake fireplace",
        "fake it till you make it", "fake teeth", "fake spider", "fake spiders", "fake cobwebs",
        "fake skeleton", "seize fake", "seized fake", "seizes fake", "seizing fake",
        "seizure of fake", "seize counterfeit", "seized counterfeit", "seizes counterfeit",
        "seizing counterfeit", "seizure of counterfeit", "confiscated fake",
        "confiscated counterfeit", "warning about fake", "warning about counterfeit",
        "warning people about", "beware of fake", "beware of counterfeit", "spot counterfeit",
        "spot fake", "phishing scams", "phishing scam", "phishing awareness",
        "phishing warning", "phishing attacks", "spot phishing", "avoid phishing",
        "phishing prevention", "rise of phishing", "dangers of counterfeit", "dangers of fake",
    ]],
};
