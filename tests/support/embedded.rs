//! The embedded store of a stopped gateway's data directory, opened
//! directly: for tests that write what an earlier version left, or that
//! take a data directory back to sled, the store of versions before fjall.

use std::path::Path;

/// The database in `data_dir/store` (the gateway must be stopped).
pub fn open(data_dir: &Path) -> fjall::Database {
    fjall::Database::builder(data_dir.join("store"))
        .open()
        .expect("the data directory's store opens")
}

/// The keyspace `name` of `db`.
pub fn keyspace(db: &fjall::Database, name: &str) -> fjall::Keyspace {
    db.keyspace(name, fjall::KeyspaceCreateOptions::default)
        .expect("the keyspace opens")
}

/// Rewrites the store of `data_dir` as a sled database in `data_dir/db`, as
/// an earlier version kept it (the records' format is the same), and
/// removes the fjall one. Returns how many records it wrote.
pub fn back_to_sled(data_dir: &Path) -> u64 {
    let mut records = 0;
    {
        let db = open(data_dir);
        let sled = sled::open(data_dir.join("db")).expect("a sled database");
        for name in db.list_keyspace_names() {
            let tree = sled.open_tree(name.as_bytes()).unwrap();
            for item in keyspace(&db, &name).iter() {
                let (key, value) = item.into_inner().unwrap();
                tree.insert(&*key, &*value).unwrap();
                records += 1;
            }
        }
        sled.flush().unwrap();
    }
    std::fs::remove_dir_all(data_dir.join("store")).unwrap();
    records
}
