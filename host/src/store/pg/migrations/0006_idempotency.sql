-- Idempotency-Keys: unique per account, each with the fingerprint of the
-- request that first used it, the task id reserved for it, and its
-- response once kept. `holder` names the gateway process whose request
-- holds the key now; a process holds a session-level advisory lock on its
-- holder id for as long as it runs, so a key whose holder's lock is gone
-- was left by a process that stopped.
CREATE TABLE idempotency_keys (
    account_id       TEXT COLLATE "C" NOT NULL,
    key              TEXT COLLATE "C" NOT NULL,
    fingerprint      TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    -- When the key was first used (unix seconds).
    created_at       BIGINT NOT NULL,
    response_status  INTEGER CHECK (response_status BETWEEN 0 AND 65535),
    -- The headers worth replaying: [[name, value], ...].
    response_headers JSONB,
    response_body    BYTEA,
    holder           INTEGER,
    PRIMARY KEY (account_id, key),
    CHECK ((response_status IS NULL) = (response_body IS NULL)
           AND (response_status IS NULL) = (response_headers IS NULL))
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
