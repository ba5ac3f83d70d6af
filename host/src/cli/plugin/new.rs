//! `imini plugin new`: writes a plugin crate, from the templates in
//! `host/templates/`, that builds with plain cargo for `wasm32-wasip2` and
//! whose own tests pass as written.

use std::path::PathBuf;

use crate::plugins::{Manifest, PluginKind};

/// Where a new plugin gets `imini-sdk` when no path is given: this
/// project's repository.
const SDK_GIT: &str = "https://github.com/imini-ai/imini";

/// The files of a template: path in the new crate, text.
type Template = &'static [(&'static str, &'static str)];

const PROVIDER: Template = &[
    (
        "Cargo.toml",
        include_str!("../../../templates/provider/Cargo.toml.tmpl"),
    ),
    (
        "imini-plugin.toml",
        include_str!("../../../templates/provider/imini-plugin.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/provider/src/lib.rs"),
    ),
    ("README.md", include_str!("../../../templates/README.md")),
    (".gitignore", include_str!("../../../templates/gitignore")),
];

const POLICY: Template = &[
    (
        "Cargo.toml",
        include_str!("../../../templates/policy/Cargo.toml.tmpl"),
    ),
    (
        "imini-plugin.toml",
        include_str!("../../../templates/policy/imini-plugin.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/policy/src/lib.rs"),
    ),
    ("README.md", include_str!("../../../templates/README.md")),
    (".gitignore", include_str!("../../../templates/gitignore")),
];

/// Writes the crate of a new plugin `name` of `kind` into `dir` (default
/// `./name`), which must not exist or be empty; `sdk_path` is a local
/// checkout of `imini-sdk` to depend on instead of the repository.
pub fn scaffold(
    name: &str,
    kind: PluginKind,
    dir: Option<PathBuf>,
    sdk_path: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let manifest = format!("name = {name:?}\nversion = \"0.1.0\"\nkind = \"{kind}\"");
    Manifest::from_toml(&manifest).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        anyhow::bail!("the name {name:?} must start with a letter (it names the crate too)");
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        anyhow::bail!(
            "{} exists and is not empty; choose another --dir",
            dir.display()
        );
    }
    let sdk = match sdk_path {
        Some(path) => {
            let path = std::fs::canonicalize(&path)
                .map_err(|e| anyhow::anyhow!("--sdk-path {}: {e}", path.display()))?;
            if !path.join("Cargo.toml").is_file() {
                anyhow::bail!("--sdk-path {} has no Cargo.toml", path.display());
            }
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        None => format!("{{ git = {SDK_GIT:?} }}"),
    };
    let files = match kind {
        PluginKind::Provider => PROVIDER,
        PluginKind::Policy => POLICY,
    };
    for (path, text) in files {
        let text = text
            .replace("{{name}}", name)
            .replace("{{crate}}", name)
            .replace("{{crate_file}}", &name.replace('-', "_"))
            .replace("{{kind}}", &kind.to_string())
            .replace("{{sdk}}", &sdk);
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    Ok(dir)
}
