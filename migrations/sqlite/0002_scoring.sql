-- Read models of the scoring core: custom metrics, KPIs, targets and their history,
-- observations (current value per series and bounds) and freshness watermarks.

CREATE TABLE engagement_metrics
(
    engagement_id    TEXT NOT NULL,
    metric_key       TEXT NOT NULL,
    definition       TEXT NOT NULL,
    defined_position INTEGER  NOT NULL,
    PRIMARY KEY (engagement_id, metric_key)
) STRICT;

-- definition: the KpiDefinition as defined (JSON); weight and retired_from are current.
CREATE TABLE kpis
(
    kpi_id           TEXT PRIMARY KEY,
    engagement_id    TEXT NOT NULL,
    definition       TEXT NOT NULL,
    weight           TEXT NOT NULL,
    retired_from     TEXT,
    defined_position INTEGER  NOT NULL,
    defined_at       TEXT NOT NULL
) STRICT;

CREATE INDEX kpis_by_engagement ON kpis (engagement_id, defined_position);

CREATE TABLE kpi_targets
(
    kpi_id       TEXT NOT NULL,
    period       TEXT NOT NULL,
    levels       TEXT NOT NULL,
    set_position INTEGER  NOT NULL,
    PRIMARY KEY (kpi_id, period)
) STRICT;

CREATE TABLE target_history
(
    kpi_id      TEXT NOT NULL,
    position    INTEGER  NOT NULL,
    period      TEXT NOT NULL,
    before      TEXT,
    after       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (kpi_id, position)
) STRICT;

-- scope is '' for the store-level series.
CREATE TABLE observations
(
    series_id         TEXT NOT NULL,
    engagement_id     TEXT NOT NULL,
    metric            TEXT NOT NULL,
    platform          TEXT NOT NULL,
    scope             TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    end_date          TEXT NOT NULL,
    value             TEXT NOT NULL,
    source            TEXT NOT NULL,
    recorded_position INTEGER  NOT NULL,
    recorded_at       TEXT NOT NULL,
    PRIMARY KEY (series_id, start_date, end_date)
) STRICT;

CREATE INDEX observations_by_metric ON observations (engagement_id, metric, start_date);

-- "complete through": the latest day each source has delivered for a platform.
CREATE TABLE source_watermarks
(
    engagement_id TEXT NOT NULL,
    platform      TEXT NOT NULL,
    source        TEXT NOT NULL,
    through       TEXT NOT NULL,
    PRIMARY KEY (engagement_id, platform, source)
) STRICT;
