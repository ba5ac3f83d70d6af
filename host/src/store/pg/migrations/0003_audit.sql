-- The audit log: entries only ever added, listed newest (greatest id)
-- first, filtered by account, key, actor and action prefix.
CREATE TABLE audit (
    id         TEXT COLLATE "C" PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C",
    key_id     TEXT COLLATE "C",
    details    JSONB NOT NULL,
    -- The evidence behind an enforcement step: a list of small records
    -- that are only ever shown with their entry.
    evidence   JSONB NOT NULL
);

CREATE INDEX audit_by_account ON audit (account_id, id) WHERE account_id IS NOT NULL;
CREATE INDEX audit_by_key ON audit (key_id, id) WHERE key_id IS NOT NULL;
CREATE INDEX audit_by_actor ON audit (actor, id);
