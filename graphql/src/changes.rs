//! What changed between two points of an engagement's log (SPEC §10): targets revised,
//! weights and payout curves changed, observations recorded, restated or corrected, and
//! the scores that moved, each with the events that caused it.

use crate::access::{ports, EngagementScope};
use crate::audit::AuditEntry;
use crate::error::{validation, PortResultExt};
use crate::kpi::LevelsGql;
use crate::page::Page;
use crate::plan::PayoutCurvePoint;
use crate::ports::{AuditDirectory, AuditEntryView, ChangePoint, ChangesView};
use crate::scalars::{Date, Dec, PeriodScalar};
use async_graphql::{Context, Enum, Object, OneofObject, Result};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::changes::{
    KpiChange as KpiChangeData, ObservationChange as ObservationData, ObservationChangeKind,
    PlanChange as PlanData, PlanState, ScoreMove as ScoreData, TargetRevision as TargetData,
};
use kpi_ledger_domain::ids::KpiId;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// A point of the engagement's log: exactly one of these.
#[derive(OneofObject)]
pub enum ChangePointInput {
    /// A global event position (`position` of an audit-log entry).
    Position(i64),
    /// The last event recorded at or before this instant.
    At(DateTime<Utc>),
    /// Where the newest lock of this period froze its inputs.
    LockOf(PeriodScalar),
    /// Where the engagement's newest lock froze its period's inputs (`true`).
    LastLock(bool),
}

impl ChangePointInput {
    fn point(self, name: &str, scope: &EngagementScope) -> Result<ChangePoint> {
        Ok(match self {
            ChangePointInput::Position(p) => ChangePoint::Position(p),
            ChangePointInput::At(at) => ChangePoint::At(at),
            ChangePointInput::LockOf(period) => ChangePoint::LockOf(scope.normalise(period.0)),
            ChangePointInput::LastLock(true) => ChangePoint::LastLock,
            ChangePointInput::LastLock(false) => {
                return Err(validation(format!(
                    "{name}.lastLock: give true, or another kind of point"
                )))
            }
        })
    }
}

struct Shared {
    view: ChangesView,
    directory: Arc<AuditDirectory>,
    by_position: HashMap<i64, usize>,
}

impl Shared {
    fn entries(&self, positions: &[i64]) -> Vec<AuditEntry> {
        positions
            .iter()
            .filter_map(|p| self.by_position.get(p))
            .map(|i| self.entry(&self.view.entries[*i]))
            .collect()
    }

    fn entry(&self, entry: &AuditEntryView) -> AuditEntry {
        AuditEntry::new(entry.clone(), self.directory.clone())
    }

    fn kpi_name(&self, kpi: KpiId) -> Option<String> {
        self.directory
            .kpis
            .get(&kpi.to_string())
            .map(|k| k.name.clone())
    }
}

/// What changed between two points of the engagement's log.
pub struct Changes(Arc<Shared>);

#[Object]
impl Changes {
    /// The position compared from (exclusive).
    async fn from_position(&self) -> i64 {
        self.0.view.from_position
    }
    /// The position compared to (inclusive).
    async fn to_position(&self) -> i64 {
        self.0.view.to_position
    }
    /// Targets whose levels differ, per KPI and period.
    async fn targets(&self) -> Vec<TargetRevision> {
        (self.0.view.changes.targets.iter())
            .map(|t| TargetRevision(t.clone(), self.0.clone()))
            .collect()
    }
    /// KPIs defined, reweighted or retired.
    async fn kpis(&self) -> Vec<KpiChange> {
        (self.0.view.changes.kpis.iter())
            .map(|k| KpiChange(k.clone(), self.0.clone()))
            .collect()
    }
    /// Incentive plans drafted, revised or approved: versions, curves, team weights.
    async fn plans(&self) -> Vec<PlanChange> {
        (self.0.view.changes.plans.iter())
            .map(|p| PlanChange(p.clone(), self.0.clone()))
            .collect()
    }
    /// Observations recorded, restated or corrected, in log order.
    async fn observations(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ObservationChange>> {
        let all = (self.0.view.changes.observations.iter())
            .map(|o| ObservationChange(o.clone(), self.0.clone()))
            .collect();
        crate::page::slice("change_observations", all, first, after.as_deref())
    }
    /// Score lines that moved, per period, card and KPI (a null KPI is the card's total).
    /// Members' cards are compared for the roles that read them.
    async fn scores(&self) -> Vec<ScoreMove> {
        (self.0.view.changes.scores.iter())
            .map(|s| ScoreMove(s.clone(), self.0.clone()))
            .collect()
    }
    /// The periods whose scores were compared.
    async fn periods(&self) -> Vec<String> {
        (self.0.view.changes.periods.iter())
            .map(ToString::to_string)
            .collect()
    }
    /// Every event in between, in log order.
    async fn events(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::audit::AuditLogPage> {
        let window = crate::page::window("change_events", first, after.as_deref())?;
        let entries = &self.0.view.entries;
        let mut connection = async_graphql::connection::Connection::new(
            window.offset > 0,
            window.offset + window.limit < entries.len(),
        );
        connection.edges.extend(
            entries
                .iter()
                .enumerate()
                .skip(window.offset)
                .take(window.limit)
                .map(|(i, e)| {
                    async_graphql::connection::Edge::new(
                        crate::page::cursor("change_events", i),
                        self.0.entry(e),
                    )
                }),
        );
        Ok(connection)
    }
}

/// A KPI's levels for one period, before → after.
pub struct TargetRevision(TargetData, Arc<Shared>);

#[Object]
impl TargetRevision {
    async fn kpi_id(&self) -> Uuid {
        self.0.kpi_id.as_uuid()
    }
    async fn kpi_name(&self) -> Option<String> {
        self.1.kpi_name(self.0.kpi_id)
    }
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// Null when the period had no levels yet.
    async fn before(&self) -> Option<LevelsGql> {
        self.0.before.map(Into::into)
    }
    async fn after(&self) -> Option<LevelsGql> {
        self.0.after.map(Into::into)
    }
    /// The target changes that made it, with who and why.
    async fn events(&self) -> Vec<AuditEntry> {
        self.1.entries(&self.0.events)
    }
}

/// A KPI defined, reweighted or retired.
pub struct KpiChange(KpiChangeData, Arc<Shared>);

#[Object]
impl KpiChange {
    async fn kpi_id(&self) -> Uuid {
        self.0.kpi_id.as_uuid()
    }
    async fn kpi_name(&self) -> Option<String> {
        self.1.kpi_name(self.0.kpi_id)
    }
    /// Null when the KPI was defined in between.
    async fn weight_before(&self) -> Option<Dec> {
        self.0.weight_before.map(Dec)
    }
    async fn weight_after(&self) -> Option<Dec> {
        self.0.weight_after.map(Dec)
    }
    async fn retired_from_before(&self) -> Option<Date> {
        self.0.retired_before.map(Date)
    }
    async fn retired_from_after(&self) -> Option<Date> {
        self.0.retired_after.map(Date)
    }
    async fn events(&self) -> Vec<AuditEntry> {
        self.1.entries(&self.0.events)
    }
}

/// An incentive plan's version, approval, curve and team weight, before → after.
pub struct PlanChange(PlanData, Arc<Shared>);

fn curve(state: &Option<PlanState>) -> Option<Vec<PayoutCurvePoint>> {
    state.as_ref().map(|s| {
        s.terms
            .curve
            .points
            .iter()
            .map(|p| PayoutCurvePoint {
                score: p.score.into(),
                payout_pct: p.payout_pct.into(),
            })
            .collect()
    })
}

#[Object]
impl PlanChange {
    async fn plan_id(&self) -> Uuid {
        self.0.plan_id
    }
    async fn name(&self) -> Option<&str> {
        self.0
            .after
            .as_ref()
            .or(self.0.before.as_ref())
            .map(|s| s.terms.name.as_str())
    }
    /// Null when the plan was drafted in between.
    async fn version_before(&self) -> Option<u32> {
        self.0.before.as_ref().map(|s| s.version)
    }
    async fn version_after(&self) -> Option<u32> {
        self.0.after.as_ref().map(|s| s.version)
    }
    async fn approved_before(&self) -> Option<bool> {
        self.0.before.as_ref().map(|s| s.approved)
    }
    async fn approved_after(&self) -> Option<bool> {
        self.0.after.as_ref().map(|s| s.approved)
    }
    async fn curve_before(&self) -> Option<Vec<PayoutCurvePoint>> {
        curve(&self.0.before)
    }
    async fn curve_after(&self) -> Option<Vec<PayoutCurvePoint>> {
        curve(&self.0.after)
    }
    /// True when the payout curve differs.
    async fn curve_changed(&self) -> bool {
        curve_points(&self.0.before) != curve_points(&self.0.after)
    }
    async fn team_weight_before(&self) -> Option<Dec> {
        self.0.before.as_ref().map(|s| s.terms.team_weight.into())
    }
    async fn team_weight_after(&self) -> Option<Dec> {
        self.0.after.as_ref().map(|s| s.terms.team_weight.into())
    }
    async fn events(&self) -> Vec<AuditEntry> {
        self.1.entries(&self.0.events)
    }
}

fn curve_points(state: &Option<PlanState>) -> Option<&[kpi_ledger_domain::payout::CurvePoint]> {
    state.as_ref().map(|s| s.terms.curve.points.as_slice())
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ObservationChangeKindGql {
    /// A value for bounds nobody recorded before.
    Recorded,
    /// A new delivery of bounds recorded before (a marketplace's restatement).
    Restated,
    /// A person corrected the value.
    Corrected,
}

/// One observation recorded, restated or corrected.
pub struct ObservationChange(ObservationData, Arc<Shared>);

#[Object]
impl ObservationChange {
    async fn kind(&self) -> ObservationChangeKindGql {
        match self.0.kind {
            ObservationChangeKind::Recorded => ObservationChangeKindGql::Recorded,
            ObservationChangeKind::Restated => ObservationChangeKindGql::Restated,
            ObservationChangeKind::Corrected => ObservationChangeKindGql::Corrected,
        }
    }
    async fn metric(&self) -> &str {
        &self.0.key.metric
    }
    async fn platform(&self) -> &str {
        &self.0.key.platform
    }
    async fn scope(&self) -> Option<&str> {
        self.0.key.scope.as_deref()
    }
    async fn from(&self) -> Date {
        Date(self.0.range.start)
    }
    async fn to(&self) -> Date {
        Date(self.0.range.end)
    }
    /// The value it replaced; null for a first recording.
    async fn before(&self) -> Option<Dec> {
        self.0.before.map(Dec)
    }
    async fn after(&self) -> Dec {
        self.0.after.into()
    }
    async fn position(&self) -> i64 {
        self.0.position
    }
    /// The event that recorded it.
    async fn event(&self) -> Option<AuditEntry> {
        self.1.entries(&[self.0.position]).pop()
    }
}

/// One score line of one card, before → after.
pub struct ScoreMove(ScoreData, Arc<Shared>);

#[Object]
impl ScoreMove {
    async fn period(&self) -> String {
        self.0.period.to_string()
    }
    /// The member's card; null for the team's.
    async fn member_id(&self) -> Option<Uuid> {
        self.0.member_id.map(|m| m.as_uuid())
    }
    /// The KPI; null for the card's total score.
    async fn kpi_id(&self) -> Option<Uuid> {
        self.0.kpi_id.map(|k| k.as_uuid())
    }
    async fn kpi_name(&self) -> Option<String> {
        self.0.kpi_id.and_then(|k| self.1.kpi_name(k))
    }
    async fn score_before(&self) -> Option<Dec> {
        self.0.score_before.map(Dec)
    }
    async fn score_after(&self) -> Option<Dec> {
        self.0.score_after.map(Dec)
    }
    async fn actual_before(&self) -> Option<Dec> {
        self.0.actual_before.map(Dec)
    }
    async fn actual_after(&self) -> Option<Dec> {
        self.0.actual_after.map(Dec)
    }
    /// The events in between that concern this line.
    async fn events(&self) -> Vec<AuditEntry> {
        self.1.entries(&self.0.events)
    }
}

/// What changed between `from` and `to` (default: now).
pub(crate) async fn changes(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    from: ChangePointInput,
    to: Option<ChangePointInput>,
) -> Result<Changes> {
    scope.require(Capability::ReadAuditLog)?;
    let from = from.point("from", scope)?;
    let to = match to {
        Some(to) => to.point("to", scope)?,
        None => ChangePoint::Now,
    };
    let view = ports(ctx).audit()?.changes(scope, from, to).await.gql()?;
    let by_position = view
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.position, i))
        .collect();
    Ok(Changes(Arc::new(Shared {
        directory: Arc::new(view.directory.clone()),
        view,
        by_position,
    })))
}
