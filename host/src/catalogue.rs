//! The catalogue: public model ids, the provider plugin serving each, and
//! what each model accepts (sizes, counts), with the rules that turn a
//! caller's size, aspect ratio and resolution into pixels.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plugins::ProviderPlugin;
use crate::plugins::bindings::provider_api::ModelInfo;
use crate::plugins::bindings::types::{MediaKind, Size};

/// A public model and the provider models that serve it, in order of
/// priority: a plugin's own model has one target; a configured route (an
/// alias) has several, and a retryable failure moves to the next.
#[derive(Clone)]
pub struct Route {
    /// The first target's plugin.
    pub plugin: Arc<ProviderPlugin>,
    /// What the model accepts (the first target's declaration, under the
    /// public id).
    pub info: ModelInfo,
    /// The serving models, first choice first.
    pub targets: Vec<Target>,
}

/// One provider model serving a public model.
#[derive(Clone)]
pub struct Target {
    /// The plugin.
    pub plugin: Arc<ProviderPlugin>,
    /// The plugin's model id.
    pub model: String,
}

/// All models, by id, and the models retired while the gateway runs or
/// before (for their 404 message and to finish their running tasks), and
/// those not served now because their plugin waits for a credential.
#[derive(Clone, Default)]
pub struct Catalogue {
    models: BTreeMap<String, Route>,
    retired: BTreeMap<String, Retired>,
    unavailable: BTreeMap<String, Unavailable>,
}

/// A model that is not served now: its plugin is loaded, but a credential
/// its manifest names is not set.
#[derive(Clone)]
pub struct Unavailable {
    /// The plugin, `name@version`.
    pub plugin: String,
    /// The credentials it waits for.
    pub missing: Vec<String>,
    /// Where its running tasks finish.
    pub last: Target,
}

/// A retired model.
#[derive(Clone)]
pub struct Retired {
    /// When it was retired (RFC 3339).
    pub at: String,
    /// The plugin that served it, `name@version`, when known.
    pub plugin: Option<String>,
    /// Its last target, when retired by this process: tasks it was running
    /// finish through it.
    pub last: Option<Target>,
}

/// A configured route: a public model served by several provider models.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The public id, "vendor/name".
    pub model: String,
    /// Provider model ids, first choice first.
    pub targets: Vec<String>,
}

/// Why the catalogue cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Two plugins declare one model.
    #[error(transparent)]
    Duplicate(#[from] DuplicateModel),
    /// A configured route is wrong.
    #[error("route {model}: {reason}")]
    Route {
        /// The public id.
        model: String,
        /// What is wrong.
        reason: String,
    },
}

/// Success and latency of each provider model, for routing decisions and
/// for `GET /v1/models/{id}`.
#[derive(Default)]
pub struct RouteHealth {
    stats: std::sync::Mutex<std::collections::HashMap<String, Stats>>,
}

/// Counters of one provider model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Calls that succeeded.
    pub succeeded: u64,
    /// Calls that failed on the provider side.
    pub failed: u64,
    /// Moving average of call latency, in milliseconds.
    pub latency_ms: f64,
}

impl RouteHealth {
    /// Records one call of `model`.
    pub fn record(&self, model: &str, ok: bool, latency: std::time::Duration) {
        let mut stats = self.stats.lock().expect("lock");
        let s = stats.entry(model.to_string()).or_default();
        let ms = latency.as_secs_f64() * 1000.0;
        s.latency_ms = if s.succeeded + s.failed == 0 {
            ms
        } else {
            s.latency_ms * 0.8 + ms * 0.2
        };
        if ok {
            s.succeeded += 1;
        } else {
            s.failed += 1;
        }
    }

    /// The counters of `model`.
    pub fn get(&self, model: &str) -> Stats {
        self.stats
            .lock()
            .expect("lock")
            .get(model)
            .copied()
            .unwrap_or_default()
    }
}

/// Catalogue conflicts found when plugins are loaded.
#[derive(Debug, thiserror::Error)]
#[error("model {model} is declared by both {first} and {second}")]
pub struct DuplicateModel {
    /// The model id.
    pub model: String,
    /// The plugin that declared it first.
    pub first: String,
    /// The plugin that declared it again.
    pub second: String,
}

/// A request parameter the model does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name on the wire.
    pub param: &'static str,
    /// What is wrong, for the caller.
    pub message: String,
}

impl Catalogue {
    /// Indexes the models of `providers`, then the configured `routes`.
    /// The models of a provider whose credentials are not all set are
    /// unavailable, and so are routes with no other target.
    pub fn build(
        providers: &[Arc<ProviderPlugin>],
        routes: &[RouteConfig],
    ) -> Result<Self, CatalogueError> {
        let mut models = BTreeMap::new();
        let mut unavailable = BTreeMap::new();
        for plugin in providers {
            let missing = plugin.core().missing_credentials();
            for info in &plugin.models {
                if !missing.is_empty() {
                    let waiting = Unavailable {
                        plugin: plugin.core().label(),
                        missing: missing.clone(),
                        last: Target {
                            plugin: plugin.clone(),
                            model: info.id.clone(),
                        },
                    };
                    if let Some(existing) = unavailable.insert(info.id.clone(), waiting) {
                        return Err(DuplicateModel {
                            model: info.id.clone(),
                            first: existing.plugin,
                            second: plugin.core().label(),
                        }
                        .into());
                    }
                    continue;
                }
                let route = Route {
                    plugin: plugin.clone(),
                    info: info.clone(),
                    targets: vec![Target {
                        plugin: plugin.clone(),
                        model: info.id.clone(),
                    }],
                };
                if let Some(existing) = models.insert(info.id.clone(), route) {
                    return Err(DuplicateModel {
                        model: info.id.clone(),
                        first: existing.plugin.core().label(),
                        second: plugin.core().label(),
                    }
                    .into());
                }
            }
        }
        if let Some((id, u)) = unavailable.iter().find(|(id, _)| models.contains_key(*id)) {
            return Err(DuplicateModel {
                model: id.clone(),
                first: models[id].plugin.core().label(),
                second: u.plugin.clone(),
            }
            .into());
        }
        for config in routes {
            let bad = |reason: String| CatalogueError::Route {
                model: config.model.clone(),
                reason,
            };
            if models.contains_key(&config.model) || unavailable.contains_key(&config.model) {
                return Err(bad("a plugin already serves this id".into()));
            }
            let mut targets: Vec<&Route> = Vec::new();
            let mut waiting: Option<&Unavailable> = None;
            for id in &config.targets {
                if let Some(u) = unavailable.get(id) {
                    // Skipped while it waits for its credential.
                    waiting = waiting.or(Some(u));
                    continue;
                }
                let target = models
                    .get(id)
                    .ok_or_else(|| bad(format!("no plugin serves {id}")))?;
                if target.targets.len() != 1 {
                    return Err(bad(format!("{id} is itself a route")));
                }
                targets.push(target);
            }
            if let (None, Some(u)) = (targets.first(), waiting) {
                let u = u.clone();
                unavailable.insert(config.model.clone(), u);
                continue;
            }
            let first = targets
                .first()
                .ok_or_else(|| bad("give at least one target".into()))?;
            if targets.iter().any(|t| t.info.kind != first.info.kind) {
                return Err(bad("the targets generate different kinds of media".into()));
            }
            let mut info = first.info.clone();
            info.id = config.model.clone();
            let route = Route {
                plugin: first.plugin.clone(),
                info,
                targets: targets.iter().map(|t| t.targets[0].clone()).collect(),
            };
            models.insert(config.model.clone(), route);
        }
        Ok(Self {
            models,
            retired: BTreeMap::new(),
            unavailable,
        })
    }

    /// The same catalogue with these retired models (those served again,
    /// or waiting to be, are left out).
    pub fn with_retired(mut self, retired: BTreeMap<String, Retired>) -> Self {
        self.retired = retired
            .into_iter()
            .filter(|(id, _)| !self.models.contains_key(id) && !self.unavailable.contains_key(id))
            .collect();
        self
    }

    /// The models not served now, and why.
    pub fn unavailable(&self) -> &BTreeMap<String, Unavailable> {
        &self.unavailable
    }

    /// The retired models.
    pub fn retired(&self) -> &BTreeMap<String, Retired> {
        &self.retired
    }

    /// The plugin serving a provider model id now, or, for a model retired
    /// by this process, the one that served it last (its running tasks
    /// finish there).
    pub fn serving(&self, provider_model: &str) -> Option<Target> {
        self.models
            .get(provider_model)
            .and_then(|r| r.targets.first())
            .filter(|t| t.model == provider_model)
            .cloned()
            .or_else(|| Some(self.unavailable.get(provider_model)?.last.clone()))
            .or_else(|| self.retired.get(provider_model)?.last.clone())
    }

    /// The route of a model.
    pub fn get(&self, id: &str) -> Option<&Route> {
        self.models.get(id)
    }

    /// Every model, in id order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.models.values()
    }
}

/// The caller's sizing parameters, as given.
#[derive(Debug, Default, Clone)]
pub struct SizeRequest<'a> {
    /// `WIDTHxHEIGHT` or `auto`.
    pub size: Option<&'a str>,
    /// `W:H`.
    pub aspect_ratio: Option<&'a str>,
    /// A tier: `512`, `1K`, `2K` (area) or `360p`, `720p`... (short edge).
    pub resolution: Option<&'a str>,
}

/// Resolves the output size for `info`: an explicit size wins; otherwise the
/// aspect ratio and resolution tier give the size (dimensions rounded to
/// multiples of 64 for area tiers, even numbers for `…p` tiers); otherwise the
/// model's default.
pub fn resolve_size(info: &ModelInfo, req: &SizeRequest<'_>) -> Result<Size, ParamError> {
    let size = match req.size.filter(|s| *s != "auto") {
        Some(text) => {
            let size = parse_size(text).ok_or_else(|| ParamError {
                param: "size",
                message: format!("size {text:?} must look like 1024x1024"),
            })?;
            if !info.sizes.is_empty()
                && !info
                    .sizes
                    .iter()
                    .any(|s| (s.width, s.height) == (size.width, size.height))
            {
                let allowed: Vec<String> = info
                    .sizes
                    .iter()
                    .map(|s| format!("{}x{}", s.width, s.height))
                    .collect();
                return Err(ParamError {
                    param: "size",
                    message: format!("{} accepts sizes {}", info.id, allowed.join(", ")),
                });
            }
            size
        }
        None if req.aspect_ratio.is_none() && req.resolution.is_none() => info.default_size,
        // A model with a fixed list of sizes gets the listed size closest
        // to the aspect ratio asked for.
        None if !info.sizes.is_empty() => closest_listed(info, req)?,
        None => from_ratio_and_tier(info, req)?,
    };
    let (min, max) = (info.min_size, info.max_size);
    if size.width < min.width
        || size.height < min.height
        || size.width > max.width
        || size.height > max.height
    {
        return Err(ParamError {
            param: if req.size.is_some_and(|s| s != "auto") {
                "size"
            } else {
                "resolution"
            },
            message: format!(
                "{}x{} is outside what {} accepts ({}x{} to {}x{})",
                size.width, size.height, info.id, min.width, min.height, max.width, max.height
            ),
        });
    }
    Ok(size)
}

fn from_ratio_and_tier(info: &ModelInfo, req: &SizeRequest<'_>) -> Result<Size, ParamError> {
    let ratio = match req.aspect_ratio {
        Some(text) => {
            if !info.aspect_ratios.is_empty() && !info.aspect_ratios.iter().any(|r| r == text) {
                return Err(ParamError {
                    param: "aspect_ratio",
                    message: format!(
                        "{} accepts aspect ratios {}",
                        info.id,
                        info.aspect_ratios.join(", ")
                    ),
                });
            }
            parse_ratio(text).ok_or_else(|| ParamError {
                param: "aspect_ratio",
                message: format!("aspect_ratio {text:?} must look like 16:9"),
            })?
        }
        None => f64::from(info.default_size.width) / f64::from(info.default_size.height),
    };
    let tier = match req.resolution {
        Some(text) => {
            if !info
                .resolutions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(text))
            {
                let accepted = if info.resolutions.is_empty() {
                    "none".to_string()
                } else {
                    info.resolutions.join(", ")
                };
                return Err(ParamError {
                    param: "resolution",
                    message: format!("{} accepts resolutions {accepted}", info.id),
                });
            }
            parse_tier(text).ok_or_else(|| ParamError {
                param: "resolution",
                message: format!("resolution {text:?} is not a known tier"),
            })?
        }
        None => {
            Tier::Area(f64::from(info.default_size.width) * f64::from(info.default_size.height))
        }
    };
    Ok(match tier {
        Tier::Area(area) => Size::new_rounded((area * ratio).sqrt(), (area / ratio).sqrt(), 64.0),
        Tier::ShortEdge(edge) if ratio >= 1.0 => Size::new_rounded(edge * ratio, edge, 2.0),
        Tier::ShortEdge(edge) => Size::new_rounded(edge, edge / ratio, 2.0),
    })
}

fn closest_listed(info: &ModelInfo, req: &SizeRequest<'_>) -> Result<Size, ParamError> {
    if let Some(res) = req.resolution
        && !info.resolutions.iter().any(|r| r.eq_ignore_ascii_case(res))
    {
        return Err(ParamError {
            param: "resolution",
            message: format!(
                "{} has fixed sizes; give size or aspect_ratio instead of resolution",
                info.id
            ),
        });
    }
    let wanted = match req.aspect_ratio {
        Some(text) => parse_ratio(text).ok_or_else(|| ParamError {
            param: "aspect_ratio",
            message: format!("aspect_ratio {text:?} must look like 16:9"),
        })?,
        None => f64::from(info.default_size.width) / f64::from(info.default_size.height),
    };
    let distance = |s: &Size| {
        ((f64::from(s.width) / f64::from(s.height)) / wanted)
            .ln()
            .abs()
    };
    Ok(*info
        .sizes
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("the list is not empty"))
}

enum Tier {
    /// Total pixels.
    Area(f64),
    /// The shorter side in pixels.
    ShortEdge(f64),
}

fn parse_tier(text: &str) -> Option<Tier> {
    let t = text.to_ascii_lowercase();
    if let Some(k) = t.strip_suffix('k') {
        let side = k.parse::<f64>().ok()? * 1024.0;
        return Some(Tier::Area(side * side));
    }
    if let Some(p) = t.strip_suffix('p') {
        return Some(Tier::ShortEdge(p.parse().ok()?));
    }
    let side: f64 = t.parse().ok()?;
    Some(Tier::Area(side * side))
}

trait Rounded {
    fn new_rounded(w: f64, h: f64, step: f64) -> Self;
}

impl Rounded for Size {
    fn new_rounded(w: f64, h: f64, step: f64) -> Self {
        let r = |v: f64| ((v / step).round().max(1.0) * step) as u32;
        Size {
            width: r(w),
            height: r(h),
        }
    }
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Option<Size> {
    let (w, h) = text.split_once(['x', 'X', '*'])?;
    let (width, height) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (width > 0 && height > 0).then_some(Size { width, height })
}

fn parse_ratio(text: &str) -> Option<f64> {
    let (w, h) = text.split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0.0 && h > 0.0 && (w / h) <= 10.0 && (h / w) <= 10.0).then_some(w / h)
}

/// The wire name of a media kind.
pub fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::provider_api::CallMode;

    fn model() -> ModelInfo {
        ModelInfo {
            id: "t/m".into(),
            name: "m".into(),
            description: String::new(),
            kind: MediaKind::Image,
            mode: CallMode::Synchronous,
            max_n: 4,
            sizes: vec![],
            min_size: Size {
                width: 64,
                height: 64,
            },
            max_size: Size {
                width: 2048,
                height: 2048,
            },
            aspect_ratios: vec!["1:1".into(), "16:9".into()],
            resolutions: vec!["512".into(), "1K".into(), "2K".into()],
            default_size: Size {
                width: 1024,
                height: 1024,
            },
            durations_ms: vec![],
            supports_seed: true,
            supports_references: false,
        }
    }

    fn resolve(
        size: Option<&str>,
        ar: Option<&str>,
        res: Option<&str>,
    ) -> Result<(u32, u32), &'static str> {
        resolve_size(
            &model(),
            &SizeRequest {
                size,
                aspect_ratio: ar,
                resolution: res,
            },
        )
        .map(|s| (s.width, s.height))
        .map_err(|e| e.param)
    }

    #[test]
    fn sizes_resolve_like_the_docs_say() {
        assert_eq!(resolve(None, None, None), Ok((1024, 1024)));
        assert_eq!(resolve(Some("auto"), None, None), Ok((1024, 1024)));
        assert_eq!(resolve(Some("512x256"), None, None), Ok((512, 256)));
        assert_eq!(resolve(None, Some("16:9"), Some("1K")), Ok((1344, 768)));
        assert_eq!(resolve(None, Some("1:1"), Some("512")), Ok((512, 512)));
        assert_eq!(resolve(None, Some("16:9"), None), Ok((1344, 768)));
    }

    #[test]
    fn fixed_size_models_get_the_closest_listed_size() {
        let mut m = model();
        m.sizes = vec![
            Size {
                width: 1024,
                height: 1024,
            },
            Size {
                width: 1536,
                height: 1024,
            },
            Size {
                width: 1024,
                height: 1536,
            },
        ];
        m.aspect_ratios = vec![];
        let r = |ar: &str| {
            resolve_size(
                &m,
                &SizeRequest {
                    size: None,
                    aspect_ratio: Some(ar),
                    resolution: None,
                },
            )
            .map(|s| (s.width, s.height))
        };
        assert_eq!(r("16:9"), Ok((1536, 1024)));
        assert_eq!(r("9:16"), Ok((1024, 1536)));
        assert_eq!(r("1:1"), Ok((1024, 1024)));
    }

    #[test]
    fn bad_sizes_name_their_parameter() {
        assert_eq!(resolve(Some("big"), None, None), Err("size"));
        assert_eq!(resolve(Some("4096x4096"), None, None), Err("size"));
        assert_eq!(resolve(Some("10x10"), None, None), Err("size"));
        assert_eq!(resolve(None, Some("5:4"), None), Err("aspect_ratio"));
        assert_eq!(resolve(None, None, Some("8K")), Err("resolution"));
    }
}
