//! The ground layers, back to front: mountain ranges, then water or land, then the city
//! (and lighthouse) and the trees standing on it.

use std::f32::consts::TAU;

use super::Sun;
use super::canvas::Canvas;
use crate::art::math::{Rng, cos, mix, mix64, scale, sin, unit};
use crate::art::scene::{ACCENT, BOT, FAR, LIGHT, NEAR, Scene, TOP};

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

impl Scene {
    /// Two or three ranges, farther ones fading into the sky (aerial perspective).
    pub(super) fn mountains(&self, c: &mut Canvas) {
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
    pub(super) fn water(&self, c: &mut Canvas, hz: f32, sun: Sun, t: f32) {
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
    pub(super) fn land(&self, c: &mut Canvas, hz: f32, t: f32) {
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
    pub(super) fn city(&self, c: &mut Canvas, hz: f32, t: f32) {
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
    pub(super) fn trees(&self, c: &mut Canvas, t: f32) {
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
}
