//! Moving up from the embedded store to PostgreSQL: `imini store migrate
//! --from <data dir> --to <postgres url>` copies every record of a stopped
//! gateway's data directory into an empty PostgreSQL database, keeping
//! every id, and its media blobs into the blob store the replicas will use.
//!
//! The copy is one transaction: it is verified inside it (the number of
//! records of each kind, and every account's ledger: the sum of its
//! entries, its totals, and the embedded ledger's own totals, all equal) and
//! committed only then, so a copy that fails or is cut off leaves the
//! database as empty as it was, and can simply be run again. Blobs are
//! copied before the commit (a blob is named by its content, so copying one
//! twice is harmless). Tasks still open in the data directory are copied
//! unleased: the first replica to start takes them over, as it would after
//! a restart on the embedded store. A data directory of an earlier version
//! (on sled) is first copied to the embedded store, as a start would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;

use super::accounts::EmbeddedAccounts;
use super::audit::EmbeddedAudit;
use super::files::EmbeddedFiles;
use super::idempotency::EmbeddedIdempotency;
use super::moderation::EmbeddedModeration;
use super::people::EmbeddedPeople;
use super::pg::PgStore;
use super::plugins::{EmbeddedPlugins, PluginStore};
use super::prices::{EmbeddedPrices, PriceStore};
use super::secrets::EmbeddedSecrets;
use super::tasks::{EmbeddedTasks, Task};
use super::webhooks::EmbeddedWebhooks;
use super::{StoreError, ledger::LedgerStore};
use crate::media::BlobStore;
use crate::store::ledger::Entry;

/// The tables a gateway writes at its first start, or that any use
/// fills: a database with a row in any of them is not empty.
const TABLES: &[&str] = &[
    "secrets",
    "accounts",
    "audit",
    "plugins",
    "changelog",
    "files",
    "tasks",
    "ledger_entries",
    "moderation_flags",
    "webhook_deliveries",
    "people_logins",
];

/// What a copy did.
#[derive(Debug, Default)]
pub struct Report {
    /// Records copied, by kind (table), in the order copied; each count
    /// was checked against the database.
    pub copied: Vec<(&'static str, u64)>,
    /// Accounts whose ledgers were verified.
    pub accounts: u64,
    /// Their credits in all (the sum of their balances).
    pub credits: i64,
    /// Blobs copied to the blob store.
    pub blobs_copied: u64,
    /// Blobs the blob store already had.
    pub blobs_present: u64,
    /// Blobs of file records that the data directory no longer has (each
    /// named in the log).
    pub blobs_missing: u64,
    /// Plugin versions whose files were not in the data directory and that
    /// are not active (each named in the log).
    pub components_missing: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, n) in &self.copied {
            writeln!(f, "  {kind:<22} {n:>10}")?;
        }
        writeln!(
            f,
            "ledgers verified: {} accounts, {} credits in all",
            self.accounts, self.credits
        )?;
        write!(
            f,
            "blobs: {} copied, {} already there, {} missing from the data directory",
            self.blobs_copied, self.blobs_present, self.blobs_missing
        )?;
        if self.components_missing > 0 {
            write!(
                f,
                "\nplugin versions without their files (not active, not copied): {}",
                self.components_missing
            )?;
        }
        Ok(())
    }
}

/// Where the blobs come from and go to.
pub struct Blobs {
    /// The data directory's blobs.
    pub from: Arc<dyn BlobStore>,
    /// The blob store the replicas use; `None` if it is the same place
    /// (nothing to copy).
    pub to: Option<Arc<dyn BlobStore>>,
}

/// Counts one kind of record as copied and checks the database holds as
/// many.
struct Counter<'a> {
    tx: &'a tokio_postgres::Transaction<'a>,
    report: &'a mut Report,
}

impl Counter<'_> {
    /// Stores each of `records` with `store`, then checks that `table`
    /// holds as many.
    async fn copy<T>(
        &mut self,
        table: &'static str,
        records: impl IntoIterator<Item = Result<T, StoreError>>,
        mut store: impl AsyncFnMut(T) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut n = 0;
        for record in records {
            store(record?)
                .await
                .with_context(|| format!("copying {table}"))?;
            n += 1;
        }
        self.check(table, n).await
    }

    async fn check(&mut self, table: &'static str, copied: u64) -> anyhow::Result<()> {
        let stored: i64 = self
            .tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        if u64::try_from(stored).ok() != Some(copied) {
            bail!(
                "{table}: {copied} records read from the data directory, but the database holds {stored}"
            );
        }
        self.report.copied.push((table, copied));
        Ok(())
    }
}

/// The embedded stores of a data directory, opened as the gateway opens them
/// (which repairs what a crash cut off, as a start would).
struct Source {
    secrets: EmbeddedSecrets,
    accounts: EmbeddedAccounts,
    audit: EmbeddedAudit,
    plugins: EmbeddedPlugins,
    prices: EmbeddedPrices,
    idempotency: EmbeddedIdempotency,
    files: EmbeddedFiles,
    webhooks: EmbeddedWebhooks,
    moderation: EmbeddedModeration,
    people: EmbeddedPeople,
    tasks: EmbeddedTasks,
}

impl Source {
    async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let (store_dir, sled_dir) = (
            data_dir.join(super::from_sled::STORE_DIR),
            data_dir.join(super::from_sled::SLED_DIR),
        );
        if !store_dir.is_dir() && !sled_dir.is_dir() {
            bail!(
                "{} is not an imini data directory (it has neither a store nor a db directory)",
                data_dir.display()
            );
        }
        let cache = super::backend::DEFAULT_CACHE_MB << 20;
        let (store, _) = super::from_sled::open(data_dir, cache).map_err(|e| match e {
            StoreError::Setting(m) if m.contains("in use") => anyhow::anyhow!(
                "{} is in use: stop the gateway that serves it before copying it",
                data_dir.display()
            ),
            other => anyhow::Error::new(other).context(format!("opening {}", data_dir.display())),
        })?;
        Ok(Self {
            secrets: EmbeddedSecrets::new(&store)?,
            accounts: EmbeddedAccounts::new(&store)?,
            audit: EmbeddedAudit::open(&store)?,
            plugins: EmbeddedPlugins::open(&store)?,
            prices: EmbeddedPrices::open(&store)?,
            idempotency: EmbeddedIdempotency::new(&store)?,
            files: EmbeddedFiles::open(&store).await?,
            webhooks: EmbeddedWebhooks::open(&store).await?,
            moderation: EmbeddedModeration::open(&store)?,
            people: EmbeddedPeople::new(&store)?,
            tasks: EmbeddedTasks::open(&store).await?,
        })
    }
}

/// Copies the data directory `data_dir` (of a stopped gateway) into
/// the empty PostgreSQL database `pg`, and its blobs as `blobs` says.
pub async fn migrate(data_dir: &Path, pg: &PgStore, blobs: &Blobs) -> anyhow::Result<Report> {
    let source = Source::open(data_dir).await?;
    let mut client = pg.client().await?;
    let occupied = occupied(&client).await?;
    if !occupied.is_empty() {
        bail!(
            "the database already holds imini records ({}): copy into a new, empty database",
            occupied.join(", ")
        );
    }
    let tx = client.transaction().await?;
    // Only this copy may fill the database while it runs.
    tx.batch_execute("LOCK TABLE secrets, accounts, ledger_balances IN EXCLUSIVE MODE")
        .await?;
    let mut report = Report::default();
    let mut c = Counter {
        tx: &tx,
        report: &mut report,
    };
    let wanted = copy_records(&source, data_dir, &mut c).await?;
    copy_ledger(&source, &mut c).await?;
    copy_blobs(&wanted, blobs, c.report).await?;
    tx.commit().await.context("committing the copy")?;
    Ok(report)
}

/// The tables of [`TABLES`] that hold rows, with their counts.
async fn occupied(client: &tokio_postgres::Client) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    for table in TABLES {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        if n > 0 {
            found.push(format!("{table}: {n}"));
        }
    }
    Ok(found)
}

/// The blobs the file records name: by SHA-256, the size and one file
/// naming it (for messages).
type Wanted = BTreeMap<String, (u64, String)>;

/// Everything but the ledger and tasks, in an order that stores what a
/// record refers to before it; returns the blobs the file records name.
async fn copy_records(
    source: &Source,
    data_dir: &Path,
    c: &mut Counter<'_>,
) -> anyhow::Result<Wanted> {
    use super::{accounts, audit, files, idempotency, moderation, prices};
    use super::{secrets, webhooks};
    let tx = c.tx;

    c.copy("secrets", source.secrets.export(), async |(name, value)| {
        Ok(secrets::pg::import(tx, &name, &value).await?)
    })
    .await?;
    c.copy("accounts", source.accounts.export_accounts(), async |a| {
        Ok(accounts::pg::insert_account(tx, &a).await?)
    })
    .await?;
    c.copy("api_keys", source.accounts.export_keys(), async |k| {
        Ok(accounts::pg::insert_key(tx, &k).await?)
    })
    .await?;
    c.copy("audit", source.audit.export(), async |e| {
        Ok(audit::pg::insert(tx, &e).await?)
    })
    .await?;
    copy_plugins(source, data_dir, c).await?;
    c.copy("changelog", source.prices.export_changelog(), async |e| {
        Ok(prices::pg::import_entry(tx, &e).await?)
    })
    .await?;
    let changes = source.prices.price_changes().await?;
    c.copy(
        "price_changes",
        changes.into_iter().map(Ok),
        async |change| Ok(prices::pg::import_change(tx, &change).await?),
    )
    .await?;
    c.copy(
        "idempotency_keys",
        source.idempotency.export(),
        async |(scope, record)| Ok(idempotency::pg::import(tx, &scope, &record).await?),
    )
    .await?;
    let mut wanted = Wanted::new();
    let files = source.files.export().inspect(|record| {
        if let Ok(f) = record {
            wanted
                .entry(f.sha256.clone())
                .or_insert_with(|| (f.bytes, f.id.clone()));
        }
    });
    c.copy("files", files, async |f| {
        Ok(files::pg::insert(tx, &f).await?)
    })
    .await?;
    c.copy("webhook_deliveries", source.webhooks.export(), async |d| {
        Ok(webhooks::pg::import(tx, &d).await?)
    })
    .await?;
    let m = &source.moderation;
    c.copy("moderation_flags", m.export_flags(), async |f| {
        Ok(moderation::pg::insert_flag(tx, &f).await?)
    })
    .await?;
    c.copy("moderation_strikes", m.export_strikes(), async |s| {
        if !moderation::pg::insert_strike(tx, &s).await? {
            bail!(
                "two strikes of account {} for flag {}",
                s.account_id,
                s.evidence.flag_id
            );
        }
        Ok(())
    })
    .await?;
    c.copy(
        "moderation_notices",
        m.export_notices(),
        async |(n, unsettled)| Ok(moderation::pg::insert_notice(tx, &n, unsettled).await?),
    )
    .await?;
    c.copy("moderation_appeals", m.export_appeals(), async |a| {
        Ok(moderation::pg::insert_appeal(tx, &a).await?)
    })
    .await?;
    copy_people(source, c).await?;
    Ok(wanted)
}

/// People's logins, then what refers to them: sessions, tokens, known
/// devices and addresses, login events.
async fn copy_people(source: &Source, c: &mut Counter<'_>) -> anyhow::Result<()> {
    use super::people::pg as people_pg;
    let (tx, p) = (c.tx, &source.people);
    c.copy("people_logins", p.export_logins(), async |l| {
        Ok(people_pg::insert_login(tx, &l).await?)
    })
    .await?;
    c.copy("people_sessions", p.export_sessions(), async |s| {
        Ok(people_pg::insert_session(tx, &s).await?)
    })
    .await?;
    c.copy("people_tokens", p.export_tokens(), async |t| {
        Ok(people_pg::insert_token(tx, &t).await?)
    })
    .await?;
    c.copy("people_known", p.export_known(), async |k| {
        Ok(people_pg::insert_known(tx, &k).await?)
    })
    .await?;
    c.copy("people_login_events", p.export_events(), async |e| {
        Ok(people_pg::insert_event(tx, &e).await?)
    })
    .await
}

/// Plugin records, and the files of their installed versions (which
/// replicas fetch from the database).
async fn copy_plugins(source: &Source, data_dir: &Path, c: &mut Counter<'_>) -> anyhow::Result<()> {
    use super::plugins::pg as plugins_pg;
    let dir = crate::rollout::plugins_dir(data_dir);
    let records = source.plugins.plugins().await?;
    let mut components = 0;
    for record in &records {
        plugins_pg::import(c.tx, record)
            .await
            .map_err(|e| anyhow::anyhow!("plugin {}: {e}", record.name))?;
        for v in record.versions.iter().filter(|v| !v.bundled) {
            match crate::rollout::stored_files(&dir, record, &v.version) {
                Ok((manifest, wasm)) => {
                    plugins_pg::import_component(c.tx, &record.name, &v.version, &manifest, &wasm)
                        .await?;
                    components += 1;
                }
                Err(e) if record.active.as_deref() != Some(v.version.as_str()) => {
                    tracing::warn!(plugin = %record.name, version = %v.version, error = %format!("{e:#}"), "a plugin version that is not active has no files: not copied");
                    c.report.components_missing += 1;
                }
                Err(e) => {
                    return Err(e.context(format!(
                        "the active version of plugin {} ({})",
                        record.name, v.version
                    )));
                }
            }
        }
    }
    c.check("plugins", records.len() as u64).await?;
    c.check("plugin_components", components).await
}

/// One account's ledger as read from the data directory.
#[derive(Default)]
struct Sums {
    amount: i64,
    held: i64,
    entries: i64,
}

/// The ledger (totals, entries), tasks, holds, open tasks and disputes;
/// then each account's ledger verified.
async fn copy_ledger(source: &Source, c: &mut Counter<'_>) -> anyhow::Result<()> {
    use super::tasks::pg as tasks_pg;
    let tx = c.tx;
    let mut sums = BTreeMap::<String, Sums>::new();
    let mut last: Option<Entry> = None;
    let mut n = 0;
    for entry in source.tasks.export_entries() {
        let entry = entry?;
        if last
            .as_ref()
            .is_none_or(|l| l.account_id != entry.account_id)
        {
            if let Some(l) = &last {
                tasks_pg::import_balance(tx, &l.account_id, Some(l)).await?;
            }
            tasks_pg::import_balance(tx, &entry.account_id, None).await?;
        }
        tasks_pg::import_entry(tx, &entry).await?;
        let s = sums.entry(entry.account_id.clone()).or_default();
        s.amount += entry.amount;
        s.held += entry.held_change;
        s.entries += 1;
        if (entry.balance_after, entry.held_after) != (s.amount, s.held) {
            bail!(
                "the data directory's ledger of account {} does not add up at entry {}: \
                 the entries sum to {} (held {}), the entry says {} (held {})",
                entry.account_id,
                entry.id,
                s.amount,
                s.held,
                entry.balance_after,
                entry.held_after
            );
        }
        last = Some(entry);
        n += 1;
    }
    if let Some(l) = &last {
        tasks_pg::import_balance(tx, &l.account_id, Some(l)).await?;
    }
    c.check("ledger_entries", n).await?;
    c.check("ledger_balances", sums.len() as u64).await?;

    let mut n = 0;
    let mut holds = 0;
    let mut stored_holds = Vec::new();
    for task in source.tasks.export_tasks() {
        let task: Task = task?;
        tasks_pg::import_task(tx, &task).await?;
        if let Some(hold) = &task.hold {
            stored_holds.push(hold.clone());
        }
        n += 1;
    }
    c.check("tasks", n).await?;
    let open = source.tasks.export_open()?;
    let mut n = 0;
    for (task, owner, stored) in &open {
        if !stored && let Some(hold) = &task.hold {
            stored_holds.push(hold.clone());
        }
        let Some(owner) = owner
            .as_deref()
            .or(task.hold.as_ref().map(|h| h.account_id.as_str()))
        else {
            // Neither the task nor a hold was stored: its creation was
            // cut off before anything came of it.
            tracing::warn!(task = %task.id, "an open task with nothing stored: not copied");
            continue;
        };
        let finished = task.task.as_ref().is_some_and(|t| t.status.is_final()) && *stored;
        tasks_pg::import_open(tx, task, owner, finished, *stored).await?;
        n += 1;
    }
    for hold in &stored_holds {
        tasks_pg::import_hold(tx, hold).await?;
        holds += 1;
    }
    c.check("holds", holds).await?;
    c.check("tasks_open", n).await?;

    let disputes = source.tasks.disputes(None, None).await?;
    for dispute in &disputes {
        tasks_pg::import_dispute(tx, dispute).await?;
    }
    c.check("disputes", disputes.len() as u64).await?;

    verify_ledgers(tx, &sums, c.report).await
}

/// Checks every account's entries and totals in the database against the
/// sums read from the data directory.
async fn verify_ledgers(
    tx: &tokio_postgres::Transaction<'_>,
    sums: &BTreeMap<String, Sums>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let rows = tx
        .query(
            "SELECT b.account_id, b.balance, b.held, COALESCE(e.amount, 0)::BIGINT, \
             COALESCE(e.held, 0)::BIGINT, COALESCE(e.n, 0) \
             FROM ledger_balances b LEFT JOIN (SELECT account_id, sum(amount) AS amount, \
             sum(held_change) AS held, count(*) AS n FROM ledger_entries GROUP BY account_id) e \
             ON e.account_id = b.account_id ORDER BY b.account_id",
            &[],
        )
        .await?;
    for row in &rows {
        let account: String = row.get(0);
        let (balance, held, amount, held_sum, n): (i64, i64, i64, i64, i64) =
            (row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
        let Some(s) = sums.get(&account) else {
            bail!("ledger of account {account}: in the database but not in the data directory");
        };
        if (balance, held, amount, held_sum, n) != (s.amount, s.held, s.amount, s.held, s.entries) {
            bail!(
                "ledger of account {account} differs: the data directory has {} entries summing to {} \
                 (held {}); the database has {n} entries summing to {amount} (held {held_sum}) \
                 and totals {balance} (held {held})",
                s.entries,
                s.amount,
                s.held
            );
        }
        report.accounts += 1;
        report.credits += balance;
    }
    Ok(())
}

/// Copies the blobs of every file record to the replicas' blob store.
async fn copy_blobs(wanted: &Wanted, blobs: &Blobs, report: &mut Report) -> anyhow::Result<()> {
    for (sha256, &(size, ref file_id)) in wanted {
        let Some(to) = &blobs.to else {
            if !blobs.from.exists(sha256).await? {
                tracing::warn!(%sha256, file = %file_id, "a file's blob is missing from the data directory");
                report.blobs_missing += 1;
            } else {
                report.blobs_present += 1;
            }
            continue;
        };
        if to.exists(sha256).await? {
            report.blobs_present += 1;
            continue;
        }
        match blobs.from.read(sha256, size).await {
            Ok(bytes) => {
                to.put(sha256, Bytes::from(bytes))
                    .await
                    .with_context(|| format!("copying blob {sha256} to {}", to.describe()))?;
                report.blobs_copied += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(%sha256, file = %file_id, "a file's blob is missing from the data directory");
                report.blobs_missing += 1;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("reading blob {sha256}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
