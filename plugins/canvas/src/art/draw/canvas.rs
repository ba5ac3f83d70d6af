//! The RGB pixel buffer and the few blending primitives every layer draws with.

use crate::art::math::{Rgb, mix, scale};

pub(super) struct Canvas {
    pub(super) w: usize,
    pub(super) h: usize,
    px: Vec<u8>,
}

impl Canvas {
    /// A black `w` x `h` canvas.
    pub(super) fn new(w: usize, h: usize) -> Self {
        let px = vec![0; w * h * 3];
        Canvas { w, h, px }
    }
    /// The 8-bit RGB pixels, row by row.
    pub(super) fn into_pixels(self) -> Vec<u8> {
        self.px
    }
    pub(super) fn get(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.w + x) * 3;
        [0, 1, 2].map(|k| self.px[i + k] as f32)
    }
    pub(super) fn set(&mut self, x: usize, y: usize, c: Rgb) {
        let i = (y * self.w + x) * 3;
        for (px, v) in self.px[i..i + 3].iter_mut().zip(c) {
            *px = (v + 0.5) as u8; // `as` saturates: no clamp needed
        }
    }
    pub(super) fn blend(&mut self, x: usize, y: usize, c: Rgb, a: f32) {
        if x < self.w && y < self.h && a > 0.0 {
            self.set(x, y, mix(self.get(x, y), c, a.min(1.0)));
        }
    }
    /// Blends the box `[x0, y0, x1, y1]`, clipped so that callers may overshoot.
    pub(super) fn rect(&mut self, [x0, y0, x1, y1]: [f32; 4], c: Rgb, a: f32) {
        let clip = |v: f32, n: usize| (v.max(0.0) as usize).min(n);
        for y in clip(y0, self.h)..clip(y1, self.h) {
            for x in clip(x0, self.w)..clip(x1, self.w) {
                self.blend(x, y, c, a);
            }
        }
    }
    /// Soft ellipse `[cx, cy, rx, ry]`; `edge` is the rim's sharpness (1: fades from centre).
    pub(super) fn blob(&mut self, [cx, cy, rx, ry]: [f32; 4], edge: f32, c: Rgb, a: f32) {
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
    pub(super) fn fill(&mut self, hs: &[f32], [top, bottom]: [Rgb; 2], light: f32, fade: f32) {
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
