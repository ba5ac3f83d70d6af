//! The data directory's database, and the copy of an earlier version's.
//!
//! Versions before this one kept the data directory's state in sled, in
//! `db/`; this one keeps it in fjall, in `store/`. The first start on a
//! data directory that has a sled database and no fjall one copies every
//! tree of the former, record for record and byte for byte, into a
//! keyspace of the same name (the records' format did not change), then
//! puts the sled database aside as `db.before-fjall/` for the operator to
//! delete once satisfied.
//!
//! The copy is made in `store.copying/`, checked (every keyspace holds as
//! many records as its tree), made durable, and only then renamed to
//! `store/`: a copy cut off by a crash leaves `store.copying/`, which the
//! next start discards and makes again from the untouched sled database.

use std::path::{Path, PathBuf};

use super::{Result, Store, StoreError};

/// Where the database is, under the data directory.
pub const STORE_DIR: &str = "store";
/// Where an earlier version's sled database is, under the data directory.
pub const SLED_DIR: &str = "db";
/// Where the sled database is put once copied.
pub const SLED_KEPT: &str = "db.before-fjall";
/// Where the copy is made.
const COPYING: &str = "store.copying";

/// Records copied in one write batch.
const BATCH: usize = 1024;

/// What a copy from sled did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The trees copied (sled's empty default tree is not).
    pub trees: usize,
    /// The records copied, in all.
    pub records: u64,
    /// Where the sled database now is.
    pub kept: PathBuf,
}

/// Opens the database of `data_dir`, its block cache bounded to
/// `cache_bytes`, first copying an earlier version's sled database to it
/// if there is one and no copy yet. Returns what a copy did, if one ran.
pub fn open(data_dir: &Path, cache_bytes: u64) -> Result<(Store, Option<Copied>)> {
    let store_dir = data_dir.join(STORE_DIR);
    let sled_dir = data_dir.join(SLED_DIR);
    let copied = if is_sled(&sled_dir) && !store_dir.exists() {
        Some(copy(data_dir, cache_bytes)?)
    } else {
        None
    };
    if store_dir.exists() && is_sled(&sled_dir) {
        // A copy completed but a crash came before the sled database was
        // put aside.
        put_aside(data_dir)?;
    }
    let store = Store::open_with(&store_dir, cache_bytes)?;
    Ok((store, copied))
}

/// Whether `dir` holds a sled database (sled writes its `conf` first).
fn is_sled(dir: &Path) -> bool {
    dir.join("conf").is_file()
}

/// Opens the sled database in `dir` with the compression it was made with
/// (sled refuses the other setting, so trying tells which).
fn open_sled(dir: &Path) -> Result<sled::Db> {
    let open = |compress: bool| {
        sled::Config::new()
            .path(dir)
            .cache_capacity(16 << 20)
            .use_compression(compress)
            .open()
    };
    let sled_error = |e: sled::Error| match e {
        sled::Error::Io(io) if io.to_string().contains("acquire lock") => {
            StoreError::Setting(format!(
                "the database in {} is in use by another process",
                dir.display()
            ))
        }
        e => StoreError::Setting(format!(
            "the sled database in {} cannot be read: {e}",
            dir.display()
        )),
    };
    match open(false) {
        Err(sled::Error::Unsupported(m)) if m.contains("compression") => {
            open(true).map_err(sled_error)
        }
        opened => opened.map_err(sled_error),
    }
}

/// Copies the sled database of `data_dir` to its `store/`.
fn copy(data_dir: &Path, cache_bytes: u64) -> Result<Copied> {
    let sled_dir = data_dir.join(SLED_DIR);
    let copying = data_dir.join(COPYING);
    if copying.exists() {
        tracing::warn!(
            dir = %copying.display(),
            "discarding a copy from sled that did not finish, to make it again"
        );
        std::fs::remove_dir_all(&copying)?;
    }
    tracing::info!(
        from = %sled_dir.display(),
        to = %data_dir.join(STORE_DIR).display(),
        "copying the data directory's sled database to fjall (once)"
    );
    let started = std::time::Instant::now();
    let sled = open_sled(&sled_dir)?;
    let mut counts = Vec::new();
    {
        let store = Store::open_with(&copying, cache_bytes)?;
        for name in sled.tree_names() {
            let tree = sled.open_tree(&name).map_err(sled_read)?;
            let name = String::from_utf8_lossy(&name).into_owned();
            if name == "__sled__default" && tree.is_empty() {
                continue;
            }
            let keyspace = store.db.keyspace(&name, super::keyspace_options)?;
            let mut batch = store.db.batch();
            let mut records = 0u64;
            for item in tree.iter() {
                let (key, value) = item.map_err(sled_read)?;
                batch.insert(&keyspace, key.to_vec(), value.to_vec());
                records += 1;
                if batch.len() >= BATCH {
                    std::mem::replace(&mut batch, store.db.batch()).commit()?;
                }
            }
            batch.commit()?;
            counts.push((name, keyspace, records));
        }
        for (name, keyspace, records) in &counts {
            let found = keyspace.len()? as u64;
            if found != *records {
                return Err(StoreError::Setting(format!(
                    "copying {name} from sled: {records} records read, {found} written; \
                     the sled database is untouched"
                )));
            }
        }
        store.db.persist(fjall::PersistMode::SyncAll)?;
    }
    drop(sled);
    std::fs::rename(&copying, data_dir.join(STORE_DIR))?;
    sync_dir(data_dir)?;
    let kept = put_aside(data_dir)?;
    let copied = Copied {
        trees: counts.len(),
        records: counts.iter().map(|(_, _, n)| n).sum(),
        kept,
    };
    tracing::info!(
        trees = copied.trees,
        records = copied.records,
        took_ms = started.elapsed().as_millis() as u64,
        kept = %copied.kept.display(),
        "copied the sled database to fjall; delete the sled one once satisfied"
    );
    Ok(copied)
}

/// Renames the copied sled database to [`SLED_KEPT`] (or a free name
/// beside it).
fn put_aside(data_dir: &Path) -> Result<PathBuf> {
    let mut kept = data_dir.join(SLED_KEPT);
    let mut n = 1;
    while kept.exists() {
        n += 1;
        kept = data_dir.join(format!("{SLED_KEPT}.{n}"));
    }
    std::fs::rename(data_dir.join(SLED_DIR), &kept)?;
    sync_dir(data_dir)?;
    Ok(kept)
}

/// Makes a directory's renames durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn sled_read(e: sled::Error) -> StoreError {
    StoreError::Setting(format!("reading the sled database: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{COPYING, SLED_DIR, SLED_KEPT, STORE_DIR, open};

    /// A sled database as an earlier version left it: JSON records, packed
    /// ones, and keys in an order that must survive.
    fn earlier_version(data_dir: &std::path::Path, compressed: bool) -> Vec<u8> {
        let db = sled::Config::new()
            .path(data_dir.join(SLED_DIR))
            .use_compression(compressed)
            .open()
            .unwrap();
        let accounts = db.open_tree("accounts").unwrap();
        for i in 0..3000 {
            accounts
                .insert(
                    format!("acct_{i:05}"),
                    serde_json::to_vec(&serde_json::json!({"id": i, "email": "a@example.com"}))
                        .unwrap(),
                )
                .unwrap();
        }
        let packed = crate::store::packed::pack(br#"{"id":"task_1","status":"succeeded"}"#);
        db.open_tree("tasks")
            .unwrap()
            .insert("task_1", packed.clone())
            .unwrap();
        db.open_tree("empty").unwrap();
        db.flush().unwrap();
        packed
    }

    #[test]
    fn a_sled_data_directory_is_copied_once_and_put_aside() {
        for compressed in [false, true] {
            let data_dir = tempfile::tempdir().unwrap();
            let packed = earlier_version(data_dir.path(), compressed);

            let (store, copied) = open(data_dir.path(), 1 << 20).unwrap();
            let copied = copied.expect("copied at the first start");
            assert_eq!((copied.trees, copied.records), (3, 3001));
            assert_eq!(copied.kept, data_dir.path().join(SLED_KEPT));
            assert!(!data_dir.path().join(SLED_DIR).exists());
            assert!(data_dir.path().join(SLED_KEPT).join("conf").is_file());

            let accounts = store.table("accounts").unwrap();
            let keys: Vec<String> = accounts
                .scan::<serde_json::Value>()
                .map(|item| item.unwrap().0)
                .collect();
            assert_eq!(keys.len(), 3000);
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "key order");
            assert_eq!(
                accounts.get::<serde_json::Value>("acct_02999").unwrap(),
                Some(serde_json::json!({"id": 2999, "email": "a@example.com"}))
            );
            let tasks = store.packed_table("tasks").unwrap();
            assert_eq!(tasks.get_raw(b"task_1").unwrap().unwrap(), packed);
            assert_eq!(
                tasks.get::<serde_json::Value>("task_1").unwrap().unwrap()["status"],
                "succeeded"
            );
            drop((accounts, tasks, store));

            // The next start opens the copy and copies nothing.
            let (store, copied) = open(data_dir.path(), 1 << 20).unwrap();
            assert_eq!(copied, None);
            assert_eq!(
                store
                    .table("accounts")
                    .unwrap()
                    .scan::<serde_json::Value>()
                    .count(),
                3000
            );
        }
    }

    #[test]
    fn a_copy_cut_off_is_made_again_and_a_finished_one_is_kept() {
        let data_dir = tempfile::tempdir().unwrap();
        earlier_version(data_dir.path(), false);
        // What a crash in the middle of the copy leaves.
        let copying = data_dir.path().join(COPYING);
        std::fs::create_dir_all(copying.join("keyspaces")).unwrap();
        std::fs::write(copying.join("junk"), b"half a copy").unwrap();

        let (store, copied) = open(data_dir.path(), 1 << 20).unwrap();
        assert_eq!(copied.unwrap().records, 3001);
        assert!(!copying.exists());
        store
            .table("accounts")
            .unwrap()
            .put_unflushed("acct_new", &1)
            .unwrap();
        drop(store);

        // A crash after the copy was renamed, before the sled database was
        // put aside: the copy (with what was written since) is kept, and
        // the sled database is put aside beside the first one.
        let again = data_dir.path().join("again");
        earlier_version(&again, false);
        std::fs::rename(again.join(SLED_DIR), data_dir.path().join(SLED_DIR)).unwrap();
        let (store, copied) = open(data_dir.path(), 1 << 20).unwrap();
        assert_eq!(copied, None);
        assert_eq!(
            store
                .table("accounts")
                .unwrap()
                .get::<i32>("acct_new")
                .unwrap(),
            Some(1)
        );
        assert!(!data_dir.path().join(SLED_DIR).exists());
        assert!(data_dir.path().join(format!("{SLED_KEPT}.2")).is_dir());
        assert!(data_dir.path().join(STORE_DIR).is_dir());
    }
}
