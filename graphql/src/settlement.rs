//! Reviews, incentive plans and payouts (SPEC §8, §9).

use crate::access::{change, engagement_scope, ports, Change, EngagementScope};
use crate::error::{coded, not_found, validation, PortResultExt, FORBIDDEN};
use crate::ports::{
    LockView, PayoutView, PlanView, ReviewView, StatementFormat, StatementLanguage,
    VerificationView,
};
use crate::scalars::{Date, Dec, PeriodScalar};
use async_graphql::{Context, Enum, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId};
use kpi_ledger_domain::payout::{CurvePoint, PayoutCurve};
use kpi_ledger_domain::plan::{Participant, PlanCommand, PlanPeriod, PlanTerms};
use kpi_ledger_domain::review::{Decision, ReviewCommand};
use kpi_ledger_domain::settlement::PayoutCommand;
use uuid::Uuid;

/// One finding, decision or sign-off, in the order recorded.
#[derive(SimpleObject)]
pub struct ReviewEntry {
    pub position: i64,
    /// finding, decision or sign_off.
    pub kind: String,
    /// The entry as recorded (deviation and cause; the decision; who signed in which role).
    pub detail: Json<serde_json::Value>,
    /// The user id of whoever recorded it.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A review of one period.
pub struct Review(ReviewView, EngagementScope);

/// One version of a review's lock: its snapshot, its result and what arrived after it.
pub struct ReviewLock {
    lock: LockView,
    review_id: Uuid,
    period: String,
    scope: EngagementScope,
}

#[Object]
impl ReviewLock {
    /// 1 for the first lock; a re-lock after a reopen makes the next version.
    async fn version(&self) -> u32 {
        self.lock.version
    }
    /// The event position this version froze the period's scoring inputs at.
    async fn snapshot_position(&self) -> i64 {
        self.lock.snapshot_position
    }
    async fn locked_at(&self) -> DateTime<Utc> {
        self.lock.locked_at
    }
    /// When a reopen decision unlocked this version; null while it stands.
    async fn reopened_at(&self) -> Option<DateTime<Utc>> {
        self.lock.reopened_at
    }
    /// This version's result (the team's, or with `memberId` one member's): the log
    /// replayed to its snapshot, with the decisions recorded before it applied.
    async fn scorecard(
        &self,
        ctx: &Context<'_>,
        member_id: Option<Uuid>,
    ) -> Result<crate::scorecard::Scorecard> {
        crate::scorecard::load_locked(
            ctx,
            &self.scope,
            self.review_id,
            period_of(&self.period)?,
            member_id.map(MemberId),
            Some(self.lock.version),
        )
        .await
    }
    /// Observations of the period recorded after this version's snapshot.
    async fn arrived_after_lock(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::observation::Observation>> {
        arrived_after(ctx, &self.scope, &self.period, self.lock.snapshot_position).await
    }
}

/// One signature on a review since it was opened or last reopened.
#[derive(SimpleObject)]
pub struct ReviewSignature {
    /// The user id of whoever signed.
    pub signed_by: String,
    pub role: crate::engagement::RoleGql,
    pub signed_at: DateTime<Utc>,
}

fn period_of(text: &str) -> Result<kpi_ledger_domain::period::Period> {
    text.parse()
        .map_err(|e: kpi_ledger_domain::period::PeriodError| validation(e.to_string()))
}

/// Current observations of `period` recorded after `position`.
async fn arrived_after(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    period: &str,
    position: i64,
) -> Result<Vec<crate::observation::Observation>> {
    let period = period_of(period)?;
    let ports = ports(ctx);
    let engagement = ports.engagements()?.engagement(scope).await.gql()?;
    let tz: chrono_tz::Tz = engagement
        .time_zone
        .parse()
        .map_err(|_| validation("time zone"))?;
    let days = period.days(engagement.fiscal_year_start_month, tz);
    let metrics: Vec<String> = ports
        .engagements()?
        .metric_catalogue(scope)
        .await
        .gql()?
        .into_iter()
        .filter(|m| !m.aggregation.is_ratio())
        .map(|m| m.key)
        .collect();
    Ok(ports
        .observations()?
        .observations(scope, &metrics, days, None)
        .await
        .gql()?
        .iter()
        .filter(|o| o.recorded_position > position)
        .map(crate::observation::Observation::from)
        .collect())
}

impl Review {
    /// Signatures since the review was opened or last reopened, in order.
    fn signatures_since_reopen(&self) -> Vec<ReviewSignature> {
        let mut signatures = Vec::new();
        for entry in &self.0.entries {
            match entry.kind.as_str() {
                "decision" if entry.detail["kind"] == "reopen" => signatures.clear(),
                "sign_off" => {
                    let role = entry.detail["SignedOff"]["role"]
                        .as_str()
                        .and_then(|r| r.parse::<EngagementRole>().ok());
                    if let Some(role) = role {
                        signatures.push(ReviewSignature {
                            signed_by: entry.actor.clone(),
                            role: role.into(),
                            signed_at: entry.recorded_at,
                        });
                    }
                }
                _ => {}
            }
        }
        signatures
    }
}

#[Object]
impl Review {
    /// The period's result as this review froze it (the team's, or with `memberId` one
    /// member's): the log replayed to the snapshot, with the review's decisions applied.
    /// With `version`, that lock version's result (see `locks`); without, the newest.
    async fn scorecard(
        &self,
        ctx: &Context<'_>,
        member_id: Option<Uuid>,
        version: Option<u32>,
    ) -> Result<crate::scorecard::Scorecard> {
        crate::scorecard::load_locked(
            ctx,
            &self.1,
            self.0.id,
            period_of(&self.0.period)?,
            member_id.map(MemberId),
            version,
        )
        .await
    }

    /// Observations of the period recorded after the snapshot: they do not change the
    /// locked result; compare `scorecard` with the live `engagement.scorecard` for the
    /// variance they would cause. With `version`, after that lock version's snapshot.
    async fn arrived_after_lock(
        &self,
        ctx: &Context<'_>,
        version: Option<u32>,
    ) -> Result<Vec<crate::observation::Observation>> {
        let position = match version {
            None => self.0.snapshot_position,
            Some(v) => {
                self.0
                    .locks
                    .iter()
                    .find(|l| l.version == v)
                    .ok_or_else(|| not_found("lock version"))?
                    .snapshot_position
            }
        };
        arrived_after(ctx, &self.1, &self.0.period, position).await
    }

    /// Every lock of the period by this review, oldest first; each stays readable.
    async fn locks(&self) -> Vec<ReviewLock> {
        self.0
            .locks
            .iter()
            .map(|lock| ReviewLock {
                lock: lock.clone(),
                review_id: self.0.id,
                period: self.0.period.clone(),
                scope: self.1.clone(),
            })
            .collect()
    }

    /// Who has signed since the review was opened or last reopened.
    async fn signatures(&self) -> Vec<ReviewSignature> {
        self.signatures_since_reopen()
    }

    /// The roles whose signature the lock still waits for (a consultant and a client
    /// owner, two different people); empty once locked.
    async fn awaiting_sign_off_from(&self) -> Vec<crate::engagement::RoleGql> {
        if self.0.status == "locked" {
            return Vec::new();
        }
        let signed: Vec<crate::engagement::RoleGql> = self
            .signatures_since_reopen()
            .into_iter()
            .map(|s| s.role)
            .collect();
        [EngagementRole::Consultant, EngagementRole::ClientOwner]
            .into_iter()
            .map(crate::engagement::RoleGql::from)
            .filter(|role| !signed.contains(role))
            .collect()
    }

    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// OPEN or LOCKED.
    async fn status(&self) -> String {
        self.0.status.to_uppercase()
    }
    /// The version of the period's last lock (0 before the first); a re-lock after a
    /// reopen makes the next version, and earlier versions stay readable.
    async fn version(&self) -> u32 {
        self.0.version
    }
    /// The event position the period's scoring inputs are frozen at.
    async fn snapshot_position(&self) -> i64 {
        self.0.snapshot_position
    }
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    /// Findings, decisions and sign-offs, in the order recorded. Client viewers see them
    /// without member ids and free text (which may name people).
    async fn entries(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::page::Page<ReviewEntry>> {
        let redact = self.1.role() == EngagementRole::ClientViewer;
        let all = self
            .0
            .entries
            .iter()
            .map(|e| ReviewEntry {
                position: e.position,
                kind: e.kind.clone(),
                detail: Json(if redact {
                    redacted(&e.detail)
                } else {
                    e.detail.clone()
                }),
                recorded_by: e.actor.clone(),
                recorded_at: e.recorded_at,
            })
            .collect();
        crate::page::slice("review_entries", all, first, after.as_deref())
    }
}

/// A review entry without member ids or free text.
fn redacted(detail: &serde_json::Value) -> serde_json::Value {
    const PERSONAL: [&str; 8] = [
        "member_id",
        "user_id",
        "owner",
        "deviation",
        "cause",
        "description",
        "reason",
        "note",
    ];
    match detail {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(k, _)| !PERSONAL.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), redacted(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PlanPeriodKind {
    Month,
    Quarter,
    FiscalQuarter,
    FiscalYear,
}

impl From<PlanPeriodKind> for PlanPeriod {
    fn from(value: PlanPeriodKind) -> Self {
        match value {
            PlanPeriodKind::Month => PlanPeriod::Month,
            PlanPeriodKind::Quarter => PlanPeriod::Quarter,
            PlanPeriodKind::FiscalQuarter => PlanPeriod::FiscalQuarter,
            PlanPeriodKind::FiscalYear => PlanPeriod::FiscalYear,
        }
    }
}

impl From<PlanPeriod> for PlanPeriodKind {
    fn from(value: PlanPeriod) -> Self {
        match value {
            PlanPeriod::Month => PlanPeriodKind::Month,
            PlanPeriod::Quarter => PlanPeriodKind::Quarter,
            PlanPeriod::FiscalQuarter => PlanPeriodKind::FiscalQuarter,
            PlanPeriod::FiscalYear => PlanPeriodKind::FiscalYear,
        }
    }
}

#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "CurvePointInput")]
pub struct PayoutCurvePoint {
    pub score: Dec,
    pub payout_pct: Dec,
}

#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "ParticipantInput")]
pub struct PlanParticipant {
    pub member_id: Uuid,
    /// Per plan period, in whole units of the reporting currency.
    pub target_bonus: Dec,
    /// The most one payout may be.
    pub cap: Option<Dec>,
}

/// An incentive plan's current version.
pub struct IncentivePlan(PlanView);

#[Object]
impl IncentivePlan {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.terms.name
    }
    async fn version(&self) -> u32 {
        self.0.version
    }
    /// Approved by a client owner (this version).
    async fn approved(&self) -> bool {
        self.0.approved
    }
    async fn approved_by(&self) -> Option<&str> {
        self.0.approved_by.as_deref()
    }
    async fn period(&self) -> PlanPeriodKind {
        self.0.terms.period.into()
    }
    async fn team_weight(&self) -> Dec {
        self.0.terms.team_weight.into()
    }
    async fn curve(&self) -> Vec<PayoutCurvePoint> {
        self.0
            .terms
            .curve
            .points
            .iter()
            .map(|p| PayoutCurvePoint {
                score: p.score.into(),
                payout_pct: p.payout_pct.into(),
            })
            .collect()
    }
    async fn participants(&self) -> Vec<PlanParticipant> {
        self.0
            .terms
            .participants
            .iter()
            .map(|p| PlanParticipant {
                member_id: p.member_id.as_uuid(),
                target_bonus: p.target_bonus.into(),
                cap: p.cap.map(Dec),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct PayoutAdjustment {
    /// Positive for an adjustment, negative for a clawback.
    pub amount: Dec,
    pub reason: String,
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
    async fn adjustments(&self) -> Vec<PayoutAdjustment> {
        self.0
            .adjustments
            .iter()
            .map(|a| PayoutAdjustment {
                amount: a.amount.into(),
                reason: a.reason.clone(),
                carry_into: a.carry_into.clone(),
                recorded_at: a.recorded_at,
            })
            .collect()
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

pub async fn reviews(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<Review>> {
    scope.require(Capability::ReadAuditLog)?;
    Ok(ports(ctx)
        .reviews()?
        .reviews(scope)
        .await
        .gql()?
        .into_iter()
        .map(|r| Review(r, scope.clone()))
        .collect())
}

pub async fn plans(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<IncentivePlan>> {
    scope.require(Capability::ReadAllPersonalScorecards)?;
    Ok(ports(ctx)
        .plans()?
        .plans(scope)
        .await
        .gql()?
        .into_iter()
        .map(IncentivePlan)
        .collect())
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

async fn load_review(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    review_id: Uuid,
) -> Result<Review> {
    ports(ctx)
        .reviews()?
        .reviews(scope)
        .await
        .gql()?
        .into_iter()
        .find(|r| r.id == review_id)
        .map(|r| Review(r, scope.clone()))
        .ok_or_else(|| not_found("review"))
}

async fn load_plan(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    plan_id: Uuid,
) -> Result<IncentivePlan> {
    ports(ctx)
        .plans()?
        .plans(scope)
        .await
        .gql()?
        .into_iter()
        .find(|p| p.id == plan_id)
        .map(IncentivePlan)
        .ok_or_else(|| not_found("incentive plan"))
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
pub struct OpenReviewInput {
    pub engagement_id: Uuid,
    pub period: PeriodScalar,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RecordFindingInput {
    pub engagement_id: Uuid,
    pub review_id: Uuid,
    pub kpi_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    /// What deviated (e.g. "ACoS 31 % against a 25 % target").
    pub deviation: String,
    /// Why.
    pub cause: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DecisionKind {
    /// The result stands.
    Accept,
    /// A KPI without data drops out (kpiId; memberId for one member only).
    ExcuseKpi,
    /// A KPI's score is replaced (kpiId, score, reason; memberId for one member only).
    OverrideScore,
    /// A platform's incomplete data is accepted (platform, reason).
    AcceptDataGap,
    /// A future period's target is to be revised (kpiId, period, note).
    ReviseFutureTarget,
    /// An action item (owner, due, description).
    ActionItem,
    /// An action item is done (itemId).
    ActionItemDone,
    /// Unlock the locked period (reason); re-locking makes a new version.
    Reopen,
}

#[derive(InputObject)]
pub struct RecordDecisionInput {
    pub engagement_id: Uuid,
    pub review_id: Uuid,
    pub kind: DecisionKind,
    pub kpi_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub score: Option<Dec>,
    pub platform: Option<String>,
    pub period: Option<PeriodScalar>,
    pub note: Option<String>,
    pub owner: Option<String>,
    pub due: Option<Date>,
    pub description: Option<String>,
    pub item_id: Option<Uuid>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct SignOffReviewInput {
    pub engagement_id: Uuid,
    pub review_id: Uuid,
}

#[derive(InputObject)]
pub struct PlanTermsInput {
    pub name: String,
    pub period: PlanPeriodKind,
    pub participants: Vec<PlanParticipant>,
    /// Default [(60, 50), (100, 100), (120, 150)].
    pub curve: Option<Vec<PayoutCurvePoint>>,
    /// Share of the team scorecard in each member's score, 0 to 1; default 0.
    pub team_weight: Option<Dec>,
}

#[derive(InputObject)]
pub struct DraftIncentivePlanInput {
    pub engagement_id: Uuid,
    pub terms: PlanTermsInput,
}

#[derive(InputObject)]
pub struct ReviseIncentivePlanInput {
    pub engagement_id: Uuid,
    pub plan_id: Uuid,
    pub terms: PlanTermsInput,
}

#[derive(InputObject)]
pub struct ApproveIncentivePlanInput {
    pub engagement_id: Uuid,
    pub plan_id: Uuid,
    /// The version approved (guards against approving terms you have not seen).
    pub version: u32,
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

fn needed<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| validation(format!("{field}: required for this kind of decision")))
}

fn terms(input: PlanTermsInput) -> PlanTerms {
    PlanTerms {
        name: input.name.trim().to_string(),
        period: input.period.into(),
        participants: input
            .participants
            .into_iter()
            .map(|p| Participant {
                member_id: MemberId(p.member_id),
                target_bonus: p.target_bonus.0,
                cap: p.cap.map(|c| c.0),
            })
            .collect(),
        curve: input
            .curve
            .map(|points| PayoutCurve {
                points: points
                    .into_iter()
                    .map(|p| CurvePoint {
                        score: p.score.0,
                        payout_pct: p.payout_pct.0,
                    })
                    .collect(),
            })
            .unwrap_or_default(),
        team_weight: input
            .team_weight
            .map_or(rust_decimal::Decimal::ZERO, |w| w.0),
    }
}

/// Participants must be members of the engagement.
async fn check_participants(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    terms: &PlanTerms,
) -> Result<()> {
    let members = ports(ctx).engagements()?.members(scope).await.gql()?;
    for p in &terms.participants {
        if !members.iter().any(|m| m.member_id == p.member_id) {
            return Err(validation(format!(
                "participants: {} is not a member of this engagement",
                p.member_id
            )));
        }
    }
    Ok(())
}

#[derive(Default)]
pub struct SettlementMutation;

#[Object]
impl SettlementMutation {
    /// Opens a review of one period; its scorecards are frozen at the current event
    /// position. Consultants only.
    async fn open_review(&self, ctx: &Context<'_>, input: OpenReviewInput) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(
            ctx,
            input.engagement_id,
            Capability::RunReviews,
            input.reason,
        )
        .await?;
        // One review per period: a locked period is changed by reopening its review.
        let period = scope.normalise(input.period.0);
        let period_key = period.to_string();
        if let Some(existing) = ports(ctx)
            .reviews()?
            .reviews(&scope)
            .await
            .gql()?
            .into_iter()
            .find(|r| r.period == period_key)
        {
            return Err(coded(
                "CONFLICT",
                format!(
                    "{period_key} already has review {} ({}); record decisions there, or a reopen decision if it is locked",
                    existing.id, existing.status
                ),
            ));
        }
        let review_id = Uuid::new_v4();
        let snapshot_position = ports(ctx).reviews()?.head_position().await.gql()?;
        let command = ReviewCommand::Open {
            review_id,
            engagement_id: scope.engagement_id(),
            period,
            snapshot_position,
        };
        ports(ctx)
            .reviews()?
            .execute_review(&permit, review_id, command, &metadata)
            .await
            .gql()?;
        load_review(ctx, &scope, review_id).await
    }

    /// Records a finding (deviation and cause). Consultants only.
    async fn record_finding(&self, ctx: &Context<'_>, input: RecordFindingInput) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(ctx, input.engagement_id, Capability::RunReviews, None).await?;
        let command = ReviewCommand::RecordFinding {
            kpi_id: input.kpi_id.map(KpiId),
            member_id: input.member_id.map(MemberId),
            deviation: input.deviation,
            cause: input.cause,
        };
        ports(ctx)
            .reviews()?
            .execute_review(&permit, input.review_id, command, &metadata)
            .await
            .gql()?;
        load_review(ctx, &scope, input.review_id).await
    }

    /// Records a decision. Consultants only.
    async fn record_decision(
        &self,
        ctx: &Context<'_>,
        input: RecordDecisionInput,
    ) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(
            ctx,
            input.engagement_id,
            Capability::RunReviews,
            input.reason.clone(),
        )
        .await?;
        let reason = || needed(input.reason.clone(), "reason");
        let decision = match input.kind {
            DecisionKind::Accept => Decision::Accept,
            DecisionKind::ExcuseKpi => Decision::ExcuseKpi {
                kpi_id: KpiId(needed(input.kpi_id, "kpiId")?),
                member_id: input.member_id.map(MemberId),
                reason: reason()?,
            },
            DecisionKind::OverrideScore => Decision::OverrideScore {
                kpi_id: KpiId(needed(input.kpi_id, "kpiId")?),
                member_id: input.member_id.map(MemberId),
                score: needed(input.score, "score")?.0,
                reason: reason()?,
            },
            DecisionKind::AcceptDataGap => Decision::AcceptDataGap {
                platform: needed(input.platform.clone(), "platform")?,
                reason: reason()?,
            },
            DecisionKind::ReviseFutureTarget => Decision::ReviseFutureTarget {
                kpi_id: KpiId(needed(input.kpi_id, "kpiId")?),
                period: scope.normalise(needed(input.period.clone(), "period")?.0),
                note: needed(input.note.clone(), "note")?,
            },
            DecisionKind::ActionItem => Decision::ActionItem {
                item_id: Uuid::new_v4(),
                owner: needed(input.owner.clone(), "owner")?,
                due: needed(input.due, "due")?.0,
                description: needed(input.description.clone(), "description")?,
            },
            DecisionKind::ActionItemDone => Decision::ActionItemDone {
                item_id: needed(input.item_id, "itemId")?,
            },
            DecisionKind::Reopen => Decision::Reopen { reason: reason()? },
        };
        let snapshot_position = ports(ctx).reviews()?.head_position().await.gql()?;
        ports(ctx)
            .reviews()?
            .execute_review(
                &permit,
                input.review_id,
                ReviewCommand::RecordDecision {
                    decision,
                    snapshot_position,
                },
                &metadata,
            )
            .await
            .gql()?;
        load_review(ctx, &scope, input.review_id).await
    }

    /// Signs off a review. When a consultant and a client owner — two different people —
    /// have signed, the period is locked.
    async fn sign_off_review(
        &self,
        ctx: &Context<'_>,
        input: SignOffReviewInput,
    ) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(ctx, input.engagement_id, Capability::SignOffReviews, None).await?;
        let command = ReviewCommand::SignOff {
            user_id: scope.user_id(),
            role: scope.role(),
            position: ports(ctx).reviews()?.head_position().await.gql()?,
        };
        ports(ctx)
            .reviews()?
            .execute_review(&permit, input.review_id, command, &metadata)
            .await
            .gql()?;
        load_review(ctx, &scope, input.review_id).await
    }

    /// Drafts an incentive plan. Consultants only; a client owner approves it.
    async fn draft_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: DraftIncentivePlanInput,
    ) -> Result<IncentivePlan> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(ctx, input.engagement_id, Capability::ManagePlans, None).await?;
        let terms = terms(input.terms);
        check_participants(ctx, &scope, &terms).await?;
        let plan_id = Uuid::new_v4();
        let command = PlanCommand::Draft {
            plan_id,
            engagement_id: scope.engagement_id(),
            terms,
        };
        ports(ctx)
            .plans()?
            .execute_plan(&permit, plan_id, command, &metadata)
            .await
            .gql()?;
        load_plan(ctx, &scope, plan_id).await
    }

    /// Changes a plan: a new version, which needs approval again. Consultants only.
    async fn revise_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: ReviseIncentivePlanInput,
    ) -> Result<IncentivePlan> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(ctx, input.engagement_id, Capability::ManagePlans, None).await?;
        let terms = terms(input.terms);
        check_participants(ctx, &scope, &terms).await?;
        ports(ctx)
            .plans()?
            .execute_plan(
                &permit,
                input.plan_id,
                PlanCommand::Revise { terms },
                &metadata,
            )
            .await
            .gql()?;
        load_plan(ctx, &scope, input.plan_id).await
    }

    /// Approves a plan version. Client owners only.
    async fn approve_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: ApproveIncentivePlanInput,
    ) -> Result<IncentivePlan> {
        let Change {
            scope,
            permit,
            metadata,
        } = change(ctx, input.engagement_id, Capability::ApprovePlans, None).await?;
        let command = PlanCommand::Approve {
            version: input.version,
            by: scope.user_id(),
        };
        ports(ctx)
            .plans()?
            .execute_plan(&permit, input.plan_id, command, &metadata)
            .await
            .gql()?;
        load_plan(ctx, &scope, input.plan_id).await
    }

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
            |scope| PayoutCommand::Approve {
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
            |scope| PayoutCommand::MarkPaid {
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
            |scope| PayoutCommand::Adjust {
                by: scope.user_id(),
                amount: input.amount.0,
                reason: input.reason,
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
pub struct SettlementQuery;

#[Object]
impl SettlementQuery {
    /// What the plan's payouts for a period would be if some KPIs had other actuals, or
    /// the curve were another — without recording anything. On a locked period the locked
    /// inputs are used. Consultants and client owners.
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
    command: impl FnOnce(&EngagementScope) -> PayoutCommand,
) -> Result<Payout> {
    let Change {
        scope,
        permit,
        metadata,
    } = change(ctx, engagement_id, capability, reason).await?;
    ports(ctx)
        .payouts()?
        .execute_payout(&permit, payout_id, command(&scope), &metadata)
        .await
        .gql()?;
    load_payout(ctx, &scope, payout_id).await
}
