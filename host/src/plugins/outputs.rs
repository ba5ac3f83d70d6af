//! What the host accepts of a provider's outputs: the download of an
//! output given as a URL, under the plugin's own rules, and the checks
//! every output passes before it is stored or charged.

use super::bindings::types;
use super::{ProviderPlugin, manifest};

/// Why an output URL could not be fetched.
#[derive(Debug, Clone)]
pub struct FetchError {
    /// What happened.
    pub message: String,
    /// Whether trying again cannot help (the host refuses the URL, or its
    /// body is too large).
    pub permanent: bool,
}

impl ProviderPlugin {
    /// Downloads an output the plugin returned as a URL, under the same rules
    /// as its own requests (allowlist, timeout, size cap).
    pub async fn fetch_output(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let ctx = &self.core.context;
        let refused = |message: String| FetchError {
            message,
            permanent: true,
        };
        let parsed = reqwest::Url::parse(url).map_err(|_| refused(format!("not a URL: {url}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused(format!("not an http(s) URL: {url}")));
        }
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(0);
        if !manifest::host_allowed(&ctx.allowed_hosts, host, port) {
            return Err(refused(format!(
                "{host}:{port} is not in the plugin's allowed hosts"
            )));
        }
        let outbound = &self.core.runtime.outbound;
        let response = outbound
            .send(
                parsed,
                "GET",
                Vec::new(),
                None,
                Vec::new(),
                outbound.max_timeout(),
            )
            .await
            .map_err(|e| {
                use super::bindings::http_api::HttpError as H;
                let permanent = matches!(e, H::TooLarge | H::InvalidRequest(_));
                FetchError {
                    message: format!("{e:?}"),
                    permanent,
                }
            })?;
        if !(200..300).contains(&response.status) {
            return Err(FetchError {
                message: format!("the output URL answered {}", response.status),
                permanent: false,
            });
        }
        Ok(response.body)
    }

    /// Checks an output before the host stores it or charges for it: its
    /// size within `sandbox.max_output_mib`, its bytes in a format the
    /// gateway recognises and of the declared MIME type and kind, and an
    /// image's declared width and height those of its header (a plugin that
    /// does not know them declares 0 × 0, and the header's are taken).
    /// Takes the MIME type the bytes show. `Err` says what is wrong.
    pub fn accept_output(&self, media: &mut types::Media, bytes: &[u8]) -> Result<(), String> {
        use crate::media::format;
        let cap = self.core.runtime.max_output_bytes;
        if bytes.len() > cap {
            return Err(format!(
                "an output of {} bytes is larger than the gateway accepts ({} MiB, sandbox.max_output_mib)",
                bytes.len(),
                cap >> 20
            ));
        }
        // Only a refusal quotes what the plugin declared.
        let declared = || super::printable(&media.mime, 100);
        let Some(sniffed) = format::sniff(bytes) else {
            let declared = declared();
            return Err(format!(
                "an output declared {declared} is not in a format the gateway recognises"
            ));
        };
        if !format::declared_as(&media.mime, sniffed) {
            return Err(format!("an output declared {} is {sniffed}", declared()));
        }
        // A video may be an animation (GIF, WebP); MP4's first bytes do not
        // tell sound from video.
        let (kind, fits) = match media.kind {
            types::MediaKind::Image => ("an image", sniffed.starts_with("image/")),
            types::MediaKind::Video => (
                "a video",
                sniffed.starts_with("video/") || matches!(sniffed, "image/gif" | "image/webp"),
            ),
            types::MediaKind::Audio => (
                "audio",
                sniffed.starts_with("audio/") || sniffed == "video/mp4",
            ),
        };
        if !fits {
            return Err(format!("an output declared as {kind} is {sniffed}"));
        }
        if media.kind == types::MediaKind::Image {
            let Some((width, height)) = format::image_size(bytes) else {
                return Err(format!(
                    "an output declared {} has no readable image header",
                    declared()
                ));
            };
            if (media.width, media.height) == (0, 0) {
                (media.width, media.height) = (width, height);
            } else if (media.width, media.height) != (width, height) {
                return Err(format!(
                    "an output declared {}x{} is {width}x{height}",
                    media.width, media.height
                ));
            }
        }
        media.mime = sniffed.to_string();
        Ok(())
    }
}
