//! Payouts: calculated from the event log replayed to a lock's snapshot (ADR 0002),
//! verified by replaying again, approved, paid, adjusted, and rendered as statements.

use super::support::{command_error, internal, owned_by, Recorder};
use crate::read_models::{engagements, payouts};
use crate::store::events::{head_position, replay, Cqrs};
use crate::store::Db;
use crate::vault::{Sealed, Vault};
use async_trait::async_trait;
use cqrs_es::AggregateError;
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::Period;
use kpi_ledger_domain::settlement::{
    calculate, payout_id, plan_payouts, what_if, Calculation, PayoutCommand, PayoutError,
    PayoutRecord, Scenario, SettlementError,
};
use kpi_ledger_domain::DomainError;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{
    PayoutPort, PayoutView, PortError, StatementFile, StatementFormat, StatementLanguage,
    VerificationView,
};

pub struct PayoutService {
    db: Db,
    cqrs: Cqrs<PayoutRecord>,
    vault: Vault,
    recorder: Recorder,
}

fn refused(error: SettlementError) -> PortError {
    PortError::refused(error.kind(), error.to_string())
}

impl PayoutService {
    pub fn new(db: Db, vault: Vault, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            vault,
            recorder,
        }
    }

    /// The engagement's log replayed to `now` and to `snapshot`, in one pass.
    async fn replay_two(
        &self,
        scope: &EngagementScope,
        now: i64,
        snapshot: i64,
    ) -> Result<
        (
            kpi_ledger_domain::replay::Model,
            kpi_ledger_domain::replay::Model,
        ),
        PortError,
    > {
        let mut models =
            crate::store::events::replay_at(&self.db, scope.engagement_id(), &[now, snapshot])
                .await?;
        let frozen = models.pop().ok_or_else(|| internal("no replay"))?;
        let state = models.pop().ok_or_else(|| internal("no replay"))?;
        Ok((state, frozen))
    }

    async fn payout(
        &self,
        scope: &EngagementScope,
        id: uuid::Uuid,
    ) -> Result<PayoutView, PortError> {
        payouts::payouts(&self.db, scope.engagement_id(), None, Some(&[id]))
            .await?
            .pop()
            .ok_or_else(|| PortError::not_found("payout"))
    }
}

#[async_trait]
impl PayoutPort for PayoutService {
    async fn calculate_payouts(
        &self,
        permit: &CommandPermit,
        period: &Period,
        plan_id: uuid::Uuid,
        metadata: &CommandMetadata,
    ) -> Result<Vec<PayoutView>, PortError> {
        let engagement_id = permit.engagement_id();
        self.recorder.project().await;
        let head = head_position(&self.db).await?;
        let state = replay(&self.db, engagement_id, head).await?;
        let review = state
            .review_for(period)
            .filter(|r| r.locked)
            .ok_or_else(|| refused(SettlementError::NotLocked(period.to_string())))?;
        let frozen = replay(&self.db, engagement_id, review.snapshot_position).await?;
        // All participants or none: the domain decides every payout before any is recorded.
        let calculations = plan_payouts(&state, &frozen, period, plan_id).map_err(refused)?;
        let mut ids = Vec::new();
        for calculation in calculations {
            let id = payout_id(engagement_id, &calculation);
            ids.push(id);
            let command = PayoutCommand::Record {
                payout_id: id,
                engagement_id,
                calculation: Box::new(calculation),
                replayed_to: head,
            };
            let metadata = metadata.clone().for_engagement(engagement_id);
            match self
                .cqrs
                .execute(&id.to_string(), command, metadata.to_map())
                .await
            {
                Ok(()) | Err(AggregateError::UserError(PayoutError::AlreadyCalculated)) => {}
                Err(error) => return Err(command_error(error)),
            }
        }
        self.recorder.project().await;
        Ok(payouts::payouts(&self.db, engagement_id, None, Some(&ids)).await?)
    }

    async fn payouts(
        &self,
        scope: &EngagementScope,
        period: Option<String>,
    ) -> Result<Vec<PayoutView>, PortError> {
        Ok(payouts::payouts(&self.db, scope.engagement_id(), period.as_deref(), None).await?)
    }

    async fn execute_payout(
        &self,
        permit: &CommandPermit,
        payout_id: uuid::Uuid,
        command: PayoutCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        owned_by(
            payouts::owner(&self.db, payout_id).await?,
            permit.engagement_id(),
            "payout",
        )?;
        self.recorder
            .record(
                &self.cqrs,
                permit,
                &payout_id.to_string(),
                command,
                metadata,
            )
            .await
    }

    async fn verify_payout(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
    ) -> Result<VerificationView, PortError> {
        let payout = self.payout(scope, payout_id).await?;
        let recorded = payout.calculation;
        // Replay the log itself — never the stored result — to the positions the payout
        // was calculated at.
        let (state, frozen) = self
            .replay_two(scope, payout.replayed_to, recorded.snapshot_position)
            .await?;
        let recomputed = calculate(
            &state,
            &frozen,
            &recorded.period,
            recorded.plan_id,
            recorded.member_id,
        );
        Ok(match recomputed {
            Ok(again) => VerificationView {
                payout_id,
                recorded_amount: recorded.figures.amount,
                recomputed_amount: Some(again.figures.amount),
                identical: again == recorded,
                replayed_to: payout.replayed_to,
                snapshot_position: recorded.snapshot_position,
                detail: (again != recorded)
                    .then(|| "the recomputed inputs differ from the recorded ones".to_string()),
            },
            Err(error) => VerificationView {
                payout_id,
                recorded_amount: recorded.figures.amount,
                recomputed_amount: None,
                identical: false,
                replayed_to: payout.replayed_to,
                snapshot_position: recorded.snapshot_position,
                detail: Some(error.to_string()),
            },
        })
    }

    async fn what_if_payouts(
        &self,
        scope: &EngagementScope,
        period: &Period,
        plan_id: uuid::Uuid,
        scenario: &Scenario,
    ) -> Result<Vec<Calculation>, PortError> {
        let engagement_id = scope.engagement_id();
        let head = head_position(&self.db).await?;
        let state = replay(&self.db, engagement_id, head).await?;
        let frozen = match state.review_for(period).filter(|r| r.locked) {
            Some(review) => replay(&self.db, engagement_id, review.snapshot_position).await?,
            None => state.clone(),
        };
        let plan = state
            .plan(plan_id)
            .ok_or_else(|| refused(SettlementError::PlanNotFound))?;
        plan.terms
            .participants
            .iter()
            .map(|p| {
                what_if(&state, &frozen, period, plan_id, p.member_id, scenario).map_err(refused)
            })
            .collect()
    }

    async fn payout_statement(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
        format: StatementFormat,
        language: StatementLanguage,
    ) -> Result<StatementFile, PortError> {
        let payout = self.payout(scope, payout_id).await?;
        let calculation = payout.calculation;
        let (state, frozen) = self
            .replay_two(scope, payout.replayed_to, calculation.snapshot_position)
            .await?;
        let review = state
            .reviews()
            .find(|r| r.review_id == calculation.review_id);
        // The decisions of the lock version the payout was calculated on.
        let decisions = review
            .map(|r| match r.lock(Some(calculation.lock_version)) {
                Some(lock) => r.decisions_of(lock).to_vec(),
                None => r.decisions.clone(),
            })
            .unwrap_or_default();
        let catalogue = frozen.catalogue();
        let lines =
            |member: Option<MemberId>| -> Result<Vec<crate::statements::StatementLine>, PortError> {
                let (card, kpis) = frozen
                    .decided_scorecard(&calculation.period, member, &decisions)
                    .map_err(internal)?;
                Ok(kpis
                    .into_iter()
                    .zip(card.kpis)
                    .map(|(kpi, result)| crate::statements::StatementLine {
                        metric: catalogue
                            .iter()
                            .find(|m| m.key == kpi.definition.metric)
                            .cloned(),
                        kpi,
                        result,
                    })
                    .collect())
            };
        let member_lines = lines(Some(calculation.member_id))?;
        let team_lines = lines(None)?;
        let engagement = engagements::engagement(&self.db, scope.engagement_id())
            .await?
            .ok_or_else(|| PortError::not_found("engagement"))?;
        // Names only for those who may see them (SPEC §1).
        let member_name = if scope.role() == EngagementRole::ClientViewer {
            None
        } else {
            match self
                .vault
                .open_for(scope, &[calculation.member_id])
                .await?
                .remove(&calculation.member_id)
            {
                Some(Sealed::Present(p)) => Some(p.display_name),
                _ => None,
            }
        };
        let data = crate::statements::StatementData {
            engagement_name: engagement.name,
            member_name,
            currency: engagement.currency,
            time_zone: kpi_ledger_domain::period::time_zone(&engagement.time_zone)
                .map_err(internal)?,
            lines: member_lines,
            team_lines,
            status: payout.status,
            approved_at: payout.approved_at,
            paid_on: payout.paid_on,
            calculation,
        };
        let (bytes, file_name, content_type) =
            crate::statements::render(&data, format, language.into()).map_err(internal)?;
        self.vault.reads().note(
            scope,
            &[data.calculation.member_id],
            crate::access_log::PAYOUT_STATEMENT,
        );
        Ok(StatementFile {
            file_name,
            content_type: content_type.to_string(),
            bytes,
        })
    }
}
