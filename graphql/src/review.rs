//! Reviews of a period: findings, decisions, dual sign-off and the locks they make
//! (SPEC §8).

use crate::access::{change, ports, Change, EngagementScope};
use crate::error::{not_found, validation, PortResultExt};
use crate::ports::AuditDirectory;
use crate::ports::{LockView, ReviewView};
use crate::scalars::LanguageGql;
use crate::scalars::{Date, Dec, PeriodScalar};
use crate::texts::seal;
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Json, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::{KpiId, MemberId};
use kpi_ledger_domain::narrate::{self, AnyEvent};
use kpi_ledger_domain::review::ReviewEvent;
use kpi_ledger_domain::review::{Decision, ReviewCommand, TEXT_FIELDS};
use kpi_ledger_domain::text::{self, Note};
use std::sync::Arc;
use uuid::Uuid;

/// One finding, decision or sign-off, in the order recorded.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ReviewEntry {
    pub position: i64,
    /// finding, decision or sign_off.
    pub kind: String,
    /// The entry as recorded, for programs (deviation and cause; the decision; who signed
    /// in which role); people read `sentence`.
    pub detail: Json<serde_json::Value>,
    /// The user id of whoever recorded it; for client viewers a stand-in id, stable
    /// within this engagement only.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// The actor as recorded, for the names.
    #[graphql(skip)]
    actor: String,
    #[graphql(skip)]
    event: Option<ReviewEvent>,
    #[graphql(skip)]
    review_id: String,
    #[graphql(skip)]
    directory: Arc<AuditDirectory>,
}

#[ComplexObject]
impl ReviewEntry {
    /// The entry as a sentence ("Wang Fang excused ACoS for 2026-06: “…”"); free text
    /// that may name people is left out for client viewers.
    async fn sentence(
        &self,
        #[graphql(default_with = "LanguageGql::En")] language: LanguageGql,
    ) -> String {
        match &self.event {
            Some(event) => narrate::sentence(
                &AnyEvent::Review(event.clone()),
                &self.review_id,
                None,
                &self.directory.names(&self.actor),
                language.into(),
            ),
            None => String::new(),
        }
    }
    /// Whoever recorded it: a name, or a pseudonym for client viewers.
    async fn recorded_by_person(&self) -> crate::audit::Person {
        crate::audit::Person(self.directory.people.actor(&self.actor))
    }
}

/// The review event a review entry was projected from.
fn entry_event(kind: &str, detail: &serde_json::Value) -> Option<ReviewEvent> {
    match kind {
        "decision" => serde_json::from_value(detail.clone())
            .ok()
            .map(|decision| ReviewEvent::DecisionRecorded { decision }),
        _ => serde_json::from_value(detail.clone()).ok(),
    }
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
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
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
#[graphql(complex)]
pub struct ReviewSignature {
    /// The user id of whoever signed; for client viewers a stand-in id, stable within
    /// this engagement only.
    pub signed_by: String,
    pub role: crate::engagement::RoleGql,
    pub signed_at: DateTime<Utc>,
    #[graphql(skip)]
    actor: String,
    #[graphql(skip)]
    scope: EngagementScope,
}

#[ComplexObject]
impl ReviewSignature {
    /// Whoever signed: a name, or a pseudonym for client viewers.
    async fn signed_by_person(&self, ctx: &Context<'_>) -> Result<crate::audit::Person> {
        crate::audit::person(ctx, &self.scope, &self.actor).await
    }
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
    let days = kpi_ledger_domain::period::calendar_days(
        &period,
        engagement.fiscal_year_start_month,
        &engagement.time_zone,
    )
    .map_err(validation)?;
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
                            signed_by: self.1.shown_user_id(&entry.actor),
                            actor: entry.actor.clone(),
                            role: role.into(),
                            signed_at: entry.recorded_at,
                            scope: self.1.clone(),
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
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
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
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::page::Page<ReviewEntry>> {
        let redact = self.1.role() == EngagementRole::ClientViewer;
        let mut directory = ports(ctx).audit()?.directory(&self.1).await.gql()?;
        // Entries recorded before free text was sealed hold plain strings: as notes.
        let details: Vec<serde_json::Value> = self
            .0
            .entries
            .iter()
            .map(|e| text::inline_fields(e.detail.clone(), &TEXT_FIELDS))
            .collect();
        if !redact {
            let notes: Vec<Note> = details.iter().flat_map(text::notes_in).collect();
            directory.texts = crate::texts::open(ctx, &self.1, &notes).await?;
        }
        let directory = Arc::new(directory);
        let all = self
            .0
            .entries
            .iter()
            .zip(details)
            .map(|(e, detail)| ReviewEntry {
                position: e.position,
                kind: e.kind.clone(),
                detail: Json(if redact {
                    redacted(&detail)
                } else {
                    text::replace_notes(&detail, &|note| {
                        directory
                            .text(note)
                            .map(serde_json::Value::String)
                            .unwrap_or(serde_json::Value::Null)
                    })
                }),
                recorded_by: self.1.shown_user_id(&e.actor),
                actor: e.actor.clone(),
                recorded_at: e.recorded_at,
                event: entry_event(&e.kind, &detail),
                review_id: self.0.id.to_string(),
                directory: directory.clone(),
            })
            .collect();
        crate::page::slice("review_entries", all, first, after.as_deref())
    }
}

/// A review entry without member ids or free text.
fn redacted(detail: &serde_json::Value) -> serde_json::Value {
    const IDS: [&str; 2] = ["member_id", "user_id"];
    match detail {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(k, _)| !IDS.contains(&k.as_str()) && !TEXT_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), redacted(v)))
                .collect(),
        ),
        other => other.clone(),
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

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Opens a review of one period; its scorecards are frozen at the current event
    /// position. Consultants only.
    async fn open_review(&self, ctx: &Context<'_>, input: OpenReviewInput) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
            ..
        } = change(
            ctx,
            input.engagement_id,
            Capability::RunReviews,
            input.reason,
        )
        .await?;
        // One review per period: its id is the period's, so a second opening finds the
        // first (the service and the aggregate refuse it).
        let period = scope.normalise(input.period.0);
        let review_id = kpi_ledger_domain::review::review_id(scope.engagement_id(), &period);
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

    /// Records a finding (deviation and cause) about the team, a KPI or a member of this
    /// engagement. Consultants only.
    async fn record_finding(&self, ctx: &Context<'_>, input: RecordFindingInput) -> Result<Review> {
        let Change {
            scope,
            permit,
            metadata,
            ..
        } = change(ctx, input.engagement_id, Capability::RunReviews, None).await?;
        referenced(ctx, &scope, input.kpi_id, input.member_id).await?;
        let command = ReviewCommand::RecordFinding {
            kpi_id: input.kpi_id.map(KpiId),
            member_id: input.member_id.map(MemberId),
            deviation: seal(ctx, &permit, &input.deviation).await?,
            cause: seal(ctx, &permit, &input.cause).await?,
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
            ..
        } = change(
            ctx,
            input.engagement_id,
            Capability::RunReviews,
            input.reason.clone(),
        )
        .await?;
        referenced(ctx, &scope, input.kpi_id, input.member_id).await?;
        let reason = || needed(metadata.reason.clone(), "reason");
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
                note: seal(ctx, &permit, &needed(input.note.clone(), "note")?).await?,
            },
            DecisionKind::ActionItem => Decision::ActionItem {
                item_id: Uuid::new_v4(),
                owner: seal(ctx, &permit, &needed(input.owner.clone(), "owner")?).await?,
                due: needed(input.due, "due")?.0,
                description: seal(
                    ctx,
                    &permit,
                    &needed(input.description.clone(), "description")?,
                )
                .await?,
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
            ..
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
}

fn needed<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| validation(format!("{field}: required for this kind of decision")))
}

/// A KPI or member a review entry names must be of the engagement: an id from another
/// engagement is refused as not found (and learns nothing about it).
async fn referenced(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    kpi_id: Option<Uuid>,
    member_id: Option<Uuid>,
) -> Result<()> {
    if let Some(kpi) = kpi_id {
        let kpis = ports(ctx).kpis()?.kpis(scope).await.gql()?;
        if !kpis.iter().any(|k| k.kpi_id == KpiId(kpi)) {
            return Err(crate::error::not_found("kpi"));
        }
    }
    if let Some(member) = member_id {
        let members = ports(ctx).engagements()?.members(scope).await.gql()?;
        if !members.iter().any(|m| m.member_id == MemberId(member)) {
            return Err(crate::error::not_found("member"));
        }
    }
    Ok(())
}
