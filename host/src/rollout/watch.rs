//! The watched plugin directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::Rollout;
use crate::plugins::Manifest;

impl Rollout {
    /// Watches `dir`: each `<stem>.toml` manifest with a `<stem>.wasm`
    /// beside it is installed and activated when its version is new. A file
    /// caught half-written fails validation and is tried again once it
    /// changes.
    pub async fn watch(self: Arc<Self>, dir: PathBuf, every: Duration) {
        tracing::info!(dir = %dir.display(), every_ms = every.as_millis() as u64, "watching for plugins to install");
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut manifests: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                        .collect()
                })
                .unwrap_or_default();
            manifests.sort();
            for path in manifests {
                let (Ok(text), Ok(wasm)) = (
                    std::fs::read_to_string(&path),
                    std::fs::read(path.with_extension("wasm")),
                ) else {
                    continue;
                };
                let mut digest = Sha256::new();
                digest.update(text.as_bytes());
                digest.update(&wasm);
                if !seen.insert(digest.finalize().to_vec()) {
                    continue;
                }
                let manifest = match Manifest::from_toml(&text) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "watched plugin manifest refused");
                        continue;
                    }
                };
                let installed = self
                    .record(&manifest.name)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.versions.iter().any(|v| v.version == manifest.version));
                if installed {
                    continue;
                }
                match self.install(&text, wasm, true, "admin").await {
                    Ok(o) => {
                        tracing::info!(plugin = %o.plugin, version = ?o.active, "installed from the watched directory")
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "watched plugin not installed")
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    }
}
