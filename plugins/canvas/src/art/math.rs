//! Small numeric helpers every other module builds on: stable hashes, the layout PRNG,
//! a platform-independent sine, and colour arithmetic on `f32` RGB triples.

use std::f32::consts::{FRAC_PI_2, TAU};

pub(super) type Rgb = [f32; 3];

pub(super) const WHITE: Rgb = [255.0; 3];

/// FNV-1a: stable across runs and platforms, unlike std's randomised hasher.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let step = |h: u64, &b: &u8| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, step)
}

/// SplitMix64 finaliser; also a stateless hash for window lights and paper grain.
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(super) fn unit(h: u64) -> f32 {
    (h >> 40) as f32 / 16_777_216.0
}

/// Polynomial sine instead of libm, whose last bits differ between native and wasm32;
/// only IEEE basic operations are used, so every platform draws the same bytes.
pub(super) fn sin(x: f32) -> f32 {
    let t = x / TAU;
    let r = (t - t.floor() - 0.5) * TAU; // sin(x) = -sin(r), r in [-pi, pi)
    let r = r.signum() * (FRAC_PI_2 - (r.abs() - FRAC_PI_2).abs()); // fold to [-pi/2, pi/2]
    let r2 = r * r;
    -r * (1.0 - r2 / 6.0 * (1.0 - r2 / 20.0 * (1.0 - r2 / 42.0 * (1.0 - r2 / 72.0))))
}

pub(super) fn cos(x: f32) -> f32 {
    sin(x + FRAC_PI_2)
}

/// SplitMix64 stream of uniform `f32`s.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn f(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        unit(mix64(self.0))
    }
    pub(super) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f()
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((self.f() * n as f32) as usize).min(n - 1)
    }
}

/// `0xrrggbb` as an RGB triple.
pub(super) fn rgb(c: u32) -> Rgb {
    [16, 8, 0].map(|shift| (c >> shift) as u8 as f32)
}

pub(super) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
}

pub(super) fn scale(a: Rgb, k: f32) -> Rgb {
    a.map(|v| v * k)
}

pub(super) fn luma(c: Rgb) -> f32 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

pub(super) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let ch = |n: f32| {
        let k = (n + h.fract() * 6.0) % 6.0;
        255.0 * v * (1.0 - s * k.min(4.0 - k).clamp(0.0, 1.0))
    };
    [ch(5.0), ch(3.0), ch(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

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
