-- Scorecards read the series scopes their KPIs use (mostly the store level): with the
-- scope in the index, a store-level read no longer scans every SKU's rows of the metric.
CREATE INDEX observations_by_scope ON observations (engagement_id, metric, scope, start_date);
