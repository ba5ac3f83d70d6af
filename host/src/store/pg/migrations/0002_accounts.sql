-- Accounts and their API keys. A key belongs to an account; its secret's
-- hash is unique (the index from a secret to its key).
CREATE TABLE accounts (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    email                TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
    credits_frozen       BOOLEAN NOT NULL,
    requests_per_minute  BIGINT CHECK (requests_per_minute BETWEEN 0 AND 4294967295),
    max_concurrent_tasks BIGINT CHECK (max_concurrent_tasks BETWEEN 0 AND 4294967295),
    webhook_url          TEXT,
    webhook_secret       TEXT,
    created_at           TEXT NOT NULL
);

CREATE TABLE api_keys (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    account_id          TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    name                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    created_at          TEXT NOT NULL,
    last_used_at        TEXT,
    -- last_used_at in unix seconds, so a use is recorded in one statement.
    last_used_unix      BIGINT,
    requests_per_minute BIGINT CHECK (requests_per_minute BETWEEN 0 AND 4294967295),
    credit_limit        BIGINT,
    hash                TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE INDEX api_keys_by_account ON api_keys (account_id, id);
