//! The plugins compiled into the binary by the build script: what a fresh
//! data directory serves, and what the rollout registers as each plugin's
//! bundled version. Its own module, below both the server and the rollout.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// A plugin compiled into the binary.
pub struct BundledPlugin {
    /// The crate it was built from.
    pub crate_name: &'static str,
    /// Its manifest (TOML).
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}
