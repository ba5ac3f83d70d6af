-- Replicas' heartbeats: where each gateway sharing the database listens,
-- which build it runs and which plugin versions it serves.
CREATE TABLE replicas (
    id             TEXT COLLATE "C" PRIMARY KEY,
    address        TEXT NOT NULL,
    version        TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    last_heartbeat TIMESTAMPTZ NOT NULL,
    plugins        JSONB NOT NULL
);

-- Work one replica at a time does (the retention purge): the replica that
-- leads each job, until when.
CREATE TABLE replica_jobs (
    job    TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);
