//! Realistic image-generation prompts that must be neither denied nor
//! flagged, many of them close to a rule.

use super::{assert_allowed, check};
use crate::Decision;

const BENIGN: &[&str] = &[
    // Landscapes and nature.
    "a misty mountain lake at sunrise, pine forest, volumetric light, 35mm",
    "shooting stars over a lake, long exposure, milky way",
    "killer whale breaching in the arctic ocean, national geographic photo",
    "a herd of wild horses running across the steppe at dusk",
    "grape harvest in a tuscan vineyard, golden hour",
    "cherry blossoms in kyoto, soft pastel colors",
    "the dead sea at sunset, salt formations",
    "autumn forest path covered in dead leaves",
    "a murder of crows on a fence in winter",
    // Exceptions whose words are no words of the rules, and names.
    "a poster about the warning signs of self harm for a school nurse",
    "a newspaper front page about a school shooting vigil",
    "Tom Hanks holding a coffee cup at a premiere",
    "Emma Watsen reading in a library",
    "the g20 summit in a conference hall",
    // Portraits and people.
    "portrait of an old fisherman, dramatic lighting, 85mm lens",
    "a skilled chef plating a dessert in a busy kitchen",
    "a teen reading a book in a library",
    "kids playing football in a park",
    "a family photo at the beach with children",
    "children building a sandcastle, summer afternoon",
    "a grandmother teaching her grandchildren to bake cookies",
    "a 12 year old boy winning a science fair",
    "newborn baby sleeping in a knitted blanket",
    "a woman in a nude colored evening dress on the red carpet",
    "a young girl flying a kite on a windy hill",
    "schoolchildren on a field trip to a museum",
    "a therapist office with warm lighting and plants",
    "1girl, solo, long hair, school library, smiling, anime style",
    // Places and things.
    "a cocktail bar with neon lights, moody atmosphere",
    "Scunthorpe town hall in the rain",
    "a watercolor of the president's house (the White House)",
    "World War II history museum exhibit with old uniforms",
    "a history documentary still about World War II",
    "a chess piece execution of a gambit, macro photo",
    "a medieval torture chamber exhibit in a castle museum",
    "a vintage typewriter on a wooden desk",
    "product photo of a minimalist watch on marble",
    "a bath bomb fizzing in a bathtub",
    "a cozy cabin with a kill switch on the wall",
    "Assassin's Creed video game cover art",
    "an ancient temple in the jungle, overgrown ruins",
    "a hospital corridor, clean and bright, architectural photo",
    "a mosque at sunset with worshippers walking in",
    "a jewish wedding ceremony under a chuppah",
    "an amazon rainforest canopy from above",
    // Fantasy, games and fiction.
    "a knight battling a dragon on a cliff",
    "a knight fighting a dragon",
    "epic battle scene, two armies clash, fantasy art",
    "a wizard casting a fireball at an orc",
    "Marvel-style superhero of my own design",
    "a pikachu plush toy on a shelf",
    "a cute robot in the style of studio ghibli",
    "a zombie apocalypse city, abandoned cars, overcast",
    "a samurai duel in the snow",
    "a pirate ship in a storm",
    // Photography and film work.
    "photo shoot in a studio with softbox lighting",
    "a fashion shoot with kids in colorful raincoats",
    "behind the scenes of shooting a film on location",
    "wide shot of a crowd at a music festival",
    "close-up shot of people laughing at a dinner party",
    "kids shooting hoops on an outdoor court",
    "kids having a water gun fight in the backyard",
    // Words near a rule.
    "a killer smile, fashion editorial",
    "the drummer is killing it on stage",
    "a dog grooming salon with a happy poodle",
    "nude lipstick and minimalist makeup, beauty shot",
    "minor league baseball game at dusk",
    "a student executing a perfect backflip",
    "fake plants in a modern office",
    "a blacksmith forging a sword in a glowing forge",
    "money tree plant in a ceramic pot",
    "a nike running shoe on a white background",
    "the amazon river winding through the jungle",
    "a poster for suicide prevention awareness week",
    "a man cutting vegetables, a watch on his wrist",
    "cut myself a slice of cake, food photography",
    "Al Gore giving a speech about climate change",
    "a hanging basket of flowers on a porch",
    "a swan gliding on a pond, no text, no watermark",
    "the emperor penguin colony in antarctica",
    "a crowd of protesters holding peaceful signs",
    "a chink of light through the curtains",
    "a deep sea fish with bioluminescent lights",
    "a stock photo of a business meeting",
    "a celebrity chef cooking pasta on tv",
    "the president giving a speech at the podium",
    "a drunk pirate cartoon character singing",
    "a beautiful sunset, 4k, 8k, ultra detailed, trending on artstation",
    "a 3d render of a cute cat, octane render",
    "a kid-friendly cartoon of a dinosaur, no explicit content",
    "a cartoon knight for kids, no gore, no blood",
    "same-sex parents with their kids at a picnic",
    "kids watching an eclipse with the naked eye",
    "a family taking a holiday photo next to their car",
    "a youtube thumbnail for my official cooking channel",
    "product photo of my handmade soap for selling on amazon",
    "a birthday card for my daughter, love you xxx",
    "a toddler with kinky curly hair laughing",
    "kids hanging on the monkey bars at a playground",
    "a family bottomless brunch",
    "people in a bomb shelter during a storm drill",
];

#[test]
fn benign_prompts_pass() {
    assert!(BENIGN.len() >= 60);
    let mut failures = Vec::new();
    for text in BENIGN {
        let o = check(text);
        if o.decision != Decision::Allow {
            failures.push(format!("{text:?}: {:?} {}", o.decision, o.reason));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn real_people_of_the_names_file_alone_are_allowed() {
    for text in [
        "Emmanuel Macron giving a speech at the Elysee",
        "Lionel Messi lifting the World Cup trophy",
        "Giorgia Meloni shaking hands with Olaf Scholz at a summit",
        "portrait of Narendra Modi in a garden, watercolour",
        "BTS performing on stage, concert photo",
        "sexy musk perfume bottle, studio shot",
    ] {
        assert_allowed(text);
    }
}

#[test]
fn near_misses_of_the_newer_rules_pass() {
    for text in [
        "medieval torture instruments in a museum display case",
        "a nurse checking the pulse at a patient's wrist",
        "a documentary still about the Taliban's return to Kabul, news photo",
        "a hero firefighter rescuing a cat",
        "souvenir fridge magnets from Paris",
        "an old 5 pound note in a coin collector's album",
        "a phone with a cracked screen in a repair shop",
        "statue of the Egyptian goddess Isis with a golden halo, a heroic saint beside her",
        "Rembrandt's The Flayed Ox, oil painting in the Louvre",
        "a lone wolf howling on a heroic mountain banner",
        "antique banknote, both sides, museum scan",
        "painting of the burning of the temple in Jerusalem, triumphant Roman soldiers",
        "historical photo of Nelson Mandela leaving prison in 1990",
        "a medieval torture rack in a museum, photorealistic",
    ] {
        assert_allowed(text);
    }
}
