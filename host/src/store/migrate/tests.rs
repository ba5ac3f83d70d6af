//! Tests of the copy: every kind of record read back from both backends,
//! and the refusals.

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
use crate::store::people::TokenKind;
use crate::store::people::conformance as people;
use crate::store::pg::PgStore;
use crate::store::pg::testing::TestDb;
use crate::store::plugins::conformance::record as plugin_record;
use crate::store::prices::conformance as p;
use crate::store::tasks::{Creation, HoldRequest, Settle, Status, StoredRequest, Task};
use crate::store::webhooks::{Delivery, DeliveryStatus};

const ACCOUNT: &str = "acct_moving";

/// The embedded store with its default cache.
const SLED: Resolved = Resolved::Embedded {
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
            credit_line: 0,
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
            credit_line: 300,
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

    // A person: their login, a session, a reset link not yet used, and two
    // logins, the second from a new device.
    let p = &s.people;
    p.insert_login(&people::login("user_moving", "moving@example.com"))
        .await
        .unwrap();
    p.insert_session(&people::session("sess_moving", "user_moving", "h_moving"))
        .await
        .unwrap();
    p.insert_token(&people::token(
        "t_moving",
        TokenKind::ResetPassword,
        i64::MAX,
    ))
    .await
    .unwrap();
    for (id, device) in [("lev_1", "firefox"), ("lev_2", "chrome")] {
        p.record_login(
            &people::event(id, "user_moving", 1_000),
            device,
            "192.0.2.1",
        )
        .await
        .unwrap();
    }
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
        ("people_logins", 1),
        ("people_sessions", 1),
        ("people_tokens", 1),
        ("people_known", 3),
        ("people_login_events", 2),
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
    same!(people.login("user_moving"));
    same!(people.login_by_email("moving@example.com"));
    same!(people.sessions_of("user_moving"));
    same!(people.session_by_hash("h_moving"));
    same!(people.login_events("user_moving", 10));
    // The known devices and address came along: a login from them is not new.
    let again = b
        .people
        .record_login(
            &people::event("lev_3", "user_moving", 2_000),
            "chrome",
            "192.0.2.1",
        )
        .await
        .unwrap();
    assert!(!again.new_device && !again.new_address, "{again:?}");
    assert!(
        b.people
            .consume_token("t_moving", TokenKind::ResetPassword, 2_000)
            .await
            .unwrap()
            .is_some(),
        "the reset link still works once"
    );
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
