-- "As of an instant" finds the last position recorded at or before it. `recorded_at`
-- never goes backwards along `position` (0001), so the newest entry of this index at or
-- before the instant is that position: one index lookup, whatever the log's size.
CREATE INDEX events_by_time ON events (recorded_at, position);
