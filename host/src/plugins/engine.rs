//! The one wasmtime [`Engine`] of the process: configuration, the epoch
//! ticker, and compilation with an on-disk cache of precompiled components.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeError;
use crate::ids::hex;

/// How often the epoch advances. A running guest yields to the executor and
/// has its deadline checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the sandbox.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Linear memory one call may use, in bytes.
    pub memory_bytes: usize,
    /// Provider calls that may run at once.
    pub provider_calls: u32,
    /// Policy calls that may run at once, besides the provider calls (the
    /// instance pool holds both).
    pub policy_calls: u32,
    /// The largest output a provider may return, in bytes.
    pub max_output_bytes: usize,
}

/// The shared engine plus its epoch ticker and artifact cache.
pub struct PluginEngine {
    engine: Engine,
    cache_dir: PathBuf,
    ticker_stop: Arc<AtomicBool>,
}

impl PluginEngine {
    /// Builds the engine: async, epoch interruption, pooling allocator sized by
    /// `limits`; precompiled artifacts go to `cache_dir`.
    pub fn new(limits: &EngineLimits, cache_dir: &Path) -> Result<Self, RuntimeError> {
        // Two instances beyond the calls the pools let run: a call handed a slot
        // as another ends can find that one's memories and tables still on
        // their way back to the allocator (the two pools release
        // independently), and must not fail for it.
        let n = limits.provider_calls.max(1) + limits.policy_calls.max(1) + 2;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 4)
            .total_stacks(n)
            .max_memory_size(limits.memory_bytes)
            // Reset the memory of a finished call with memset (of the pages
            // it touched, found with PAGEMAP_SCAN where the kernel has it)
            // rather than madvise, which costs a TLB shootdown per call, and
            // batch what is decommitted.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .decommit_batch_size(16);

        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .wasm_component_model(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Engine(e.to_string()))?;

        std::fs::create_dir_all(cache_dir)
            .map_err(|e| RuntimeError::Cache(format!("creating {}: {e}", cache_dir.display())))?;

        // A plain thread rather than a tokio task: the ticker must keep going
        // even when every executor thread is busy running guests.
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (weak, stop) = (engine.weak(), ticker_stop.clone());
        std::thread::Builder::new()
            .name("imini-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| RuntimeError::Engine(format!("starting the epoch ticker: {e}")))?;

        Ok(Self {
            engine,
            cache_dir: cache_dir.to_path_buf(),
            ticker_stop,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component, or loads its precompiled artifact from the cache
    /// when this engine compiled the same bytes before. Blocking: call it off
    /// the async executor. Returns whether the cache served it.
    pub fn compile(&self, wasm: &[u8]) -> Result<(Component, bool), RuntimeError> {
        let key = self.cache_key(wasm);
        let artifact = self.cache_dir.join(format!("{key}.cwasm"));
        let checksum = self.cache_dir.join(format!("{key}.sha256"));
        if let Some(component) = self.load_cached(&artifact, &checksum) {
            return Ok((component, true));
        }
        let bytes = self
            .engine
            .precompile_component(wasm)
            .map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        if let Err(e) = write_atomically(&artifact, &bytes)
            .and_then(|()| write_atomically(&checksum, hex(&Sha256::digest(&bytes)).as_bytes()))
        {
            tracing::warn!(error = %e, "could not cache a compiled plugin; it will be compiled again at the next start");
        }
        let component = deserialize(&self.engine, &bytes)
            .map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        Ok((component, false))
    }

    fn load_cached(&self, artifact: &Path, checksum: &Path) -> Option<Component> {
        let bytes = std::fs::read(artifact).ok()?;
        let expected = std::fs::read_to_string(checksum).ok()?;
        if hex(&Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!(path = %artifact.display(), "cached plugin artifact is corrupt; recompiling");
            return None;
        }
        match deserialize(&self.engine, &bytes) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %artifact.display(), error = %e, "cached plugin artifact unusable; recompiling");
                None
            }
        }
    }

    /// The cache key: the component's bytes and everything about the engine
    /// that makes an artifact compatible (wasmtime version, settings, CPU).
    fn cache_key(&self, wasm: &[u8]) -> String {
        use std::hash::{Hash, Hasher};
        struct ShaHasher(Sha256);
        impl Hasher for ShaHasher {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
        }
        let mut hasher = ShaHasher(Sha256::new());
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        hasher.0.update(wasm);
        hex(&hasher.0.finalize())[..40].to_string()
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Loads a precompiled artifact.
///
/// The artifact was produced by `precompile_component` of an engine with the
/// same compatibility hash (it is in the file name), written by this gateway
/// into its own data directory, and its SHA-256 was checked against the
/// checksum written beside it, so it is exactly what we compiled. wasmtime
/// additionally checks its header against the engine's settings.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: see above: the bytes are our own compiler output, verified.
    unsafe { Component::deserialize(engine, bytes) }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
