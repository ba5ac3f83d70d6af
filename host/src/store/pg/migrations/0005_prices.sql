-- The public changelog, and the scheduled price changes, each announced by
-- the changelog entry that shares its id.
CREATE TABLE changelog (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT COLLATE "C" NOT NULL,
    model        TEXT,
    effective_at TEXT NOT NULL,
    details      JSONB NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE INDEX changelog_by_kind ON changelog (kind, id);

CREATE TABLE price_changes (
    id             TEXT COLLATE "C" PRIMARY KEY REFERENCES changelog (id),
    model          TEXT COLLATE "C" NOT NULL,
    -- Credits, integers.
    per_image      BIGINT,
    per_second     BIGINT,
    effective_at   TEXT NOT NULL,
    -- effective_at in unix seconds: a model's prices succeed each other by it.
    effective_unix BIGINT NOT NULL
);

CREATE INDEX price_changes_in_order ON price_changes (model, effective_unix, id);
