-- One pass reports every problem of a file: finding the rows that repeat an earlier
-- row's key, by line, needs this index.
CREATE INDEX import_staging_keys_by_line ON import_staging_keys (job_id, line);
