//! Tests of the embedded store's tables, transactions and batches.

use super::{OpCounts, Store};

#[tokio::test]
async fn operations_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let table = store.table("t").unwrap();
    table.put_unflushed("a", &1).unwrap();
    table.put("b", &2).await.unwrap();
    assert_eq!(table.get::<i32>("a").unwrap(), Some(1));
    assert_eq!(table.scan::<i32>().count(), 2);
    table.remove_unflushed("a").unwrap();
    assert_eq!(
        store.op_counts(),
        OpCounts {
            reads: 3,
            writes: 2,
            removes: 1,
            fsyncs: 1
        }
    );
}

#[tokio::test]
async fn a_transaction_reads_its_own_writes_and_applies_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (store.table("a").unwrap(), store.table("b").unwrap());
    a.put_unflushed("k", &1).unwrap();

    let seen = store
        .transaction(|tx| {
            let v: i32 = tx.get(&a, "k")?.unwrap();
            tx.put(&a, "k", &(v + 1));
            tx.put(&b, "k", &(v + 10));
            tx.remove(&a, "gone");
            Ok::<_, super::StoreError>((tx.get::<i32>(&a, "k")?, tx.contains(&b, "k")?))
        })
        .unwrap();
    assert_eq!(seen, (Some(2), true), "its own writes");
    assert_eq!(a.get::<i32>("k").unwrap(), Some(2));
    assert_eq!(b.get::<i32>("k").unwrap(), Some(11));

    // A failed transaction writes nothing.
    let failed: Result<(), super::StoreError> = store.transaction(|tx| {
        tx.put(&a, "k", &100);
        tx.put(&b, "new", &100);
        Err(super::StoreError::Conflict("refused"))
    });
    assert!(failed.is_err());
    assert_eq!(a.get::<i32>("k").unwrap(), Some(2));
    assert_eq!(b.get::<i32>("new").unwrap(), None);
}

#[tokio::test]
async fn a_batch_applies_its_writes_together_when_committed_and_none_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (store.table("a").unwrap(), store.table("b").unwrap());
    a.put_unflushed("old", &1).unwrap();

    let mut dropped = store.batch();
    dropped.put(&a, "k", &1);
    dropped.remove(&a, "old");
    drop(dropped);
    assert_eq!(a.get::<i32>("k").unwrap(), None);
    assert_eq!(a.get::<i32>("old").unwrap(), Some(1));

    let mut batch = store.batch();
    batch.put(&a, "k", &1);
    batch.put(&b, "k", &2);
    batch.put(&a, "k", &3);
    batch.remove(&a, "old");
    assert_eq!(
        a.get::<i32>("k").unwrap(),
        None,
        "nothing before the commit"
    );
    batch.commit().unwrap();
    assert_eq!(
        a.get::<i32>("k").unwrap(),
        Some(3),
        "the last write to a key stands"
    );
    assert_eq!(b.get::<i32>("k").unwrap(), Some(2));
    assert_eq!(a.get::<i32>("old").unwrap(), None);
}

#[tokio::test]
async fn concurrent_transactions_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let counter = store.table("counter").unwrap();
    counter.put_unflushed("n", &0u64).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (store, counter) = (store.clone(), counter.clone());
            std::thread::spawn(move || {
                for _ in 0..250 {
                    store
                        .transaction(|tx| {
                            let n: u64 = tx.get(&counter, "n")?.unwrap();
                            tx.put(&counter, "n", &(n + 1));
                            Ok::<_, super::StoreError>(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.get::<u64>("n").unwrap(), Some(1000));
}

#[tokio::test]
async fn flushed_writes_are_there_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let table = store.packed_table("tasks").unwrap();
        for i in 0..100 {
            table
                .put_unflushed(&format!("k{i:03}"), &serde_json::json!({"id": i}))
                .unwrap();
        }
        store.flush().await.unwrap();
    }
    let store = Store::reopen(dir.path(), 1 << 20).await.unwrap();
    let table = store.packed_table("tasks").unwrap();
    assert_eq!(table.scan::<serde_json::Value>().count(), 100);
    assert_eq!(
        table.get::<serde_json::Value>("k099").unwrap(),
        Some(serde_json::json!({"id": 99}))
    );
    assert!(store.table_names().contains(&"tasks".to_string()));
}

#[tokio::test]
async fn a_database_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _open = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).err().expect("locked");
    assert!(err.to_string().contains("is in use"), "{err}");
}

#[tokio::test]
async fn a_new_database_stores_json_and_reads_packed_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.packs_records());
    let record = serde_json::json!({"id": "task_1", "prompt": "a lighthouse at dawn"});
    let table = store.packed_table("t").unwrap();
    table.put("new", &record).await.unwrap();
    let raw = table.get_raw(b"new").unwrap().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap(),
        record
    );
    // As a packed record copied from an earlier version's sled has it.
    let packed = super::packed::pack(&serde_json::to_vec(&record).unwrap());
    table.put_raw_unflushed(b"old", packed).unwrap();
    assert_eq!(table.get::<serde_json::Value>("old").unwrap(), Some(record));
    drop((table, store));
    let store = Store::reopen(dir.path(), 1 << 20).await.unwrap();
    assert!(!store.packs_records(), "the format is the database's");
}

#[tokio::test]
async fn a_packed_table_of_an_earlier_database_reads_the_json_records_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        // A database of the version before compressed tables: keyspaces
        // with fjall's defaults, and no format record.
        let db = fjall::Database::builder(dir.path()).open().unwrap();
        db.keyspace("t", fjall::KeyspaceCreateOptions::default)
            .unwrap();
    }
    let store = Store::reopen(dir.path(), 1 << 20).await.unwrap();
    assert!(store.packs_records());
    let record = serde_json::json!({"id": "task_1", "prompt": "a lighthouse at dawn"});
    // As a data directory of an earlier version has it.
    store.table("t").unwrap().put("old", &record).await.unwrap();
    let table = store.packed_table("t").unwrap();
    table.put("new", &record).await.unwrap();
    let raw = table.get_raw(b"new").unwrap().unwrap();
    assert_eq!(raw[0], super::packed::ZSTD_RECORDS_1);
    for key in ["old", "new"] {
        assert_eq!(
            table.get::<serde_json::Value>(key).unwrap(),
            Some(record.clone())
        );
    }
    let scanned: Vec<(String, serde_json::Value)> = table.scan().collect::<Result<_, _>>().unwrap();
    assert_eq!(scanned.len(), 2);
    assert!(scanned.iter().all(|(_, r)| *r == record));
    // A damaged packed record is reported as such, naming the tree.
    store
        .table("t")
        .unwrap()
        .put_raw_unflushed(b"bad", raw[..raw.len() / 2].to_vec())
        .unwrap();
    let err = table
        .get::<serde_json::Value>("bad")
        .unwrap_err()
        .to_string();
    assert!(err.contains("corrupt record in t"), "{err}");
}

#[test]
fn keys_rev_stays_within_the_prefix_and_before_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let table = Store::open(dir.path()).unwrap().table("t").unwrap();
    for key in ["a/1", "a/2", "a/3", "ab/1", "b/1", "a"] {
        table.put_unflushed(key, &()).unwrap();
    }
    let keys = |before| {
        table
            .keys_rev("a/", before)
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert_eq!(keys(None), ["a/3", "a/2", "a/1"]);
    assert_eq!(keys(Some("a/3")), ["a/2", "a/1"]);
    assert_eq!(keys(Some("a/1")), Vec::<String>::new());
}
