-- The gateway's own secrets (the admin key's hash, the URL signing key).
CREATE TABLE secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
