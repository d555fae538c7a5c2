-- Free text that may name people (reasons, review findings and decisions, action items,
-- payout adjustments), sealed (SPEC §11): events hold the text's id and a keyed digest;
-- the text lives here, encrypted under its own key, which is wrapped by the key file.
-- Erasing a text deletes its key, nonce and ciphertext; the row stays to say when.
CREATE TABLE sealed_texts
(
    text_id       TEXT PRIMARY KEY,
    engagement_id TEXT NOT NULL,
    nonce         BYTEA,
    ciphertext    BYTEA,
    key           BYTEA,
    erased_at     TEXT
);

CREATE INDEX sealed_texts_by_engagement ON sealed_texts (engagement_id);

-- The read models keep free text as notes (JSON) from now on; rows written before hold
-- the bare text, which is an inline note.
UPDATE target_history SET reason = json_build_object('inline', reason)::text;
UPDATE payout_adjustments SET reason = json_build_object('inline', reason)::text;
