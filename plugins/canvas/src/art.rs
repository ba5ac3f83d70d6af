//! Offline picture maker for the canvas provider: turns a prompt and a seed into a
//! deterministic PNG still or looping GIF, with no network and no hidden randomness.
//!
//! Colour and mood words pick the palette, subject words pick scene elements, up to two
//! other words are hashed into extra elements, and the words plus the seed drive a PRNG
//! for the layout. Same inputs, same bytes, natively and in wasm.

use std::f32::consts::{FRAC_PI_2, TAU};

type Rgb = [f32; 3];
/// Sun or moon centre and radius in pixels, if the scene has one.
type Sun = Option<(f32, f32, f32)>;

/// Largest edge drawn; bigger requests are clamped to keep guest memory bounded.
const MAX_EDGE: u32 = 4096;
const INFALLIBLE: &str = "encoding a size-clamped image into memory cannot fail";
const WHITE: Rgb = [255.0; 3];

/// Scene elements; a scene keeps a bit set indexed by position in this list.
const ELEMENTS: &str = "sun moon star mountain water city tree dune snow cloud stripe neon \
    lighthouse pastel watercolor";
/// Elements an unrecognised word may add, picked by the word's hash.
const HASHED: &str = "sun mountain city tree cloud stripe water dune";
const STOP: &str = "the and with for from into over under near";

// Palette slots.
const TOP: usize = 0;
const BOT: usize = 1;
const FAR: usize = 2;
const NEAR: usize = 3;
const LIGHT: usize = 4;
const ACCENT: usize = 5;

/// Mood words: [sky top, sky bottom, far land, near land, sun, accent] and elements.
#[rustfmt::skip]
const MOODS: &[(&str, [u32; 6], &str)] = &[
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

/// Renders one still image as PNG bytes (8-bit RGB or RGBA).
///
/// This renderer always writes 8-bit RGB.
/// Each edge is clamped to `1..=4096`; within that range the image has exactly the
/// requested size. Identical arguments give byte-identical output.
pub fn render_png(prompt: &str, seed: u64, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width.clamp(1, MAX_EDGE), height.clamp(1, MAX_EDGE));
    let px = Scene::new(prompt, seed).render(w, h, 0.0);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().expect(INFALLIBLE);
    writer.write_image_data(&px).expect(INFALLIBLE);
    writer.finish().expect(INFALLIBLE);
    out
}

/// Renders a short looping animation as GIF bytes: `frames` frames, `delay_cs` centiseconds each.
///
/// It is the scene [`render_png`] draws for the same prompt and seed, set in motion (sun
/// drifting, water rippling, stars twinkling, snow falling) so that the last frame leads
/// back into the first. Edges are clamped to `1..=4096` and `frames` to `1..=600`; the
/// GIF loops forever with one global palette of at most 256 colours.
pub fn render_gif(
    prompt: &str,
    seed: u64,
    width: u32,
    height: u32,
    frames: u32,
    delay_cs: u16,
) -> Vec<u8> {
    let (w, h) = (width.clamp(1, MAX_EDGE), height.clamp(1, MAX_EDGE));
    let (scene, frames) = (Scene::new(prompt, seed), frames.clamp(1, 600));
    let time = |i: u32| i as f32 / frames as f32;
    // The palette comes from small renders of up to 8 frames: cheap, and same colours.
    let small = |v: u32| ((v * 160).div_ceil(w.max(h))).max(1);
    let mut samples = Vec::new();
    for i in (0..frames).step_by(frames.div_ceil(8) as usize) {
        samples.extend(scene.render(small(w), small(h), time(i)));
    }
    let mut quant = Quantiser::new(&samples);
    let (mut out, flat, gw, gh) = (Vec::new(), quant.palette.concat(), w as u16, h as u16);
    let mut enc = gif::Encoder::new(&mut out, gw, gh, &flat).expect(INFALLIBLE);
    enc.set_repeat(gif::Repeat::Infinite).expect(INFALLIBLE);
    for i in 0..frames {
        let indices = quant.map(&scene.render(w, h, time(i)), w as usize);
        let mut frame = gif::Frame::from_indexed_pixels(gw, gh, indices, None);
        frame.delay = delay_cs;
        enc.write_frame(&frame).expect(INFALLIBLE);
    }
    enc.into_inner().expect(INFALLIBLE);
    out
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

/// Bit set of the named elements.
fn el(names: &str) -> u32 {
    let index = |n| ELEMENTS.split_whitespace().position(|e| e == n);
    let bit = |n| index(n).map_or(0, |i| 1 << i);
    names.split_whitespace().fold(0, |set, n| set | bit(n))
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

/// FNV-1a: stable across runs and platforms, unlike std's randomised hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let step = |h: u64, &b: &u8| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, step)
}

/// SplitMix64 finaliser; also a stateless hash for window lights and paper grain.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(h: u64) -> f32 {
    (h >> 40) as f32 / 16_777_216.0
}

/// Polynomial sine instead of libm, whose last bits differ between native and wasm32;
/// only IEEE basic operations are used, so every platform draws the same bytes.
fn sin(x: f32) -> f32 {
    let t = x / TAU;
    let r = (t - t.floor() - 0.5) * TAU; // sin(x) = -sin(r), r in [-pi, pi)
    let r = r.signum() * (FRAC_PI_2 - (r.abs() - FRAC_PI_2).abs()); // fold to [-pi/2, pi/2]
    let r2 = r * r;
    -r * (1.0 - r2 / 6.0 * (1.0 - r2 / 20.0 * (1.0 - r2 / 42.0 * (1.0 - r2 / 72.0))))
}

fn cos(x: f32) -> f32 {
    sin(x + FRAC_PI_2)
}

struct Rng(u64);

impl Rng {
    fn f(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        unit(mix64(self.0))
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f()
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.f() * n as f32) as usize).min(n - 1)
    }
}

fn rgb(c: u32) -> Rgb {
    [16, 8, 0].map(|shift| (c >> shift) as u8 as f32)
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
}

fn scale(a: Rgb, k: f32) -> Rgb {
    a.map(|v| v * k)
}

fn luma(c: Rgb) -> f32 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let ch = |n: f32| {
        let k = (n + h.fract() * 6.0) % 6.0;
        255.0 * v * (1.0 - s * k.min(4.0 - k).clamp(0.0, 1.0))
    };
    [ch(5.0), ch(3.0), ch(1.0)]
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

/// Per-column height in pixels of a silhouette made of three summed sines; `sharp` folds
/// the first into peaks. Computed once per layer so that filling needs no trig.
fn ridge(rng: &mut Rng, (w, h): (usize, usize), base: f32, amp: f32, sharp: bool) -> Vec<f32> {
    let f = rng.range(0.6, 1.6);
    let waves = [1.0, 2.6, 6.1].map(|k| (f * k * TAU, rng.range(0.0, TAU)));
    let col = |x: usize| {
        let s = waves.map(|(f, phase)| sin(f * x as f32 / w as f32 + phase));
        let first = [0.5 + 0.5 * s[0], 1.0 - s[0].abs()][sharp as usize];
        let v = (first + 0.2 * s[1] + 0.07 * s[2] + 0.27) / 1.54;
        (base - amp * v) * h as f32
    };
    (0..w).map(col).collect()
}

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn get(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.w + x) * 3;
        [0, 1, 2].map(|k| self.px[i + k] as f32)
    }
    fn set(&mut self, x: usize, y: usize, c: Rgb) {
        let i = (y * self.w + x) * 3;
        for (px, v) in self.px[i..i + 3].iter_mut().zip(c) {
            *px = (v + 0.5) as u8; // `as` saturates: no clamp needed
        }
    }
    fn blend(&mut self, x: usize, y: usize, c: Rgb, a: f32) {
        if x < self.w && y < self.h && a > 0.0 {
            self.set(x, y, mix(self.get(x, y), c, a.min(1.0)));
        }
    }
    /// Blends the box `[x0, y0, x1, y1]`, clipped so that callers may overshoot.
    fn rect(&mut self, [x0, y0, x1, y1]: [f32; 4], c: Rgb, a: f32) {
        let clip = |v: f32, n: usize| (v.max(0.0) as usize).min(n);
        for y in clip(y0, self.h)..clip(y1, self.h) {
            for x in clip(x0, self.w)..clip(x1, self.w) {
                self.blend(x, y, c, a);
            }
        }
    }
    /// Soft ellipse `[cx, cy, rx, ry]`; `edge` is the rim's sharpness (1: fades from centre).
    fn blob(&mut self, [cx, cy, rx, ry]: [f32; 4], edge: f32, c: Rgb, a: f32) {
        let span = |c: f32, r: f32, n| (c - r).max(0.0) as usize..((c + r + 1.0) as usize).min(n);
        for y in span(cy, ry, self.h) {
            for x in span(cx, rx, self.w) {
                let (dx, dy) = ((x as f32 + 0.5 - cx) / rx, (y as f32 + 0.5 - cy) / ry);
                let q = (dx * dx + dy * dy).sqrt();
                self.blend(x, y, c, ((1.0 - q) * edge).clamp(0.0, 1.0) * a);
            }
        }
    }
    /// Fills below each column's ridge height, shading slopes as if lit from the left; the
    /// shading fades out `fade` pixels down, or whole columns would streak.
    fn fill(&mut self, hs: &[f32], [top, bottom]: [Rgb; 2], light: f32, fade: f32) {
        let k = (self.w / 256).max(1); // slope over a few columns, so detail does not streak
        for (x, &y0) in hs.iter().enumerate() {
            let slope = hs[(x + k).min(self.w - 1)] - hs[x.saturating_sub(k)];
            let lit = (slope / (2 * k) as f32 * light).clamp(-0.25, 0.25);
            for y in (y0.max(0.0) as usize)..self.h {
                let d = y as f32 - y0;
                let shade = 1.0 + lit * (1.0 - d / fade).max(0.0);
                let col = mix(top, bottom, d / (self.h as f32 - y0).max(1.0));
                self.blend(x, y, scale(col, shade), (d + 1.0).clamp(0.0, 1.0));
            }
        }
    }
}

struct Scene {
    pal: [Rgb; 6],
    feats: u32,
    horizon: f32,
    tilt: f32,
    glow: f32,
    sun: [f32; 3], // x, y as fractions; radius as a fraction of the short edge
    salt: u64,
}

impl Scene {
    fn new(prompt: &str, seed: u64) -> Self {
        let words = tokenise(prompt);
        // Hash the words, not the text, so that case and punctuation do not matter; a
        // prompt without ASCII words still gets a key of its own.
        let joined = words.join(" ");
        let key = fnv1a(if words.is_empty() { prompt } else { &joined }.as_bytes());
        let mut rng = Rng(key ^ mix64(seed));
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

    fn has(&self, names: &str) -> bool {
        self.feats & el(names) != 0
    }

    /// `n` if the scene has the element, else none.
    fn count(&self, name: &str, n: usize) -> usize {
        if self.has(name) { n } else { 0 }
    }

    /// Each layer lays itself out from its own stream, identical in every frame.
    fn rng(&self, layer: u64) -> Rng {
        Rng(self.salt ^ mix64(layer))
    }

    /// Draws the scene at loop time `t` in `[0, 1)`; every motion is periodic in `t`.
    fn render(&self, w: u32, h: u32, t: f32) -> Vec<u8> {
        let (w, h) = (w as usize, h as usize);
        let px = vec![0; w * h * 3];
        let mut c = Canvas { w, h, px };
        let (hz, s) = (self.horizon * h as f32, w.min(h) as f32);
        let sun = self.has("sun moon").then(|| {
            let y = self.sun[1] + 0.05 * (cos(TAU * t) - 1.0);
            (self.sun[0] * w as f32, y * h as f32, self.sun[2] * s)
        });
        for y in 0..h.min(hz as usize + 2) {
            for x in 0..w {
                c.set(x, y, self.sky_at(x as f32, y as f32, w as f32, hz, sun));
            }
        }
        self.stripes(&mut c, hz, t);
        self.sky_objects(&mut c, hz, sun, t);
        self.mountains(&mut c);
        if self.has("water") {
            self.water(&mut c, hz, sun, t);
        } else {
            self.land(&mut c, hz, t);
        }
        self.city(&mut c, hz, t);
        self.trees(&mut c, t);
        let mut rng = self.rng(8);
        for _ in 0..self.count("snow", 220) {
            let (fx, fy, ph) = (rng.f(), rng.f(), rng.f());
            let x = (fx + 0.02 * sin(TAU * (t + ph))) * w as f32;
            let r = (1.0 + 2.0 * ph) * (s / 600.0).max(0.8);
            c.blob([x, (fy + t).fract() * h as f32, r, r], r, WHITE, 0.85);
        }
        self.finish(&mut c);
        c.px
    }

    /// Sky gradient (tilted by `tilt`) plus the sun's glow; also sampled mirrored for water.
    fn sky_at(&self, x: f32, y: f32, w: f32, hz: f32, sun: Sun) -> Rgb {
        let g = (y / hz + self.tilt * (x / w - 0.5)).clamp(0.0, 1.0);
        let col = mix(self.pal[TOP], self.pal[BOT], g);
        let Some((sx, sy, r)) = sun else { return col };
        let d2 = ((x - sx) * (x - sx) + (y - sy) * (y - sy)) / (r * r * 9.0);
        mix(col, self.pal[LIGHT], self.glow / (1.0 + d2))
    }

    /// Soft diagonal light bands (aurora, rainbow) that slide one period per loop.
    fn stripes(&self, c: &mut Canvas, hz: f32, t: f32) {
        let mut rng = self.rng(7);
        let (angle, period) = (rng.range(-1.2, 1.2), rng.range(0.05, 0.14) * c.h as f32);
        let (dx, dy) = (cos(angle) / period, sin(angle) / period);
        let duty = rng.range(0.2, 0.5);
        for y in 0..(hz as usize).min(c.h * self.count("stripe", 1)) {
            let fade = 0.3 - 0.15 * y as f32 / hz;
            for x in 0..c.w {
                let u = (x as f32 * dx + y as f32 * dy + t).rem_euclid(1.0);
                let a = fade * (1.0 - (2.0 * u / duty - 1.0).abs());
                c.blend(x, y, self.pal[ACCENT], a * (u < duty) as u8 as f32);
            }
        }
    }

    /// Stars (only where the sky is dark), the sun or a crescent moon, and drifting clouds.
    fn sky_objects(&self, c: &mut Canvas, hz: f32, sun: Sun, t: f32) {
        let (w, h, s, mut rng) = (c.w as f32, c.h as f32, c.w.min(c.h) as f32, self.rng(1));
        let dark = (1.0 - luma(self.pal[TOP]) / 150.0).clamp(0.0, 1.0);
        for _ in 0..self.count("star", 260) {
            let (x, y, ph) = (rng.f() * w, rng.f() * hz * 0.95, rng.f());
            let r = (1.2 + 1.2 * ph * ph) * (s / 700.0).max(0.8);
            let twinkle = 0.55 + 0.45 * sin(TAU * (2.0 * t + ph));
            c.blob([x, y, r, r], r, [255.0, 250.0, 235.0], twinkle * dark);
        }
        if let Some((x, y, r)) = sun {
            let behind = c.get((x as usize).min(c.w - 1), (y as usize).min(c.h - 1));
            c.blob([x, y, r, r], r, self.pal[LIGHT], 1.0);
            if self.has("moon") {
                let bite = [x + 0.4 * r, y - 0.2 * r, r * 0.85, r * 0.85];
                c.blob(bite, r, behind, 1.0);
            }
        }
        let cloud = mix(self.pal[BOT], WHITE, 0.45);
        for i in 0..self.count("cloud", 3 + rng.below(5)) {
            let (x, y, size) = (rng.f(), rng.range(0.08, self.horizon * 0.7) * h, rng.f());
            let x = (x + 0.03 * sin(TAU * t + i as f32)) * w;
            let (rx, ry) = ((0.08 + 0.12 * size) * w, (0.025 + 0.03 * size) * h);
            for (ox, oy, k) in [(0.0, 0.0, 1.0), (-0.45, 0.25, 0.7), (0.45, 0.2, 0.75)] {
                let puff = [x + ox * rx, y + oy * ry, rx * k, ry * k * 1.3];
                c.blob(puff, 2.0, cloud, 0.75);
            }
        }
    }

    /// Two or three ranges, farther ones fading into the sky (aerial perspective).
    fn mountains(&self, c: &mut Canvas) {
        let mut rng = self.rng(2);
        let n = self.count("mountain", 2 + rng.below(2));
        let caps = self.has("snow") || rng.f() < 0.3;
        for i in 0..n {
            let amp = rng.range(0.2, 0.45) * self.horizon * (1.0 - 0.25 * i as f32);
            let hs = ridge(&mut rng, (c.w, c.h), self.horizon + 0.01, amp, true);
            let depth = (i + 1) as f32 / n as f32;
            let col = mix(self.pal[BOT], self.pal[FAR], 0.35 + 0.45 * depth);
            c.fill(&hs, [col, scale(col, 0.8)], 0.6, c.h as f32);
            let snow_line = (self.horizon + 0.01 - 0.75 * amp) * c.h as f32;
            for (x, &y0) in hs.iter().enumerate().filter(|_| caps) {
                let cap = [x as f32, y0, x as f32 + 1.0, y0 + (snow_line - y0) * 0.5];
                c.rect(cap, [245.0, 248.0, 252.0], 0.85);
            }
        }
    }

    /// Mirrored sky with perspective ripple bands and a glitter path under the sun.
    fn water(&self, c: &mut Canvas, hz: f32, sun: Sun, t: f32) {
        let (w, h) = (c.w as f32, c.h as f32);
        let deep = mix(self.pal[FAR], self.pal[NEAR], 0.5);
        for y in (hz as usize).min(c.h)..c.h {
            let d = (y as f32 - hz) / (h - hz).max(1.0);
            let band = ((d + 0.02).sqrt() * 40.0) as u64; // thinner bands far away
            let drift = (band % 2) as f32 * 2.0 * TAU * t;
            let phase = unit(mix64(band ^ self.salt)) * TAU + drift - TAU * t;
            let k = TAU * (3.0 + 30.0 * (1.0 - d) * (1.0 - d)) / w;
            let mirror = (2.0 * hz - y as f32).max(0.0);
            for x in 0..c.w {
                let ripple = sin(x as f32 * k + phase);
                let sky = self.sky_at(x as f32, mirror, w, hz, sun);
                let col = mix(sky, deep, 0.35 + 0.45 * d);
                let mut col = scale(col, 1.0 + (0.05 + 0.12 * d) * ripple);
                if let Some((sx, _, r)) = sun {
                    let off = (x as f32 - sx).abs() / (r * (1.0 + 3.0 * d));
                    let glint = 0.7 * (1.0 - off).max(0.0) * ((ripple - 0.2) / 0.8).max(0.0);
                    col = mix(col, self.pal[LIGHT], glint);
                }
                c.set(x, y, col);
            }
        }
    }

    /// Rolling hills (dunes, lit more steeply, when asked), or for neon a perspective grid
    /// whose cross lines roll closer each loop.
    fn land(&self, c: &mut Canvas, hz: f32, t: f32) {
        let (hzf, accent, neon) = (self.horizon, self.pal[ACCENT], self.has("neon"));
        c.fill(&vec![hz; c.w], [self.pal[FAR], self.pal[NEAR]], 0.0, 1.0);
        let (mut rng, lumpy) = (self.rng(3), 0.06 + 0.1 * self.count("dune", 1) as f32);
        for (k, f) in [0.1, 0.4, 0.75].into_iter().enumerate().filter(|_| !neon) {
            let amp = lumpy * (1.0 - hzf) * rng.range(0.6, 1.4);
            let hs = ridge(&mut rng, (c.w, c.h), hzf + (1.0 - hzf) * f, amp, false);
            let top = mix(self.pal[FAR], self.pal[NEAR], (k as f32 + 0.5) / 3.0);
            // Dunes get steeper light than hills, for their sharp lit crests.
            let (light, fade) = (lumpy * 13.0, 2.0 * amp * c.h as f32);
            c.fill(&hs, [top, scale(top, 0.75)], light, fade);
        }
        let (w, depth, thick) = (c.w as f32, c.h as f32 - hz, (c.h as f32 / 400.0).max(1.0));
        for k in 0..self.count("neon", 12) {
            let v = (k as f32 + t) / 12.0;
            let y = hz + depth * v * v;
            c.rect([0.0, y, w, y + thick], accent, 0.8 * v.sqrt());
        }
        for y in (hz as usize..c.h).filter(|_| neon) {
            let f = (y as f32 - hz) / depth;
            for j in -12..=12 {
                let (x, y) = (w / 2.0 + j as f32 * w / 8.0 * f, y as f32);
                c.rect([x, y, x + thick, y + 1.0], accent, 0.8 * f.sqrt());
            }
        }
    }

    /// Towers with hashed lit windows, a few blinking each loop; a lighthouse is one more,
    /// slim and striped, with a pulsing lamp.
    fn city(&self, c: &mut Canvas, hz: f32, t: f32) {
        let (w, h, mut rng) = (c.w as f32, c.h as f32, self.rng(5));
        let (s, neon) = (w.min(h), self.has("neon"));
        let cell = (s / 90.0).max(3.0);
        let body = mix(self.pal[NEAR], self.pal[TOP], 0.3);
        let lamp = mix(self.pal[ACCENT], self.pal[LIGHT], 0.5);
        let mut x0 = rng.range(-0.05, 0.2) * w;
        for i in 0..self.count("city", 64) {
            let x1 = x0 + rng.range(0.035, 0.09) * w;
            let y0 = hz - rng.range(0.08, 0.38) * h;
            let shade = rng.range(0.7, 1.2);
            c.rect([x0, y0, x1, hz + 1.0], scale(body, shade), 1.0);
            if neon {
                c.rect([x0, y0, x1, y0 + cell * 0.4], self.pal[ACCENT], 0.9);
            }
            let (cols, rows) = (((x1 - x0) / cell - 0.3) as u64, ((hz - y0) / cell) as u64);
            for (r, k) in (1..rows).flat_map(|r| (0..cols).map(move |k| (r, k))) {
                let hash = mix64(self.salt ^ ((i as u64) << 40) ^ (r << 20) ^ k);
                let beat = (t * 4.0) as u64 + (hash >> 8);
                let blink = hash.is_multiple_of(9) && beat.is_multiple_of(2);
                let (wx, wy) = (x0 + (k as f32 + 0.3) * cell, y0 + r as f32 * cell);
                if (hash >> 4) % 5 < 2 && !blink {
                    c.rect([wx, wy, wx + cell * 0.5, wy + cell * 0.6], lamp, 0.9);
                }
            }
            x0 = x1 + rng.range(-0.01, 0.03) * w;
            if x0 >= w {
                break;
            }
        }
        if self.has("lighthouse") {
            let (cx, top) = ((0.15 + 0.7 * rng.f()) * w, hz - 0.34 * h);
            let rock = [cx, hz + 0.01 * h, 0.1 * s, 0.035 * s];
            c.blob(rock, 3.0, scale(self.pal[NEAR], 0.6), 1.0);
            for y in top.max(0.0) as usize..((hz + 0.005 * h) as usize).min(c.h) {
                let half = s * (0.02 + 0.014 * (y as f32 - top) / (0.34 * h));
                let white = ((y as f32 - top) / (0.05 * h)) as usize % 2 == 1;
                let col = [self.pal[ACCENT], [240.0, 236.0, 228.0]][white as usize];
                c.rect([cx - half, y as f32, cx + half, y as f32 + 1.0], col, 1.0);
            }
            let lantern = [cx - 0.014 * s, top - 0.035 * s, cx + 0.014 * s, top];
            c.rect(lantern, self.pal[LIGHT], 1.0);
            let pulse = 0.45 + 0.3 * cos(TAU * t);
            let glow = [cx, top - 0.02 * s, 0.1 * s, 0.1 * s];
            c.blob(glow, 1.0, self.pal[LIGHT], pulse);
        }
    }

    /// Pines as sawtooth triangles (the tiers), larger the nearer they stand.
    fn trees(&self, c: &mut Canvas, t: f32) {
        let (w, h, s, mut rng) = (c.w as f32, c.h as f32, c.w.min(c.h) as f32, self.rng(4));
        let hz = self.horizon;
        // On a shore they line the horizon; on land they stand all the way to the front.
        let (y0, y1) = [(hz + 0.03, 1.08), (hz, hz + 0.01)][self.has("water") as usize];
        let n = self.count("tree", 14 + rng.below(20));
        let tree = |_| (rng.f(), rng.range(y0, y1), rng.f());
        let mut trees: Vec<_> = (0..n).map(tree).collect();
        trees.sort_by(|a, b| a.1.total_cmp(&b.1)); // paint back to front
        for (x, by, ph) in trees {
            let near = ((by - hz) / (1.0 - hz)).clamp(0.0, 1.0);
            let height = s * (0.08 + 0.3 * near) * (0.8 + 0.4 * ph);
            let (x, base, top) = (x * w, by * h, by * h - height);
            let col = mix(self.pal[FAR], self.pal[NEAR], 0.4 + 0.6 * near);
            let col = scale(col, 0.7 + 0.3 * ph);
            let sway = sin(TAU * (t + ph)) * height * 0.03;
            let (half, stump) = (height * 0.04, base - height * 0.15);
            c.rect([x - half, stump, x + half, base], scale(col, 0.6), 1.0);
            for y in top.max(0.0) as usize..((base - height * 0.12) as usize).min(c.h) {
                let f = (y as f32 - top) / height;
                let half = height * 0.3 * f * (0.7 + 0.3 * (f * 3.0).fract());
                let cx = x + sway * (1.0 - f);
                c.rect([cx - half, y as f32, cx + half, y as f32 + 1.0], col, 1.0);
            }
        }
    }

    /// Whole-image finish: pastel wash, watercolour blotches and paper grain, vignette.
    fn finish(&self, c: &mut Canvas) {
        let (w, h, pastel, paint) = (c.w, c.h, self.has("pastel"), self.has("watercolor"));
        let cell = (w.min(h) / 6).max(1);
        let gw = w / cell + 2;
        let noise = |i: usize| unit(mix64(self.salt ^ i as u64));
        let grid: Vec<f32> = (0..gw * (h / cell + 2)).map(noise).collect();
        let edge = |v: usize, n: usize| (2.0 * v as f32 / n as f32 - 1.0).powi(2);
        let vx: Vec<f32> = (0..w).map(|x| edge(x, w)).collect();
        for y in 0..h {
            let (gy, fy) = (y / cell, (y % cell) as f32 / cell as f32);
            let vy = edge(y, h);
            for (x, vx) in vx.iter().enumerate() {
                let mut col = c.get(x, y);
                if pastel {
                    col = mix(mix(col, [luma(col); 3], 0.25), WHITE, 0.22);
                }
                if paint {
                    // Bilinear value noise for the wash, a 2x2-pixel hash for the paper.
                    let (gx, fx) = (x / cell, (x % cell) as f32 / cell as f32);
                    let at = |i: usize, j: usize| grid[(gy + j) * gw + gx + i];
                    let upper = at(0, 0) + (at(1, 0) - at(0, 0)) * fx;
                    let blot = upper + (at(0, 1) + (at(1, 1) - at(0, 1)) * fx - upper) * fy;
                    let grain = noise((y / 2) * w + x / 2 + 1_000_003);
                    let paper = [246.0, 240.0, 228.0];
                    col = mix(scale(col, 0.88 + 0.16 * blot + 0.04 * grain), paper, 0.12);
                }
                c.set(x, y, scale(col, 1.0 - 0.2 * (vx + vy)));
            }
        }
    }
}

/// 12-bit colour bin (16 levels a channel, rounded so that 0 and 255 are bin edges).
fn bin(p: &[u8]) -> usize {
    let level = |v: u8| (usize::from(v) + 8) / 17;
    level(p[0]) << 8 | level(p[1]) << 4 | level(p[2])
}

/// Maps RGB frames onto a palette of the scene's commonest colours.
struct Quantiser {
    palette: Vec<[u8; 3]>,
    cache: Vec<u16>,
}

impl Quantiser {
    /// Picks up to 256 of the most frequent bins in `samples`, each as its mean colour.
    fn new(samples: &[u8]) -> Self {
        let mut sums = vec![[0u64; 4]; 4096];
        for p in samples.chunks_exact(3) {
            let s = &mut sums[bin(p)];
            for (acc, &v) in s.iter_mut().zip(p) {
                *acc += u64::from(v);
            }
            s[3] += 1;
        }
        let mut common: Vec<&[u64; 4]> = sums.iter().filter(|s| s[3] > 0).collect();
        common.sort_by_key(|s| std::cmp::Reverse(s[3])); // stable, so deterministic
        let mean = |s: &&[u64; 4]| [0, 1, 2].map(|k| (s[k] / s[3]) as u8);
        let palette = common.iter().take(256).map(mean).collect();
        let cache = vec![u16::MAX; 4096];
        Quantiser { palette, cache }
    }

    /// Ordered (Bayer) dither rather than error diffusion: it does not crawl from frame
    /// to frame, so the still parts of an animation stay still.
    fn map(&mut self, rgb: &[u8], w: usize) -> Vec<u8> {
        const BAYER: [i32; 16] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];
        let mut out = Vec::with_capacity(rgb.len() / 3);
        for (i, p) in rgb.chunks_exact(3).enumerate() {
            let d = BAYER[(i / w % 4) * 4 + i % w % 4] - 8;
            let b = bin(&[0, 1, 2].map(|k| (i32::from(p[k]) + d).clamp(0, 255) as u8));
            if self.cache[b] == u16::MAX {
                let centre = [b >> 8, b >> 4 & 15, b & 15].map(|v| v as i32 * 17);
                let sq = |c: &[u8; 3], k: usize| (i32::from(c[k]) - centre[k]).pow(2);
                let dist = |c: &[u8; 3]| sq(c, 0) + sq(c, 1) + sq(c, 2);
                let best = (0..self.palette.len()).min_by_key(|&i| dist(&self.palette[i]));
                self.cache[b] = best.unwrap_or(0) as u16;
            }
            out.push(self.cache[b] as u8);
        }
        out
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(bytes).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn png_has_requested_size() {
        for (w, h) in [(64, 64), (1344, 768), (768, 1344), (1, 1), (3, 200)] {
            let (dw, dh, px) = decode_png(&render_png("a red kite over green hills", 3, w, h));
            assert_eq!((dw, dh, px.len()), (w, h, (w * h * 3) as usize));
        }
    }

    #[test]
    fn same_inputs_same_bytes_and_seed_matters() {
        let a = render_png("storm over the sea", 42, 200, 120);
        assert_eq!(a, render_png("storm over the sea", 42, 200, 120));
        assert_ne!(a, render_png("storm over the sea", 43, 200, 120));
    }

    #[test]
    fn different_prompts_look_different() {
        let (_, _, a) = decode_png(&render_png("a lighthouse at dusk, watercolor", 1, 256, 256));
        let (_, _, b) = decode_png(&render_png("neon city at night", 1, 256, 256));
        let diff: u64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        assert!(
            diff / a.len() as u64 > 20,
            "mean channel difference {}",
            diff / a.len() as u64
        );
    }

    #[test]
    fn gif_loops_with_moving_frames() {
        let bytes = render_gif("snowy forest at night", 9, 96, 64, 6, 8);
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::Indexed);
        let mut decoder = options.read_info(bytes.as_slice()).unwrap();
        assert_eq!((decoder.width(), decoder.height()), (96, 64));
        let mut frames = Vec::new();
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            assert_eq!((frame.width, frame.height, frame.delay), (96, 64, 8));
            frames.push(frame.buffer.to_vec());
        }
        assert_eq!(frames.len(), 6);
        assert!(frames.windows(2).all(|f| f[0] != f[1]));
    }

    #[test]
    fn polynomial_sine_tracks_std() {
        for i in -2000..2000 {
            let x = i as f32 * 0.01;
            assert!(
                (sin(x) - x.sin()).abs() < 1e-4 && (cos(x) - x.cos()).abs() < 1e-4,
                "{x}"
            );
        }
    }
}
