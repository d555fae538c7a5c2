-- The web app's tables: sign-in for people, token revocations and the portfolio's
-- summaries. Secrets are kept only as SHA-256 hashes, so a copy of the database redeems
-- no link and opens no session; passwords as argon2id strings. None of this is an event:
-- it is access to the ledger, or a cache of its read models, not part of it.

-- A login account's password.
CREATE TABLE user_passwords
(
    user_id       TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- One-time links that set a password: invitations and resets, valid 72 hours.
CREATE TABLE sign_in_links
(
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    purpose    TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX sign_in_links_by_user ON sign_in_links (user_id);

-- Browser sessions: idle and absolute expiry, and the token every form must carry.
CREATE TABLE web_sessions
(
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- The language a person chose for the web app.
CREATE TABLE user_preferences
(
    user_id  TEXT PRIMARY KEY,
    language TEXT NOT NULL CHECK (language IN ('ja', 'zh', 'en'))
);

-- Bearer tokens of a user issued at or before this instant (Unix seconds) are refused:
-- `kpi-ledger token revoke --user E`. Their web sessions end with it. A disabled account
-- (`kpi-ledger user disable`) is refused whatever its tokens and sessions.
CREATE TABLE token_revocations
(
    user_id        TEXT PRIMARY KEY,
    revoked_before BIGINT NOT NULL,
    -- When an administrator disabled the account (Unix seconds); null while enabled.
    disabled_at    BIGINT
);

-- The portfolio's line per engagement and month (team score, twelve-month trend, late
-- platforms), computed from the read models and kept while the engagement's newest event
-- is still `position`: a portfolio of many engagements reads these rows instead of
-- computing their scorecards. A cache, not a projection: any row may be deleted.
CREATE TABLE engagement_summaries
(
    engagement_id TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    position      BIGINT NOT NULL,
    summary       TEXT    NOT NULL,
    PRIMARY KEY (engagement_id, period)
);
