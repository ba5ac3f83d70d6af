//! Image decoding to grayscale and a perceptual difference hash (dHash), for
//! policies that blocklist known images and for tools that compute the hashes
//! operators put in those blocklists. Behind the `imaging` cargo feature.
//!
//! Only the first frame of a GIF (or the default image of an APNG) is read.
//! Decoding refuses images over [`MAX_PIXELS`], so a small malicious file
//! cannot make a plugin allocate gigabytes.

use std::io::Cursor;

/// The most pixels (width × height) an image may have to be decoded: 40
/// megapixels. Larger images are refused, as decompression bombs would be.
pub const MAX_PIXELS: u64 = 40_000_000;

/// The grayscale value of an 8-bit RGB pixel: `(299*r + 587*g + 114*b) / 1000`,
/// integer division (ITU-R BT.601 weights).
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000) as u8
}

/// Decodes a PNG, JPEG or GIF image (recognised by its first bytes, not its
/// file name or MIME type) to 8-bit grayscale.
///
/// Returns the width, the height and the pixels row-major (`width * height`
/// bytes). Each pixel is [`luma`] of its 8-bit RGB colour; alpha is ignored;
/// grayscale pixels keep their value, palette entries are looked up, 16-bit
/// samples keep their high byte. A GIF gives its first frame drawn on its
/// logical screen (black where the frame does not cover it, transparency
/// ignored). `None` for another format, a decoding error, or an image of
/// more than [`MAX_PIXELS`].
pub fn decode_luma(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let mut sink = Collect::default();
    decode(bytes, &mut sink)?;
    (sink.pixels.len() as u64 == u64::from(sink.width) * u64::from(sink.height)).then_some((
        sink.width,
        sink.height,
        sink.pixels,
    ))
}

/// The 64-bit difference hash (dHash) of a PNG, JPEG or GIF image; `None` when
/// [`decode_luma`] cannot decode it.
///
/// Two images that look alike (resized, re-encoded, slightly recoloured) have
/// hashes a small [`hamming`] distance apart; unrelated images are about 32
/// apart. The algorithm, exactly (all divisions are integer divisions that
/// round down):
///
/// 1. Decode to grayscale with [`decode_luma`]: width `w`, height `h`,
///    pixels `p(x, y)`.
/// 2. Shrink to a grid of 9 columns by 8 rows, `cell[cy][cx]` for `cx` in
///    `0..9`, `cy` in `0..8`:
///    - when `w >= 9` and `h >= 8` (area averaging): `cell[cy][cx]` is the
///      sum of `p(x, y)` over every pixel with `x * 9 / w == cx` and
///      `y * 8 / h == cy`, divided by the number of those pixels;
///    - otherwise (an image narrower than 9 or shorter than 8 pixels, in
///      either direction): `cell[cy][cx] = p(cx * w / 9, cy * h / 8)`.
/// 3. For each row `y` in `0..8` and column `x` in `0..8`, with bit index
///    `i = y * 8 + x`: bit `63 - i` of the hash (bit 0 being the least
///    significant) is 1 when `cell[y][x] > cell[y][x + 1]` (strictly), else 0.
///
/// So the first row's comparisons are the most significant byte, and an
/// image that gets darker from left to right hashes to `u64::MAX`; a
/// uniform image hashes to 0. Print hashes with [`hash_hex`].
pub fn dhash(bytes: &[u8]) -> Option<u64> {
    let mut sink = Grid::default();
    decode(bytes, &mut sink)?;
    sink.finish()
}

/// A hash as 16 lowercase hexadecimal digits, e.g. `"00ff00ff00ff00ff"`.
pub fn hash_hex(h: u64) -> String {
    format!("{h:016x}")
}

/// Parses a hash written as exactly 16 hexadecimal digits (either case,
/// surrounding whitespace ignored), as [`hash_hex`] prints it.
pub fn parse_hash(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// The number of bits in which two hashes differ (0 to 64).
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Receives a decoded image: its size once, then every grayscale row in order.
trait Sink {
    /// The image's size; returns false to stop decoding.
    fn start(&mut self, width: u32, height: u32) -> bool;
    /// Row `y` (`width` pixels).
    fn row(&mut self, y: u32, luma: &[u8]);
}

/// Decodes `bytes` into `sink`; `None` for an unknown format, an error or a
/// refused size.
fn decode(bytes: &[u8], sink: &mut impl Sink) -> Option<()> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes, sink)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes, sink)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        decode_gif(bytes, sink)
    } else {
        None
    }
}

/// Whether a `width` × `height` image may be decoded.
fn size_ok(width: u64, height: u64) -> bool {
    width > 0 && height > 0 && width.saturating_mul(height) <= MAX_PIXELS
}

fn decode_png(bytes: &[u8], sink: &mut impl Sink) -> Option<()> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let header = decoder.read_header_info().ok()?;
    let (width, height) = (header.width, header.height);
    if !size_ok(width.into(), height.into()) {
        return None;
    }
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let (color, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return None;
    }
    let channels = color.samples();
    let rgb = matches!(color, png::ColorType::Rgb | png::ColorType::Rgba);
    let convert = |row: &[u8], out: &mut [u8]| {
        for (o, px) in out.iter_mut().zip(row.chunks_exact(channels)) {
            *o = if rgb {
                luma(px[0], px[1], px[2])
            } else {
                px[0]
            };
        }
    };
    if !sink.start(width, height) {
        return Some(());
    }
    let mut out = vec![0u8; width as usize];
    if reader.info().interlaced {
        // Adam7 rows arrive pass by pass: decode the whole frame first.
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).ok()?;
        let rows = buf.chunks_exact(info.line_size).take(height as usize);
        for (y, row) in rows.enumerate() {
            convert(row, &mut out);
            sink.row(y as u32, &out);
        }
    } else {
        for y in 0..height {
            let row = reader.next_row().ok()??;
            convert(row.data(), &mut out);
            sink.row(y, &out);
        }
    }
    Some(())
}

fn decode_jpeg(bytes: &[u8], sink: &mut impl Sink) -> Option<()> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(1 << 16)
        .set_max_height(1 << 16);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(Cursor::new(bytes), options);
    decoder.decode_headers().ok()?;
    let (width, height) = decoder.dimensions()?;
    if !size_ok(width as u64, height as u64) {
        return None;
    }
    if decoder.output_colorspace()? != ColorSpace::RGB {
        return None;
    }
    let rgb = decoder.decode().ok()?;
    if rgb.len() != width * height * 3 {
        return None;
    }
    if !sink.start(width as u32, height as u32) {
        return Some(());
    }
    let mut out = vec![0u8; width];
    for (y, row) in rgb.chunks_exact(width * 3).enumerate() {
        for (o, px) in out.iter_mut().zip(row.chunks_exact(3)) {
            *o = luma(px[0], px[1], px[2]);
        }
        sink.row(y as u32, &out);
    }
    Some(())
}

fn decode_gif(bytes: &[u8], sink: &mut impl Sink) -> Option<()> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let limit = std::num::NonZeroU64::new(MAX_PIXELS)?;
    options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    let mut decoder = options.read_info(Cursor::new(bytes)).ok()?;
    let (frame_left, frame_top, frame_width, frame_height) = {
        let frame = decoder.next_frame_info().ok()??;
        (
            usize::from(frame.left),
            usize::from(frame.top),
            usize::from(frame.width),
            usize::from(frame.height),
        )
    };
    if !size_ok(frame_width as u64, frame_height as u64) {
        return None;
    }
    let mut indices = vec![0u8; decoder.buffer_size()];
    if indices.len() < frame_width * frame_height {
        return None;
    }
    decoder.read_into_buffer(&mut indices).ok()?;
    let palette = decoder.palette().ok()?;
    let mut lumas = [0u8; 256];
    for (l, rgb) in lumas.iter_mut().zip(palette.chunks_exact(3)) {
        *l = luma(rgb[0], rgb[1], rgb[2]);
    }
    // The logical screen; a degenerate one is taken to be the frame's extent.
    let (mut width, mut height) = (usize::from(decoder.width()), usize::from(decoder.height()));
    if width == 0 || height == 0 {
        (width, height) = (frame_left + frame_width, frame_top + frame_height);
    }
    if !size_ok(width as u64, height as u64) {
        return None;
    }
    if !sink.start(width as u32, height as u32) {
        return Some(());
    }
    let mut out = vec![0u8; width];
    for y in 0..height {
        out.fill(0);
        if let Some(fy) = y.checked_sub(frame_top).filter(|fy| *fy < frame_height) {
            let src = &indices[fy * frame_width..(fy + 1) * frame_width];
            let dst = out.iter_mut().skip(frame_left);
            for (o, &i) in dst.zip(src) {
                *o = lumas[usize::from(i)];
            }
        }
        sink.row(y as u32, &out);
    }
    Some(())
}

/// Collects the whole grayscale image.
#[derive(Default)]
struct Collect {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Sink for Collect {
    fn start(&mut self, width: u32, height: u32) -> bool {
        self.width = width;
        self.height = height;
        self.pixels = Vec::with_capacity(width as usize * height as usize);
        true
    }

    fn row(&mut self, _y: u32, luma: &[u8]) {
        self.pixels.extend_from_slice(luma);
    }
}

/// Shrinks rows to the 9 × 8 grid of [`dhash`] as they arrive, without
/// keeping the image.
#[derive(Default)]
struct Grid {
    width: u32,
    height: u32,
    /// Whether the image is too small to average (point sampling instead).
    sample: bool,
    /// The grid column of each source column (area averaging).
    column: Vec<u8>,
    sums: [[u64; 9]; 8],
    counts: [[u64; 9]; 8],
}

impl Sink for Grid {
    fn start(&mut self, width: u32, height: u32) -> bool {
        self.width = width;
        self.height = height;
        self.sample = width < 9 || height < 8;
        if !self.sample {
            let w = u64::from(width);
            self.column = (0..w).map(|x| (x * 9 / w) as u8).collect();
        }
        true
    }

    fn row(&mut self, y: u32, luma: &[u8]) {
        let (w, h) = (u64::from(self.width), u64::from(self.height));
        if self.sample {
            for cy in 0..8u64 {
                if cy * h / 8 != u64::from(y) {
                    continue;
                }
                for cx in 0..9u64 {
                    let x = (cx * w / 9) as usize;
                    self.sums[cy as usize][cx as usize] = u64::from(luma[x]);
                    self.counts[cy as usize][cx as usize] = 1;
                }
            }
        } else {
            let cy = (u64::from(y) * 8 / h) as usize;
            for (&cx, &p) in self.column.iter().zip(luma) {
                self.sums[cy][usize::from(cx)] += u64::from(p);
                self.counts[cy][usize::from(cx)] += 1;
            }
        }
    }
}

impl Grid {
    fn finish(&self) -> Option<u64> {
        let mut cells = [[0u64; 9]; 8];
        for ((cell_row, sums), counts) in cells.iter_mut().zip(&self.sums).zip(&self.counts) {
            for ((cell, &sum), &count) in cell_row.iter_mut().zip(sums).zip(counts) {
                *cell = sum.checked_div(count)?;
            }
        }
        let mut hash = 0u64;
        for (y, row) in cells.iter().enumerate() {
            for x in 0..8 {
                if row[x] > row[x + 1] {
                    hash |= 1 << (63 - (y * 8 + x));
                }
            }
        }
        Some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `pixels` (`width * height * channels` bytes) as a PNG.
    fn png(
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        png_with(width, height, color, depth, data, None)
    }

    fn png_with(
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        palette: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(color);
            enc.set_depth(depth);
            if let Some(p) = palette {
                enc.set_palette(p.to_vec());
            }
            let mut w = enc.write_header().unwrap();
            w.write_image_data(data).unwrap();
        }
        out
    }

    /// A smooth test picture: a bright disc off-centre on a diagonal ramp, as
    /// RGB, at any size.
    fn picture(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let (u, v) = (x as f64 / width as f64, y as f64 / height as f64);
                let ramp = 40.0 + 120.0 * (u * 0.7 + v * 0.3);
                let d = ((u - 0.3).powi(2) + (v - 0.6).powi(2)).sqrt();
                let disc = if d < 0.2 { 90.0 } else { 0.0 };
                let stripe = 50.0 * (v * 9.0).sin();
                let l = (ramp + disc + stripe).clamp(0.0, 255.0) as u8;
                rgb.extend_from_slice(&[l, l.saturating_sub(30), 255 - l]);
            }
        }
        rgb
    }

    fn rgb_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
        png(
            width,
            height,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            rgb,
        )
    }

    #[test]
    fn luma_weights() {
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(0, 0, 0), 0);
        assert_eq!(luma(255, 0, 0), 76);
        assert_eq!(luma(0, 255, 0), 149);
        assert_eq!(luma(0, 0, 255), 29);
    }

    #[test]
    fn solid_image_hashes_to_zero() {
        let rgb = [200u8, 10, 30].repeat(64 * 48);
        assert_eq!(dhash(&rgb_png(64, 48, &rgb)), Some(0));
        let gray = vec![77u8; 5 * 3];
        assert_eq!(
            dhash(&png(
                5,
                3,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &gray
            )),
            Some(0)
        );
    }

    #[test]
    fn left_bright_to_right_dark_gradient_hashes_to_all_ones() {
        // A 7 px wide image is point-sampled: cells 0 and 1 (and 4 and 5) read
        // the same column, so those comparisons are equal and their bits 0.
        for (w, h, want) in [
            (90, 40, u64::MAX),
            (256, 256, u64::MAX),
            (9, 8, u64::MAX),
            (7, 5, 0x7777_7777_7777_7777),
        ] {
            let mut rgb = Vec::new();
            for _ in 0..h {
                for x in 0..w {
                    let l = 255 - (x * 255 / (w - 1)) as u8;
                    rgb.extend_from_slice(&[l, l, l]);
                }
            }
            assert_eq!(dhash(&rgb_png(w, h, &rgb)), Some(want), "{w}x{h}");
        }
    }

    #[test]
    fn resized_reencoded_picture_hashes_close() {
        let a = dhash(&rgb_png(320, 240, &picture(320, 240))).unwrap();
        // The same picture, smaller, as grayscale+alpha instead of RGB.
        let (w, h) = (97, 71);
        let mut ga = Vec::new();
        for px in picture(w, h).chunks_exact(3) {
            ga.extend_from_slice(&[luma(px[0], px[1], px[2]), 128]);
        }
        let b = dhash(&png(
            w,
            h,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &ga,
        ))
        .unwrap();
        assert!(
            hamming(a, b) <= 4,
            "{} vs {}: {}",
            hash_hex(a),
            hash_hex(b),
            hamming(a, b)
        );
        assert_ne!(a, 0);
    }

    #[test]
    fn jpeg_decodes_and_hashes_close_to_png() {
        let (w, h) = (160u16, 120u16);
        let rgb = picture(w.into(), h.into());
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 90)
            .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let (dw, dh, pixels) = decode_luma(&jpeg).expect("decodes");
        assert_eq!((dw, dh, pixels.len()), (160, 120, 160 * 120));
        // Lossy, but close to the original's grayscale.
        let orig = luma(rgb[0], rgb[1], rgb[2]);
        assert!(pixels[0].abs_diff(orig) < 12, "{} vs {orig}", pixels[0]);
        let a = dhash(&rgb_png(w.into(), h.into(), &rgb)).unwrap();
        let b = dhash(&jpeg).unwrap();
        assert!(hamming(a, b) <= 4, "{}", hamming(a, b));

        let mut gray = Vec::new();
        jpeg_encoder::Encoder::new(&mut gray, 90)
            .encode(&[90u8; 16 * 16], 16, 16, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let (_, _, pixels) = decode_luma(&gray).unwrap();
        assert!(pixels.iter().all(|p| p.abs_diff(90) <= 2));
    }

    #[test]
    fn palette_and_sixteen_bit_pngs_convert() {
        let palette = [255u8, 0, 0, 0, 0, 255];
        let indexed = png_with(
            2,
            1,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &[0, 1],
            Some(&palette),
        );
        assert_eq!(decode_luma(&indexed), Some((2, 1, vec![76, 29])));
        let sixteen = png(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &[0x12, 0x34, 0xAB, 0xCD],
        );
        assert_eq!(decode_luma(&sixteen), Some((2, 1, vec![0x12, 0xAB])));
        let rgba = png(
            1,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[0, 255, 0, 0],
        );
        assert_eq!(decode_luma(&rgba), Some((1, 1, vec![149])));
        let bits = png(
            8,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::One,
            &[0b1010_0000],
        );
        assert_eq!(
            decode_luma(&bits).unwrap().2,
            vec![255, 0, 255, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn gif_first_frame_on_its_screen() {
        let mut out = Vec::new();
        {
            let palette = [0u8, 0, 0, 255, 255, 255];
            let mut enc = gif::Encoder::new(&mut out, 4, 2, &palette).unwrap();
            let mut frame = gif::Frame {
                left: 1,
                width: 2,
                height: 2,
                buffer: std::borrow::Cow::Owned(vec![1, 1, 0, 1]),
                ..Default::default()
            };
            enc.write_frame(&frame).unwrap();
            frame.buffer = std::borrow::Cow::Owned(vec![0, 0, 0, 0]);
            enc.write_frame(&frame).unwrap();
        }
        assert_eq!(
            decode_luma(&out),
            Some((4, 2, vec![0, 255, 255, 0, 0, 0, 255, 0]))
        );
    }

    #[test]
    fn unknown_and_broken_inputs_are_none() {
        assert_eq!(decode_luma(b""), None);
        assert_eq!(dhash(b"not an image at all"), None);
        let mut truncated = rgb_png(32, 32, &picture(32, 32));
        truncated.truncate(truncated.len() / 2);
        assert_eq!(dhash(&truncated), None);
        assert_eq!(dhash(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), None);
        assert_eq!(dhash(b"GIF89a\x01"), None);
    }

    #[test]
    fn refuses_decompression_bombs() {
        // A valid header claiming 10000 x 10000 pixels.
        let mut out = Vec::new();
        {
            let enc = png::Encoder::new(&mut out, 10_000, 10_000);
            let _ = enc.write_header().map(|mut w| {
                let _ = w.write_image_data(&[]);
            });
        }
        assert!(out.starts_with(b"\x89PNG"));
        assert_eq!(decode_luma(&out), None);
    }

    #[test]
    fn hex_round_trip_and_distance() {
        let h = 0x0123_4567_89ab_cdef;
        assert_eq!(hash_hex(h), "0123456789abcdef");
        assert_eq!(parse_hash("0123456789ABCDEF"), Some(h));
        assert_eq!(parse_hash(" 0123456789abcdef\n"), Some(h));
        assert_eq!(parse_hash("123456789abcdef"), None);
        assert_eq!(parse_hash("+123456789abcdef"), None);
        assert_eq!(parse_hash("0123456789abcdeg"), None);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1011, 0b0001), 2);
    }
}
