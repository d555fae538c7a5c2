//! Incentive plans: drafted by a consultant, approved by a client owner (SPEC §9).

use crate::access::{change, ports, Change, EngagementScope};
use crate::error::{not_found, validation, PortResultExt};
use crate::ports::PlanView;
use crate::scalars::Dec;
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::payout::{CurvePoint, PayoutCurve};
use kpi_ledger_domain::plan::{Participant, PlanCommand, PlanPeriod, PlanTerms};
use uuid::Uuid;

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
pub struct IncentivePlan(PlanView, EngagementScope);

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
    /// The user id of the client owner who approved this version; for client viewers a
    /// stand-in id, stable within this engagement only.
    async fn approved_by(&self) -> Option<String> {
        self.0
            .approved_by
            .as_deref()
            .map(|actor| self.1.shown_user_id(actor))
    }
    /// The client owner who approved this version (a name, or a pseudonym for client
    /// viewers).
    async fn approved_by_person(&self, ctx: &Context<'_>) -> Result<Option<crate::audit::Person>> {
        match &self.0.approved_by {
            Some(actor) => Ok(Some(crate::audit::person(ctx, &self.1, actor).await?)),
            None => Ok(None),
        }
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

pub async fn plans(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<IncentivePlan>> {
    scope.require(Capability::ReadAllPersonalScorecards)?;
    Ok(ports(ctx)
        .plans()?
        .plans(scope)
        .await
        .gql()?
        .into_iter()
        .map(|p| IncentivePlan(p, scope.clone()))
        .collect())
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
        .map(|p| IncentivePlan(p, scope.clone()))
        .ok_or_else(|| not_found("incentive plan"))
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
pub struct PlanMutation;

#[Object]
impl PlanMutation {
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
            ..
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
            ..
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
            ..
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
}
