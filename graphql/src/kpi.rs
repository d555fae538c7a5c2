//! KPIs, their targets and target history (SPEC §6).

use crate::access::{change, ports, reason_note, Change, EngagementScope};
use crate::error::{not_found, validation, PortResultExt};
use crate::metrics::{DirectionGql, Metric};
use crate::ports::People;
use crate::ports::{KpiView, MemberView, TargetChangeView, TargetView};
use crate::scalars::{Date, Dec, PeriodScalar};
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Object, OneofObject, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::{KpiId, MemberId};
use kpi_ledger_domain::kpi::{Assignee, KpiCommand};
use kpi_ledger_domain::scoring::{Curve, Levels};
use kpi_ledger_domain::text::Note;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AssigneeKind")]
pub enum AssigneeKind {
    /// The engagement-level team scorecard.
    Team,
    /// Everyone holding a position.
    Position,
    /// One member.
    Member,
}

/// Whose scorecard a KPI is on.
#[derive(SimpleObject)]
#[graphql(name = "KpiAssignee")]
pub struct AssigneeGql {
    pub kind: AssigneeKind,
    pub position: Option<String>,
    pub member_id: Option<Uuid>,
}

impl From<&Assignee> for AssigneeGql {
    fn from(value: &Assignee) -> Self {
        match value {
            Assignee::Team => AssigneeGql {
                kind: AssigneeKind::Team,
                position: None,
                member_id: None,
            },
            Assignee::Position(p) => AssigneeGql {
                kind: AssigneeKind::Position,
                position: Some(p.clone()),
                member_id: None,
            },
            Assignee::Member(m) => AssigneeGql {
                kind: AssigneeKind::Member,
                position: None,
                member_id: Some(m.as_uuid()),
            },
        }
    }
}

/// Threshold, target and optional stretch.
#[derive(SimpleObject, Clone)]
#[graphql(name = "TargetLevels")]
pub struct LevelsGql {
    pub threshold: Dec,
    pub target: Dec,
    pub stretch: Option<Dec>,
}

impl From<Levels> for LevelsGql {
    fn from(value: Levels) -> Self {
        LevelsGql {
            threshold: value.threshold.into(),
            target: value.target.into(),
            stretch: value.stretch.map(Dec),
        }
    }
}

/// The levels of one KPI for one period.
#[derive(SimpleObject, Clone)]
pub struct Target {
    pub period: String,
    pub threshold: Dec,
    pub target: Dec,
    pub stretch: Option<Dec>,
}

impl From<&TargetView> for Target {
    fn from(value: &TargetView) -> Self {
        Target {
            period: value.period.clone(),
            threshold: value.levels.threshold.into(),
            target: value.levels.target.into(),
            stretch: value.levels.stretch.map(Dec),
        }
    }
}

/// A KPI: a metric scoped to the engagement, assigned, weighted and scored.
pub struct Kpi {
    pub view: KpiView,
    scope: EngagementScope,
    /// For a KPI as it stood at an instant: its targets then.
    targets_as_of: Option<Vec<TargetView>>,
}

impl Kpi {
    pub fn new(view: KpiView, scope: &EngagementScope) -> Self {
        Kpi {
            view,
            scope: scope.clone(),
            targets_as_of: None,
        }
    }
}

/// The KPIs the caller may see as they stood at `at`, with their targets then.
pub async fn kpis_as_of(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    at: DateTime<Utc>,
) -> Result<Vec<Kpi>> {
    let visible: Vec<KpiId> = visible_kpis(ctx, scope)
        .await?
        .into_iter()
        .map(|k| k.kpi_id)
        .collect();
    let then = ports(ctx).audit()?.kpis_as_of(scope, at).await.gql()?;
    Ok(then
        .kpis
        .into_iter()
        .filter(|k| visible.contains(&k.kpi_id))
        .map(|view| Kpi {
            targets_as_of: Some(
                then.targets
                    .iter()
                    .filter(|t| t.kpi_id == view.kpi_id)
                    .cloned()
                    .collect(),
            ),
            view,
            scope: scope.clone(),
        })
        .collect())
}

#[Object]
impl Kpi {
    async fn id(&self) -> Uuid {
        self.view.kpi_id.as_uuid()
    }
    async fn name(&self) -> &str {
        &self.view.definition.name
    }
    /// The metric key (see `engagement.metrics`).
    async fn metric(&self) -> &str {
        &self.view.definition.metric
    }
    /// The metric's catalogue entry.
    async fn metric_definition(&self, ctx: &Context<'_>) -> Result<Option<Metric>> {
        let catalogue = ports(ctx)
            .engagements()?
            .metric_catalogue(&self.scope)
            .await
            .gql()?;
        Ok(catalogue
            .iter()
            .find(|m| m.key == self.view.definition.metric)
            .map(|m| Metric::from_definition(m, false)))
    }
    /// One platform, or null for all platforms summed.
    async fn platform(&self) -> Option<&str> {
        self.view.definition.platform.as_deref()
    }
    /// An ASIN, SKU or campaign, or null for the store-level series.
    async fn scope(&self) -> Option<&str> {
        self.view.definition.scope.as_deref()
    }
    async fn assignee(&self) -> AssigneeGql {
        (&self.view.definition.assignee).into()
    }
    async fn weight(&self) -> Dec {
        self.view.definition.weight.into()
    }
    async fn direction(&self) -> DirectionGql {
        self.view.definition.direction.into()
    }
    async fn threshold_score(&self) -> Dec {
        self.view.definition.curve.threshold_score.into()
    }
    async fn stretch_score(&self) -> Dec {
        self.view.definition.curve.stretch_score.into()
    }
    /// Whether this KPI gates payouts.
    async fn gate(&self) -> bool {
        self.view.definition.gate.is_some()
    }
    async fn gate_min_score(&self) -> Option<Dec> {
        self.view.definition.gate.map(|g| g.min_score.into())
    }
    async fn retired_from(&self) -> Option<Date> {
        self.view.retired_from.map(Date)
    }
    async fn defined_at(&self) -> DateTime<Utc> {
        self.view.defined_at
    }
    /// Targets, one per period: current ones, or with `asOf` those in force then (a KPI
    /// read with `kpis(asOf:)` gives that instant's by default).
    #[graphql(
        complexity = "if as_of.is_some() { crate::REPLAY_COST + child_complexity } else { 1 + child_complexity }"
    )]
    async fn targets(
        &self,
        ctx: &Context<'_>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<Target>> {
        if let Some(at) = as_of {
            let then = ports(ctx)
                .audit()?
                .kpis_as_of(&self.scope, at)
                .await
                .gql()?;
            return Ok(then
                .targets
                .iter()
                .filter(|t| t.kpi_id == self.view.kpi_id)
                .map(Target::from)
                .collect());
        }
        if let Some(targets) = &self.targets_as_of {
            return Ok(targets.iter().map(Target::from).collect());
        }
        let targets = ports(ctx)
            .kpis()?
            .targets(&self.scope, &[self.view.kpi_id])
            .await
            .gql()?;
        Ok(targets.iter().map(Target::from).collect())
    }
}

/// One version of a KPI's targets.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TargetChange {
    pub kpi_id: Uuid,
    /// The period the levels apply to.
    pub period: String,
    /// The levels before this change; null for the period's first target.
    pub before: Option<LevelsGql>,
    pub after: LevelsGql,
    /// Why; null once the text was erased (SPEC §11).
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    /// Global event position of the change.
    pub position: i64,
    #[graphql(skip)]
    actor: String,
    /// The actor as the caller may see it (a stand-in id for client viewers).
    #[graphql(skip)]
    shown_actor: String,
    #[graphql(skip)]
    people: Arc<People>,
}

#[ComplexObject]
impl TargetChange {
    /// The user id of whoever made the change (null for system changes); for client
    /// viewers a stand-in id, stable within this engagement only.
    async fn changed_by(&self) -> Option<Uuid> {
        self.shown_actor.parse().ok()
    }
    /// Whoever made the change: a name, or a pseudonym for client viewers.
    async fn changed_by_person(&self) -> crate::audit::Person {
        crate::audit::Person(self.people.actor(&self.actor))
    }
}

impl TargetChange {
    fn new(
        value: TargetChangeView,
        people: Arc<People>,
        scope: &EngagementScope,
        texts: &std::collections::HashMap<Uuid, crate::ports::OpenedText>,
    ) -> Self {
        TargetChange {
            shown_actor: scope.shown_user_id(&value.actor),
            kpi_id: value.kpi_id.as_uuid(),
            period: value.period,
            before: value.before.map(Into::into),
            after: value.after.into(),
            reason: crate::texts::shown(texts, &value.reason),
            recorded_at: value.recorded_at,
            position: value.position,
            actor: value.actor,
            people,
        }
    }
}

/// Whether a KPI is on a given member's card: their position's KPIs and their own.
pub fn on_member_card(view: &KpiView, member: &MemberView) -> bool {
    match &view.definition.assignee {
        Assignee::Team => false,
        Assignee::Position(p) => member.position.as_deref() == Some(p.as_str()),
        Assignee::Member(m) => *m == member.member_id,
    }
}

/// The KPIs the caller may see: every KPI, except that members see only the team's and
/// those on their own card (SPEC §1).
pub async fn visible_kpis(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<KpiView>> {
    let kpis = ports(ctx).kpis()?.kpis(scope).await.gql()?;
    if scope.role() != EngagementRole::Member {
        return Ok(kpis);
    }
    let me = ports(ctx)
        .engagements()?
        .members(scope)
        .await
        .gql()?
        .into_iter()
        .find(|m| m.member_id == scope.member_id());
    Ok(kpis
        .into_iter()
        .filter(|k| {
            matches!(k.definition.assignee, Assignee::Team)
                || me.as_ref().is_some_and(|me| on_member_card(k, me))
        })
        .collect())
}

pub async fn target_history(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    kpi_id: KpiId,
) -> Result<Vec<TargetChange>> {
    if !visible_kpis(ctx, scope)
        .await?
        .iter()
        .any(|k| k.kpi_id == kpi_id)
    {
        return Err(not_found("KPI"));
    }
    let people = Arc::new(crate::audit::people(ctx, scope).await?);
    let history = ports(ctx)
        .kpis()?
        .target_history(scope, kpi_id)
        .await
        .gql()?;
    let texts = crate::texts::open(ctx, scope, history.iter().map(|c| &c.reason)).await?;
    Ok(history
        .into_iter()
        .map(|change| TargetChange::new(change, people.clone(), scope, &texts))
        .collect())
}

async fn load_kpi(ctx: &Context<'_>, scope: &EngagementScope, kpi_id: KpiId) -> Result<Kpi> {
    visible_kpis(ctx, scope)
        .await?
        .into_iter()
        .find(|k| k.kpi_id == kpi_id)
        .map(|view| Kpi::new(view, scope))
        .ok_or_else(|| not_found("KPI"))
}

/// Exactly one of: the team, a position, a member.
#[derive(OneofObject)]
pub enum AssigneeInput {
    /// `true`: the team scorecard.
    Team(bool),
    /// A position key such as `advertising`.
    Position(String),
    /// One member's id.
    MemberId(Uuid),
}

#[derive(InputObject)]
pub struct DefineKpiInput {
    pub engagement_id: Uuid,
    /// A metric key of `engagement.metrics`.
    pub metric: String,
    /// Display name; default the metric's label.
    pub name: Option<String>,
    /// One of the engagement's platforms; omit for all platforms.
    pub platform: Option<String>,
    /// ASIN, SKU or campaign; omit for the store-level series.
    pub scope: Option<String>,
    pub assignee: AssigneeInput,
    /// 0 or more; 0 for a gate-only KPI.
    pub weight: Dec,
    /// Which way is better; default the metric's (required where it has none).
    pub direction: Option<DirectionGql>,
    /// Score at the threshold; default 50.
    pub threshold_score: Option<Dec>,
    /// Score at or beyond the stretch; default 120.
    pub stretch_score: Option<Dec>,
    /// Gate every payout on this KPI's score.
    #[graphql(default = false)]
    pub gate: bool,
    /// The gate's minimum score; default the threshold score.
    pub gate_min_score: Option<Dec>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct ChangeKpiWeightInput {
    pub engagement_id: Uuid,
    pub kpi_id: Uuid,
    pub weight: Dec,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RetireKpiInput {
    pub engagement_id: Uuid,
    pub kpi_id: Uuid,
    /// The KPI leaves every scorecard of periods starting on or after this day.
    pub from: Date,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct SetTargetInput {
    pub engagement_id: Uuid,
    pub kpi_id: Uuid,
    /// One or more periods; the levels are stored per period, all or none.
    pub periods: Vec<PeriodScalar>,
    pub threshold: Dec,
    pub target: Dec,
    pub stretch: Option<Dec>,
    /// Why the target is set or changed; required.
    pub reason: String,
}

#[derive(Default)]
pub struct KpiMutation;

#[Object]
impl KpiMutation {
    /// Defines a KPI. Consultants only.
    async fn define_kpi(&self, ctx: &Context<'_>, input: DefineKpiInput) -> Result<Kpi> {
        let Change {
            scope,
            permit,
            metadata,
            ..
        } = change(
            ctx,
            input.engagement_id,
            Capability::ManageKpis,
            input.reason,
        )
        .await?;
        let ports = ports(ctx);
        let engagement = ports.engagements()?.engagement(&scope).await.gql()?;
        let metric_key = input.metric.trim().to_string();
        let metric = ports
            .engagements()?
            .metric_catalogue(&scope)
            .await
            .gql()?
            .into_iter()
            .find(|m| m.key == metric_key)
            .ok_or_else(|| {
                validation(format!(
                    "metric: `{metric_key}` is not in this engagement's catalogue (see engagement.metrics)"
                ))
            })?;
        let platform = input.platform.map(|p| p.trim().to_string());
        if let Some(platform) = &platform {
            if !engagement.platforms.contains(platform) {
                return Err(validation(format!(
                    "platform: `{platform}` is not one of this engagement's platforms ({})",
                    engagement.platforms.join(", ")
                )));
            }
        }
        let assignee = match input.assignee {
            AssigneeInput::Team(true) => Assignee::Team,
            AssigneeInput::Team(false) => {
                return Err(validation("assignee: team must be true when given"))
            }
            AssigneeInput::Position(p) => Assignee::Position(p.trim().to_string()),
            AssigneeInput::MemberId(id) => {
                let member_id = MemberId(id);
                let today = crate::access::request(ctx).today_in(scope.time_zone());
                let current = ports
                    .engagements()?
                    .members(&scope)
                    .await
                    .gql()?
                    .into_iter()
                    .any(|m| m.member_id == member_id && m.active_until.is_none_or(|u| u >= today));
                if !current {
                    return Err(validation(format!(
                        "assignee: {id} is not a current member of this engagement"
                    )));
                }
                Assignee::Member(member_id)
            }
        };
        let defaults = Curve::default();
        let curve = Curve {
            threshold_score: input
                .threshold_score
                .map_or(defaults.threshold_score, |d| d.0),
            stretch_score: input.stretch_score.map_or(defaults.stretch_score, |d| d.0),
        };
        if !input.gate && input.gate_min_score.is_some() {
            return Err(validation(
                "gateMinScore: only a gate KPI has one (set gate: true)",
            ));
        }
        let kpi_id = KpiId::new_random();
        let command = KpiCommand::Define {
            kpi_id,
            name: input.name,
            engagement_id: scope.engagement_id(),
            metric,
            platform,
            scope: input.scope,
            assignee,
            weight: input.weight.0,
            direction: input.direction.map(Into::into),
            curve,
            gate: input.gate.then_some(input.gate_min_score.map(|d| d.0)),
        };
        ports
            .kpis()?
            .execute_kpi(&permit, kpi_id, command, &metadata)
            .await
            .gql()?;
        load_kpi(ctx, &scope, kpi_id).await
    }

    /// Changes a KPI's weight. Consultants only.
    async fn change_kpi_weight(
        &self,
        ctx: &Context<'_>,
        input: ChangeKpiWeightInput,
    ) -> Result<Kpi> {
        let command = KpiCommand::ChangeWeight {
            weight: input.weight.0,
        };
        change_kpi(
            ctx,
            input.engagement_id,
            input.kpi_id,
            input.reason,
            command,
        )
        .await
    }

    /// Retires a KPI from a day on. Consultants only.
    async fn retire_kpi(&self, ctx: &Context<'_>, input: RetireKpiInput) -> Result<Kpi> {
        let command = KpiCommand::Retire { from: input.from.0 };
        change_kpi(
            ctx,
            input.engagement_id,
            input.kpi_id,
            input.reason,
            command,
        )
        .await
    }

    /// Sets or revises a KPI's levels for one or more periods, with a reason. The change
    /// and the levels it replaced enter the target history. Consultants only.
    async fn set_target(&self, ctx: &Context<'_>, input: SetTargetInput) -> Result<Kpi> {
        let command = KpiCommand::SetTarget {
            periods: input.periods.into_iter().map(|p| p.0).collect(),
            levels: Levels {
                threshold: input.threshold.0,
                target: input.target.0,
                stretch: input.stretch.map(|d| d.0),
            },
            // The sealed reason of the change, filled in by `change_kpi`.
            reason: Note::inline(""),
            locked: Vec::new(),
        };
        change_kpi(
            ctx,
            input.engagement_id,
            input.kpi_id,
            Some(input.reason),
            command,
        )
        .await
    }
}

/// Runs a command on an existing KPI the caller may manage, and returns the KPI after it.
async fn change_kpi(
    ctx: &Context<'_>,
    engagement_id: Uuid,
    kpi_id: Uuid,
    reason: Option<String>,
    mut command: KpiCommand,
) -> Result<Kpi> {
    let Change {
        scope,
        permit,
        metadata,
        ..
    } = change(ctx, engagement_id, Capability::ManageKpis, reason).await?;
    let kpi_id = KpiId(kpi_id);
    load_kpi(ctx, &scope, kpi_id).await?;
    // The decision sees the periods locked now; the append refuses it if a lock is added
    // after this reading (SPEC §6, §8).
    let mut metadata = metadata;
    if let KpiCommand::SetTarget {
        periods,
        locked,
        reason,
        ..
    } = &mut command
    {
        *reason = reason_note(&metadata);
        for period in periods.iter_mut() {
            *period = scope.normalise(period.clone());
        }
        let reading = ports(ctx).reviews()?.locked_periods(&scope).await.gql()?;
        *locked = reading
            .periods
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        metadata = metadata.decided_at(reading.as_of);
    }
    ports(ctx)
        .kpis()?
        .execute_kpi(&permit, kpi_id, command, &metadata)
        .await
        .gql()?;
    load_kpi(ctx, &scope, kpi_id).await
}
