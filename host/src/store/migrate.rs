//! Moving up from sled to PostgreSQL: `imini store migrate --from <sled
//! data dir> --to <postgres url>` copies every record of a stopped
//! gateway's data directory into an empty PostgreSQL database, keeping
//! every id, and its media blobs into the blob store the replicas will use.
//!
//! The copy is one transaction: it is verified inside it (the number of
//! records of each kind, and every account's ledger: the sum of its
//! entries, its totals, and the sled ledger's own totals, all equal) and
//! committed only then, so a copy that fails or is cut off leaves the
//! database as empty as it was, and can simply be run again. Blobs are
//! copied before the commit (a blob is named by its content, so copying one
//! twice is harmless). Tasks still open in the data directory are copied
//! unleased: the first replica to start takes them over, as it would after
//! a restart on sled.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;

use super::accounts::SledAccounts;
use super::audit::SledAudit;
use super::files::SledFiles;
use super::idempotency::SledIdempotency;
use super::moderation::SledModeration;
use super::pg::PgStore;
use super::plugins::{PluginStore, SledPlugins};
use super::prices::{PriceStore, SledPrices};
use super::secrets::SledSecrets;
use super::tasks::{SledTasks, Task};
use super::webhooks::SledWebhooks;
use super::{Store, StoreError, ledger::LedgerStore};
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
            bail!("{table}: {copied} records read from sled, but the database holds {stored}");
        }
        self.report.copied.push((table, copied));
        Ok(())
    }
}

/// The sled stores of a data directory, opened as the gateway opens them
/// (which repairs what a crash cut off, as a start would).
struct Source {
    secrets: SledSecrets,
    accounts: SledAccounts,
    audit: SledAudit,
    plugins: SledPlugins,
    prices: SledPrices,
    idempotency: SledIdempotency,
    files: SledFiles,
    webhooks: SledWebhooks,
    moderation: SledModeration,
    tasks: SledTasks,
}

impl Source {
    async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let db = data_dir.join("db");
        if !db.is_dir() {
            bail!(
                "{} is not an imini data directory on sled (it has no db directory)",
                data_dir.display()
            );
        }
        let store = Store::open(&db).map_err(|e| match e {
            StoreError::Sled(sled::Error::Io(io)) if io.to_string().contains("acquire lock") => {
                anyhow::anyhow!(
                    "{} is in use: stop the gateway that serves it before copying it",
                    db.display()
                )
            }
            other => anyhow::Error::new(other).context(format!("opening {}", db.display())),
        })?;
        Ok(Self {
            secrets: SledSecrets::new(&store)?,
            accounts: SledAccounts::new(&store)?,
            audit: SledAudit::open(&store)?,
            plugins: SledPlugins::open(&store)?,
            prices: SledPrices::open(&store)?,
            idempotency: SledIdempotency::new(&store)?,
            files: SledFiles::open(&store).await?,
            webhooks: SledWebhooks::open(&store).await?,
            moderation: SledModeration::open(&store)?,
            tasks: SledTasks::open(&store).await?,
        })
    }
}

/// Copies the sled data directory `data_dir` (of a stopped gateway) into
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
    copy_records(&source, data_dir, &mut c).await?;
    copy_ledger(&source, &mut c).await?;
    copy_blobs(&source, blobs, c.report).await?;
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

/// Everything but the ledger and tasks, in an order that stores what a
/// record refers to before it.
async fn copy_records(source: &Source, data_dir: &Path, c: &mut Counter<'_>) -> anyhow::Result<()> {
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
    c.copy("files", source.files.export(), async |f| {
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

/// One account's ledger as read from sled.
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
    let mut sums = std::collections::BTreeMap::<String, Sums>::new();
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
                "the sled ledger of account {} does not add up at entry {}: \
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
/// sums read from sled.
async fn verify_ledgers(
    tx: &tokio_postgres::Transaction<'_>,
    sums: &std::collections::BTreeMap<String, Sums>,
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
            bail!("ledger of account {account}: in the database but not in sled");
        };
        if (balance, held, amount, held_sum, n) != (s.amount, s.held, s.amount, s.held, s.entries) {
            bail!(
                "ledger of account {account} differs: sled has {} entries summing to {} \
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
async fn copy_blobs(source: &Source, blobs: &Blobs, report: &mut Report) -> anyhow::Result<()> {
    let mut wanted = BTreeSet::new();
    for record in source.files.export() {
        let record = record?;
        wanted.insert((record.sha256, record.bytes, record.id));
    }
    let mut seen = BTreeSet::new();
    for (sha256, size, file_id) in wanted {
        if !seen.insert(sha256.clone()) {
            continue;
        }
        let Some(to) = &blobs.to else {
            if !blobs.from.exists(&sha256).await? {
                tracing::warn!(%sha256, file = %file_id, "a file's blob is missing from the data directory");
                report.blobs_missing += 1;
            } else {
                report.blobs_present += 1;
            }
            continue;
        };
        if to.exists(&sha256).await? {
            report.blobs_present += 1;
            continue;
        }
        match blobs.from.read(&sha256, size).await {
            Ok(bytes) => {
                to.put(&sha256, Bytes::from(bytes))
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
mod tests {
    use std::sync::Arc;

    use super::{Blobs, migrate};
    use crate::media::{BlobStore, DirBlobs};
    use crate::store::accounts::{Account, AccountStatus, ApiKey, KeyStatus};
    use crate::store::audit::AuditQuery;
    use crate::store::backend::{Resolved, Stores};
    use crate::store::files::FileRecord;
    use crate::store::idempotency::{Reservation, StoredResponse};
    use crate::store::ledger::{Dispute, DisputeStatus, EntryKind};
    use crate::store::moderation::FlagQuery;
    use crate::store::moderation::conformance as m;
    use crate::store::pg::PgStore;
    use crate::store::pg::testing::TestDb;
    use crate::store::plugins::conformance::record as plugin_record;
    use crate::store::prices::conformance as p;
    use crate::store::tasks::{Creation, HoldRequest, Settle, Status, StoredRequest, Task};
    use crate::store::webhooks::{Delivery, DeliveryStatus};

    const ACCOUNT: &str = "acct_moving";

    /// sled with its default cache.
    const SLED: Resolved = Resolved::Sled {
        cache_bytes: crate::store::backend::DEFAULT_CACHE_MB << 20,
    };

    fn task() -> Task {
        Task::queued(
            crate::ids::new("task"),
            ACCOUNT,
            "image",
            "imini/canvas-image",
            &crate::ids::new("req"),
            StoredRequest::image("a lantern", 64, 64),
        )
    }

    fn billed(credits: i64) -> Creation<'static> {
        Creation {
            synchronous: false,
            hold: Some(HoldRequest {
                account_id: ACCOUNT,
                credits,
                actor: "key_moving",
                key_limit: None,
            }),
            max_unfinished: None,
        }
    }

    /// Fills every sled store of `data` with a little of everything;
    /// returns the ids of a finished and an open task.
    async fn history(data: &std::path::Path, blob: &[u8]) -> (String, String) {
        let s = Stores::open(&SLED, data, &Default::default())
            .await
            .unwrap();
        s.secrets.set_secret("signing", "s3cret").await.unwrap();
        s.accounts
            .insert_account(&Account {
                id: ACCOUNT.into(),
                email: "moving@example.com".into(),
                status: AccountStatus::Active,
                credits_frozen: false,
                limits: Default::default(),
                webhook_url: Some("http://127.0.0.1:9/hook".into()),
                webhook_secret: Some("whsec_x".into()),
                created_at: "2026-12-01T00:00:00Z".into(),
            })
            .await
            .unwrap();
        s.accounts
            .insert_key(&ApiKey {
                id: "key_moving".into(),
                account_id: ACCOUNT.into(),
                name: "main".into(),
                prefix: "imini_sk_ab".into(),
                status: KeyStatus::Active,
                created_at: "2026-12-01T00:00:00Z".into(),
                last_used_at: Some("2026-12-02T00:00:00Z".into()),
                requests_per_minute: Some(60),
                credit_limit: Some(500),
                hash: "ab".repeat(32),
            })
            .await
            .unwrap();
        s.tasks
            .credit(ACCOUNT, EntryKind::Topup, 100, "admin", None)
            .await
            .unwrap();
        let mut done = task();
        s.tasks.create_task(&mut done, billed(30)).await.unwrap();
        done.status = Status::Succeeded;
        done.completed_at = Some(crate::time::now_rfc3339());
        s.tasks
            .finish_task(&mut done, Settle::Capture)
            .await
            .unwrap();
        s.tasks.close_task(&done.id).await.unwrap();
        let mut open = task();
        s.tasks.create_task(&mut open, billed(20)).await.unwrap();
        s.tasks
            .file_dispute(&Dispute {
                id: "disp_moving".into(),
                account_id: ACCOUNT.into(),
                month: "2026-12".into(),
                reason: "blurry".into(),
                status: DisputeStatus::Open,
                credits_returned: 0,
                resolution: None,
                created_at: "2026-12-02T00:00:00Z".into(),
                decided_at: None,
                entry_id: None,
            })
            .await
            .unwrap();

        s.moderation
            .record_flag(&m::flag(1, ACCOUNT, "refuse", Some("violence")))
            .await
            .unwrap();
        s.moderation
            .add_strike(&m::strike(ACCOUNT, None, 100, "flag_0001"), 0, &|_| {
                m::entry("audit_strike", "strike", ACCOUNT)
            })
            .await
            .unwrap();
        s.moderation
            .record_enforcement(
                &m::notice("moving", ACCOUNT, None),
                &m::entry("audit_notice", "suspend", ACCOUNT),
                false,
            )
            .await
            .unwrap();
        s.moderation
            .file_appeal(
                &m::appeal("moving", ACCOUNT, "ntc_moving"),
                &m::entry("audit_appeal", "appeal", ACCOUNT),
            )
            .await
            .unwrap();

        let change = p::change(
            "chg_moving",
            "imini/canvas-image",
            Some(9),
            "2026-12-03T00:00:00Z",
        );
        let mut announced = p::entry("chg_moving", "price_change", Some("imini/canvas-image"));
        announced.effective_at = change.effective_at.clone();
        s.prices.schedule_price(&change, &announced).await.unwrap();
        s.prices
            .announce(&[p::entry("log_moving", "model_added", Some("x/y"))])
            .await
            .unwrap();

        let scope = format!("{ACCOUNT}/retry-1");
        let now = crate::time::now_unix();
        assert!(matches!(
            s.idempotency
                .reserve(&scope, "fp", now, 86_400)
                .await
                .unwrap(),
            Reservation::Run { .. }
        ));
        s.idempotency
            .complete(
                &scope,
                &StoredResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: b"{\"ok\":true}".to_vec(),
                },
            )
            .await
            .unwrap();

        let sha = crate::ids::hex(&<sha2::Sha256 as sha2::Digest>::digest(blob));
        DirBlobs::open(data.join("media"))
            .unwrap()
            .put(&sha, bytes::Bytes::copy_from_slice(blob))
            .await
            .unwrap();
        s.files
            .insert_file(
                &FileRecord {
                    id: "file_moving".into(),
                    owner: ACCOUNT.into(),
                    sha256: sha,
                    mime: "image/png".into(),
                    bytes: blob.len() as u64,
                    purpose: "output".into(),
                    task_id: Some(done.id.clone()),
                    created_at: "2026-12-02T00:00:00Z".into(),
                },
                true,
            )
            .await
            .unwrap();
        s.webhooks
            .enqueue(&Delivery {
                id: "whd_moving".into(),
                account_id: ACCOUNT.into(),
                task_id: done.id.clone(),
                event: "task.succeeded".into(),
                url: "http://127.0.0.1:9/hook".into(),
                body: "{}".into(),
                status: DeliveryStatus::Pending,
                attempts: 1,
                next_attempt_at: now + 60,
                last_error: Some("connection refused".into()),
                created_at: "2026-12-02T00:00:00Z".into(),
            })
            .await
            .unwrap();

        // An installed plugin version, its files in the data directory.
        let wasm = b"\0asm not really a component".to_vec();
        let mut plugin = plugin_record("moving", crate::plugins::PluginKind::Provider);
        plugin.versions[0].sha256 = crate::ids::hex(&<sha2::Sha256 as sha2::Digest>::digest(&wasm));
        let dir = crate::rollout::plugins_dir(data).join("moving");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1.0.0.wasm"), &wasm).unwrap();
        std::fs::write(dir.join("1.0.0.toml"), "name = \"moving\"\n").unwrap();
        s.plugins.save_plugin(&mut plugin).await.unwrap();
        (done.id, open.id)
    }

    /// What a store answers, for comparing two stores' answers.
    fn shown<T: std::fmt::Debug>(value: T) -> String {
        format!("{value:?}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_kind_of_record_moves_to_postgresql_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let blob = b"an image's bytes".to_vec();
        let (done, open) = history(&data, &blob).await;

        let db = TestDb::create().await;
        let pg = PgStore::open(&db.url(), 2).await.unwrap();
        let shared = dir.path().join("shared-media");
        let to: Arc<dyn BlobStore> = Arc::new(DirBlobs::open(shared.clone()).unwrap());
        let blobs = Blobs {
            from: Arc::new(DirBlobs::open(data.join("media")).unwrap()),
            to: Some(to.clone()),
        };
        let report = migrate(&data, &pg, &blobs).await.unwrap();
        assert_eq!((report.accounts, report.credits), (1, 70), "{report}");
        assert_eq!(report.blobs_copied, 1, "{report}");
        let copied: std::collections::BTreeMap<_, _> = report.copied.iter().copied().collect();
        for (kind, n) in [
            ("accounts", 1),
            ("api_keys", 1),
            ("ledger_entries", 4),
            ("tasks", 2),
            ("holds", 2),
            ("tasks_open", 1),
            ("disputes", 1),
            ("moderation_flags", 1),
            ("moderation_strikes", 1),
            ("moderation_notices", 1),
            ("moderation_appeals", 1),
            ("audit", 3),
            ("price_changes", 1),
            ("changelog", 2),
            ("idempotency_keys", 1),
            ("files", 1),
            ("webhook_deliveries", 1),
            ("plugins", 1),
            ("plugin_components", 1),
        ] {
            assert_eq!(copied.get(kind), Some(&n), "{kind}: {report}");
        }

        let sled = Stores::open(&SLED, &data, &Default::default())
            .await
            .unwrap();
        let url = db.url();
        let pg_stores = Stores::open(
            &Resolved::Postgres { url, pool_size: 2 },
            &data,
            &Default::default(),
        )
        .await
        .unwrap();
        for s in [&sled, &pg_stores] {
            assert_eq!(
                s.secrets.secret("signing").await.unwrap().as_deref(),
                Some("s3cret")
            );
        }
        let (a, b) = (&sled, &pg_stores);
        macro_rules! same {
            ($($read:tt)*) => {
                assert_eq!(
                    shown(a.$($read)*.await.unwrap()),
                    shown(b.$($read)*.await.unwrap()),
                    stringify!($($read)*)
                );
            };
        }
        same!(accounts.account(ACCOUNT));
        same!(accounts.keys_of(ACCOUNT));
        same!(accounts.key_by_hash(&"ab".repeat(32)));
        same!(tasks.balance(ACCOUNT));
        same!(tasks.entries(ACCOUNT, None, 100));
        same!(tasks.task(&done));
        same!(tasks.hold_of(&done));
        same!(tasks.hold_of(&open));
        same!(tasks.disputes(None, None));
        same!(tasks.key_spent(ACCOUNT, "key_moving"));
        same!(moderation.flags(&FlagQuery::default(), 10));
        same!(moderation.notices());
        same!(moderation.unsettled());
        same!(moderation.appeals(None, None));
        same!(audit.list(&AuditQuery::default(), 10));
        same!(prices.price_changes());
        same!(prices.changelog(10, None));
        same!(files.file("file_moving"));
        same!(webhooks.deliveries_of(ACCOUNT, 10));
        let open_tasks = b.tasks.open_tasks().await.unwrap();
        assert_eq!(
            shown(&open_tasks),
            shown(a.tasks.open_tasks().await.unwrap()),
            "the task in flight is open, with its hold, for a replica to take over"
        );
        assert_eq!(open_tasks.len(), 1);
        let replayed = b
            .idempotency
            .reserve(
                &format!("{ACCOUNT}/retry-1"),
                "fp",
                crate::time::now_unix(),
                86_400,
            )
            .await
            .unwrap();
        assert!(
            matches!(&replayed, Reservation::Replay(r) if r.body == b"{\"ok\":true}"),
            "{replayed:?}"
        );
        let plugins = b.plugins.plugins().await.unwrap();
        assert_eq!(plugins.len(), 1);
        assert_eq!(plugins[0].active.as_deref(), Some("1.0.0"));
        let component = b
            .components
            .as_ref()
            .unwrap()
            .component("moving", "1.0.0")
            .await
            .unwrap()
            .expect("the installed version's files are in the database");
        assert_eq!(component.1, b"\0asm not really a component");
        let sha = crate::ids::hex(&<sha2::Sha256 as sha2::Digest>::digest(&blob));
        assert_eq!(to.read(&sha, blob.len() as u64).await.unwrap(), blob);
        drop(sled);

        // Copying again is refused: the database is no longer empty.
        let again = migrate(&data, &pg, &blobs).await.unwrap_err().to_string();
        assert!(again.contains("already holds imini records"), "{again}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_data_directory_in_use_or_missing_is_refused_and_the_database_stays_empty() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let db = TestDb::create().await;
        let pg = PgStore::open(&db.url(), 2).await.unwrap();
        let blobs = Blobs {
            from: Arc::new(DirBlobs::open(dir.path().join("media")).unwrap()),
            to: None,
        };
        let missing = migrate(&data, &pg, &blobs).await.unwrap_err().to_string();
        assert!(
            missing.contains("is not an imini data directory"),
            "{missing}"
        );

        let running = Stores::open(&SLED, &data, &Default::default())
            .await
            .unwrap();
        running
            .tasks
            .credit(ACCOUNT, EntryKind::Topup, 5, "admin", None)
            .await
            .unwrap();
        let in_use = migrate(&data, &pg, &blobs).await.unwrap_err().to_string();
        assert!(in_use.contains("stop the gateway"), "{in_use}");
        drop(running);
        let client = pg.client().await.unwrap();
        assert!(super::occupied(&client).await.unwrap().is_empty());
        // Once stopped, it moves.
        let report = migrate(&data, &pg, &blobs).await.unwrap();
        assert_eq!((report.accounts, report.credits), (1, 5));
    }
}
