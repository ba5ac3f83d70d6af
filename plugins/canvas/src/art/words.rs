//! Prompt analysis: splits the prompt into words, folds synonyms and plurals onto the
//! mood, colour and element tables, and reads off what the scene should contain.

use super::math::{Rgb, fnv1a, rgb};

/// Scene elements; a scene keeps a bit set indexed by position in this list.
const ELEMENTS: &str = "sun moon star mountain water city tree dune snow cloud stripe neon \
    lighthouse pastel watercolor";
/// Elements an unrecognised word may add, picked by the word's hash.
const HASHED: &str = "sun mountain city tree cloud stripe water dune";
const STOP: &str = "the and with for from into over under near";

/// Mood words: [sky top, sky bottom, far land, near land, sun, accent] and elements.
#[rustfmt::skip]
pub(super) const MOODS: &[(&str, [u32; 6], &str)] = &[
    ("dusk", [0x2b1d4f, 0xf08a5d, 0x6a3d6b, 0x2a1733, 0xffc36b, 0xff6f59], "sun"),
    ("dawn", [0x7fb2e5, 0xffd1a8, 0x8a9bb5, 0x4d5d73, 0xfff1c1, 0xffa07a], "sun"),
    ("night", [0x03061a, 0x1d2d5c, 0x1a2240, 0x080b18, 0xe8ecf5, 0xffd46b], "moon star"),
    ("ocean", [0x3f8fd2, 0xbfe3f2, 0x2f6f8f, 0x0f3d5c, 0xfff4d6, 0x1fb5b0], "water"),
    ("forest", [0x8cc3e8, 0xe4f1d8, 0x3f7a4a, 0x1d3b22, 0xfff6cc, 0x9ccc65], "tree"),
    ("desert", [0x4a90c9, 0xf6d7a7, 0xd99a55, 0xa9622d, 0xfff3b0, 0xe35d2f], "dune sun"),
    ("snow", [0x9fb8d6, 0xf2f6fb, 0xc9d6e6, 0xe9eff7, 0xffffff, 0x7aa6d6], "snow mountain"),
    ("fire", [0x1a0505, 0xd6431a, 0x5a1a0d, 0x1c0a06, 0xffd23f, 0xff7b00], "mountain sun"),
    ("neon", [0x12022b, 0xb0288f, 0x2a0b4a, 0x0a0418, 0xff5ec4, 0x2de2e6], "neon sun"),
    ("space", [0x020108, 0x2a0f4d, 0x1a1030, 0x07040f, 0xffe9c4, 0xa77dff], "star moon"),
    ("storm", [0x4b5360, 0xa9b1ba, 0x5d6671, 0x2c3138, 0xdfe3e8, 0x8fa3b8], "cloud"),
    ("aurora", [0x040c1e, 0x123a4a, 0x1e3346, 0x0a1422, 0xe9f1ff, 0x3dffa0], "stripe star"),
    ("autumn", [0x6f9ccf, 0xf3d2a2, 0xb5562a, 0x5c2a12, 0xffe0a0, 0xe0701e], "tree"),
];

/// Colour words, as `word:rrggbb`.
const COLOURS: &str = "red:d7263d crimson:b0102b blue:1f5fd1 navy:14215e green:2e9e4f \
    gold:e8b923 purple:7b3fa0 violet:8f5fd6 orange:f28c28 pink:f49ac1 magenta:d1329b \
    teal:1a9e9a cyan:2de2e6 black:101014 white:f4f4f0 grey:8a8d91 silver:c0c4c8 \
    brown:7a4b2a yellow:f5d90a";

/// Synonyms folded onto mood, colour and element words, as `word:canonical`.
const ALIASES: &str = "sunset:dusk evening:dusk twilight:dusk sunrise:dawn morning:dawn \
    midnight:night dark:night sea:ocean beach:ocean coast:ocean harbor:ocean island:ocean \
    jungle:forest wood:forest sand:desert sandy:desert canyon:desert winter:snow snowy:snow \
    ice:snow frozen:snow arctic:snow lava:fire volcano:fire flame:fire cyberpunk:neon \
    synthwave:neon galaxy:space cosmic:space nebula:space rain:storm fog:storm mist:storm \
    fall:autumn gray:grey golden:gold peak:mountain hill:mountain town:city cities:city \
    skyline:city tower:city building:city castle:city pine:tree lake:water river:water \
    wave:water rainbow:stripe watercolour:watercolor painting:watercolor";

/// What a prompt asks for, before the seed has a say.
pub(super) struct Words {
    /// Hash of the words: the prompt's identity for the PRNG and the fallback palette.
    pub(super) key: u64,
    /// Element bit set (see [`el`]) named by mood, element and hashed extra words.
    pub(super) feats: u32,
    /// Indices into [`MOODS`], in order of first mention.
    pub(super) moods: Vec<usize>,
    /// Colour words' colours, in prompt order.
    pub(super) colours: Vec<Rgb>,
}

impl Words {
    /// Colour and mood words pick the palette, subject words pick scene elements, and up
    /// to two other words are hashed into extra elements.
    pub(super) fn read(prompt: &str) -> Self {
        let words = tokenise(prompt);
        // Hash the words, not the text, so that case and punctuation do not matter; a
        // prompt without ASCII words still gets a key of its own.
        let joined = words.join(" ");
        let key = fnv1a(if words.is_empty() { prompt } else { &joined }.as_bytes());
        let (mut feats, mut extras, mut moods, mut colours) = (0, 0, vec![], vec![]);
        for word in &words {
            let w = canonical(word);
            let mood = MOODS.iter().position(|m| m.0 == w);
            if let Some(hex) = lookup(COLOURS, w) {
                colours.push(rgb(u32::from_str_radix(hex, 16).unwrap_or(0)));
            } else if let Some(i) = mood {
                feats |= el(MOODS[i].2);
                moods.extend((!moods.contains(&i)).then_some(i));
            } else if listed(ELEMENTS, w) {
                feats |= el(w);
            } else if w.len() > 2 && !listed(STOP, w) && extras < 2 {
                extras += 1; // capped: long prompts would otherwise switch everything on
                let options: Vec<&str> = HASHED.split_whitespace().collect();
                feats |= el(options[(fnv1a(w.as_bytes()) % options.len() as u64) as usize]);
            }
        }
        Words {
            key,
            feats,
            moods,
            colours,
        }
    }
}

/// Bit set of the named elements.
pub(super) fn el(names: &str) -> u32 {
    let index = |n| ELEMENTS.split_whitespace().position(|e| e == n);
    let bit = |n| index(n).map_or(0, |i| 1 << i);
    names.split_whitespace().fold(0, |set, n| set | bit(n))
}

fn tokenise(prompt: &str) -> Vec<String> {
    let words = prompt.split(|ch: char| !ch.is_ascii_alphanumeric());
    let words = words.filter(|w| !w.is_empty());
    words.map(str::to_ascii_lowercase).collect()
}

/// Finds `word` in a space-separated `key:value` table.
fn lookup(table: &'static str, word: &str) -> Option<&'static str> {
    let value = |e: &'static str| e.strip_prefix(word)?.strip_prefix(':');
    table.split_whitespace().find_map(value)
}

fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// Folds plurals and synonyms onto table words; unknown words come back unchanged.
fn canonical(word: &str) -> &str {
    for w in [word, word.strip_suffix('s').unwrap_or(word)] {
        if let Some(to) = lookup(ALIASES, w) {
            return to;
        }
        let mood = MOODS.iter().any(|m| m.0 == w);
        if mood || lookup(COLOURS, w).is_some() || listed(ELEMENTS, w) {
            return w;
        }
    }
    word
}
