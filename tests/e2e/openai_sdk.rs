//! The official OpenAI Python SDK against the gateway, changing only
//! `base_url`. The SDK is installed from PyPI into `target/pyenv` (pinned in
//! tests/python/requirements.txt) the first time, and again when the pin
//! changes.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use imini_tests::{ADMIN_KEY, Gateway};

#[test]
fn the_official_openai_python_sdk_works_by_changing_base_url() {
    let python = imini_tests::python_tools();
    let gw = Gateway::start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/openai_sdk_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&gw.base)
        .arg(ADMIN_KEY)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the SDK check failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    assert!(stdout.contains("openai sdk check: ok"), "{stdout}");

    // images.edit: the left half (opaque in the mask) is the red reference,
    // the right half (transparent) is redrawn from the prompt.
    let printed = |label: &str| {
        let b64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} in {stdout}"));
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap()
    };
    let (w, h, rgb) = imini_tests::decode_png(&printed("edited:"));
    assert_eq!((w, h), (64, 64));
    let red_share = |x0: u32, x1: u32| {
        let (mut red, mut all) = (0, 0);
        for y in 0..h {
            for x in x0..x1 {
                let i = ((y * w + x) * 3) as usize;
                all += 1;
                if rgb[i] > 200 && rgb[i + 1] < 60 && rgb[i + 2] < 60 {
                    red += 1;
                }
            }
        }
        f64::from(red) / f64::from(all)
    };
    assert!(red_share(0, 32) > 0.95, "the kept half is the reference");
    assert!(red_share(32, 64) < 0.5, "the masked half is redrawn");

    // videos.create(input_reference=…): the first frame starts from it.
    let gif = printed("started from red:");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(gif.as_slice()).unwrap();
    let frame = decoder.read_next_frame().unwrap().unwrap();
    let pixels: Vec<&[u8]> = frame.buffer.chunks_exact(4).collect();
    let reddish = pixels
        .iter()
        .filter(|p| {
            i32::from(p[0]) > i32::from(p[1]) + 80 && i32::from(p[0]) > i32::from(p[2]) + 80
        })
        .count();
    assert!(
        reddish * 10 > pixels.len() * 9,
        "the first frame is mostly the red reference: {reddish} of {}",
        pixels.len()
    );
}
