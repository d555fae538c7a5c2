-- Imports (SPEC §5). `imports` is a read model of the import events; `import_dedup`
-- is written in the same transaction as an import's events and makes the same bytes
-- for the same engagement, format, platform and range import once. `import_jobs` is the
-- operational status of running imports; `import_staging*` hold a file's rows while
-- they are checked, and are emptied when the import commits or is refused.

CREATE TABLE imports
(
    import_id             TEXT PRIMARY KEY,
    engagement_id         TEXT NOT NULL,
    format                TEXT NOT NULL,
    platform              TEXT,
    range_start           TEXT,
    range_end             TEXT,
    file_name             TEXT,
    sha256                TEXT NOT NULL,
    bytes                 INTEGER  NOT NULL,
    status                TEXT NOT NULL,
    rows_read             INTEGER,
    observations_recorded INTEGER,
    observations_restated INTEGER,
    series                INTEGER,
    watermarks            TEXT,
    actor                 TEXT NOT NULL,
    started_position      INTEGER  NOT NULL,
    recorded_at           TEXT NOT NULL
) STRICT;

CREATE INDEX imports_by_engagement ON imports (engagement_id, started_position);

CREATE TABLE import_dedup
(
    dedup_key TEXT PRIMARY KEY,
    import_id TEXT NOT NULL
) STRICT;

CREATE TABLE import_jobs
(
    job_id        TEXT PRIMARY KEY,
    engagement_id TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    format        TEXT NOT NULL,
    platform      TEXT,
    range_start   TEXT,
    range_end     TEXT,
    file_name     TEXT,
    status        TEXT NOT NULL,
    bytes_total   INTEGER  NOT NULL,
    bytes_read    INTEGER  NOT NULL,
    rows_read     INTEGER  NOT NULL,
    rows_invalid  INTEGER  NOT NULL,
    message       TEXT,
    errors        TEXT,
    import_id     TEXT,
    result        TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE INDEX import_jobs_by_engagement ON import_jobs (engagement_id, created_at);

CREATE TABLE import_staging_keys
(
    job_id  TEXT NOT NULL,
    row_key TEXT NOT NULL,
    line    INTEGER  NOT NULL
) STRICT;

CREATE INDEX import_staging_keys_by_key ON import_staging_keys (job_id, row_key);

CREATE TABLE import_staging
(
    job_id     TEXT NOT NULL,
    seq        INTEGER  NOT NULL,
    line       INTEGER  NOT NULL,
    series_id  TEXT NOT NULL,
    metric     TEXT NOT NULL,
    platform   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) STRICT;

CREATE INDEX import_staging_by_series ON import_staging (job_id, series_id, start_date, end_date);
