-- Single bearer tokens revoked before they expire (`kpi-ledger token revoke --token-id`).
-- Servers hold the ids of unexpired ones in memory, refreshed every second, so checking a
-- token reads no table. A row may be deleted once `expires_at` (Unix seconds) has passed.
CREATE TABLE revoked_tokens
(
    token_id   TEXT PRIMARY KEY,
    user_id    TEXT,
    expires_at INTEGER NOT NULL,
    revoked_at TEXT    NOT NULL
) STRICT;
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
