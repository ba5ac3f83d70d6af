-- Moderation: flagged-request records, strikes, enforcement notices and
-- appeals. The audit entries of moderation steps go to `audit` in the
-- same transaction as the step.
CREATE TABLE moderation_flags (
    id          TEXT COLLATE "C" PRIMARY KEY,
    created_at  TEXT NOT NULL,
    stage       TEXT NOT NULL,
    action      TEXT NOT NULL,
    policy      TEXT NOT NULL,
    category    TEXT,
    reason      TEXT,
    account_id  TEXT COLLATE "C" NOT NULL,
    key_id      TEXT COLLATE "C",
    request_id  TEXT NOT NULL,
    task_id     TEXT,
    model       TEXT NOT NULL,
    -- What was asked and produced: kept whole for the audit, never queried.
    interaction JSONB NOT NULL
);

CREATE INDEX moderation_flags_by_account ON moderation_flags (account_id, id);

-- One strike per account and flagged request.
CREATE TABLE moderation_strikes (
    account_id TEXT COLLATE "C" NOT NULL,
    flag_id    TEXT COLLATE "C" NOT NULL,
    key_id     TEXT COLLATE "C",
    -- Unix seconds, by the moderation clock.
    at         BIGINT NOT NULL,
    -- The refusal (request, policy, category, time, flag).
    evidence   JSONB NOT NULL,
    voided     BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, flag_id)
);

CREATE INDEX moderation_strikes_by_time ON moderation_strikes (account_id, at, flag_id);

CREATE TABLE moderation_notices (
    account_id   TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    key_id       TEXT COLLATE "C",
    action       TEXT NOT NULL
                 CHECK (action IN ('key_suspended', 'account_suspended', 'credits_frozen')),
    reason       TEXT NOT NULL,
    evidence     JSONB NOT NULL,
    by_actor     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    appeal_until TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'appealed', 'reinstated', 'upheld')),
    appeal_id    TEXT COLLATE "C",
    -- The effect not yet known to be applied to the account or key
    -- (NULL once settled).
    unsettled    TEXT CHECK (unsettled IN ('enforce', 'lift')),
    PRIMARY KEY (account_id, id)
);

CREATE INDEX moderation_notices_by_id ON moderation_notices (id);
CREATE INDEX moderation_notices_unsettled ON moderation_notices (id) WHERE unsettled IS NOT NULL;

-- A notice is appealed at most once.
CREATE TABLE moderation_appeals (
    id         TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    notice_id  TEXT COLLATE "C" NOT NULL,
    message    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'reinstated', 'upheld')),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    note       TEXT,
    UNIQUE (account_id, notice_id),
    FOREIGN KEY (account_id, notice_id) REFERENCES moderation_notices (account_id, id)
);
