//! Offline picture maker for the canvas provider: turns a prompt and a seed into a
//! deterministic PNG still or looping GIF, with no network and no hidden randomness.
//!
//! Colour and mood words pick the palette, subject words pick scene elements, up to two
//! other words are hashed into extra elements, and the words plus the seed drive a PRNG
//! for the layout. Same inputs, same bytes, natively and in wasm.
//!
//! The private submodules form a pipeline. `words` reads the prompt: it splits it into
//! words, folds synonyms onto the mood, colour and element tables and reports what was
//! asked for. `scene` turns that and the seed into a `Scene`, the plan shared by every
//! frame: palette, element set, horizon, sky tilt and sun. `draw` paints a plan at a loop
//! time onto an RGB canvas, layer by layer (`draw::sky`, then `draw::ground`, then snow
//! and a whole-image finish). `encode` packs the pixels into a PNG, or into a GIF after
//! choosing its palette and dithering each frame onto it. `math` holds the stable
//! hashes, PRNG, polynomial sine and colour arithmetic the others build on; it avoids
//! libm so that every platform draws the same bytes. This file only clamps the sizes and
//! wires the stages together.

mod draw;
mod encode;
mod math;
pub mod reference;
mod scene;
mod words;

use reference::{Mask, Picture};
use scene::Scene;

/// Largest edge drawn; bigger requests are clamped to keep guest memory bounded.
const MAX_EDGE: u32 = 4096;

/// Renders one still image as PNG bytes (8-bit RGB or RGBA).
///
/// This renderer always writes 8-bit RGB.
/// Each edge is clamped to `1..=4096`; within that range the image has exactly the
/// requested size. Identical arguments give byte-identical output.
pub fn render_png(prompt: &str, seed: u64, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width.clamp(1, MAX_EDGE), height.clamp(1, MAX_EDGE));
    let px = Scene::new(prompt, seed).render(w, h, 0.0);
    encode::to_png(&px, w, h)
}

/// Renders a short looping animation as GIF bytes: `frames` frames, `delay_cs` centiseconds each.
///
/// It is the scene [`render_png`] draws for the same prompt and seed, set in motion (sun
/// drifting, water rippling, stars twinkling, snow falling) so that the last frame leads
/// back into the first. Edges are clamped to `1..=4096` and `frames` to `1..=600`; the
/// GIF loops forever with one global palette of at most 256 colours.
///
/// With `start`, the animation starts from that picture (stretched over the
/// frame, 80% of it over the scene), which fades out by the middle of the
/// loop and back in by its end.
pub fn render_gif(
    prompt: &str,
    seed: u64,
    width: u32,
    height: u32,
    frames: u32,
    delay_cs: u16,
    start: Option<&Picture>,
) -> Vec<u8> {
    let (w, h) = (width.clamp(1, MAX_EDGE), height.clamp(1, MAX_EDGE));
    let (scene, frames) = (Scene::new(prompt, seed), frames.clamp(1, 600));
    encode::to_gif(
        |w, h, t| {
            let mut px = scene.render(w, h, t);
            if let Some(start) = start {
                // 1 at the loop's ends, 0 in its middle.
                let near = 1.0 - 2.0 * t.min(1.0 - t);
                let keep = (204.0 * near) as u8;
                reference::lay_over(&mut px, w, h, start, None, keep);
            }
            px
        },
        w,
        h,
        frames,
        delay_cs,
    )
}

/// Renders an edit of `reference` as PNG bytes: the scene of `prompt` and
/// `seed` drawn where `mask` is transparent, the reference kept where it is
/// opaque; without a mask, the reference blended at 60% over the scene.
/// Sizes as [`render_png`].
pub fn render_edit_png(
    prompt: &str,
    seed: u64,
    width: u32,
    height: u32,
    reference: &Picture,
    mask: Option<&Mask>,
) -> Vec<u8> {
    let (w, h) = (width.clamp(1, MAX_EDGE), height.clamp(1, MAX_EDGE));
    let mut px = Scene::new(prompt, seed).render(w, h, 0.0);
    reference::lay_over(&mut px, w, h, reference, mask, 153);
    encode::to_png(&px, w, h)
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
        let bytes = render_gif("snowy forest at night", 9, 96, 64, 6, 8, None);
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
}
