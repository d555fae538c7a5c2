-- Least-privilege roles for kpi-ledger on PostgreSQL (docs/OPERATIONS.md).
--
-- Run once per database as its owner (the role `kpi-ledger migrate` connects as), after
-- `kpi-ledger migrate`, and again after each release's migrations (they may add tables):
--
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f scripts/postgres-roles.sql
--
-- The server then connects as kpi_app: it appends events and keeps the read models, but
-- it can neither change nor remove an event, nor switch off the triggers that guard the
-- log. Creating the login role itself (CREATE ROLE kpi_app LOGIN PASSWORD '…') is a
-- cluster administrator's step, outside this file.

GRANT USAGE ON SCHEMA public TO kpi_app;

-- Read models, checkpoints, imports, sign-in and the vault: read and written.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO kpi_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO kpi_app;

-- The log and its chain: appended and read, never changed or removed.
REVOKE UPDATE, DELETE, TRUNCATE ON events, event_chain FROM kpi_app;
-- Signed checkpoints: added, never changed.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM kpi_app;
-- The migrations' own bookkeeping: read only.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM kpi_app;
