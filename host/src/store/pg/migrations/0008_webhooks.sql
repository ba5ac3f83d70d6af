-- Webhook deliveries: one per event and receiver, found by account (newest
-- first) and, while pending, by when they are due.
CREATE TABLE webhook_deliveries (
    id              TEXT COLLATE "C" PRIMARY KEY,
    account_id      TEXT COLLATE "C" NOT NULL,
    task_id         TEXT COLLATE "C" NOT NULL,
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL CHECK (attempts BETWEEN 0 AND 4294967295),
    -- When the next attempt is due (unix seconds).
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      TEXT COLLATE "C" NOT NULL
);

CREATE INDEX webhook_deliveries_by_account ON webhook_deliveries (account_id, created_at, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
