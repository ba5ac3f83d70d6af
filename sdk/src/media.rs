//! Media as upstream APIs carry it inline: base64 text and `data:` URLs.

use base64::Engine as _;

use crate::PluginError;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The bytes of base64 `text`, or of a `data:…;base64,…` URL, ignoring
/// whitespace (wrapped base64 has line breaks). An error (an upstream one:
/// the upstream sent it) names `what`, e.g. "OpenAI's image 0".
pub fn decode_base64(what: &str, text: &str) -> Result<Vec<u8>, PluginError> {
    let text = text.trim();
    let payload = match text.strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) = rest.split_once(',').ok_or_else(|| {
                PluginError::upstream(format!("{what} is a data: URL without a comma"))
            })?;
            if !meta.ends_with(";base64") {
                return Err(PluginError::upstream(format!(
                    "{what} is a data: URL that is not base64"
                )));
            }
            data
        }
        None => text,
    };
    let compact: String = payload
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|e| PluginError::upstream(format!("{what} is not valid base64: {e}")))?;
    if bytes.is_empty() {
        return Err(PluginError::upstream(format!("{what} is empty")));
    }
    Ok(bytes)
}

/// `bytes` in standard base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// `bytes` as a `data:` URL of type `mime`, as APIs that take media inline
/// want it.
pub fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", encode_base64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn base64_and_data_urls_decode_to_the_same_bytes() {
        let bytes = b"\x89PNG\r\n\x1a\n and more".to_vec();
        let plain = encode_base64(&bytes);
        assert_eq!(decode_base64("it", &plain).unwrap(), bytes);
        assert_eq!(
            decode_base64("it", &data_url("image/png", &bytes)).unwrap(),
            bytes
        );
        let wrapped: String = plain
            .as_bytes()
            .chunks(8)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert_eq!(decode_base64("it", &wrapped).unwrap(), bytes);
    }

    #[test]
    fn what_is_not_base64_is_an_upstream_error_naming_it() {
        for (text, says) in [
            ("not base64!", "image 0 is not valid base64"),
            ("", "image 0 is empty"),
            (
                "data:image/png,raw",
                "image 0 is a data: URL that is not base64",
            ),
            (
                "data:image/png;base64",
                "image 0 is a data: URL without a comma",
            ),
        ] {
            let e = decode_base64("image 0", text).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Upstream);
            assert!(e.message.contains(says), "{text:?}: {}", e.message);
        }
    }
}
