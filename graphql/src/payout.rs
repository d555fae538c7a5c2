//! Payouts: calculated from locked periods, verified by replay, approved, paid and
//! adjusted, with statements and what-ifs (SPEC §7, §9).

use crate::access::{change, engagement_scope, ports, reason_note, Change, EngagementScope};
use crate::error::{coded, not_found, validation, PortResultExt, FORBIDDEN};
use crate::plan::PayoutCurvePoint;
use crate::ports::{PayoutView, StatementFormat, StatementLanguage, VerificationView};
use crate::scalars::{Date, Dec, PeriodScalar};
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::{EngagementId, KpiId};
use kpi_ledger_domain::payout::{CurvePoint, PayoutCurve};
use kpi_ledger_domain::settlement::PayoutCommand;
use kpi_ledger_domain::text::Note;
use uuid::Uuid;

#[derive(SimpleObject)]
pub struct PayoutAdjustment {
    /// Positive for an adjustment, negative for a clawback.
    pub amount: Dec,
    /// Why; null once the text was erased (SPEC §11).
    pub reason: Option<String>,
    /// The later period it is carried into.
    pub carry_into: String,
    pub recorded_at: DateTime<Utc>,
}

/// A downloadable statement.
#[derive(SimpleObject)]
pub struct StatementDownload {
    pub file_name: String,
    pub content_type: String,
    /// The file, base64-encoded.
    pub content_base64: String,
}

/// A payout and every input that produced it.
pub struct Payout(PayoutView, EngagementScope);

#[Object]
impl Payout {
    /// The member's payout statement (KPI, target levels, actual, score, weight, weighted
    /// score, curve, proration, gate, amount) as CSV or XLSX, Japanese or English headings.
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
    async fn statement(
        &self,
        ctx: &Context<'_>,
        format: StatementFormat,
        #[graphql(default_with = "StatementLanguage::Ja")] language: StatementLanguage,
    ) -> Result<StatementDownload> {
        use base64::Engine;
        let file = ports(ctx)
            .payouts()?
            .payout_statement(&self.1, self.0.id, format, language)
            .await
            .gql()?;
        Ok(StatementDownload {
            file_name: file.file_name,
            content_type: file.content_type,
            content_base64: base64::engine::general_purpose::STANDARD.encode(file.bytes),
        })
    }

    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn member_id(&self) -> Uuid {
        self.0.calculation.member_id.as_uuid()
    }
    async fn period(&self) -> String {
        self.0.calculation.period.to_string()
    }
    /// CALCULATED, APPROVED or PAID.
    async fn status(&self) -> String {
        self.0.status.to_uppercase()
    }
    /// The amount, in whole units of the reporting currency.
    async fn amount(&self) -> Dec {
        self.0.calculation.figures.amount.into()
    }
    async fn target_bonus(&self) -> Dec {
        self.0.calculation.figures.target_bonus.into()
    }
    /// The member's scorecard score.
    async fn individual_score(&self) -> Dec {
        self.0.calculation.individual_score.into()
    }
    async fn team_score(&self) -> Option<Dec> {
        self.0.calculation.team_score.map(Dec)
    }
    async fn team_weight(&self) -> Dec {
        self.0.calculation.team_weight.into()
    }
    /// (1 − teamWeight) × individual + teamWeight × team.
    async fn score(&self) -> Dec {
        self.0.calculation.score.into()
    }
    async fn payout_pct(&self) -> Dec {
        self.0.calculation.figures.payout_pct.into()
    }
    async fn gates_passed(&self) -> bool {
        self.0.calculation.gates_passed
    }
    async fn active_days(&self) -> i64 {
        self.0.calculation.figures.active_days
    }
    async fn period_days(&self) -> i64 {
        self.0.calculation.figures.period_days
    }
    /// target_bonus × payout_pct × gate × active_days, before the one division.
    async fn numerator(&self) -> Dec {
        self.0.calculation.figures.numerator.into()
    }
    /// 100 × period_days.
    async fn denominator(&self) -> Dec {
        self.0.calculation.figures.denominator.into()
    }
    /// Rounded once, half away from zero, before the cap.
    async fn rounded(&self) -> Dec {
        self.0.calculation.figures.rounded.into()
    }
    async fn cap(&self) -> Option<Dec> {
        self.0.calculation.figures.cap.map(Dec)
    }
    async fn formula(&self) -> &str {
        &self.0.calculation.formula
    }
    async fn plan_id(&self) -> Uuid {
        self.0.calculation.plan_id
    }
    async fn plan_version(&self) -> u32 {
        self.0.calculation.plan_version
    }
    async fn review_id(&self) -> Uuid {
        self.0.calculation.review_id
    }
    /// The version of the period's lock the payout was calculated on.
    async fn lock_version(&self) -> u32 {
        self.0.calculation.lock_version
    }
    /// The event position the scoring inputs were frozen at.
    async fn snapshot_position(&self) -> i64 {
        self.0.calculation.snapshot_position
    }
    /// The event position the calculation replayed (reviews, decisions, plan).
    async fn replayed_to(&self) -> i64 {
        self.0.replayed_to
    }
    async fn calculated_at(&self) -> DateTime<Utc> {
        self.0.calculated_at
    }
    async fn paid_on(&self) -> Option<Date> {
        self.0.paid_on.map(Date)
    }
    async fn adjustments(&self, ctx: &Context<'_>) -> Result<Vec<PayoutAdjustment>> {
        let adjustments = &self.0.adjustments;
        let texts = crate::texts::open(ctx, &self.1, adjustments.iter().map(|a| &a.reason)).await?;
        Ok(adjustments
            .iter()
            .map(|a| PayoutAdjustment {
                amount: a.amount.into(),
                reason: crate::texts::shown(&texts, &a.reason),
                carry_into: a.carry_into.clone(),
                recorded_at: a.recorded_at,
            })
            .collect())
    }
}

/// The outcome of recomputing a payout from the event log.
#[derive(SimpleObject)]
pub struct PayoutVerification {
    pub payout_id: Uuid,
    pub recorded_amount: Dec,
    pub recomputed_amount: Option<Dec>,
    /// Every recomputed input and figure equals the recorded one.
    pub identical: bool,
    pub replayed_to: i64,
    pub snapshot_position: i64,
    pub detail: Option<String>,
}

impl From<VerificationView> for PayoutVerification {
    fn from(v: VerificationView) -> Self {
        PayoutVerification {
            payout_id: v.payout_id,
            recorded_amount: v.recorded_amount.into(),
            recomputed_amount: v.recomputed_amount.map(Dec),
            identical: v.identical,
            replayed_to: v.replayed_to,
            snapshot_position: v.snapshot_position,
            detail: v.detail,
        }
    }
}

/// Payouts the caller may see: all for consultants and client owners, their own for
/// members, none for client viewers.
pub async fn payouts(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    period: Option<String>,
) -> Result<Vec<Payout>> {
    let all = scope.allows(Capability::ReadAllPersonalScorecards);
    if !all && scope.role() != EngagementRole::Member {
        return Err(coded(FORBIDDEN, "your role may not read payouts"));
    }
    Ok(ports(ctx)
        .payouts()?
        .payouts(scope, period)
        .await
        .gql()?
        .into_iter()
        .filter(|p| all || p.calculation.member_id == scope.member_id())
        .map(|p| Payout(p, scope.clone()))
        .collect())
}

/// One payout the caller may read; NOT_FOUND otherwise (a member asking for another
/// member's payout learns nothing).
pub async fn payout(ctx: &Context<'_>, scope: &EngagementScope, payout_id: Uuid) -> Result<Payout> {
    let visible = payouts(ctx, scope, None).await?;
    visible
        .into_iter()
        .find(|p| p.0.id == payout_id)
        .ok_or_else(|| not_found("payout"))
}

pub async fn verify(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    payout_id: Uuid,
) -> Result<PayoutVerification> {
    let visible = payouts(ctx, scope, None).await?;
    if !visible.iter().any(|p| p.0.id == payout_id) {
        return Err(not_found("payout"));
    }
    Ok(ports(ctx)
        .payouts()?
        .verify_payout(scope, payout_id)
        .await
        .gql()?
        .into())
}

async fn load_payout(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    payout_id: Uuid,
) -> Result<Payout> {
    payouts(ctx, scope, None)
        .await?
        .into_iter()
        .find(|p| p.0.id == payout_id)
        .ok_or_else(|| not_found("payout"))
}

#[derive(InputObject)]
pub struct CalculatePayoutsInput {
    pub engagement_id: Uuid,
    pub period: PeriodScalar,
    pub plan_id: Uuid,
}

#[derive(InputObject)]
pub struct PayoutInput {
    pub engagement_id: Uuid,
    pub payout_id: Uuid,
}

#[derive(InputObject)]
pub struct MarkPayoutPaidInput {
    pub engagement_id: Uuid,
    pub payout_id: Uuid,
    pub paid_on: Date,
}

#[derive(InputObject)]
pub struct AdjustPayoutInput {
    pub engagement_id: Uuid,
    pub payout_id: Uuid,
    /// Positive adjustment or negative clawback, whole units.
    pub amount: Dec,
    pub reason: String,
    /// The later period the correction is carried into.
    pub carry_into: PeriodScalar,
}

#[derive(Default)]
pub struct PayoutMutation;

#[Object]
impl PayoutMutation {
    /// Calculates the plan's payouts for a locked period whose data is complete, from the
    /// event log replayed to the lock's snapshot. Consultants only.
    async fn calculate_payouts(
        &self,
        ctx: &Context<'_>,
        input: CalculatePayoutsInput,
    ) -> Result<Vec<Payout>> {
        let Change {
            scope,
            permit,
            metadata,
            ..
        } = change(ctx, input.engagement_id, Capability::CalculatePayouts, None).await?;
        Ok(ports(ctx)
            .payouts()?
            .calculate_payouts(
                &permit,
                &scope.normalise(input.period.0),
                input.plan_id,
                &metadata,
            )
            .await
            .gql()?
            .into_iter()
            .map(|p| Payout(p, scope.clone()))
            .collect())
    }

    /// Approves a payout. Client owners only.
    async fn approve_payout(&self, ctx: &Context<'_>, input: PayoutInput) -> Result<Payout> {
        change_payout(
            ctx,
            input.engagement_id,
            input.payout_id,
            Capability::ApprovePayouts,
            None,
            |scope, _| PayoutCommand::Approve {
                by: scope.user_id(),
            },
        )
        .await
    }

    /// Marks an approved payout paid.
    async fn mark_payout_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkPayoutPaidInput,
    ) -> Result<Payout> {
        change_payout(
            ctx,
            input.engagement_id,
            input.payout_id,
            Capability::MarkPayoutsPaid,
            None,
            |scope, _| PayoutCommand::MarkPaid {
                by: scope.user_id(),
                paid_on: input.paid_on.0,
            },
        )
        .await
    }

    /// Corrects a paid payout: an adjustment or clawback with a reason, carried into a
    /// later period. The paid payout itself is never edited. Consultants only.
    async fn adjust_payout(&self, ctx: &Context<'_>, input: AdjustPayoutInput) -> Result<Payout> {
        let reason = input.reason.clone();
        change_payout(
            ctx,
            input.engagement_id,
            input.payout_id,
            Capability::CalculatePayouts,
            Some(reason),
            |scope, reason| PayoutCommand::Adjust {
                by: scope.user_id(),
                amount: input.amount.0,
                reason,
                carry_into: scope.normalise(input.carry_into.0),
            },
        )
        .await
    }
}

/// A hypothetical payout: nothing of it is recorded.
#[derive(SimpleObject)]
pub struct WhatIfPayout {
    pub member_id: Uuid,
    pub individual_score: Dec,
    pub score: Dec,
    pub payout_pct: Dec,
    pub gates_passed: bool,
    pub active_days: i64,
    pub period_days: i64,
    pub amount: Dec,
}

#[derive(InputObject)]
pub struct WhatIfActual {
    pub kpi_id: Uuid,
    /// The actual to assume for the KPI (a ratio as a fraction).
    pub actual: Dec,
}

#[derive(Default)]
pub struct PayoutQuery;

#[Object]
impl PayoutQuery {
    /// What the plan's payouts for a period would be if some KPIs had other actuals, or
    /// the curve were another — without recording anything. On a locked period the locked
    /// inputs are used. Consultants and client owners.
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
    async fn what_if_payouts(
        &self,
        ctx: &Context<'_>,
        engagement_id: Uuid,
        period: PeriodScalar,
        plan_id: Uuid,
        #[graphql(default)] actuals: Vec<WhatIfActual>,
        curve: Option<Vec<PayoutCurvePoint>>,
    ) -> Result<Vec<WhatIfPayout>> {
        let scope = engagement_scope(ctx, EngagementId(engagement_id)).await?;
        scope.require(Capability::ReadAllPersonalScorecards)?;
        let scenario = kpi_ledger_domain::settlement::Scenario {
            actuals: actuals
                .into_iter()
                .map(|a| (KpiId(a.kpi_id), a.actual.0))
                .collect(),
            curve: curve.map(|points| PayoutCurve {
                points: points
                    .into_iter()
                    .map(|p| CurvePoint {
                        score: p.score.0,
                        payout_pct: p.payout_pct.0,
                    })
                    .collect(),
            }),
        };
        if let Some(curve) = &scenario.curve {
            curve.check().map_err(validation)?;
        }
        Ok(ports(ctx)
            .payouts()?
            .what_if_payouts(&scope, &scope.normalise(period.0), plan_id, &scenario)
            .await
            .gql()?
            .into_iter()
            .map(|c| WhatIfPayout {
                member_id: c.member_id.as_uuid(),
                individual_score: c.individual_score.into(),
                score: c.score.into(),
                payout_pct: c.figures.payout_pct.into(),
                gates_passed: c.gates_passed,
                active_days: c.figures.active_days,
                period_days: c.figures.period_days,
                amount: c.figures.amount.into(),
            })
            .collect())
    }
}

/// Runs a command on an existing payout the caller may change, and returns the payout.
async fn change_payout(
    ctx: &Context<'_>,
    engagement_id: Uuid,
    payout_id: Uuid,
    capability: Capability,
    reason: Option<String>,
    command: impl FnOnce(&EngagementScope, Note) -> PayoutCommand,
) -> Result<Payout> {
    let Change {
        scope,
        permit,
        metadata,
        ..
    } = change(ctx, engagement_id, capability, reason).await?;
    ports(ctx)
        .payouts()?
        .execute_payout(
            &permit,
            payout_id,
            command(&scope, reason_note(&metadata)),
            &metadata,
        )
        .await
        .gql()?;
    load_payout(ctx, &scope, payout_id).await
}
