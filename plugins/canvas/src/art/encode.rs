//! Packs rendered RGB frames into PNG or GIF bytes. For GIF it also chooses the one
//! global palette (the scene's commonest colours) and maps every frame onto it with an
//! ordered dither.

const INFALLIBLE: &str = "encoding a size-clamped image into memory cannot fail";

/// `w` x `h` 8-bit RGB pixels as a PNG.
pub(super) fn to_png(px: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().expect(INFALLIBLE);
    writer.write_image_data(px).expect(INFALLIBLE);
    writer.finish().expect(INFALLIBLE);
    out
}

/// A forever-looping GIF of `frames` frames, frame `i` being `render(w, h, i / frames)`
/// (RGB pixels at loop time `i / frames`), each shown for `delay_cs` centiseconds.
pub(super) fn to_gif(
    render: impl Fn(u32, u32, f32) -> Vec<u8>,
    w: u32,
    h: u32,
    frames: u32,
    delay_cs: u16,
) -> Vec<u8> {
    let time = |i: u32| i as f32 / frames as f32;
    // The palette comes from small renders of up to 8 frames: cheap, and same colours.
    let small = |v: u32| ((v * 160).div_ceil(w.max(h))).max(1);
    let mut samples = Vec::new();
    for i in (0..frames).step_by(frames.div_ceil(8) as usize) {
        samples.extend(render(small(w), small(h), time(i)));
    }
    let mut quant = Quantiser::new(&samples);
    let (mut out, flat, gw, gh) = (Vec::new(), quant.palette.concat(), w as u16, h as u16);
    let mut enc = gif::Encoder::new(&mut out, gw, gh, &flat).expect(INFALLIBLE);
    enc.set_repeat(gif::Repeat::Infinite).expect(INFALLIBLE);
    for i in 0..frames {
        let indices = quant.map(&render(w, h, time(i)), w as usize);
        let mut frame = gif::Frame::from_indexed_pixels(gw, gh, indices, None);
        frame.delay = delay_cs;
        enc.write_frame(&frame).expect(INFALLIBLE);
    }
    enc.into_inner().expect(INFALLIBLE);
    out
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
