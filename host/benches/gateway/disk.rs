//! A section of the gateway bench (see `../gateway.rs`): what the records
//! of a generation cost on disk in the embedded store, by the tables they
//! go to.
//!
//! Writes the records a synchronous generation writes (the open task, the
//! hold's ledger entry, the output's file record and its entry in the index
//! by blob, the finished task and its entry in the index by owner, the
//! capture's ledger entry; then the open task removed), one generation per
//! flush, through the store's tables, and reports the growth of the data
//! directory per generation. The variants leave out some of these writes,
//! or write packed records instead of JSON, to show what each costs. Each
//! output has a blob of its own, as real outputs do (the load benchmark's
//! mock serves one image, which puts every index entry by blob together).

use imini::store::{Store, Table};

/// Which of a generation's writes a variant makes.
struct Variant {
    name: &'static str,
    packed: bool,
    open: bool,
    file: bool,
    by_blob: bool,
    /// Hex digits of the digest in the key by blob (64: all of it).
    blob_digits: usize,
    by_owner: bool,
    capture: bool,
}

const ALL: Variant = Variant {
    name: "",
    packed: false,
    open: true,
    file: true,
    by_blob: true,
    blob_digits: 64,
    by_owner: true,
    capture: true,
};

const VARIANTS: [Variant; 9] = [
    Variant {
        name: "every record, as JSON (as stored)",
        ..ALL
    },
    Variant {
        name: "every record, packed (as databases from before compressed tables store them)",
        packed: true,
        ..ALL
    },
    Variant {
        name: "without the open task",
        open: false,
        ..ALL
    },
    Variant {
        name: "without the entry by blob",
        by_blob: false,
        ..ALL
    },
    Variant {
        name: "entry by blob keyed by 16 hex digits of the digest",
        blob_digits: 16,
        ..ALL
    },
    Variant {
        name: "entry by blob keyed by 8 hex digits of the digest",
        blob_digits: 8,
        ..ALL
    },
    Variant {
        name: "without the entry by owner",
        by_owner: false,
        ..ALL
    },
    Variant {
        name: "the task and its two entries only",
        open: false,
        file: false,
        by_blob: false,
        by_owner: false,
        ..ALL
    },
    Variant {
        name: "the task only",
        open: false,
        file: false,
        by_blob: false,
        by_owner: false,
        capture: false,
        ..ALL
    },
];

fn size_of(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                size_of(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// Bytes of data directory per generation for `v`, over `n` generations.
async fn bytes_per_generation(v: &Variant, n: u64) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap().packing_records(v.packed);
    let table = |name| -> Table { store.packed_table(name).unwrap() };
    let (tasks, open, ledger, files) = (
        table("tasks"),
        table("tasks_open"),
        table("ledger"),
        table("files"),
    );
    let by_owner = store.table("tasks_by_owner").unwrap();
    let by_blob = store.table("files_by_blob").unwrap();
    let account = imini::ids::new("acct");
    let key = imini::ids::new("key");
    let now = "2027-03-01T09:15:02Z";
    let entry = |id: &str, kind: &str, task: &str| {
        serde_json::json!({"id": id, "account_id": account, "type": kind, "amount": 0,
            "held_change": 40, "balance_after": 73120, "held_after": 80, "task_id": task,
            "actor": key, "reason": null, "created_at": now})
    };
    let start = size_of(dir.path());
    for i in 0..n {
        let (id, hold, capture) = (
            imini::ids::new("task"),
            imini::ids::new("le"),
            imini::ids::new("le"),
        );
        let file = imini::ids::new("file");
        let sha = imini::ids::hex(&<sha2::Sha256 as sha2::Digest>::digest(id.as_bytes()));
        let task = serde_json::json!({"id": id, "owner": account, "kind": "image",
            "model": "openai/gpt-image-1", "status": "succeeded", "progress": 100,
            "request_id": imini::ids::new("req"), "created_at": now, "completed_at": now,
            "request": {"prompt": format!("a lighthouse on a cliff at night {i}"), "n": 1,
                "width": 1024, "height": 1024},
            "outputs": [{"file_id": file, "mime": "image/png", "width": 1024, "height": 1024}],
            "target": "openai/gpt-image-1", "key_id": key,
            "hold": {"task_id": id, "account_id": account, "amount": 40, "status": "captured",
                "key_id": key, "entry_id": hold, "settled_by": capture}});
        if v.open {
            let record = serde_json::json!({"synchronous": true, "owner": account, "task": task});
            open.put_unflushed(&id, &record).unwrap();
        }
        let entry_key = |entry: &str| format!("e/{account}/{entry}");
        ledger
            .put_unflushed(&entry_key(&hold), &entry(&hold, "hold", &id))
            .unwrap();
        if v.file {
            if v.by_blob {
                by_blob
                    .put_unflushed(&format!("{}/{file}", &sha[..v.blob_digits]), &())
                    .unwrap();
            }
            let record = serde_json::json!({"id": file, "owner": account, "sha256": sha,
                "mime": "image/png", "bytes": 1234, "purpose": "output", "task_id": id,
                "created_at": now});
            files.put_unflushed(&file, &record).unwrap();
        }
        if v.by_owner {
            by_owner
                .put_unflushed(&format!("{account}/{id}"), &())
                .unwrap();
        }
        tasks.put_unflushed(&id, &task).unwrap();
        if v.capture {
            ledger
                .put_unflushed(&entry_key(&capture), &entry(&capture, "capture", &id))
                .unwrap();
        }
        if v.open {
            open.remove_unflushed(&id).unwrap();
        }
        store.flush().await.unwrap();
    }
    (size_of(dir.path()) - start) / n
}

/// Prints the table.
pub async fn disk_figures() {
    let n = 20_000;
    println!("\nembedded store per generation ({n} generations, one flush each):\n");
    println!("| records written | bytes per generation |");
    println!("|---|---:|");
    for v in &VARIANTS {
        println!("| {} | {} |", v.name, bytes_per_generation(v, n).await);
    }
}
