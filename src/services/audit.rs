//! The audit trail of one engagement: its chain verified, with its checkpoint proof.

use crate::audit::verify::Problem;
use crate::audit::{checkpoint, log, verify};
use crate::read_models::{engagements, kpis, payouts, reviews};
use crate::store::Db;
use crate::vault::{Sealed, Vault};
use async_trait::async_trait;
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_graphql::access::EngagementScope;
use kpi_ledger_graphql::ports::{
    AuditDirectory, AuditLogPage, AuditLogQuery, AuditPort, ChainProblemView,
    ChainVerificationView, KpiNaming, People, PersonView, PortError,
};
use std::collections::HashMap;

pub struct AuditService {
    db: Db,
    vault: Vault,
    recorder: super::Recorder,
}

impl AuditService {
    pub fn new(db: Db, vault: Vault, recorder: super::Recorder) -> Self {
        Self {
            db,
            vault,
            recorder,
        }
    }

    async fn people_of(&self, scope: &EngagementScope) -> Result<People, PortError> {
        let members = engagements::members(&self.db, scope.engagement_id()).await?;
        let visibility = scope.role().member_visibility();
        let named: Vec<MemberId> = members
            .iter()
            .map(|m| m.member_id)
            .filter(|m| visibility.shows_name_of(scope.member_id(), *m))
            .collect();
        let mut sealed = if named.is_empty() {
            HashMap::new()
        } else {
            self.vault.open(scope.engagement_id(), &named).await?
        };
        let mut people = People::default();
        for member in members {
            let person = PersonView {
                member_id: Some(member.member_id),
                user_id: Some(member.user_id),
                name: match sealed.remove(&member.member_id) {
                    Some(Sealed::Present(p)) => Some(p.display_name),
                    _ => None,
                },
                pseudonym: PersonView::member_pseudonym(member.member_id),
                system: false,
            };
            // A user removed and added again: the newest membership names them.
            people.by_user.insert(member.user_id, person.clone());
            people.by_member.insert(member.member_id, person);
        }
        Ok(people)
    }

    async fn directory_of(&self, scope: &EngagementScope) -> Result<AuditDirectory, PortError> {
        let engagement = scope.engagement_id();
        let view = engagements::engagement(&self.db, engagement)
            .await?
            .ok_or_else(|| PortError::not_found("engagement"))?;
        let catalogue = engagements::catalogue(&self.db, engagement).await?;
        let kpis = kpis::kpis(&self.db, engagement)
            .await?
            .into_iter()
            .map(|k| {
                let metric = catalogue.iter().find(|m| m.key == k.definition.metric);
                let naming = KpiNaming {
                    name: k.definition.name.clone(),
                    unit: metric
                        .map(|m| m.unit)
                        .unwrap_or(kpi_ledger_domain::metrics::Unit::Count),
                    metric_label: metric.map(|m| m.label.clone()).unwrap_or_default(),
                    metric: k.definition.metric,
                };
                (k.kpi_id.to_string(), naming)
            })
            .collect();
        let reviews = reviews::reviews(&self.db, engagement)
            .await?
            .into_iter()
            .map(|r| (r.id.to_string(), r.period))
            .collect();
        let payouts = payouts::labels(&self.db, engagement).await?;
        Ok(AuditDirectory {
            people: self.people_of(scope).await?,
            kpis,
            reviews,
            payouts,
            currency: view.currency,
            free_text: scope.role().member_visibility()
                == kpi_ledger_domain::access::MemberVisibility::Full,
        })
    }
}

fn problem_view(problem: &Problem) -> ChainProblemView {
    let (kind, position, expected, found) = match problem {
        Problem::Altered {
            position,
            expected,
            found,
        } => (
            "altered",
            Some(*position),
            Some(expected.clone()),
            Some(found.clone()),
        ),
        Problem::Missing { position } => ("missing", Some(*position), None, None),
        Problem::Gap { position, .. } => ("gap", Some(*position), None, None),
        Problem::Unlinked { position } => ("unlinked", Some(*position), None, None),
        Problem::Truncated {
            checkpoint_position,
            checkpoint_hash,
            found_position,
            ..
        } => (
            "truncated",
            Some(*checkpoint_position),
            Some(checkpoint_hash.clone()),
            found_position.map(|p| p.to_string()),
        ),
    };
    ChainProblemView {
        kind: kind.into(),
        position,
        expected,
        found,
        message: problem.describe(),
    }
}

#[async_trait]
impl AuditPort for AuditService {
    async fn verify_chain(
        &self,
        scope: &EngagementScope,
    ) -> Result<ChainVerificationView, PortError> {
        // Link whatever the chainer has not linked yet.
        self.recorder.project().await;
        let chain = scope.engagement_id().to_string();
        let verification = verify::verify_chain(&self.db, &chain).await?;
        let proof = checkpoint::latest(&self.db)
            .await?
            .and_then(|c| c.proof(&chain))
            .map(serde_json::to_value)
            .transpose()
            .map_err(super::support::internal)?;
        Ok(ChainVerificationView {
            events: verification.events,
            head_position: verification.head_position,
            head_hash: verification.head_hash,
            problem: verification.problem.as_ref().map(problem_view),
            checkpoint_id: verification.checkpoint_id,
            proof,
        })
    }

    async fn audit_log(
        &self,
        scope: &EngagementScope,
        query: AuditLogQuery,
    ) -> Result<AuditLogPage, PortError> {
        // List what the chainer has linked, including the caller's own last change.
        self.recorder.project().await;
        let directory = self.directory_of(scope).await?;
        let view = engagements::engagement(&self.db, scope.engagement_id())
            .await?
            .ok_or_else(|| PortError::not_found("engagement"))?;
        let (entries, has_next_page) = log::page(&self.db, &view, &directory, &query).await?;
        Ok(AuditLogPage {
            entries,
            has_next_page,
            directory,
        })
    }

    async fn people(&self, scope: &EngagementScope) -> Result<People, PortError> {
        self.people_of(scope).await
    }

    async fn directory(&self, scope: &EngagementScope) -> Result<AuditDirectory, PortError> {
        self.directory_of(scope).await
    }
}
