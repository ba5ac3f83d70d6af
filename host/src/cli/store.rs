//! `imini store`: work on the database itself (not through a gateway).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;
use crate::media::{BlobStore, DirBlobs};
use crate::store::migrate::{Blobs, migrate};
use crate::store::pg::PgStore;

/// The operations.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a stopped gateway's sled data directory into an empty
    /// PostgreSQL database (keeping every id), and its media into the blob
    /// store the replicas use; verified, all or nothing.
    Migrate(MigrateArgs),
}

/// `imini store migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The sled data directory (of a stopped gateway).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into (empty; its schema is made).
    #[arg(long, env = "IMINI_STORE_URL", hide_env_values = true)]
    pub to: String,
    /// The replicas' configuration file: its `[media]` says where blobs go
    /// (by default, the media directory of --data-dir).
    #[arg(long, env = "IMINI_CONFIG")]
    pub config: Option<PathBuf>,
    /// The replicas' data directory, for a `[media]` directory inside it
    /// [default: the config file's data_dir, else the --from directory,
    /// whose media then stay where they are].
    #[arg(long, env = "IMINI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the sled gateway kept its blobs [default: <from>/media].
    #[arg(long)]
    pub from_media: Option<PathBuf>,
}

impl StoreCommand {
    /// Runs it.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            StoreCommand::Migrate(args) => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                runtime.block_on(args.run())
            }
        }
    }
}

impl MigrateArgs {
    async fn run(self) -> anyhow::Result<()> {
        let config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let data_dir = self
            .data_dir
            .clone()
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| self.from.clone());
        let from_media = self
            .from_media
            .clone()
            .unwrap_or_else(|| self.from.join("media"));
        let to = config
            .media
            .open(&data_dir)
            .await
            .map_err(|e| anyhow::anyhow!("the blob store to copy into: {e}"))?;
        let same_dir = config.media.backend() == crate::media::backend::Backend::Dir
            && same_path(&config.media.dir(&data_dir), &from_media);
        let from: Arc<dyn BlobStore> = Arc::new(
            DirBlobs::open(from_media.clone())
                .with_context(|| format!("the media directory {}", from_media.display()))?,
        );
        let blobs = Blobs {
            from,
            to: (!same_dir).then_some(to.clone()),
        };
        let pg = PgStore::open(&self.to, 2).await?;
        eprintln!(
            "copying {} into PostgreSQL (schema version {}), blobs to {}",
            self.from.display(),
            pg.schema_version().await?,
            to.describe()
        );
        let report = migrate(&self.from, &pg, &blobs).await?;
        println!("copied and verified:\n{report}");
        println!(
            "done: start the replicas with IMINI_STORE_URL (or [store] url) set to this database"
        );
        Ok(())
    }
}

/// Whether two paths name the same directory (both may not exist yet).
fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
