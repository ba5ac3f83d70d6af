//! What media bytes are, read from the bytes themselves: the format from
//! their first bytes, and an image's width and height from its header.
//! Uploaded references and every plugin output are checked with these.

/// The MIME type of media bytes, from their first bytes, for the formats
/// the gateway recognises (PNG, JPEG, GIF, WebP; MP4 and the other ISO
/// media files, WebM; MP3, WAV, Ogg, FLAC).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| bytes.starts_with(p);
    let riff = |form: &[u8]| bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == form;
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        if &bytes[8..12] == b"qt  " {
            "video/quicktime"
        } else {
            "video/mp4"
        }
    } else if starts(b"\x1a\x45\xdf\xa3") {
        "video/webm"
    } else if starts(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xff && bytes[1] & 0xe0 == 0xe0) {
        "audio/mpeg"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else {
        return None;
    })
}

/// Whether bytes sniffed as `sniffed` may be declared as `declared`: the
/// same type, up to parameters, case and common aliases (`image/jpg`,
/// `audio/mp3`, `audio/x-wav`), with the ISO media family (MP4, MOV, M4A)
/// as one, since its first bytes do not tell a video from a sound.
pub fn declared_as(declared: &str, sniffed: &str) -> bool {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let canonical = match declared.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "audio/mp3" => "audio/mpeg",
        "audio/x-wav" | "audio/wave" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        "video/mp4" | "video/quicktime" | "audio/mp4" | "audio/x-m4a" | "audio/aac" => {
            return matches!(sniffed, "video/mp4" | "video/quicktime");
        }
        other => other,
    };
    canonical == sniffed
}

/// An image's width and height from its header; `None` if the bytes are
/// not an image with a readable header, or it says zero.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let size = imagesize::blob_size(bytes).ok()?;
    let width = u32::try_from(size.width).ok()?;
    let height = u32::try_from(size.height).ok()?;
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![7u8; (width * height * 3) as usize])
            .unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn a_png_is_recognised_with_its_size() {
        let bytes = png(48, 20);
        assert_eq!(sniff(&bytes), Some("image/png"));
        assert_eq!(image_size(&bytes), Some((48, 20)));
    }

    #[test]
    fn a_png_signature_followed_by_zeros_has_no_size() {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(4096, 0);
        assert_eq!(sniff(&bytes), Some("image/png"));
        assert_eq!(image_size(&bytes), None);
    }

    #[test]
    fn aliases_and_parameters_are_accepted_and_other_types_are_not() {
        assert!(declared_as("image/JPG", "image/jpeg"));
        assert!(declared_as("image/png; charset=binary", "image/png"));
        assert!(declared_as("video/quicktime", "video/mp4"));
        assert!(!declared_as("image/jpeg", "image/png"));
        assert!(!declared_as("video/mp4", "image/png"));
        assert!(!declared_as("image/png", "video/mp4"));
    }

    #[test]
    fn unknown_bytes_are_not_recognised() {
        assert_eq!(sniff(b"hello, world"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(image_size(b"hello, world"), None);
    }
}
