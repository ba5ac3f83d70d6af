-- File records: who owns which blob (the bytes live in the media
-- directory, by SHA-256); the index by blob tells a deletion when a blob's
-- last file went.
CREATE TABLE files (
    id         TEXT COLLATE "C" PRIMARY KEY,
    owner      TEXT COLLATE "C" NOT NULL,
    sha256     TEXT COLLATE "C" NOT NULL,
    mime       TEXT NOT NULL,
    bytes      BIGINT NOT NULL CHECK (bytes >= 0),
    purpose    TEXT NOT NULL,
    task_id    TEXT COLLATE "C",
    created_at TEXT NOT NULL
);

CREATE INDEX files_by_blob ON files (sha256);
