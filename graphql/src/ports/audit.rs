//! The audit trail: verification of an engagement's hash chain, and its checkpoint proof.

use super::PortError;
use crate::access::EngagementScope;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kpi_ledger_domain::ids::{KpiId, MemberId, UserId};
use kpi_ledger_domain::language::{builtin_metric_name, Language};
use kpi_ledger_domain::metrics::Unit;
use kpi_ledger_domain::narrate::{AnyEvent, KpiLabel, Names};
use kpi_ledger_domain::period::Period;
use kpi_ledger_domain::text::Note;
use std::collections::HashMap;

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblemView {
    /// altered, missing, gap, unlinked or truncated.
    pub kind: String,
    pub position: Option<i64>,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// A sentence naming the position and what was found.
    pub message: String,
}

/// An engagement's chain, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerificationView {
    pub events: u64,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    pub problem: Option<ChainProblemView>,
    /// The newest signed checkpoint the chain was held against.
    pub checkpoint_id: Option<String>,
    /// The inclusion proof of the engagement's head in that checkpoint (JSON, the format
    /// `scripts/verify_audit.py` reads).
    pub proof: Option<serde_json::Value>,
}

#[async_trait]
pub trait AuditPort: Send + Sync + 'static {
    /// Recomputes the engagement's chain from the stored events and holds it against the
    /// newest checkpoint.
    async fn verify_chain(
        &self,
        scope: &EngagementScope,
    ) -> Result<ChainVerificationView, PortError>;

    /// The engagement's events in global order, filtered, one page after `query.after`,
    /// with what their sentences name as the scope's role may see it.
    async fn audit_log(
        &self,
        scope: &EngagementScope,
        query: AuditLogQuery,
    ) -> Result<AuditLogPage, PortError>;

    /// The engagement's people as the scope's role may see them (names or pseudonyms).
    async fn people(&self, scope: &EngagementScope) -> Result<People, PortError>;

    /// Everything the engagement's sentences name, as the scope's role may see it.
    async fn directory(&self, scope: &EngagementScope) -> Result<AuditDirectory, PortError>;

    /// What changed in the engagement between two points of its log: targets, KPIs,
    /// plans, observations, and the scores they moved (members' cards only for roles that
    /// read them), with the events in between.
    async fn changes(
        &self,
        scope: &EngagementScope,
        from: ChangePoint,
        to: ChangePoint,
    ) -> Result<ChangesView, PortError>;

    /// The engagement's KPIs and their targets as they stood at an instant.
    async fn kpis_as_of(
        &self,
        scope: &EngagementScope,
        at: DateTime<Utc>,
    ) -> Result<KpisAsOf, PortError>;
}

/// A person as the caller may see them: their name only where their role allows it
/// (SPEC §1), otherwise a stable pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    /// Their membership of the engagement, when they have one.
    pub member_id: Option<MemberId>,
    pub user_id: Option<UserId>,
    /// Null where the caller may not see it, or it was erased.
    pub name: Option<String>,
    /// `Member 1a2b3c4d` from the member id (`User …` for accounts without a membership,
    /// `kpi-ledger` for the system).
    pub pseudonym: String,
    /// A change the system made on its own (imports from the command line, bootstrap).
    pub system: bool,
}

impl PersonView {
    pub const SYSTEM: &'static str = "kpi-ledger";

    pub fn system() -> Self {
        PersonView {
            member_id: None,
            user_id: None,
            name: None,
            pseudonym: Self::SYSTEM.into(),
            system: true,
        }
    }

    /// The pseudonym of a member: what client viewers see instead of a name.
    pub fn member_pseudonym(member: MemberId) -> String {
        let id = member.to_string();
        format!("Member {}", &id[..8])
    }

    /// The name where it may be shown, else the pseudonym.
    pub fn shown(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.pseudonym)
    }
}

/// The people of one engagement as one caller may see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct People {
    pub by_member: HashMap<MemberId, PersonView>,
    pub by_user: HashMap<UserId, PersonView>,
}

impl People {
    /// The person behind an actor as events record it (a user id, or `system`).
    pub fn actor(&self, actor: &str) -> PersonView {
        let Ok(user) = actor.parse::<uuid::Uuid>().map(UserId) else {
            return PersonView::system();
        };
        self.by_user.get(&user).cloned().unwrap_or_else(|| {
            let id = user.to_string();
            PersonView {
                member_id: None,
                user_id: Some(user),
                name: None,
                pseudonym: format!("User {}", &id[..8]),
                system: false,
            }
        })
    }

    pub fn member(&self, member: MemberId) -> PersonView {
        self.by_member
            .get(&member)
            .cloned()
            .unwrap_or_else(|| PersonView {
                member_id: Some(member),
                user_id: None,
                name: None,
                pseudonym: PersonView::member_pseudonym(member),
                system: false,
            })
    }
}

/// How a KPI is named in sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiNaming {
    /// The name its consultant gave it.
    pub name: String,
    pub metric: String,
    /// The metric's label in the catalogue: a KPI named by it reads in the sentence's
    /// language.
    pub metric_label: String,
    /// The metric and, for a ratio, its components: what the KPI's observations are of.
    pub metrics: Vec<String>,
    pub unit: Unit,
}

/// Everything the sentences of one engagement's audit log name, as the caller may see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditDirectory {
    pub people: People,
    /// By KPI id.
    pub kpis: HashMap<String, KpiNaming>,
    /// Review id → its period.
    pub reviews: HashMap<String, String>,
    /// Payout id → its member and period.
    pub payouts: HashMap<String, (MemberId, String)>,
    pub currency: String,
    /// Whether free text that may name people (findings, action items) and members'
    /// personal figures (payout amounts, scores) may be shown: callers who see names.
    pub personal_details: bool,
    /// The sealed notes the sentences quote, opened (by text id).
    pub texts: HashMap<uuid::Uuid, super::OpenedText>,
}

impl AuditDirectory {
    /// The text of a note as this directory has it: inline text, an opened sealed text,
    /// or `None` (erased, or not opened).
    pub fn text(&self, note: &Note) -> Option<String> {
        crate::texts::shown(&self.texts, note)
    }

    /// The names one entry's sentence uses: its actor, and everything else.
    pub fn names<'a>(&'a self, actor: &'a str) -> impl Names + 'a {
        EntryNames {
            directory: self,
            actor,
        }
    }
}

struct EntryNames<'a> {
    directory: &'a AuditDirectory,
    actor: &'a str,
}

impl Names for EntryNames<'_> {
    fn actor(&self) -> String {
        self.directory.people.actor(self.actor).shown().to_string()
    }
    fn member(&self, member: MemberId) -> String {
        self.directory.people.member(member).shown().to_string()
    }
    fn kpi(&self, kpi: &str, language: Language) -> Option<KpiLabel> {
        self.directory.kpis.get(kpi).map(|k| KpiLabel {
            name: match builtin_metric_name(&k.metric, language) {
                Some(translated) if k.name == k.metric_label => translated.to_string(),
                _ => k.name.clone(),
            },
            unit: k.unit,
        })
    }
    fn review_period(&self, review: &str) -> Option<String> {
        self.directory.reviews.get(review).cloned()
    }
    fn payout(&self, payout: &str) -> Option<(MemberId, String)> {
        self.directory.payouts.get(payout).cloned()
    }
    fn currency(&self) -> String {
        self.directory.currency.clone()
    }
    fn personal_details(&self) -> bool {
        self.directory.personal_details
    }
    fn text(&self, note: &Note) -> Option<String> {
        self.directory.text(note)
    }
}

/// Which of an engagement's events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLogQuery {
    /// Only events after this position (the cursor).
    pub after: i64,
    /// At most this many.
    pub first: usize,
    /// Only these event kinds (`TargetSet`, …); all when empty.
    pub kinds: Vec<String>,
    /// Only changes made by this member.
    pub actor: Option<MemberId>,
    /// Only events about this KPI (its definition, weight and targets, its metric's
    /// observations, review findings and decisions about it).
    pub kpi: Option<KpiId>,
    /// Only events about this period.
    pub period: Option<Period>,
    /// Only events recorded at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only events recorded before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One event of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntryView {
    pub position: i64,
    pub recorded_at: DateTime<Utc>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The event type (`TargetSet`).
    pub kind: String,
    /// The actor as recorded: a user id, or `system`.
    pub actor: String,
    pub reason: Option<Note>,
    pub correlation_id: Option<String>,
    pub event: AnyEvent,
}

/// One page of the audit log, with what its sentences name.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLogPage {
    pub entries: Vec<AuditEntryView>,
    pub has_next_page: bool,
    pub directory: AuditDirectory,
}

/// A point of an engagement's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangePoint {
    /// A global event position.
    Position(i64),
    /// The last event recorded at or before an instant.
    At(DateTime<Utc>),
    /// The position the newest lock of a period froze its inputs at.
    LockOf(Period),
    /// The position the engagement's newest lock froze its period's inputs at.
    LastLock,
    /// The newest event.
    Now,
}

/// What changed between two positions, with the events in between.
#[derive(Debug, Clone)]
pub struct ChangesView {
    pub from_position: i64,
    pub to_position: i64,
    pub changes: kpi_ledger_domain::changes::Changes,
    /// Every event of the engagement in (from, to], in order.
    pub entries: Vec<AuditEntryView>,
    pub directory: AuditDirectory,
}

/// KPIs and targets replayed to an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpisAsOf {
    pub position: i64,
    pub kpis: Vec<super::KpiView>,
    pub targets: Vec<super::TargetView>,
}
