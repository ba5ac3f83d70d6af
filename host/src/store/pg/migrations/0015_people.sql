-- People's logins to the console (see store/people.rs): a login is a person
-- with an email address and a password, using one account's credits and
-- keys; sessions and single-use tokens are kept as their secrets' SHA-256;
-- known devices and addresses and the list of logins tell new ones apart.
-- Times of sessions, tokens and events are unix seconds.
CREATE TABLE people_logins (
    id                TEXT COLLATE "C" PRIMARY KEY,
    -- Trimmed and lowercased by the service, so unique case-insensitively.
    email             TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    account_id        TEXT COLLATE "C" NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('user', 'operator', 'support')),
    email_verified_at TEXT,
    created_at        TEXT NOT NULL,
    disabled          BOOLEAN NOT NULL
);

CREATE INDEX people_logins_by_account ON people_logins (account_id);

CREATE TABLE people_sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    login_id     TEXT COLLATE "C" NOT NULL REFERENCES people_logins (id) ON DELETE CASCADE,
    hash         TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT NOT NULL,
    address      TEXT NOT NULL,
    csrf_secret  TEXT NOT NULL
);

CREATE INDEX people_sessions_by_login ON people_sessions (login_id, id);

CREATE TABLE people_tokens (
    hash       TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('verify_email', 'reset_password', 'invite')),
    login_id   TEXT COLLATE "C",
    email      TEXT NOT NULL,
    role       TEXT CHECK (role IN ('user', 'operator', 'support')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE people_known (
    login_id      TEXT COLLATE "C" NOT NULL REFERENCES people_logins (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('device', 'address')),
    value         TEXT COLLATE "C" NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (login_id, kind, value)
);

CREATE TABLE people_login_events (
    id          TEXT COLLATE "C" PRIMARY KEY,
    login_id    TEXT COLLATE "C" NOT NULL REFERENCES people_logins (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    address     TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    new_device  BOOLEAN NOT NULL,
    new_address BOOLEAN NOT NULL
);

CREATE INDEX people_login_events_by_login ON people_login_events (login_id, id);
