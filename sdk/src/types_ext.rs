//! Constructors and helpers on the generated types, so plugin code reads well.

use crate::types::*;

impl Size {
    /// A size of `width` by `height` pixels.
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }
}

impl PluginError {
    /// An error of `kind` with a message; retryable for the kinds where a
    /// second try can help (rate limits, upstream failures, timeouts).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::RateLimited | ErrorKind::Upstream | ErrorKind::Timeout
        );
        Self {
            kind,
            message: message.into(),
            retryable,
            retry_after_ms: None,
            details: None,
        }
    }

    /// The request is not valid for this model (the caller's fault).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// The upstream failed or answered something unreadable.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    /// A bug or unexpected state inside the plugin.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The plugin does not serve `model`.
    pub fn unknown_model(model: &str) -> Self {
        Self::new(
            ErrorKind::UnknownModel,
            format!("this plugin does not serve model {model:?}"),
        )
    }

    /// The plugin does not implement `call` for `model`.
    pub fn unsupported(model: &str, call: &str) -> Self {
        Self::new(
            ErrorKind::InvalidRequest,
            format!("model {model:?} does not support {call}"),
        )
    }

    /// Sets whether the call may be retried.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Sets how long to wait before retrying.
    pub fn retry_after_ms(mut self, ms: u32) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    fn details_mut(&mut self) -> &mut ErrorDetails {
        self.details.get_or_insert(ErrorDetails {
            param: None,
            code: None,
            public_message: None,
        })
    }

    /// Names the request parameter (or configuration key) at fault; the
    /// caller's error shows it as `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.details_mut().param = Some(param.into());
        self
    }

    /// Gives the upstream's own error code, which the caller's error shows.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.details_mut().code = Some(code.into());
        self
    }

    /// Gives the message callers see instead of [`PluginError::message`]
    /// (which stays for operators and the log). It must be safe to show:
    /// never a secret or an upstream's internals.
    pub fn with_public_message(mut self, message: impl Into<String>) -> Self {
        self.details_mut().public_message = Some(message.into());
        self
    }
}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> Self {
        PluginError::upstream(format!("invalid JSON: {e}"))
    }
}

impl ModelInfo {
    /// A synchronous image model accepting any size from 64x64 to 2048x2048,
    /// up to 4 outputs, with seeds; adjust the fields afterwards as needed.
    pub fn image(id: &str, name: &str, description: &str, default_size: Size) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            description: description.to_string(),
            kind: MediaKind::Image,
            mode: CallMode::Synchronous,
            max_n: 4,
            sizes: Vec::new(),
            min_size: Size::new(64, 64),
            max_size: Size::new(2048, 2048),
            aspect_ratios: Vec::new(),
            resolutions: Vec::new(),
            default_size,
            durations_ms: Vec::new(),
            supports_seed: true,
            supports_references: false,
        }
    }

    /// An asynchronous video model with the given accepted lengths; adjust
    /// the fields afterwards as needed.
    pub fn video(
        id: &str,
        name: &str,
        description: &str,
        default_size: Size,
        durations_ms: Vec<u32>,
    ) -> Self {
        Self {
            kind: MediaKind::Video,
            mode: CallMode::Asynchronous,
            max_n: 1,
            durations_ms,
            ..Self::image(id, name, description, default_size)
        }
    }
}

impl GenerationRequest {
    /// A request for one 1024 x 1024 image of `model` from `prompt`, with
    /// nothing else set: what the host sends for the plainest call, and a
    /// start for tests, e.g.
    /// `GenerationRequest { n: 2, ..GenerationRequest::image("acme/sketch", "a fox") }`.
    pub fn image(model: &str, prompt: &str) -> Self {
        Self {
            model: model.to_string(),
            kind: MediaKind::Image,
            prompt: prompt.to_string(),
            negative_prompt: None,
            n: 1,
            size: Size::new(1024, 1024),
            aspect_ratio: None,
            resolution: None,
            duration_ms: None,
            generate_audio: false,
            seed: None,
            references: Vec::new(),
            extra_params: "{}".to_string(),
        }
    }

    /// The provider-specific parameters, parsed (an empty object if none).
    pub fn extra_params(&self) -> Result<serde_json::Value, PluginError> {
        if self.extra_params.trim().is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        serde_json::from_str(&self.extra_params)
            .map_err(|e| PluginError::invalid_request(format!("extra_params is not JSON: {e}")))
    }
}

impl Media {
    /// An image output. The gateway checks the bytes against what is
    /// declared (MIME type, and for an image its width and height) and
    /// refuses an output that does not match; declare 0 × 0 when the size
    /// is not known (an upstream that answers a URL and no size), and the
    /// gateway reads it from the image's header.
    pub fn image(mime: &str, width: u32, height: u32, data: MediaData) -> Self {
        Self {
            kind: MediaKind::Image,
            mime: mime.to_string(),
            width,
            height,
            duration_ms: None,
            data,
            text: None,
        }
    }

    /// A video or animation output.
    pub fn video(mime: &str, width: u32, height: u32, duration_ms: u32, data: MediaData) -> Self {
        Self {
            kind: MediaKind::Video,
            duration_ms: Some(duration_ms),
            ..Self::image(mime, width, height, data)
        }
    }
}

impl GenerationResult {
    /// A result with these outputs and no metadata.
    pub fn new(outputs: Vec<Media>) -> Self {
        Self {
            outputs,
            metadata: "{}".to_string(),
        }
    }
}

impl Verdict {
    /// Nothing wrong.
    pub fn allow() -> Self {
        Self {
            action: Action::Allow,
            category: None,
            reason: None,
        }
    }

    /// Refuse, under `category`, for `reason` (kept for the audit log).
    pub fn deny(category: &str, reason: impl Into<String>) -> Self {
        Self {
            action: Action::Deny,
            category: Some(category.to_string()),
            reason: Some(reason.into()),
        }
    }

    /// Let through but record for review.
    pub fn flag(category: &str, reason: impl Into<String>) -> Self {
        Self {
            action: Action::Flag,
            category: Some(category.to_string()),
            reason: Some(reason.into()),
        }
    }
}
