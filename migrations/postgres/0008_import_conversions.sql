-- An import may state the exchange rate for money in another currency (SPEC §5); the
-- rate, its date and source are recorded with the import and shown with its job.
ALTER TABLE imports ADD COLUMN conversion TEXT;
ALTER TABLE import_jobs ADD COLUMN conversion TEXT;
