//! The audit trail of one engagement: its chain verified, with its checkpoint proof.

use crate::audit::verify::Problem;
use crate::audit::{checkpoint, log, verify};
use crate::read_models::{engagements, kpis, payouts, reviews};
use crate::store::events::{head_position, position_at, replay, replay_at};
use crate::store::Db;
use crate::texts::Texts;
use crate::vault::{Sealed, Vault};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::changes::{self, Cards, Happened};
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::text::Note;
use kpi_ledger_domain::ErrorKind;
use kpi_ledger_graphql::access::EngagementScope;
use kpi_ledger_graphql::ports::{
    AuditDirectory, AuditEntryView, AuditLogPage, AuditLogQuery, AuditPort, ChainProblemView,
    ChainVerificationView, ChangePoint, ChangesView, KpiNaming, KpiView, KpisAsOf, People,
    PersonView, PortError, TargetView,
};
use std::collections::HashMap;

pub struct AuditService {
    db: Db,
    vault: Vault,
    texts: Texts,
    recorder: super::Recorder,
}

/// Most events `changes` compares at once.
const MAX_CHANGE_EVENTS: usize = 20_000;

impl AuditService {
    /// The log position a point names.
    async fn position_of(
        &self,
        scope: &EngagementScope,
        point: ChangePoint,
    ) -> Result<i64, PortError> {
        let head = head_position(&self.db).await?;
        let locks = || async {
            let reviews = reviews::reviews(&self.db, scope.engagement_id()).await?;
            Ok::<_, PortError>(
                reviews
                    .into_iter()
                    .flat_map(|r| {
                        let period = r.period.clone();
                        r.locks.into_iter().map(move |l| (period.clone(), l))
                    })
                    .collect::<Vec<_>>(),
            )
        };
        Ok(match point {
            ChangePoint::Position(p) if p < 0 => {
                return Err(PortError::refused(
                    ErrorKind::Validation,
                    format!("position: {p} is not a log position (0 or more)"),
                ))
            }
            ChangePoint::Position(p) => p.min(head),
            ChangePoint::At(at) => position_at(&self.db, at).await?,
            ChangePoint::Now => head,
            ChangePoint::LockOf(period) => {
                let period = period.to_string();
                locks()
                    .await?
                    .into_iter()
                    .filter(|(p, _)| *p == period)
                    .map(|(_, l)| l)
                    .max_by_key(|l| l.version)
                    .map(|l| l.snapshot_position)
                    .ok_or_else(|| {
                        PortError::refused(
                            ErrorKind::NotFound,
                            format!("lockOf: {period} has never been locked"),
                        )
                    })?
            }
            ChangePoint::LastLock => locks()
                .await?
                .into_iter()
                .map(|(_, l)| l)
                .max_by_key(|l| l.locked_at)
                .map(|l| l.snapshot_position)
                .ok_or_else(|| {
                    PortError::refused(
                        ErrorKind::NotFound,
                        "lastLock: no period of this engagement has been locked",
                    )
                })?,
        })
    }

    pub fn new(db: Db, vault: Vault, texts: Texts, recorder: super::Recorder) -> Self {
        Self {
            db,
            vault,
            texts,
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
            self.vault.open_for(scope, &named).await?
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
                    metrics: kpi_ledger_domain::changes::kpi_metrics(
                        &k.definition.metric,
                        &catalogue,
                    ),
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
            personal_details: scope.role().member_visibility()
                == kpi_ledger_domain::access::MemberVisibility::Full,
            texts: HashMap::new(),
        })
    }

    /// The directory with the sealed notes of `entries` opened: their events' free text
    /// and the reasons recorded with them.
    async fn with_texts(
        &self,
        scope: &EngagementScope,
        mut directory: AuditDirectory,
        entries: &[AuditEntryView],
    ) -> Result<AuditDirectory, PortError> {
        let notes: Vec<Note> = entries
            .iter()
            .flat_map(|e| e.event.notes().into_iter().chain(e.reason.clone()))
            .collect();
        directory.texts =
            super::texts::opened(self.texts.open(scope.engagement_id(), &notes).await?);
        Ok(directory)
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
        let directory = self.with_texts(scope, directory, &entries).await?;
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

    async fn changes(
        &self,
        scope: &EngagementScope,
        from: ChangePoint,
        to: ChangePoint,
    ) -> Result<ChangesView, PortError> {
        self.recorder.project().await;
        let from_position = self.position_of(scope, from).await?;
        let to_position = self.position_of(scope, to).await?;
        if from_position > to_position {
            return Err(PortError::refused(
                ErrorKind::Validation,
                format!(
                    "from: position {from_position} is after to: position {to_position}; \
                     give the earlier point first"
                ),
            ));
        }
        let engagement = scope.engagement_id();
        let chain = engagement.to_string();
        let entries = log::between(
            &self.db,
            &chain,
            from_position,
            to_position,
            MAX_CHANGE_EVENTS,
        )
        .await?
        .ok_or_else(|| {
            PortError::refused(
                ErrorKind::Validation,
                format!(
                    "more than {MAX_CHANGE_EVENTS} events lie between position {from_position} \
                     and position {to_position}; compare closer points"
                ),
            )
        })?;
        let mut models = replay_at(&self.db, engagement, &[from_position, to_position]).await?;
        let after = models.pop().expect("two models");
        let before = models.pop().expect("two models");
        let happened: Vec<Happened> = entries
            .iter()
            .map(|e| Happened {
                position: e.position,
                aggregate_id: e.aggregate_id.clone(),
                event: e.event.clone(),
            })
            .collect();
        let cards = if scope.role().allows(Capability::ReadAllPersonalScorecards) {
            Cards::All
        } else {
            Cards::Team
        };
        let directory = self.directory_of(scope).await?;
        let directory = self.with_texts(scope, directory, &entries).await?;
        Ok(ChangesView {
            from_position,
            to_position,
            changes: changes::between(&before, &after, &happened, cards),
            entries,
            directory,
        })
    }

    async fn kpis_as_of(
        &self,
        scope: &EngagementScope,
        at: DateTime<Utc>,
    ) -> Result<KpisAsOf, PortError> {
        let engagement = scope.engagement_id();
        let position = position_at(&self.db, at).await?;
        let model = replay(&self.db, engagement, position).await?;
        let now = kpis::kpis(&self.db, engagement).await?;
        let mut views = Vec::new();
        let mut targets = Vec::new();
        for kpi in model.kpis() {
            // KPIs are never deleted: when it was defined is the read model's.
            let Some(current) = now.iter().find(|k| k.kpi_id == kpi.kpi_id) else {
                continue;
            };
            views.push(KpiView {
                kpi_id: kpi.kpi_id,
                definition: kpi.definition.clone(),
                retired_from: kpi.retired_from,
                defined_at: current.defined_at,
            });
            targets.extend(
                model
                    .targets_of(kpi.kpi_id)
                    .map(|(period, levels)| TargetView {
                        kpi_id: kpi.kpi_id,
                        period: period.to_string(),
                        levels,
                    }),
            );
        }
        Ok(KpisAsOf {
            position,
            kpis: views,
            targets,
        })
    }
}
