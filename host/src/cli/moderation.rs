//! `imini moderation …`: flagged requests, the audit log, enforcement
//! notices, appeal decisions and policy bindings on a running gateway (with
//! the admin key), and `image-hash` and `eval`, which work offline.

mod eval;

use clap::Subcommand;
use serde_json::json;

use super::admin::Call;

/// Moderation operations.
#[derive(Debug, Subcommand)]
pub enum ModerationCommand {
    /// List refused, flagged and failed checks, newest first.
    Flags {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
        /// Only `deny`, `flag` or `error`.
        #[arg(long)]
        action: Option<String>,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        /// Only `request` or `output`.
        #[arg(long)]
        stage: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one flagged request with its interaction.
    Flag {
        /// `flag_…`.
        id: String,
    },
    /// Query the audit log, newest first.
    Audit {
        /// Only entries about this account.
        #[arg(long)]
        account: Option<String>,
        /// Only entries about this key.
        #[arg(long)]
        key: Option<String>,
        /// Only this actor (`admin`, `system`, `account:acct_…`).
        #[arg(long)]
        actor: Option<String>,
        /// Only actions starting with this.
        #[arg(long)]
        action: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// List enforcement notices.
    Notices {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// List appeals.
    Appeals {
        /// Only `pending`, `reinstated` or `upheld` ones.
        #[arg(long)]
        status: Option<String>,
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// Grant an appeal: undo the action and void the strikes behind it.
    Reinstate {
        /// `apl_…`.
        id: String,
        /// A note for the record.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Refuse an appeal: the action stands.
    Uphold {
        /// `apl_…`.
        id: String,
        /// A note for the record.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Show which policies check each model.
    Policies,
    /// Score a content policy (the bundled policy-terms unless
    /// --component) against a labelled set of prompts: recall by category,
    /// false positives, latency. Works offline.
    Eval(eval::EvalArgs),
    /// Print an image's difference hash (for a policy's image blocklist).
    /// Works offline.
    ImageHash {
        /// A PNG, JPEG or GIF file.
        file: std::path::PathBuf,
    },
}

/// A query string from optional parameters.
fn query(params: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

impl ModerationCommand {
    /// The admin API call for this command, or `None` for the offline ones
    /// (which this runs itself).
    pub fn call(self) -> anyhow::Result<Option<Call>> {
        Ok(Some(match self {
            Self::Flags {
                account,
                action,
                category,
                stage,
                limit,
            } => (
                "GET",
                format!(
                    "/admin/v1/flags{}",
                    query(&[
                        ("account_id", account),
                        ("action", action),
                        ("category", category),
                        ("stage", stage),
                        ("limit", Some(limit.to_string())),
                    ])
                ),
                None,
            ),
            Self::Flag { id } => ("GET", format!("/admin/v1/flags/{id}"), None),
            Self::Audit {
                account,
                key,
                actor,
                action,
                limit,
            } => (
                "GET",
                format!(
                    "/admin/v1/audit{}",
                    query(&[
                        ("account_id", account),
                        ("key_id", key),
                        ("actor", actor),
                        ("action", action),
                        ("limit", Some(limit.to_string())),
                    ])
                ),
                None,
            ),
            Self::Notices { account } => (
                "GET",
                format!("/admin/v1/notices{}", query(&[("account_id", account)])),
                None,
            ),
            Self::Appeals { status, account } => (
                "GET",
                format!(
                    "/admin/v1/appeals{}",
                    query(&[("status", status), ("account_id", account)])
                ),
                None,
            ),
            Self::Reinstate { id, note } => (
                "POST",
                format!("/admin/v1/appeals/{id}/reinstate"),
                Some(json!({ "note": note })),
            ),
            Self::Uphold { id, note } => (
                "POST",
                format!("/admin/v1/appeals/{id}/uphold"),
                Some(json!({ "note": note })),
            ),
            Self::Policies => ("GET", "/admin/v1/policies".into(), None),
            Self::Eval(args) => {
                eval::run(&args)?;
                return Ok(None);
            }
            Self::ImageHash { file } => {
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
                let hash = imini_sdk::imaging::dhash(&bytes).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} is not a PNG, JPEG or GIF image this tool can decode",
                        file.display()
                    )
                })?;
                println!("{}", imini_sdk::imaging::hash_hex(hash));
                return Ok(None);
            }
        }))
    }
}
