//! `imini account …`, `imini key …`, `imini people …`, `imini price …`,
//! `imini dispute …`: the operator's commands, driving a running gateway's
//! admin API (the same operations, the same checks, the same audit trail).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the gateway is and the admin key.
#[derive(Debug, Args)]
pub struct Target {
    /// The gateway's base URL.
    #[arg(
        long,
        env = "IMINI_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// The admin key.
    #[arg(long, env = "IMINI_ADMIN_KEY", hide_env_values = true, global = true)]
    pub admin_key: Option<String>,
}

/// Account operations.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        /// Its contact address.
        #[arg(long)]
        email: String,
    },
    /// Show an account with its credits.
    Get {
        /// `acct_…`.
        id: String,
    },
    /// Add bought credits.
    Topup {
        /// `acct_…`.
        id: String,
        /// Credits to add.
        #[arg(long)]
        credits: i64,
        /// Why (an invoice number...).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Correct the balance (negative to deduct).
    Adjust {
        /// `acct_…`.
        id: String,
        /// Credits, either sign.
        #[arg(long, allow_hyphen_values = true)]
        credits: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Give back charged credits.
    Refund {
        /// `acct_…`.
        id: String,
        /// Credits to give back.
        #[arg(long)]
        credits: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Refuse new generations until unfrozen.
    Freeze {
        /// `acct_…`.
        id: String,
        /// Why (shown to the account in its enforcement notice).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a freeze.
    Unfreeze {
        /// `acct_…`.
        id: String,
    },
    /// Refuse the account's keys until unsuspended.
    Suspend {
        /// `acct_…`.
        id: String,
        /// Why (shown to the account in its enforcement notice).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a suspension.
    Unsuspend {
        /// `acct_…`.
        id: String,
    },
    /// Close for good, forfeiting unused credits.
    Close {
        /// `acct_…`.
        id: String,
    },
    /// Set the account's own limits (omit one for the default).
    Limits {
        /// `acct_…`.
        id: String,
        /// Requests per minute per key.
        #[arg(long)]
        requests_per_minute: Option<u32>,
        /// Unfinished tasks at once.
        #[arg(long)]
        max_concurrent_tasks: Option<u32>,
    },
    /// Let the account spend below zero, down to minus CREDITS (0 ends the
    /// credit; what it owes stays owed).
    CreditLine {
        /// `acct_…`.
        id: String,
        /// The credit line, in credits.
        #[arg(long)]
        credits: i64,
    },
    /// The account's ledger.
    Ledger {
        /// `acct_…`.
        id: String,
    },
}

/// Key operations.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key for an account (the secret is printed once).
    Create {
        /// `acct_…`.
        account_id: String,
        /// A name for people.
        #[arg(long, default_value = "default")]
        name: String,
        /// Its own request rate.
        #[arg(long)]
        requests_per_minute: Option<u32>,
        /// The most credits it may hold or spend.
        #[arg(long)]
        credit_limit: Option<i64>,
    },
    /// Refuse the key until unsuspended.
    Suspend {
        /// `key_…`.
        id: String,
        /// Why (shown to the account in its enforcement notice).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a suspension.
    Unsuspend {
        /// `key_…`.
        id: String,
    },
    /// Refuse the key for good.
    Revoke {
        /// `key_…`.
        id: String,
    },
}

/// What a person may do in the console.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InviteRole {
    /// Their own account's keys, credits and tasks.
    User,
    /// Runs the gateway: every account.
    Operator,
    /// Reads every account and decides appeals and disputes; changes no
    /// credits.
    Support,
}

impl InviteRole {
    /// The role as the admin API names it.
    fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
            Self::Support => "support",
        }
    }
}

/// People operations.
#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Invite EMAIL to the console: prints the link to accept (also
    /// emailed), which works once, within 7 days.
    Invite {
        /// Their email address.
        email: String,
        /// What they may do.
        #[arg(long, value_enum, default_value = "user")]
        role: InviteRole,
    },
    /// Show a login (`user_…`): its email, account, role, and whether it
    /// is disabled or has a second factor.
    Show {
        /// The login's id.
        login_id: String,
    },
    /// Give a login another role (from its next page on).
    Role {
        /// The login's id.
        login_id: String,
        /// The new role.
        #[arg(value_enum)]
        role: InviteRole,
    },
    /// Disable a login: its sessions end and it cannot log in.
    Disable {
        /// The login's id.
        login_id: String,
    },
    /// Enable a disabled login.
    Enable {
        /// The login's id.
        login_id: String,
    },
    /// Remove a login's second factor (the person lost their app; they
    /// are emailed).
    RemoveSecondFactor {
        /// The login's id.
        login_id: String,
    },
}

/// Price operations.
#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Schedule a model's price (now, or at --effective-at).
    Set {
        /// The model id.
        model: String,
        /// Credits per image.
        #[arg(long)]
        per_image: Option<i64>,
        /// Credits per second of video.
        #[arg(long)]
        per_second: Option<i64>,
        /// When it takes effect (RFC 3339).
        #[arg(long)]
        effective_at: Option<String>,
    },
}

/// Dispute operations.
#[derive(Debug, Subcommand)]
pub enum DisputeCommand {
    /// List disputes.
    List {
        /// Only open, resolved or rejected ones.
        #[arg(long)]
        status: Option<String>,
    },
    /// Resolve, returning credits as an adjustment.
    Resolve {
        /// `dsp_…`.
        id: String,
        /// Credits to return.
        #[arg(long, default_value_t = 0)]
        credits: i64,
        /// A note for the account.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject.
    Reject {
        /// `dsp_…`.
        id: String,
        /// A note for the account.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// An admin API call: method, path, body.
pub type Call = (&'static str, String, Option<Value>);

impl AccountCommand {
    /// The admin API call for this command.
    pub fn call(self) -> Call {
        let post = |id: &str, action: &str, body: Value| {
            (
                "POST",
                format!("/admin/v1/accounts/{id}/{action}"),
                Some(body),
            )
        };
        match self {
            Self::Create { email } => (
                "POST",
                "/admin/v1/accounts".into(),
                Some(json!({ "email": email })),
            ),
            Self::Get { id } => ("GET", format!("/admin/v1/accounts/{id}"), None),
            Self::Topup {
                id,
                credits,
                reason,
            } => post(
                &id,
                "topup",
                json!({ "credits": credits, "reason": reason }),
            ),
            Self::Adjust {
                id,
                credits,
                reason,
            } => post(
                &id,
                "adjust",
                json!({ "credits": credits, "reason": reason }),
            ),
            Self::Refund {
                id,
                credits,
                reason,
            } => post(
                &id,
                "refund",
                json!({ "credits": credits, "reason": reason }),
            ),
            Self::Freeze { id, reason } => post(&id, "freeze", json!({ "reason": reason })),
            Self::Unfreeze { id } => post(&id, "unfreeze", json!({})),
            Self::Suspend { id, reason } => post(&id, "suspend", json!({ "reason": reason })),
            Self::Unsuspend { id } => post(&id, "unsuspend", json!({})),
            Self::Close { id } => post(&id, "close", json!({})),
            Self::Limits {
                id,
                requests_per_minute,
                max_concurrent_tasks,
            } => post(
                &id,
                "limits",
                json!({ "requests_per_minute": requests_per_minute, "max_concurrent_tasks": max_concurrent_tasks }),
            ),
            Self::CreditLine { id, credits } => {
                post(&id, "credit_line", json!({ "credit_line": credits }))
            }
            Self::Ledger { id } => (
                "GET",
                format!("/admin/v1/accounts/{id}/ledger?limit=1000"),
                None,
            ),
        }
    }
}

impl KeyCommand {
    /// The admin API call for this command.
    pub fn call(self) -> Call {
        match self {
            Self::Create {
                account_id,
                name,
                requests_per_minute,
                credit_limit,
            } => (
                "POST",
                format!("/admin/v1/accounts/{account_id}/keys"),
                Some(
                    json!({ "name": name, "requests_per_minute": requests_per_minute, "credit_limit": credit_limit }),
                ),
            ),
            Self::Suspend { id, reason } => (
                "POST",
                format!("/admin/v1/keys/{id}/suspend"),
                Some(json!({ "reason": reason })),
            ),
            Self::Unsuspend { id } => (
                "POST",
                format!("/admin/v1/keys/{id}/unsuspend"),
                Some(json!({})),
            ),
            Self::Revoke { id } => (
                "POST",
                format!("/admin/v1/keys/{id}/revoke"),
                Some(json!({})),
            ),
        }
    }
}

impl PeopleCommand {
    /// The admin API call for this command.
    pub fn call(self) -> Call {
        let act = |id: &str, action: &str, body| {
            let path = format!("/admin/v1/logins/{id}/{action}");
            ("POST", path, Some(body))
        };
        match self {
            Self::Invite { email, role } => (
                "POST",
                "/admin/v1/invitations".into(),
                Some(json!({ "email": email, "role": role.name() })),
            ),
            Self::Show { login_id } => ("GET", format!("/admin/v1/logins/{login_id}"), None),
            Self::Role { login_id, role } => act(&login_id, "role", json!({ "role": role.name() })),
            Self::Disable { login_id } => act(&login_id, "disable", json!({})),
            Self::Enable { login_id } => act(&login_id, "enable", json!({})),
            Self::RemoveSecondFactor { login_id } => {
                act(&login_id, "remove_second_factor", json!({}))
            }
        }
    }
}

impl PriceCommand {
    /// The admin API call for this command.
    pub fn call(self) -> Call {
        match self {
            Self::Set {
                model,
                per_image,
                per_second,
                effective_at,
            } => (
                "POST",
                "/admin/v1/prices".into(),
                Some(
                    json!({ "model": model, "per_image": per_image, "per_second": per_second, "effective_at": effective_at }),
                ),
            ),
        }
    }
}

impl DisputeCommand {
    /// The admin API call for this command.
    pub fn call(self) -> Call {
        match self {
            Self::List { status } => (
                "GET",
                format!(
                    "/admin/v1/disputes{}",
                    status.map(|s| format!("?status={s}")).unwrap_or_default()
                ),
                None,
            ),
            Self::Resolve { id, credits, note } => (
                "POST",
                format!("/admin/v1/disputes/{id}/resolve"),
                Some(json!({ "credits": credits, "note": note })),
            ),
            Self::Reject { id, note } => (
                "POST",
                format!("/admin/v1/disputes/{id}/reject"),
                Some(json!({ "note": note })),
            ),
        }
    }
}

/// Sends the call and prints the answer as pretty JSON; an error answer
/// becomes an error with the API's message.
pub fn execute(target: &Target, (method, path, body): Call) -> anyhow::Result<()> {
    send(target, method, &path, |request| match body {
        // Leave out unset options, so the gateway applies its defaults.
        Some(Value::Object(map)) => request.json(&Value::Object(
            map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        )),
        Some(other) => request.json(&other),
        None => request,
    })
}

/// Sends a request (with its body set by `body`) and prints the answer as
/// pretty JSON; an error answer becomes an error with the API's message.
pub fn send(
    target: &Target,
    method: &str,
    path: &str,
    body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> anyhow::Result<()> {
    let key = target
        .admin_key
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("give the admin key with --admin-key or IMINI_ADMIN_KEY"))?;
    let url = format!("{}{path}", target.url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, text) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let request = body(client.request(method.parse()?, &url).bearer_auth(key));
        let response = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("calling {url}: {e}"))?;
        anyhow::Ok((response.status(), response.text().await?))
    })?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let message = value["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        anyhow::bail!("{status}: {message}");
    }
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
