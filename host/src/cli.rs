//! The `imini` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod admin;
mod credential;
mod moderation;
mod plugin;
mod store;
mod user;

use crate::config::Config;
use crate::server::{ServeOptions, serve};

/// imini: one HTTP API in front of many image and video generation models.
#[derive(Debug, Parser)]
#[command(name = "imini", version, about)]
pub struct Cli {
    /// Log format.
    #[arg(long, env = "IMINI_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET
    /// /openapi.json` serves), e.g. to generate a client.
    Openapi,
    /// Generate images with your API key: follows the task and writes the
    /// files (`-o out.png`).
    Generate {
        /// Gateway and key.
        #[command(flatten)]
        client: user::Client,
        /// The request.
        #[command(flatten)]
        args: user::GenerateArgs,
    },
    /// Generate a video with your API key: follows the task and writes the
    /// file.
    Video {
        /// Gateway and key.
        #[command(flatten)]
        client: user::Client,
        /// The request.
        #[command(flatten)]
        args: user::VideoArgs,
    },
    /// List, show and cancel your tasks (with your API key).
    Tasks {
        /// Gateway and key.
        #[command(flatten)]
        client: user::Client,
        /// The operation.
        #[command(subcommand)]
        op: user::TasksCommand,
    },
    /// Manage accounts and credits (on a running gateway, with the admin key).
    Account {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: admin::AccountCommand,
    },
    /// Manage API keys (on a running gateway, with the admin key).
    Key {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: admin::KeyCommand,
    },
    /// People's logins to the console (on a running gateway, with the
    /// admin key): invite, show, change the role, disable or enable, remove
    /// a second factor.
    People {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: admin::PeopleCommand,
    },
    /// Schedule prices (on a running gateway, with the admin key).
    Price {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: admin::PriceCommand,
    },
    /// Review bill disputes (on a running gateway, with the admin key).
    Dispute {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: admin::DisputeCommand,
    },
    /// Roll plugin versions out: install, list, activate, rollback, retire,
    /// config (on a running gateway, with the admin key); start a new
    /// plugin crate (new), check a built one (check) and run one call of it
    /// (run) on this machine.
    Plugin {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: plugin::PluginCommand,
    },
    /// Set, rotate, remove and list the upstream credentials plugins name
    /// (on a running gateway, with the admin key; values are read from
    /// standard input and never shown).
    Credential {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: credential::CredentialCommand,
    },
    /// Review moderation: flagged requests, the audit log, notices, appeals
    /// and policy bindings (on a running gateway, with the admin key).
    Moderation {
        /// Gateway and key.
        #[command(flatten)]
        target: admin::Target,
        /// The operation.
        #[command(subcommand)]
        op: moderation::ModerationCommand,
    },
    /// Work on the database itself: move a sled data directory to
    /// PostgreSQL (`store migrate`).
    Store {
        /// The operation.
        #[command(subcommand)]
        op: store::StoreCommand,
    },
}

/// `imini serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080, or the config file's].
    #[arg(long, env = "IMINI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data directory: database, media, plugin cache [default: ./data].
    #[arg(long, env = "IMINI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (TOML; unknown keys are rejected).
    #[arg(long, env = "IMINI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where compiled plugins are kept, to start without compiling them
    /// again [default: the data directory's plugin-cache]. Gateways on one
    /// machine may share one (artifacts are keyed by the plugin's bytes and
    /// the engine, and written atomically).
    #[arg(long, env = "IMINI_PLUGIN_CACHE")]
    pub plugin_cache: Option<PathBuf>,
    /// The admin key; generated and printed once at first start when unset.
    #[arg(long, env = "IMINI_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
}

/// Runs the command line.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `serve` sets up its logging once its configuration is read (it may
    // export traces); every other command logs to stderr.
    if !matches!(cli.command, Command::Serve(_)) {
        crate::telemetry::init(&cli.log_format, None)?;
    }
    match cli.command {
        Command::Openapi => {
            print!("{}", crate::api::doc::openapi_json());
            Ok(())
        }
        Command::Generate { client, args } => user::generate(&client, args),
        Command::Video { client, args } => user::video(&client, args),
        Command::Tasks { client, op } => user::tasks(&client, op),
        Command::Account { target, op } => admin::execute(&target, op.call()),
        Command::Key { target, op } => admin::execute(&target, op.call()),
        Command::People { target, op } => admin::execute(&target, op.call()),
        Command::Price { target, op } => admin::execute(&target, op.call()),
        Command::Dispute { target, op } => admin::execute(&target, op.call()),
        Command::Plugin { target, op } => op.run(&target),
        Command::Credential { target, op } => op.run(&target),
        Command::Store { op } => op.run(),
        Command::Moderation { target, op } => match op.call()? {
            Some(call) => admin::execute(&target, call),
            None => Ok(()),
        },
        Command::Serve(args) => {
            let config = match &args.config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            let listen = args
                .listen
                .or(config.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid"));
            let data_dir = args
                .data_dir
                .clone()
                .or_else(|| config.data_dir.clone())
                .unwrap_or_else(|| PathBuf::from("data"));
            let telemetry =
                crate::telemetry::init(&cli.log_format, config.telemetry.otlp().as_ref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let plugin_cache = args
                .plugin_cache
                .clone()
                .unwrap_or_else(|| data_dir.join("plugin-cache"));
            let served = runtime.block_on(serve(ServeOptions {
                listen,
                plugin_cache,
                data_dir,
                admin_key: args.admin_key,
                config,
            }));
            drop(runtime);
            telemetry.shutdown();
            served
        }
    }
}
