//! # imini-sdk: write imini plugins in Rust
//!
//! An imini plugin is a WebAssembly component that the gateway loads and calls
//! in a sandbox. A **provider** plugin adapts one upstream model API (or, like
//! the bundled `canvas`, generates media itself); a **policy** plugin decides
//! whether a request or an output is allowed.
//!
//! This crate hides the WIT bindings: implement [`Provider`] or [`Policy`] on a
//! type, export it with [`export_provider!`] or [`export_policy!`], and build
//! with plain cargo:
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! The crate is organised as: the plugin traits and export macros (here), the
//! types shared with the host ([`types`], re-exported at the root), the host
//! functions ([`host`]: logging, configuration, reference blobs), outbound
//! HTTP ([`http`]), base64 and `data:` URLs ([`media`]), the settings most
//! provider adapters read for the API they call and the classification of
//! its error answers ([`upstream`]), the versioned handles of asynchronous
//! jobs ([`job`]) and, with the `imaging` cargo feature, image decoding and
//! perceptual hashes for policies (`imaging`).
//!
//! ## A minimal provider
//!
//! ```ignore
//! use imini_sdk::{
//!     export_provider, CallMode, GenerationRequest, GenerationResult, Media, MediaData,
//!     MediaKind, ModelInfo, PluginError, Provider, Size,
//! };
//!
//! struct Echo;
//!
//! impl Provider for Echo {
//!     fn models() -> Vec<ModelInfo> {
//!         vec![ModelInfo::image("acme/echo", "Echo", "Returns the prompt as text", Size::new(512, 512))]
//!     }
//!
//!     fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
//!         let body = imini_sdk::http::Request::post("https://api.acme.example/v1/echo")
//!             .credential("acme", "authorization", "Bearer ")
//!             .json(&serde_json::json!({ "prompt": req.prompt }))?
//!             .send()?
//!             .error_for_status()?
//!             .body;
//!         Ok(GenerationResult::new(vec![Media::image("image/png", 512, 512, MediaData::Bytes(body))]))
//!     }
//! }
//!
//! export_provider!(Echo);
//! ```
//!
//! The gateway gives a fresh instance to every call, so a plugin keeps no state
//! between calls; an asynchronous provider returns an opaque handle from
//! [`Provider::submit`] that the gateway persists and hands back to
//! [`Provider::poll`] and [`Provider::cancel`] ([`job`] writes and reads
//! such handles).
#![deny(missing_docs)]

// The generated bindings name this crate by its absolute path, so that the
// export macros work from plugin crates; make that path resolve here too.
extern crate self as imini_sdk;

pub mod host;
pub mod http;
#[cfg(feature = "imaging")]
pub mod imaging;
pub mod job;
pub mod media;
mod types_ext;
pub mod upstream;

#[doc(hidden)]
pub mod __bindings {
    //! Generated bindings; plugin code uses the re-exports at the crate root.
    #![allow(missing_docs)]

    /// The `provider` world.
    pub mod provider {
        wit_bindgen::generate!({
            world: "provider",
            path: "wit",
            pub_export_macro: true,
            export_macro_name: "__export_provider_world",
            default_bindings_module: "::imini_sdk::__bindings::provider",
            runtime_path: "::imini_sdk::__bindings::rt",
            generate_all,
        });
    }

    /// The `policy` world, sharing the provider world's types and imports.
    pub mod policy {
        wit_bindgen::generate!({
            world: "policy",
            path: "wit",
            pub_export_macro: true,
            export_macro_name: "__export_policy_world",
            default_bindings_module: "::imini_sdk::__bindings::policy",
            runtime_path: "::imini_sdk::__bindings::rt",
            with: {
                "imini:plugin/types@0.2.0": crate::__bindings::provider::imini::plugin::types,
                "imini:plugin/host@0.2.0": crate::__bindings::provider::imini::plugin::host,
                "imini:plugin/http@0.2.0": crate::__bindings::provider::imini::plugin::http,
            },
        });
    }

    pub use wit_bindgen::rt;
}

/// The types shared by plugins and the host (requests, media, errors).
pub mod types {
    pub use crate::__bindings::policy::exports::imini::plugin::content_policy::{
        Action, PolicyInfo, Verdict,
    };
    pub use crate::__bindings::provider::exports::imini::plugin::model_provider::{
        CallMode, JobProgress, JobStatus, ModelInfo, Submission,
    };
    pub use crate::__bindings::provider::imini::plugin::types::{
        Blob, ErrorDetails, ErrorKind, GenerationRequest, GenerationResult, Media, MediaData,
        MediaKind, PluginError, Reference, Size,
    };
}

pub use types::*;

/// The WIT package version this SDK builds plugins against.
pub const WIT_VERSION: &str = "0.2.0";

/// A provider plugin: serves one or more models.
///
/// Implement [`Provider::generate`] for models whose [`ModelInfo::mode`] is
/// [`CallMode::Synchronous`], and [`Provider::submit`], [`Provider::poll`] and
/// [`Provider::cancel`] for [`CallMode::Asynchronous`] ones. The defaults answer that
/// the call is not supported.
pub trait Provider {
    /// Checks the operator's configuration before the gateway makes it
    /// live (at load, install and `imini plugin config`): an error refuses
    /// it, with its message (and [`PluginError::with_param`] the key).
    /// Read the given value, not [`host::config`], which is the live one.
    /// Accepts everything by default.
    fn validate_config(_config: &serde_json::Value) -> Result<(), PluginError> {
        Ok(())
    }

    /// The models this plugin serves and what each accepts.
    fn models() -> Vec<ModelInfo>;

    /// Generates synchronously.
    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        Err(PluginError::unsupported(&req.model, "generate"))
    }

    /// Starts an asynchronous job and returns its handle.
    fn submit(req: GenerationRequest) -> Result<Submission, PluginError> {
        Err(PluginError::unsupported(&req.model, "submit"))
    }

    /// Reports where an asynchronous job stands.
    fn poll(model: String, _handle: String) -> Result<JobStatus, PluginError> {
        Err(PluginError::unsupported(&model, "poll"))
    }

    /// Asks the upstream to stop a job.
    fn cancel(model: String, _handle: String) -> Result<(), PluginError> {
        Err(PluginError::unsupported(&model, "cancel"))
    }
}

/// A policy plugin: decides on requests and outputs.
pub trait Policy {
    /// Checks the operator's configuration before the gateway makes it
    /// live, as [`Provider::validate_config`] does. Accepts everything by
    /// default.
    fn validate_config(_config: &serde_json::Value) -> Result<(), PluginError> {
        Ok(())
    }

    /// The policy's name and the categories it can return; also the host's
    /// self-check when a new version is loaded.
    fn describe() -> Result<PolicyInfo, PluginError>;

    /// Checks a request before anything is charged or sent upstream.
    fn check_request(req: GenerationRequest) -> Result<Verdict, PluginError>;

    /// Checks outputs before they are stored or served. Allows by default.
    /// The manifest's `[output_check]` may say what it reads (the outputs'
    /// text, their bytes), so that the gateway calls it only when the
    /// outputs hold some of it; without it, it is called for every output.
    fn check_output(_req: GenerationRequest, _outputs: Vec<Media>) -> Result<Verdict, PluginError> {
        Ok(Verdict::allow())
    }
}

/// Exports a type implementing [`Provider`] as this component's provider.
///
/// Use it once, at the crate root of a `cdylib` plugin crate.
#[macro_export]
macro_rules! export_provider {
    ($ty:ident) => {
        const _: () = {
            impl $crate::__bindings::provider::exports::imini::plugin::model_provider::Guest for $ty {
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::PluginError> {
                    <$ty as $crate::Provider>::validate_config(&$crate::host::parse_config(&config)?)
                }
                fn models() -> ::std::vec::Vec<$crate::ModelInfo> {
                    <$ty as $crate::Provider>::models()
                }
                fn generate(
                    req: $crate::GenerationRequest,
                ) -> ::std::result::Result<$crate::GenerationResult, $crate::PluginError> {
                    <$ty as $crate::Provider>::generate(req)
                }
                fn submit(
                    req: $crate::GenerationRequest,
                ) -> ::std::result::Result<$crate::Submission, $crate::PluginError> {
                    <$ty as $crate::Provider>::submit(req)
                }
                fn poll(
                    model: ::std::string::String,
                    handle: ::std::string::String,
                ) -> ::std::result::Result<$crate::JobStatus, $crate::PluginError> {
                    <$ty as $crate::Provider>::poll(model, handle)
                }
                fn cancel(
                    model: ::std::string::String,
                    handle: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::PluginError> {
                    <$ty as $crate::Provider>::cancel(model, handle)
                }
            }
            $crate::__bindings::provider::__export_provider_world!($ty);
        };
    };
}

/// Exports a type implementing [`Policy`] as this component's policy.
///
/// Use it once, at the crate root of a `cdylib` plugin crate.
#[macro_export]
macro_rules! export_policy {
    ($ty:ident) => {
        const _: () = {
            impl $crate::__bindings::policy::exports::imini::plugin::content_policy::Guest for $ty {
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::PluginError> {
                    <$ty as $crate::Policy>::validate_config(&$crate::host::parse_config(&config)?)
                }
                fn describe() -> ::std::result::Result<$crate::PolicyInfo, $crate::PluginError> {
                    <$ty as $crate::Policy>::describe()
                }
                fn check_request(
                    req: $crate::GenerationRequest,
                ) -> ::std::result::Result<$crate::Verdict, $crate::PluginError> {
                    <$ty as $crate::Policy>::check_request(req)
                }
                fn check_output(
                    req: $crate::GenerationRequest,
                    outputs: ::std::vec::Vec<$crate::Media>,
                ) -> ::std::result::Result<$crate::Verdict, $crate::PluginError> {
                    <$ty as $crate::Policy>::check_output(req, outputs)
                }
            }
            $crate::__bindings::policy::__export_policy_world!($ty);
        };
    };
}
