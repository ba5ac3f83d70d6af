-- The ledger: each account's totals (one row, changed only by a
-- conditional UPDATE that keeps them within their bounds) and its entries,
-- each with the totals after it, so the entries of an account sum to its
-- balance. Credits are integers.
CREATE TABLE ledger_balances (
    account_id    TEXT COLLATE "C" PRIMARY KEY,
    balance       BIGINT NOT NULL DEFAULT 0,
    held          BIGINT NOT NULL DEFAULT 0,
    -- The greatest entry id, so a new one sorts after it.
    last_entry_id TEXT COLLATE "C",
    CHECK (held >= 0 AND balance >= held)
);

CREATE TABLE ledger_entries (
    account_id    TEXT COLLATE "C" NOT NULL REFERENCES ledger_balances (account_id),
    id            TEXT COLLATE "C" NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN
                  ('topup', 'hold', 'capture', 'release', 'refund', 'adjustment', 'forfeit')),
    amount        BIGINT NOT NULL,
    held_change   BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    held_after    BIGINT NOT NULL,
    task_id       TEXT COLLATE "C",
    actor         TEXT NOT NULL,
    reason        TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, id),
    CHECK (held_after >= 0 AND balance_after >= held_after)
);

-- A task is held once and settled once.
CREATE UNIQUE INDEX ledger_entries_one_hold_per_task
    ON ledger_entries (task_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_entries_one_settlement_per_task
    ON ledger_entries (task_id) WHERE kind IN ('capture', 'release');

-- Each task's hold (one per task), naming its entry and its settlement's.
CREATE TABLE holds (
    task_id    TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount >= 0),
    status     TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released')),
    key_id     TEXT COLLATE "C",
    entry_id   TEXT COLLATE "C" NOT NULL,
    settled_by TEXT COLLATE "C",
    FOREIGN KEY (account_id, entry_id) REFERENCES ledger_entries (account_id, id),
    FOREIGN KEY (account_id, settled_by) REFERENCES ledger_entries (account_id, id),
    CHECK ((status = 'open') = (settled_by IS NULL))
);

CREATE INDEX holds_by_key ON holds (account_id, key_id) WHERE key_id IS NOT NULL;

-- Tasks. The request, outputs and error are payloads the gateway only
-- reads whole.
CREATE TABLE tasks (
    id           TEXT COLLATE "C" PRIMARY KEY,
    owner        TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL,
    model        TEXT NOT NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('queued', 'processing', 'succeeded', 'failed', 'canceled')),
    progress     SMALLINT NOT NULL CHECK (progress BETWEEN 0 AND 255),
    request_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    completed_at TEXT,
    request      JSONB NOT NULL,
    handle       TEXT,
    outputs      JSONB NOT NULL,
    error        JSONB,
    webhook_url  TEXT,
    purged       BOOLEAN NOT NULL,
    metadata     TEXT,
    target       TEXT,
    key_id       TEXT COLLATE "C",
    flagged      BOOLEAN NOT NULL
);

CREATE INDEX tasks_by_owner ON tasks (owner, id);

-- Tasks not yet over (or over with events not yet queued). A synchronous
-- task is not in `tasks` until it ends or is detached: it is kept here as
-- submitted, for recovery.
CREATE TABLE tasks_open (
    task_id     TEXT COLLATE "C" PRIMARY KEY,
    owner       TEXT COLLATE "C" NOT NULL,
    synchronous BOOLEAN NOT NULL,
    finished    BOOLEAN NOT NULL DEFAULT FALSE,
    submitted   JSONB
);

CREATE INDEX tasks_open_unfinished ON tasks_open (owner) WHERE NOT finished;

-- Bill disputes; a resolution's credits are the adjustment entry it names.
CREATE TABLE disputes (
    id               TEXT COLLATE "C" PRIMARY KEY,
    account_id       TEXT COLLATE "C" NOT NULL,
    month            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'rejected')),
    credits_returned BIGINT NOT NULL,
    resolution       TEXT,
    created_at       TEXT NOT NULL,
    decided_at       TEXT,
    entry_id         TEXT COLLATE "C",
    FOREIGN KEY (account_id, entry_id) REFERENCES ledger_entries (account_id, id)
);

CREATE INDEX disputes_by_account ON disputes (account_id, id);
