//! What an edit starts from: a reference image (PNG in colour; JPEG and GIF
//! through the SDK's decoder, in grey) and an optional mask, sampled at the
//! output's size. Where the mask is transparent the scene is drawn; where
//! it is opaque the reference stays (OpenAI's edit semantics); without a
//! mask the two are blended, so the output is visibly derived from the
//! reference either way.

use std::io::Cursor;

/// A decoded image, 8-bit RGB, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// The largest reference decoded (pixels), as the SDK's decoder allows.
const MAX_PIXELS: u64 = imini_sdk::imaging::MAX_PIXELS;

impl Picture {
    /// Decodes a PNG (in colour), or a JPEG or GIF (in grey); `None` for
    /// anything else or an image too large to decode.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if let Some((width, height, rgba)) = decode_png_rgba(bytes) {
            let rgb = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            return Some(Self { width, height, rgb });
        }
        let (width, height, luma) = imini_sdk::imaging::decode_luma(bytes)?;
        let rgb = luma.iter().flat_map(|&l| [l, l, l]).collect();
        Some(Self { width, height, rgb })
    }

    /// An image made of `rgb` pixels (`width * height * 3` bytes).
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Option<Self> {
        (width > 0 && height > 0 && rgb.len() == width as usize * height as usize * 3)
            .then_some(Self { width, height, rgb })
    }

    /// Its size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Its pixels, RGB.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The pixel under `(x, y)` of a `w` × `h` image stretched over it.
    fn sample(&self, x: u32, y: u32, w: u32, h: u32) -> [u8; 3] {
        let sx = (u64::from(x) * u64::from(self.width) / u64::from(w.max(1))) as usize;
        let sy = (u64::from(y) * u64::from(self.height) / u64::from(h.max(1))) as usize;
        let i = (sy.min(self.height as usize - 1) * self.width as usize
            + sx.min(self.width as usize - 1))
            * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// A copy shrunk to at most `edge` pixels a side (each pixel the average
    /// of the ones it covers), small enough to travel in a job handle.
    pub fn thumbnail(&self, edge: u32) -> Self {
        let scale = (self.width.max(self.height) as f32 / edge as f32).max(1.0);
        let tw = ((self.width as f32 / scale) as u32).max(1);
        let th = ((self.height as f32 / scale) as u32).max(1);
        let mut sums = vec![[0u64; 4]; (tw * th) as usize];
        for y in 0..self.height {
            let ty = (u64::from(y) * u64::from(th) / u64::from(self.height)) as usize;
            for x in 0..self.width {
                let tx = (u64::from(x) * u64::from(tw) / u64::from(self.width)) as usize;
                let i = (y as usize * self.width as usize + x as usize) * 3;
                let s = &mut sums[ty * tw as usize + tx];
                for (sum, &c) in s.iter_mut().zip(&self.rgb[i..i + 3]) {
                    *sum += u64::from(c);
                }
                s[3] += 1;
            }
        }
        let rgb = sums
            .iter()
            .flat_map(|s| {
                let n = s[3].max(1);
                [(s[0] / n) as u8, (s[1] / n) as u8, (s[2] / n) as u8]
            })
            .collect();
        Self {
            width: tw,
            height: th,
            rgb,
        }
    }
}

/// Where an edit may draw: a PNG whose alpha is 0 where the scene goes.
#[derive(Debug, Clone)]
pub struct Mask {
    width: u32,
    height: u32,
    alpha: Vec<u8>,
}

impl Mask {
    /// Decodes a PNG mask; `None` if it is not a PNG with an alpha channel.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (width, height, rgba) = decode_png_rgba(bytes)?;
        let has_alpha = png_has_alpha(bytes)?;
        if !has_alpha {
            return None;
        }
        let alpha = rgba.chunks_exact(4).map(|p| p[3]).collect();
        Some(Self {
            width,
            height,
            alpha,
        })
    }

    /// The opacity under `(x, y)` of a `w` × `h` image stretched over it.
    fn sample(&self, x: u32, y: u32, w: u32, h: u32) -> u8 {
        let sx = (u64::from(x) * u64::from(self.width) / u64::from(w.max(1))) as usize;
        let sy = (u64::from(y) * u64::from(self.height) / u64::from(h.max(1))) as usize;
        self.alpha[sy.min(self.height as usize - 1) * self.width as usize
            + sx.min(self.width as usize - 1)]
    }
}

/// Lays `reference` over a `w` × `h` scene (RGB, modified in place): the
/// reference stays where `mask` is opaque and the scene shows where it is
/// transparent; without a mask, `keep` (0-255) of the reference is kept
/// everywhere.
pub fn lay_over(
    scene: &mut [u8],
    w: u32,
    h: u32,
    reference: &Picture,
    mask: Option<&Mask>,
    keep: u8,
) {
    for y in 0..h {
        for x in 0..w {
            let i = (y as usize * w as usize + x as usize) * 3;
            let r = reference.sample(x, y, w, h);
            let a = u32::from(mask.map_or(keep, |m| m.sample(x, y, w, h)));
            for c in 0..3 {
                let s = u32::from(scene[i + c]);
                scene[i + c] = ((u32::from(r[c]) * a + s * (255 - a)) / 255) as u8;
            }
        }
    }
}

/// A PNG as 8-bit RGBA, whatever its colour type.
fn decode_png_rgba(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let header = decoder.read_header_info().ok()?;
    if u64::from(header.width) * u64::from(header.height) > MAX_PIXELS {
        return None;
    }
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let pixels = w as usize * h as usize;
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&l| [l, l, l, 255]).collect(),
        png::ColorType::Indexed => return None,
    };
    (rgba.len() == pixels * 4).then_some((w, h, rgba))
}

/// Whether a PNG carries transparency (an alpha channel or a tRNS chunk).
fn png_has_alpha(bytes: &[u8]) -> Option<bool> {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let reader = decoder.read_info().ok()?;
    let info = reader.info();
    Some(
        matches!(
            info.color_type,
            png::ColorType::Rgba | png::ColorType::GrayscaleAlpha
        ) || info.trns.is_some(),
    )
}
