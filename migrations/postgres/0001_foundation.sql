-- The event log. cqrs-es (postgres-es) inserts the first seven columns; the rest are ours.
-- `position` is the global order of all events and `recorded_at` the database's clock.
-- Both are assigned by the trigger below while it holds a transaction-scoped advisory
-- lock, so appends are serialised: a position is only handed out after every smaller
-- position has committed or rolled back, and a reader reading "position > checkpoint"
-- can never skip an event that becomes visible later (docs/adr/0001-global-event-order.md).
CREATE SEQUENCE event_position_seq AS BIGINT;

CREATE TABLE events
(
    aggregate_type TEXT        NOT NULL,
    aggregate_id   TEXT        NOT NULL,
    sequence       BIGINT      NOT NULL CHECK (sequence >= 0),
    event_type     TEXT        NOT NULL,
    event_version  TEXT        NOT NULL,
    payload        JSON        NOT NULL,
    metadata       JSON        NOT NULL,
    position       BIGINT      NOT NULL UNIQUE,
    recorded_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE FUNCTION events_assign_position() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    last_recorded TIMESTAMPTZ;
BEGIN
    -- 7,305,810,240 = the key of the event-append lock; held until commit or rollback.
    PERFORM pg_advisory_xact_lock(7305810240);
    NEW.position := nextval('event_position_seq');
    SELECT recorded_at INTO last_recorded FROM events ORDER BY position DESC LIMIT 1;
    NEW.recorded_at := GREATEST(clock_timestamp(), COALESCE(last_recorded, '-infinity'));
    RETURN NEW;
END
$$;

CREATE TRIGGER events_assign_position
    BEFORE INSERT ON events
    FOR EACH ROW
EXECUTE FUNCTION events_assign_position();

CREATE FUNCTION events_are_immutable() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'events are immutable';
END
$$;

CREATE TRIGGER events_are_immutable
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW
EXECUTE FUNCTION events_are_immutable();

-- Installation secrets. The token-signing key is created here, by the first migration,
-- from gen_random_uuid() (PostgreSQL's strong random source; 244 random bits).
CREATE TABLE installation_secrets
(
    name       TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    created_at TEXT  NOT NULL
);

INSERT INTO installation_secrets (name, secret, created_at)
VALUES ('jwt_hs256',
        decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'),
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

CREATE TABLE user_accounts
(
    user_id      TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE member_keys
(
    engagement_id TEXT  NOT NULL,
    member_id     TEXT  NOT NULL,
    key           BYTEA NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
);

CREATE TABLE member_personal_data
(
    engagement_id TEXT  NOT NULL,
    member_id     TEXT  NOT NULL,
    nonce         BYTEA NOT NULL,
    ciphertext    BYTEA NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
);

CREATE TABLE projection_checkpoints
(
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

INSERT INTO projection_checkpoints (name, position) VALUES ('read_models', 0);

CREATE TABLE users
(
    user_id       TEXT PRIMARY KEY,
    consultant    BIGINT NOT NULL,
    admin         BIGINT NOT NULL,
    registered_at TEXT   NOT NULL
);

CREATE TABLE engagements
(
    engagement_id           TEXT PRIMARY KEY,
    name                    TEXT   NOT NULL,
    client_name             TEXT   NOT NULL,
    market                  TEXT   NOT NULL,
    time_zone               TEXT   NOT NULL,
    fiscal_year_start_month BIGINT NOT NULL,
    currency                TEXT   NOT NULL,
    platforms               TEXT   NOT NULL,
    status                  TEXT   NOT NULL,
    opened_position         BIGINT NOT NULL UNIQUE,
    opened_at               TEXT   NOT NULL,
    opened_by               TEXT   NOT NULL,
    last_position           BIGINT NOT NULL,
    updated_at              TEXT   NOT NULL
);

CREATE TABLE engagement_members
(
    engagement_id  TEXT   NOT NULL,
    member_id      TEXT   NOT NULL,
    user_id        TEXT   NOT NULL,
    role           TEXT   NOT NULL,
    position       TEXT,
    active_from    TEXT   NOT NULL,
    active_until   TEXT,
    added_position BIGINT NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
);

CREATE INDEX engagement_members_by_user ON engagement_members (user_id);
