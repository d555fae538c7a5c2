//! Observations (SPEC §4): recording, restating and correcting values by hand.

use crate::access::{change, ports, reason_note, Change, EngagementScope};
use crate::error::{not_found, validation, PortResultExt};
use crate::ports::ObservationView;
use crate::scalars::{Date, Dec};
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::metrics::MetricDefinition;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{SeriesCommand, SeriesKey, Source};
use uuid::Uuid;

/// One observation's current value.
#[derive(SimpleObject, Clone)]
pub struct Observation {
    pub metric: String,
    pub platform: String,
    /// ASIN, SKU or campaign; null for the store level.
    pub scope: Option<String>,
    /// First day (inclusive).
    #[graphql(name = "from")]
    pub start: Date,
    /// Last day (inclusive).
    #[graphql(name = "to")]
    pub end: Date,
    pub value: Dec,
    /// `manual`, `correction`, or the import format.
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    /// Global event position of the value shown.
    pub position: i64,
}

impl From<&ObservationView> for Observation {
    fn from(v: &ObservationView) -> Self {
        Observation {
            metric: v.metric.clone(),
            platform: v.platform.clone(),
            scope: v.scope.clone(),
            start: v.range.start.into(),
            end: v.range.end.into(),
            value: v.value.into(),
            source: v.source.clone(),
            recorded_at: v.recorded_at,
            position: v.recorded_position,
        }
    }
}

/// Observations of one metric touching a date range, for callers who may read raw data.
pub async fn list(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    metric: String,
    range: DateRange,
    platform: Option<String>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<crate::page::Page<Observation>> {
    scope.require(Capability::ReadAuditLog)?;
    let window = crate::page::window("observations", first, after.as_deref())?;
    let (rows, total) = ports(ctx)
        .observations()?
        .observation_page(
            scope,
            &metric,
            range,
            platform.as_deref(),
            window.offset,
            window.limit,
        )
        .await
        .gql()?;
    Ok(crate::page::page(
        "observations",
        window,
        total,
        rows.iter().map(Observation::from).collect(),
    ))
}

#[derive(InputObject)]
pub struct RecordObservationInput {
    pub engagement_id: Uuid,
    /// A recordable metric key (ratios are recorded through their components).
    pub metric: String,
    /// One of the engagement's platforms.
    pub platform: String,
    /// ASIN, SKU or campaign; omit for the store level.
    pub scope: Option<String>,
    /// A single day; or give `from` and `to`.
    pub date: Option<Date>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub value: Dec,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct CorrectObservationInput {
    pub engagement_id: Uuid,
    pub metric: String,
    pub platform: String,
    pub scope: Option<String>,
    pub date: Option<Date>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub value: Dec,
    /// Why the recorded value was wrong; required.
    pub reason: String,
}

fn range_of(date: Option<Date>, from: Option<Date>, to: Option<Date>) -> Result<DateRange> {
    match (date, from, to) {
        (Some(day), None, None) => Ok(DateRange::day(day.0)),
        (None, Some(from), Some(to)) => {
            DateRange::new(from.0, to.0).map_err(|e| validation(format!("from/to: {e}")))
        }
        _ => Err(validation(
            "date: give either `date`, or both `from` and `to`",
        )),
    }
}

struct Resolved {
    key: SeriesKey,
    metric: MetricDefinition,
}

async fn resolve(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    engagement: &crate::ports::EngagementView,
    metric: &str,
    platform: &str,
    series_scope: Option<String>,
) -> Result<Resolved> {
    let ports = ports(ctx);
    let metric_key = metric.trim();
    let definition = ports
        .engagements()?
        .metric_catalogue(scope)
        .await
        .gql()?
        .into_iter()
        .find(|m| m.key == metric_key)
        .ok_or_else(|| {
            validation(format!(
                "metric: `{metric_key}` is not in this engagement's catalogue"
            ))
        })?;
    let platform = platform.trim();
    if !engagement.platforms.iter().any(|p| p == platform) {
        return Err(validation(format!(
            "platform: `{platform}` is not one of this engagement's platforms ({})",
            engagement.platforms.join(", ")
        )));
    }
    Ok(Resolved {
        key: SeriesKey {
            engagement_id: scope.engagement_id(),
            metric: definition.key.clone(),
            platform: platform.to_string(),
            scope: series_scope
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        },
        metric: definition,
    })
}

async fn current(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    key: &SeriesKey,
    range: DateRange,
) -> Result<Observation> {
    ports(ctx)
        .observations()?
        .observations(
            scope,
            std::slice::from_ref(&key.metric),
            range,
            Some(std::slice::from_ref(&key.scope)),
        )
        .await
        .gql()?
        .iter()
        .find(|o| o.platform == key.platform && o.scope == key.scope && o.range == range)
        .map(Observation::from)
        .ok_or_else(|| not_found("observation"))
}

#[derive(Default)]
pub struct ObservationMutation;

#[Object]
impl ObservationMutation {
    /// Records a value by hand. The same metric, platform, scope and dates again restate
    /// it (the earlier value stays in history); overlapping other bounds is refused.
    /// Consultants only.
    async fn record_observation(
        &self,
        ctx: &Context<'_>,
        input: RecordObservationInput,
    ) -> Result<Observation> {
        let Change {
            scope,
            permit,
            metadata,
            engagement,
        } = change(
            ctx,
            input.engagement_id,
            Capability::RecordObservations,
            input.reason,
        )
        .await?;
        let range = range_of(input.date, input.from, input.to)?;
        let resolved = resolve(
            ctx,
            &scope,
            &engagement,
            &input.metric,
            &input.platform,
            input.scope,
        )
        .await?;
        let command = SeriesCommand::Record {
            key: resolved.key.clone(),
            metric: resolved.metric,
            range,
            value: input.value.0,
            source: Source::Manual,
        };
        ports(ctx)
            .observations()?
            .execute_series(&permit, &resolved.key, command, &metadata)
            .await
            .gql()?;
        current(ctx, &scope, &resolved.key, range).await
    }

    /// Corrects a recorded value, with a reason. Consultants only.
    async fn correct_observation(
        &self,
        ctx: &Context<'_>,
        input: CorrectObservationInput,
    ) -> Result<Observation> {
        let Change {
            scope,
            permit,
            metadata,
            engagement,
        } = change(
            ctx,
            input.engagement_id,
            Capability::RecordObservations,
            Some(input.reason.clone()),
        )
        .await?;
        let range = range_of(input.date, input.from, input.to)?;
        let resolved = resolve(
            ctx,
            &scope,
            &engagement,
            &input.metric,
            &input.platform,
            input.scope,
        )
        .await?;
        let command = SeriesCommand::Correct {
            key: resolved.key.clone(),
            metric: resolved.metric,
            range,
            value: input.value.0,
            reason: reason_note(&metadata),
        };
        ports(ctx)
            .observations()?
            .execute_series(&permit, &resolved.key, command, &metadata)
            .await
            .gql()?;
        current(ctx, &scope, &resolved.key, range).await
    }
}
