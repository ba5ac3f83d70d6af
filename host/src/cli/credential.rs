//! `imini credential …`: list, set (or rotate) and remove the upstream
//! credentials plugins name, on a running gateway with the admin key. A
//! value is read from standard input or an environment variable, never
//! from the command line (where shell history and `ps` would keep it).

use std::io::Read;

use clap::Subcommand;
use serde_json::json;

use super::admin::{Call, Target, execute};

/// Credential operations.
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// List credentials: set or not, from where, used by which plugins
    /// (never a value).
    List,
    /// Set or rotate a credential; the plugins that need it serve from the
    /// next request. The value is read from standard input (one line)
    /// unless --from-env names a variable holding it.
    Set {
        /// The credential's name, as plugin manifests name it.
        name: String,
        /// Read the value from this environment variable instead.
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
    },
    /// Remove a credential set through the API; the models of plugins that
    /// need it stop being served until it is set again.
    Remove {
        /// The credential's name.
        name: String,
    },
}

impl CredentialCommand {
    /// Runs the command against the gateway.
    pub fn run(self, target: &Target) -> anyhow::Result<()> {
        execute(target, self.call(&mut std::io::stdin().lock())?)
    }

    /// The admin API call, reading a value to set from `input`.
    pub fn call(self, input: &mut dyn Read) -> anyhow::Result<Call> {
        Ok(match self {
            Self::List => ("GET", "/admin/v1/credentials".into(), None),
            Self::Set { name, from_env } => {
                let value = match from_env {
                    Some(var) => std::env::var(&var)
                        .map_err(|_| anyhow::anyhow!("environment variable {var} is not set"))?,
                    None => {
                        let mut text = String::new();
                        input.read_to_string(&mut text)?;
                        // One line, as `echo` or a password manager gives it.
                        text.trim_end_matches(['\n', '\r']).to_string()
                    }
                };
                if value.is_empty() {
                    anyhow::bail!("no value given: pipe it on standard input or use --from-env");
                }
                (
                    "PUT",
                    format!("/admin/v1/credentials/{name}"),
                    Some(json!({ "value": value })),
                )
            }
            Self::Remove { name } => ("DELETE", format!("/admin/v1/credentials/{name}"), None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_from_standard_input_without_its_newline() {
        let set = CredentialCommand::Set {
            name: "openai".into(),
            from_env: None,
        };
        let (method, path, body) = set.call(&mut &b"sk-123\n"[..]).unwrap();
        assert_eq!(
            (method, path.as_str()),
            ("PUT", "/admin/v1/credentials/openai")
        );
        assert_eq!(body.unwrap()["value"], "sk-123");
        let empty = CredentialCommand::Set {
            name: "openai".into(),
            from_env: None,
        };
        let e = empty.call(&mut &b"\n"[..]).unwrap_err().to_string();
        assert!(e.contains("no value"), "{e}");
    }
}
