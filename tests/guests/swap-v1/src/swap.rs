// The body of the `swap` test provider, shared by `swap-v1` and `swap-v2`,
// which differ only in `VERSION` (and their manifests). `test/swap` answers
// at once with an 8x8 PNG whose colour says which version drew it;
// `test/swap-job` is asynchronous: `submit` answers the handle
// `job-by-v<N>` and asks to be polled after 1.5 s, and `poll` answers a
// picture in the colour of the version polling, with the text
// `<handle> polled by v<N>`.

use imini_sdk::{
    CallMode, GenerationRequest, GenerationResult, JobStatus, Media, MediaData, ModelInfo,
    PluginError, Provider, Size, Submission, export_provider,
};

struct Swap;

/// The colour of a version: v1 red, v2 blue.
fn colour() -> [u8; 3] {
    if VERSION == 1 { [255, 0, 0] } else { [0, 0, 255] }
}

fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 8, 8);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    let pixels: Vec<u8> = colour().iter().copied().cycle().take(8 * 8 * 3).collect();
    writer.write_image_data(&pixels).expect("pixels");
    writer.finish().expect("finish");
    out
}

fn picture(text: Option<String>) -> GenerationResult {
    let mut media = Media::image("image/png", 8, 8, MediaData::Bytes(png()));
    media.text = text;
    GenerationResult::new(vec![media])
}

impl Provider for Swap {
    fn models() -> Vec<ModelInfo> {
        let mut sync = ModelInfo::image("test/swap", "swap", "answers in its version's colour", Size::new(8, 8));
        sync.min_size = Size::new(8, 8);
        let mut job = ModelInfo::image("test/swap-job", "swap job", "polled in the polling version's colour", Size::new(8, 8));
        job.min_size = Size::new(8, 8);
        job.mode = CallMode::Asynchronous;
        vec![sync, job]
    }

    fn generate(_req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        Ok(picture(None))
    }

    fn submit(_req: GenerationRequest) -> Result<Submission, PluginError> {
        Ok(Submission {
            handle: format!("job-by-v{VERSION}"),
            poll_after_ms: Some(1_500),
        })
    }

    fn poll(_model: String, handle: String) -> Result<JobStatus, PluginError> {
        Ok(JobStatus::Succeeded(picture(Some(format!("{handle} polled by v{VERSION}")))))
    }

    fn cancel(_model: String, _handle: String) -> Result<(), PluginError> {
        Ok(())
    }
}

export_provider!(Swap);
