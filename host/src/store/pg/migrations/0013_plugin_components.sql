-- The manifest and component of each installed plugin version, so that
-- every replica sharing the database can load the versions any of them
-- installed (each keeps a copy in its data directory as a cache).
CREATE TABLE plugin_components (
    plugin   TEXT NOT NULL,
    version  TEXT NOT NULL,
    manifest TEXT NOT NULL,
    wasm     BYTEA NOT NULL,
    PRIMARY KEY (plugin, version)
);
