//! The sky layers: the tilted gradient with the sun's glow, light bands, and the stars,
//! sun or moon and clouds that hang in it.

use std::f32::consts::TAU;

use super::Sun;
use super::canvas::Canvas;
use crate::art::math::{Rgb, WHITE, cos, luma, mix, sin};
use crate::art::scene::{ACCENT, BOT, LIGHT, Scene, TOP};

impl Scene {
    /// Sky gradient (tilted by `tilt`) plus the sun's glow; also sampled mirrored for water.
    pub(super) fn sky_at(&self, x: f32, y: f32, w: f32, hz: f32, sun: Sun) -> Rgb {
        let g = (y / hz + self.tilt * (x / w - 0.5)).clamp(0.0, 1.0);
        let col = mix(self.pal[TOP], self.pal[BOT], g);
        let Some((sx, sy, r)) = sun else { return col };
        let d2 = ((x - sx) * (x - sx) + (y - sy) * (y - sy)) / (r * r * 9.0);
        mix(col, self.pal[LIGHT], self.glow / (1.0 + d2))
    }

    /// Soft diagonal light bands (aurora, rainbow) that slide one period per loop.
    pub(super) fn stripes(&self, c: &mut Canvas, hz: f32, t: f32) {
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
    pub(super) fn sky_objects(&self, c: &mut Canvas, hz: f32, sun: Sun, t: f32) {
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
}
