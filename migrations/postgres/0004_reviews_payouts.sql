-- Read models of reviews (SPEC §8), incentive plans and payouts (SPEC §9).

CREATE TABLE reviews
(
    review_id         TEXT PRIMARY KEY,
    engagement_id     TEXT NOT NULL,
    period            TEXT NOT NULL,
    status            TEXT NOT NULL,
    version           BIGINT  NOT NULL,
    snapshot_position BIGINT  NOT NULL,
    opened_by         TEXT NOT NULL,
    opened_at         TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE INDEX reviews_by_engagement ON reviews (engagement_id, period);

-- One row per finding, decision or sign-off, in log order.
CREATE TABLE review_entries
(
    review_id   TEXT NOT NULL,
    position    BIGINT  NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (review_id, position)
);

-- Every lock of a period; versions stay readable after a reopen.
CREATE TABLE period_locks
(
    engagement_id     TEXT NOT NULL,
    period            TEXT NOT NULL,
    version           BIGINT  NOT NULL,
    review_id         TEXT NOT NULL,
    snapshot_position BIGINT  NOT NULL,
    locked_at         TEXT NOT NULL,
    reopened_at       TEXT,
    PRIMARY KEY (review_id, version)
);

CREATE TABLE incentive_plans
(
    plan_id       TEXT PRIMARY KEY,
    engagement_id TEXT NOT NULL,
    version       BIGINT  NOT NULL,
    terms         TEXT NOT NULL,
    approved      BIGINT  NOT NULL,
    approved_by   TEXT,
    drafted_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE INDEX incentive_plans_by_engagement ON incentive_plans (engagement_id);

CREATE TABLE payouts
(
    payout_id     TEXT PRIMARY KEY,
    engagement_id TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    period        TEXT NOT NULL,
    calculation   TEXT NOT NULL,
    replayed_to   BIGINT  NOT NULL,
    amount        TEXT NOT NULL,
    status        TEXT NOT NULL,
    approved_by   TEXT,
    paid_on       TEXT,
    calculated_at TEXT NOT NULL,
    position      BIGINT  NOT NULL
);

CREATE INDEX payouts_by_engagement ON payouts (engagement_id, period);

CREATE TABLE payout_adjustments
(
    payout_id   TEXT NOT NULL,
    position    BIGINT  NOT NULL,
    amount      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    carry_into  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (payout_id, position)
);
