-- Tamper evidence (SPEC §10, docs/AUDIT.md). Each event is linked to the previous event of
-- its chain — its engagement's, or the installation's for users and grants — by a SHA-256
-- over its stored bytes. The chainer computes the links in global order (ADR 0004).
CREATE TABLE event_chain
(
    position          BIGINT PRIMARY KEY,
    chain             TEXT   NOT NULL,
    previous_position BIGINT,
    hash              TEXT   NOT NULL
);

-- The engagement → events index: replays read one engagement's events in order.
CREATE INDEX event_chain_by_chain ON event_chain (chain, position);

-- The chain of every aggregate, from its first event (later events of older aggregates
-- did not carry their engagement).
CREATE TABLE aggregate_chains
(
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    chain          TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TRIGGER event_chain_is_immutable
    BEFORE UPDATE OR DELETE ON event_chain
    FOR EACH ROW
EXECUTE FUNCTION events_are_immutable();

-- Signed checkpoints: every chain's head at once, under an Ed25519 signature.
CREATE TABLE audit_checkpoints
(
    checkpoint_id TEXT PRIMARY KEY,
    created_at    TEXT   NOT NULL,
    log_position  BIGINT NOT NULL,
    root          TEXT   NOT NULL,
    signature     TEXT   NOT NULL,
    public_key    TEXT   NOT NULL,
    heads         TEXT   NOT NULL
);

CREATE INDEX audit_checkpoints_by_time ON audit_checkpoints (created_at);

INSERT INTO projection_checkpoints (name, position) VALUES ('chain', 0);
