//! The audit trail over GraphQL (SPEC §10, §13): `auditVerification`, the engagement's
//! `auditLog` told as sentences, and the people behind changes.

use crate::access::{engagement_scope, ports, EngagementScope};
use crate::error::{validation, PortResultExt};
use crate::ports::{AuditDirectory, AuditEntryView, AuditLogQuery, People, PersonView};
use crate::scalars::{LanguageGql, PeriodScalar};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId};
use kpi_ledger_domain::language::Language;
use kpi_ledger_domain::narrate;
use std::sync::Arc;
use uuid::Uuid;

/// Someone who made a change: their name where the caller's role may see it (SPEC §1),
/// else a stable pseudonym.
pub struct Person(pub PersonView);

#[Object]
impl Person {
    /// Their membership of the engagement; null for the system and for accounts that
    /// are not members.
    async fn member_id(&self) -> Option<Uuid> {
        self.0.member_id.map(|m| m.as_uuid())
    }
    /// Null where the caller may not see it, or it was erased.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// `Member 1a2b3c4d`: stable, and the same one `members` shows.
    async fn pseudonym(&self) -> &str {
        &self.0.pseudonym
    }
    /// The name where it may be shown, else the pseudonym.
    async fn display(&self) -> &str {
        self.0.shown()
    }
    /// A change the system made on its own (command-line imports, bootstrap).
    async fn system(&self) -> bool {
        self.0.system
    }
}

/// The people of the caller's engagement, as the caller may see them, for the
/// `…ByPerson` fields.
pub(crate) async fn people(ctx: &Context<'_>, scope: &EngagementScope) -> Result<People> {
    ports(ctx).audit()?.people(scope).await.gql()
}

/// The person behind an actor as recorded (a user id, or `system`).
pub(crate) async fn person(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    actor: &str,
) -> Result<Person> {
    Ok(Person(people(ctx, scope).await?.actor(actor)))
}

/// One event of an engagement's audit log.
pub struct AuditEntry {
    entry: AuditEntryView,
    directory: Arc<AuditDirectory>,
}

#[Object]
impl AuditEntry {
    /// Global event position: the log's order.
    async fn position(&self) -> i64 {
        self.entry.position
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.entry.recorded_at
    }
    /// The event kind: `TargetSet`, `ObservationCorrected`, `DecisionRecorded`, …
    async fn kind(&self) -> &str {
        &self.entry.kind
    }
    /// engagement, kpi, series, import, review, plan or payout.
    async fn aggregate_type(&self) -> &str {
        &self.entry.aggregate_type
    }
    async fn aggregate_id(&self) -> &str {
        &self.entry.aggregate_id
    }
    /// Who made the change.
    async fn actor(&self) -> Person {
        Person(self.directory.people.actor(&self.entry.actor))
    }
    /// Why, as they said it. Review entries' reasons may name people: client viewers do
    /// not see them. Null too once the text was erased (SPEC §11).
    async fn reason(&self) -> Option<String> {
        if self.entry.aggregate_type == "review" && !self.directory.personal_details {
            return None;
        }
        self.entry
            .reason
            .as_ref()
            .and_then(|note| self.directory.text(note))
    }
    /// The request the change came with; the events of one request share it.
    async fn correlation_id(&self) -> Option<&str> {
        self.entry.correlation_id.as_deref()
    }
    /// The event as a sentence: "Wang Fang revised the ACoS target for 2026-06 from 30%
    /// to 25%: “Prime Day budget moved”".
    async fn sentence(
        &self,
        #[graphql(default_with = "LanguageGql::En")] language: LanguageGql,
    ) -> String {
        self.say(language.into())
    }
    /// The sentence in Japanese, Simplified Chinese and English.
    async fn sentences(&self) -> Sentences {
        Sentences {
            ja: self.say(Language::Ja),
            zh: self.say(Language::Zh),
            en: self.say(Language::En),
        }
    }
}

impl AuditEntry {
    pub(crate) fn new(entry: AuditEntryView, directory: Arc<AuditDirectory>) -> Self {
        AuditEntry { entry, directory }
    }

    fn say(&self, language: Language) -> String {
        let names = self.directory.names(&self.entry.actor);
        let reason = match self.entry.aggregate_type.as_str() {
            "review" if !self.directory.personal_details => None,
            _ => self.entry.reason.as_ref(),
        };
        narrate::sentence(
            &self.entry.event,
            &self.entry.aggregate_id,
            reason,
            &names,
            language,
        )
    }
}

/// One sentence in each language.
#[derive(SimpleObject)]
pub struct Sentences {
    pub ja: String,
    pub zh: String,
    pub en: String,
}

/// Which events of the audit log to list; all filters given must hold.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Event kinds such as `TargetSet`, `KpiWeightChanged`, `ObservationCorrected`.
    pub kinds: Option<Vec<String>>,
    /// Changes made by this member.
    pub actor: Option<Uuid>,
    /// Events about this KPI: its definition, weight and targets, its metric's
    /// observations, review findings and decisions about it.
    pub kpi_id: Option<Uuid>,
    /// Events about this period: its targets, observations, imports, review and payouts.
    pub period: Option<PeriodScalar>,
    /// Recorded at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// The audit log's pages: `first` entries (at most 200) after an opaque cursor. There is
/// no total: filters on content would have to read the whole log to count.
pub type AuditLogPage = Connection<String, AuditEntry>;

const LIST: &str = "audit_log";

/// One page of the engagement's audit log, in global order.
pub(crate) async fn audit_log(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<AuditLogFilter>,
) -> Result<AuditLogPage> {
    scope.require(Capability::ReadAuditLog)?;
    let filter = filter.unwrap_or_default();
    let first = match first {
        None => crate::page::DEFAULT_PAGE,
        Some(n) if n < 0 => return Err(validation("first: must be 0 or more")),
        Some(n) => (n as usize).min(crate::page::MAX_PAGE),
    };
    let after_position = match &after {
        None => 0,
        Some(cursor) => crate::page::decode(LIST, cursor)? as i64,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from >= to {
            return Err(validation("filter.from: must be before filter.to"));
        }
    }
    let kinds = filter.kinds.unwrap_or_default();
    if let Some(unknown) = kinds
        .iter()
        .find(|k| !narrate::EVENT_KINDS.contains(&k.as_str()))
    {
        return Err(validation(format!(
            "filter.kinds: `{unknown}` is not an event kind; expected one of {}",
            narrate::EVENT_KINDS.join(", ")
        )));
    }
    let query = AuditLogQuery {
        after: after_position,
        first,
        kinds,
        actor: filter.actor.map(MemberId),
        kpi: filter.kpi_id.map(KpiId),
        period: filter.period.map(|p| scope.normalise(p.0)),
        from: filter.from,
        to: filter.to,
    };
    let page = ports(ctx).audit()?.audit_log(scope, query).await.gql()?;
    let directory = Arc::new(page.directory);
    let mut connection = Connection::new(after.is_some(), page.has_next_page);
    connection
        .edges
        .extend(page.entries.into_iter().map(|entry| {
            Edge::new(
                crate::page::cursor(LIST, usize::try_from(entry.position).unwrap_or(0)),
                AuditEntry {
                    entry,
                    directory: directory.clone(),
                },
            )
        }));
    Ok(connection)
}

/// The first thing wrong with a chain, where it is.
#[derive(SimpleObject)]
pub struct ChainProblem {
    /// ALTERED, MISSING, GAP, UNLINKED or TRUNCATED.
    pub kind: String,
    pub position: Option<i64>,
    /// For an altered event: the hash its stored bytes give.
    pub expected: Option<String>,
    /// For an altered event: the hash the chain holds.
    pub found: Option<String>,
    pub message: String,
}

/// An engagement's hash chain, recomputed from the stored events.
#[derive(SimpleObject)]
pub struct AuditVerification {
    pub engagement_id: Uuid,
    /// Every link recomputes, and the chain still holds the head the newest checkpoint
    /// signed.
    pub verified: bool,
    pub events: u64,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    pub problem: Option<ChainProblem>,
    pub checkpoint_id: Option<String>,
    /// The inclusion proof of this engagement's head in that checkpoint, to check with
    /// `scripts/verify_audit.py` (docs/AUDIT.md); it names no other engagement.
    pub proof: Option<Json<serde_json::Value>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Recomputes the engagement's hash chain and holds it against the newest signed
    /// checkpoint (consultants, client owners and viewers).
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
    async fn audit_verification(
        &self,
        ctx: &Context<'_>,
        engagement_id: Uuid,
    ) -> Result<AuditVerification> {
        let scope = engagement_scope(ctx, EngagementId(engagement_id)).await?;
        scope.require(Capability::ReadAuditLog)?;
        let view = ports(ctx).audit()?.verify_chain(&scope).await.gql()?;
        Ok(AuditVerification {
            engagement_id,
            verified: view.problem.is_none(),
            events: view.events,
            head_position: view.head_position,
            head_hash: view.head_hash,
            problem: view.problem.map(|p| ChainProblem {
                kind: p.kind.to_uppercase(),
                position: p.position,
                expected: p.expected,
                found: p.found,
                message: p.message,
            }),
            checkpoint_id: view.checkpoint_id,
            proof: view.proof.map(Json),
        })
    }
}
