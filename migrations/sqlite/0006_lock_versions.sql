-- A re-locked review reports the snapshot of its newest lock (the projector now keeps
-- `reviews.snapshot_position` in step with `period_locks`); fix rows projected before.
UPDATE reviews
SET snapshot_position = (SELECT l.snapshot_position
                         FROM period_locks l
                         WHERE l.review_id = reviews.review_id
                           AND l.version = reviews.version)
WHERE status = 'locked';

-- When a payout was approved, for statements.
ALTER TABLE payouts ADD COLUMN approved_at TEXT;

UPDATE payouts
SET approved_at = (SELECT MAX(e.recorded_at)
                   FROM events e
                   WHERE e.aggregate_type = 'payout'
                     AND e.aggregate_id = payouts.payout_id
                     AND e.event_type = 'PayoutApproved')
WHERE approved_by IS NOT NULL;
