-- The event log. cqrs-es (sqlite-es) inserts the first seven columns; the rest are ours.
-- `position` is the global order of all events, assigned at append (SQLite has one writer
-- at a time, so append order is commit order); `recorded_at` is the database's clock,
-- never earlier than the previous event's.
CREATE TABLE events
(
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    sequence       INTEGER NOT NULL CHECK (sequence >= 0),
    event_type     TEXT    NOT NULL,
    event_version  TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    position       INTEGER UNIQUE,
    recorded_at    TEXT,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE TRIGGER events_assign_position
    AFTER INSERT ON events
BEGIN
    UPDATE events
    SET position    = (SELECT COALESCE(MAX(position), 0) + 1 FROM events),
        recorded_at = MAX(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                          COALESCE((SELECT recorded_at FROM events
                                    WHERE position = (SELECT MAX(position) FROM events)), ''))
    WHERE rowid = NEW.rowid;
END;

-- Events are never updated or deleted (the only update allowed is the trigger above
-- filling in a new row's position).
CREATE TRIGGER events_are_never_updated
    BEFORE UPDATE ON events
    WHEN OLD.position IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;

CREATE TRIGGER events_are_never_deleted
    BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;

-- Installation secrets. The token-signing key is created here, by the first migration,
-- so every server of an installation accepts the same tokens.
CREATE TABLE installation_secrets
(
    name       TEXT PRIMARY KEY,
    secret     BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

INSERT INTO installation_secrets (name, secret, created_at)
VALUES ('jwt_hs256', randomblob(32), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- Login accounts: the personal part of a user (email, display name). Never in events;
-- erasable by deleting the row.
CREATE TABLE user_accounts
(
    user_id      TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

-- Members' personal fields, encrypted under one key per (engagement, member). Erasure
-- destroys the key.
CREATE TABLE member_keys
(
    engagement_id TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    key           BLOB NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
) STRICT;

CREATE TABLE member_personal_data
(
    engagement_id TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    nonce         BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
) STRICT;

-- Read models, kept by the projector. Each can be dropped and rebuilt from the log.
CREATE TABLE projection_checkpoints
(
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

INSERT INTO projection_checkpoints (name, position) VALUES ('read_models', 0);

CREATE TABLE users
(
    user_id       TEXT PRIMARY KEY,
    consultant    INTEGER NOT NULL,
    admin         INTEGER NOT NULL,
    registered_at TEXT    NOT NULL
) STRICT;

CREATE TABLE engagements
(
    engagement_id           TEXT PRIMARY KEY,
    name                    TEXT    NOT NULL,
    client_name             TEXT    NOT NULL,
    market                  TEXT    NOT NULL,
    time_zone               TEXT    NOT NULL,
    fiscal_year_start_month INTEGER NOT NULL,
    currency                TEXT    NOT NULL,
    platforms               TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    opened_position         INTEGER NOT NULL UNIQUE,
    opened_at               TEXT    NOT NULL,
    opened_by               TEXT    NOT NULL,
    last_position           INTEGER NOT NULL,
    updated_at              TEXT    NOT NULL
) STRICT;

CREATE TABLE engagement_members
(
    engagement_id  TEXT    NOT NULL,
    member_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    position       TEXT,
    active_from    TEXT    NOT NULL,
    active_until   TEXT,
    added_position INTEGER NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
) STRICT;

CREATE INDEX engagement_members_by_user ON engagement_members (user_id);
