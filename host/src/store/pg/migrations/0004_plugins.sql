-- Plugin records: one row per plugin, saved only over the revision it was
-- read at; its installed versions in their own table, in order.
CREATE TABLE plugins (
    name       TEXT COLLATE "C" PRIMARY KEY CHECK (name <> ''),
    kind       TEXT NOT NULL CHECK (kind IN ('provider', 'policy')),
    active     TEXT,
    -- Versions activated, oldest first.
    history    TEXT[] NOT NULL,
    retired_at TEXT,
    retire_at  TEXT,
    -- The operator's configuration: the plugin's own, opaque to the host.
    config     JSONB,
    revision   BIGINT NOT NULL CHECK (revision > 0)
);

CREATE TABLE plugin_versions (
    plugin       TEXT COLLATE "C" NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    version      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    wit_version  TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    bundled      BOOLEAN NOT NULL,
    models       TEXT[] NOT NULL,
    categories   TEXT[] NOT NULL,
    PRIMARY KEY (plugin, position)
);
