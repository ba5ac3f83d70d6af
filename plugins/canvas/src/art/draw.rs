//! Paints a [`Scene`] at a loop time onto an RGB canvas, back to front: sky and what
//! hangs in it (`sky`), then mountains, water or land, city and trees (`ground`), then
//! falling snow and a whole-image finish. `canvas` holds the pixel buffer and its
//! blending primitives. Every motion is periodic in the loop time.

mod canvas;
mod ground;
mod sky;

use std::f32::consts::TAU;

use super::math::{WHITE, cos, luma, mix, mix64, scale, sin, unit};
use super::scene::Scene;
use canvas::Canvas;

/// Sun or moon centre and radius in pixels, if the scene has one.
type Sun = Option<(f32, f32, f32)>;

impl Scene {
    /// Draws the scene at loop time `t` in `[0, 1)`; every motion is periodic in `t`.
    pub(super) fn render(&self, w: u32, h: u32, t: f32) -> Vec<u8> {
        let (w, h) = (w as usize, h as usize);
        let mut c = Canvas::new(w, h);
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
        c.into_pixels()
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
