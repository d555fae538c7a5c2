//! The audit log of one engagement: its chained events in global order, filtered by kind,
//! actor and time in SQL and by KPI and period on the decoded events, one page at a time.

use crate::on_db;
use crate::store::events::{decode_rows, EventRow, StoredEvent};
use crate::store::{Backend, Db, StoreError};
use kpi_ledger_domain::metadata::{reason_of, ACTOR, CORRELATION_ID};
use kpi_ledger_domain::narrate::AnyEvent;
use kpi_ledger_domain::period::{self, DateRange};
use kpi_ledger_graphql::ports::{AuditDirectory, AuditEntryView, AuditLogQuery, EngagementView};

/// Events read per query while a page fills.
const BATCH: i64 = 200;

/// The filters that need the decoded event.
struct Subject {
    /// The KPI, its metric and (for a ratio) its components.
    kpi: Option<(kpi_ledger_domain::ids::KpiId, Vec<String>)>,
    period: Option<(period::Period, DateRange)>,
}

/// One page of `engagement`'s log after `query.after`: up to `query.first` entries, and
/// whether more follow.
pub async fn page(
    db: &Db,
    engagement: &EngagementView,
    directory: &AuditDirectory,
    query: &AuditLogQuery,
) -> Result<(Vec<AuditEntryView>, bool), StoreError> {
    // A stranger to the engagement made no change: nothing matches.
    let actor = query.actor.map(|member| {
        directory
            .people
            .member(member)
            .user_id
            .map(|u| u.to_string())
            .unwrap_or_else(|| "nobody".into())
    });
    let subject = Subject {
        kpi: query.kpi.map(|kpi| {
            let metrics = directory
                .kpis
                .get(&kpi.to_string())
                .map(|k| k.metrics.clone())
                .unwrap_or_default();
            (kpi, metrics)
        }),
        period: match &query.period {
            Some(p) => {
                let tz = period::time_zone(&engagement.time_zone).map_err(StoreError::Corrupt)?;
                Some((p.clone(), p.days(engagement.fiscal_year_start_month, tz)))
            }
            None => None,
        },
    };
    let chain = engagement.id.to_string();
    let mut after = query.after;
    let mut entries = Vec::new();
    loop {
        let events = read(db, &chain, after, actor.as_deref(), query).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok((entries, false));
        };
        for event in events {
            let Some(entry) = entry(event, &subject, directory)? else {
                continue;
            };
            if entries.len() == query.first {
                return Ok((entries, true));
            }
            entries.push(entry);
        }
        after = last;
    }
}

/// A stored event as an audit-log entry (`None` for an aggregate this version does not
/// know).
pub fn entry_of(event: StoredEvent) -> Result<Option<AuditEntryView>, StoreError> {
    let decoded = AnyEvent::decode(
        &event.aggregate_type,
        &event.event_type,
        &event.event_version,
        &event.payload,
    )
    .map_err(|e| StoreError::Corrupt(format!("at position {}: {e}", event.position)))?;
    let Some(decoded) = decoded else {
        return Ok(None);
    };
    let meta = |key: &str| event.metadata.get(key).cloned();
    Ok(Some(AuditEntryView {
        position: event.position,
        recorded_at: event.recorded_at,
        actor: meta(ACTOR).unwrap_or_else(|| "system".into()),
        reason: reason_of(&event.metadata),
        correlation_id: meta(CORRELATION_ID),
        kind: event.event_type,
        aggregate_type: event.aggregate_type,
        aggregate_id: event.aggregate_id,
        event: decoded,
    }))
}

/// The event as an entry, if it passes the filters on its content.
fn entry(
    event: StoredEvent,
    subject: &Subject,
    directory: &AuditDirectory,
) -> Result<Option<AuditEntryView>, StoreError> {
    let Some(entry) = entry_of(event)? else {
        return Ok(None);
    };
    let decoded = &entry.event;
    if let Some((kpi, metrics)) = &subject.kpi {
        let metrics: Vec<&str> = metrics.iter().map(String::as_str).collect();
        if !decoded.concerns_kpi(&entry.aggregate_id, *kpi, &metrics) {
            return Ok(None);
        }
    }
    if let Some((period, days)) = &subject.period {
        let names = directory.names("system");
        if !decoded.concerns_period(&entry.aggregate_id, period, days, &names) {
            return Ok(None);
        }
    }
    Ok(Some(entry))
}

/// Every event of `chain` in (after, upto], as entries; refused when there are more than
/// `limit`.
pub async fn between(
    db: &Db,
    chain: &str,
    after: i64,
    upto: i64,
    limit: usize,
) -> Result<Option<Vec<AuditEntryView>>, StoreError> {
    let mut entries = Vec::new();
    let mut from = after;
    loop {
        let events = crate::store::events::chained_events(db, chain, from, upto, BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(Some(entries));
        };
        for event in events {
            if let Some(entry) = entry_of(event)? {
                entries.push(entry);
            }
        }
        if entries.len() > limit {
            return Ok(None);
        }
        from = last;
    }
}

/// Up to [`BATCH`] events of `chain` after `after` that pass the filters SQL can apply.
async fn read(
    db: &Db,
    chain: &str,
    after: i64,
    actor: Option<&str>,
    query: &AuditLogQuery,
) -> Result<Vec<StoredEvent>, StoreError> {
    let backend = db.backend();
    let mut sql = String::from(match backend {
        Backend::Sqlite => {
            "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
                    e.event_version, e.payload, e.metadata, e.recorded_at
               FROM event_chain c JOIN events e ON e.position = c.position
              WHERE c.chain = $1 AND c.position > $2"
        }
        Backend::Postgres => {
            "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
                    e.event_version, e.payload::text AS payload, e.metadata::text AS metadata,
                    to_char(e.recorded_at AT TIME ZONE 'UTC',
                            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS recorded_at
               FROM event_chain c JOIN events e ON e.position = c.position
              WHERE c.chain = $1 AND c.position > $2"
        }
    });
    let mut binds: Vec<String> = Vec::new();
    let next = |binds: &mut Vec<String>, value: String| {
        binds.push(value);
        format!("${}", binds.len() + 2)
    };
    if let Some(actor) = actor {
        let p = next(&mut binds, actor.to_string());
        sql += &match backend {
            Backend::Sqlite => format!(" AND json_extract(e.metadata, '$.actor') = {p}"),
            Backend::Postgres => format!(" AND e.metadata->>'actor' = {p}"),
        };
    }
    let instant =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for (at, op) in [(query.from, ">="), (query.to, "<")] {
        if let Some(at) = at {
            let p = next(&mut binds, instant(at));
            sql += &match backend {
                Backend::Sqlite => format!(" AND e.recorded_at {op} {p}"),
                Backend::Postgres => format!(" AND e.recorded_at {op} CAST({p} AS TIMESTAMPTZ)"),
            };
        }
    }
    if !query.kinds.is_empty() {
        let list: Vec<String> = query
            .kinds
            .iter()
            .map(|k| next(&mut binds, k.clone()))
            .collect();
        sql += &format!(" AND e.event_type IN ({})", list.join(", "));
    }
    sql += &format!(" ORDER BY c.position LIMIT {BATCH}");
    let rows: Vec<EventRow> = on_db!(db, pool => {
        let mut q = sqlx::query_as(&sql).bind(chain).bind(after);
        for value in &binds {
            q = q.bind(value);
        }
        q.fetch_all(pool).await?
    });
    decode_rows(rows)
}
