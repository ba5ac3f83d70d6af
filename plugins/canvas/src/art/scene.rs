//! The scene plan: from the prompt's words and the seed, the palette, the set of
//! elements and the layout constants (horizon, sky tilt, sun) shared by every frame.

use super::math::{Rgb, Rng, hsv, mix, mix64, rgb, scale, unit};
use super::words::{MOODS, Words, el};

// Palette slots, in the order of the mood table's colours.
pub(super) const TOP: usize = 0;
pub(super) const BOT: usize = 1;
pub(super) const FAR: usize = 2;
pub(super) const NEAR: usize = 3;
pub(super) const LIGHT: usize = 4;
pub(super) const ACCENT: usize = 5;

pub(super) struct Scene {
    pub(super) pal: [Rgb; 6],
    feats: u32,
    pub(super) horizon: f32,
    pub(super) tilt: f32,
    pub(super) glow: f32,
    /// x, y as fractions; radius as a fraction of the short edge.
    pub(super) sun: [f32; 3],
    pub(super) salt: u64,
}

impl Scene {
    /// The words plus the seed drive a PRNG that fills in what the prompt leaves open.
    pub(super) fn new(prompt: &str, seed: u64) -> Self {
        let Words {
            key,
            mut feats,
            moods,
            colours,
        } = Words::read(prompt);
        let mut rng = Rng(key ^ mix64(seed));
        if feats & el("mountain water city tree dune lighthouse") == 0 {
            feats |= el(["mountain", "city", "tree", "water", "dune"][rng.below(5)]);
        }
        if feats & el("sun moon") == 0 && rng.f() < 0.75 {
            feats |= el("sun");
        }
        if rng.f() < 0.3 {
            feats |= el("cloud");
        }
        if feats & el("lighthouse") != 0 {
            feats |= el("water");
        }
        let mut pal = palette(&moods, &colours, key);
        if feats & el("star") != 0 {
            pal[TOP] = scale(pal[TOP], 0.4); // stars need a dark sky to show
        }
        let horizon = rng.range(0.5, 0.72);
        let (x, y) = (rng.range(0.15, 0.85), horizon - rng.range(0.08, 0.32));
        let sun = [x, y, rng.range(0.06, 0.12)];
        let (tilt, moon) = (rng.range(-0.35, 0.35), feats & el("moon") != 0);
        Scene {
            pal,
            feats,
            horizon,
            tilt,
            glow: if moon { 0.3 } else { 0.6 },
            sun,
            salt: rng.0,
        }
    }

    pub(super) fn has(&self, names: &str) -> bool {
        self.feats & el(names) != 0
    }

    /// `n` if the scene has the element, else none.
    pub(super) fn count(&self, name: &str, n: usize) -> usize {
        if self.has(name) { n } else { 0 }
    }

    /// Each layer lays itself out from its own stream, identical in every frame.
    pub(super) fn rng(&self, layer: u64) -> Rng {
        Rng(self.salt ^ mix64(layer))
    }
}

/// Blends the mood palettes, earlier words weighing more (with no mood, a harmonious
/// palette from the prompt's hash, so that unknown prompts still differ), then tints it
/// with the colour words: the first tints the sky, the second the land, the third the sun.
fn palette(moods: &[usize], colours: &[Rgb], key: u64) -> [Rgb; 6] {
    let h = unit(mix64(key));
    let hue = [0.0, 0.1, 0.45, 0.5, 0.15, 0.55];
    let sat = [0.6, 0.45, 0.35, 0.45, 0.3, 0.8];
    let val = [0.35, 0.95, 0.55, 0.25, 1.0, 0.95];
    let mut pal = [0, 1, 2, 3, 4, 5].map(|i| hsv(h + hue[i], sat[i], val[i]));
    for (i, &m) in moods.iter().enumerate() {
        let weight = 1.0 / (1 << i.min(16)) as f32;
        for (slot, &c) in pal.iter_mut().zip(&MOODS[m].1) {
            *slot = mix(*slot, rgb(c), weight / (2.0 - weight)); // running weighted mean
        }
    }
    if let [c0, rest @ ..] = colours {
        let c1 = rest.first().unwrap_or(c0);
        let c2 = rest.get(1).unwrap_or(c1);
        let (tints, strength) = ([c0, c0, c1, c1, c2, c1], [0.3, 0.55, 0.35, 0.3, 0.5, 1.0]);
        for (i, slot) in pal.iter_mut().enumerate() {
            *slot = mix(*slot, *tints[i], strength[i]);
        }
    }
    pal
}
