//! Engagements and their members: queries and the mutations of SPEC §2.

use crate::access::{
    command_metadata, engagement_scope, open_permit, ports, request, visible_engagements,
    EngagementScope,
};
use crate::error::{validation, PortResultExt};
use crate::member::{present_members, Member};
use crate::page::{Page, DEFAULT_PAGE, MAX_PAGE};
use crate::ports::{EngagementView, MemberView};
use crate::scalars::Date;
use async_graphql::connection::{query, Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole, MemberVisibility};
use kpi_ledger_domain::engagement::{EngagementCommand, EngagementSettings, EngagementStatus};
use kpi_ledger_domain::ids::{EngagementId, MemberId};
use uuid::Uuid;

/// Where an engagement is in its life. Allowed moves: DIAGNOSING → TRIAL | CLOSED,
/// TRIAL → ACTIVE | CLOSED, ACTIVE → PAUSED | CLOSED, PAUSED → ACTIVE | CLOSED.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "EngagementStatus")]
pub enum StatusGql {
    Diagnosing,
    Trial,
    Active,
    Paused,
    Closed,
}

impl From<EngagementStatus> for StatusGql {
    fn from(value: EngagementStatus) -> Self {
        match value {
            EngagementStatus::Diagnosing => StatusGql::Diagnosing,
            EngagementStatus::Trial => StatusGql::Trial,
            EngagementStatus::Active => StatusGql::Active,
            EngagementStatus::Paused => StatusGql::Paused,
            EngagementStatus::Closed => StatusGql::Closed,
        }
    }
}

impl From<StatusGql> for EngagementStatus {
    fn from(value: StatusGql) -> Self {
        match value {
            StatusGql::Diagnosing => EngagementStatus::Diagnosing,
            StatusGql::Trial => EngagementStatus::Trial,
            StatusGql::Active => EngagementStatus::Active,
            StatusGql::Paused => EngagementStatus::Paused,
            StatusGql::Closed => EngagementStatus::Closed,
        }
    }
}

/// A person's role in one engagement (SPEC §1).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "EngagementRole")]
pub enum RoleGql {
    /// Runs the programme: KPIs, targets, imports, reviews, plans.
    Consultant,
    /// The seller's boss: reads everything, co-signs reviews, approves plans and payouts.
    ClientOwner,
    /// Seller staff or auditors: read-only, members pseudonymised.
    ClientViewer,
    /// A scored employee: reads their own scorecard and statement only.
    Member,
}

impl From<EngagementRole> for RoleGql {
    fn from(value: EngagementRole) -> Self {
        match value {
            EngagementRole::Consultant => RoleGql::Consultant,
            EngagementRole::ClientOwner => RoleGql::ClientOwner,
            EngagementRole::ClientViewer => RoleGql::ClientViewer,
            EngagementRole::Member => RoleGql::Member,
        }
    }
}

impl From<RoleGql> for EngagementRole {
    fn from(value: RoleGql) -> Self {
        match value {
            RoleGql::Consultant => EngagementRole::Consultant,
            RoleGql::ClientOwner => EngagementRole::ClientOwner,
            RoleGql::ClientViewer => EngagementRole::ClientViewer,
            RoleGql::Member => EngagementRole::Member,
        }
    }
}

/// One consultancy ↔ client programme.
pub struct Engagement {
    scope: EngagementScope,
    view: EngagementView,
    /// The stored summary, read with a list's other engagements' (None: read on demand).
    summary: Option<crate::ports::CachedSummary>,
}

impl Engagement {
    async fn load(ctx: &Context<'_>, scope: EngagementScope) -> Result<Self> {
        let view = ports(ctx).engagements()?.engagement(&scope).await.gql()?;
        Ok(Engagement {
            scope,
            view,
            summary: None,
        })
    }

    /// Several engagements in one statement, and with `summaries` their stored summaries
    /// in one more: a portfolio costs two statements, however many engagements it lists.
    async fn load_all(
        ctx: &Context<'_>,
        scopes: Vec<EngagementScope>,
        summaries: bool,
    ) -> Result<Vec<Self>> {
        let views = ports(ctx).engagements()?.engagements(&scopes).await.gql()?;
        let cached: Vec<Option<crate::ports::CachedSummary>> = if summaries {
            let wanted: Vec<(EngagementScope, String)> = scopes
                .iter()
                .map(|s| (s.clone(), crate::scorecard::summary_period(ctx, s).1))
                .collect();
            let found = ports(ctx)
                .scorecards()?
                .cached_summaries(&wanted)
                .await
                .gql()?;
            found.into_iter().map(Some).collect()
        } else {
            vec![None; scopes.len()]
        };
        Ok(scopes
            .into_iter()
            .zip(views)
            .zip(cached)
            .map(|((scope, view), summary)| Engagement {
                scope,
                view,
                summary,
            })
            .collect())
    }
}

#[Object]
impl Engagement {
    async fn id(&self) -> Uuid {
        self.view.id.as_uuid()
    }
    async fn name(&self) -> &str {
        &self.view.name
    }
    async fn client_name(&self) -> &str {
        &self.view.client_name
    }
    /// ISO 3166 market code.
    async fn market(&self) -> &str {
        &self.view.market
    }
    /// IANA time zone every date of this engagement is in.
    async fn time_zone(&self) -> &str {
        &self.view.time_zone
    }
    /// Month (1-12) the fiscal year starts in.
    async fn fiscal_year_start_month(&self) -> i32 {
        self.view.fiscal_year_start_month as i32
    }
    /// ISO 4217 reporting currency.
    async fn currency(&self) -> &str {
        &self.view.currency
    }
    async fn platforms(&self) -> &[String] {
        &self.view.platforms
    }
    async fn status(&self) -> StatusGql {
        self.view.status.into()
    }
    async fn opened_at(&self) -> DateTime<Utc> {
        self.view.opened_at
    }
    /// The caller's own role in this engagement.
    async fn viewer_role(&self) -> RoleGql {
        self.scope.role().into()
    }
    /// Whether the caller may import marketplace files here (the server asks before it
    /// accepts an upload's bytes).
    async fn viewer_may_import(&self) -> bool {
        self.scope
            .allows(kpi_ledger_domain::access::Capability::RecordObservations)
    }
    /// The metrics KPIs can use here: the built-in catalogue plus custom metrics.
    async fn metrics(&self, ctx: &Context<'_>) -> Result<Vec<crate::metrics::Metric>> {
        crate::metrics::engagement_metrics(ctx, &self.scope).await
    }

    /// The KPIs the caller may see (members: the team's and their own card's). With
    /// `asOf`, as they stood then: weights, retirements and targets replayed from the log.
    #[graphql(
        complexity = "if as_of.is_some() { crate::REPLAY_COST + child_complexity } else { 1 + child_complexity }"
    )]
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_retired: bool,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<crate::kpi::Kpi>> {
        let retired = |k: &crate::ports::KpiView| include_retired || k.retired_from.is_none();
        match as_of {
            None => Ok(crate::kpi::visible_kpis(ctx, &self.scope)
                .await?
                .into_iter()
                .filter(retired)
                .map(|k| crate::kpi::Kpi::new(k, &self.scope))
                .collect()),
            Some(at) => crate::kpi::kpis_as_of(ctx, &self.scope, at)
                .await
                .map(|kpis| kpis.into_iter().filter(|k| retired(&k.view)).collect()),
        }
    }

    /// What changed between two points of the log (`to` defaults to now): targets
    /// revised, weights and payout curves changed, observations recorded, restated or
    /// corrected, and the scores that moved, each with the events that caused it.
    /// "Since the last review lock" is `from: { lastLock: true }` (consultants, client
    /// owners and viewers; members' cards for the roles that read them).
    #[graphql(complexity = "2 * crate::REPLAY_COST + child_complexity")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        from: crate::changes::ChangePointInput,
        to: Option<crate::changes::ChangePointInput>,
    ) -> Result<crate::changes::Changes> {
        crate::changes::changes(ctx, &self.scope, from, to).await
    }

    /// The team scorecard for a period, or with `memberId` that member's (their
    /// position's KPIs plus their personal ones). Members may read only their own.
    /// With `asOf`, the card as it stood then: the event log replayed up to the last
    /// position recorded at or before that instant, with the freshness of that moment.
    #[graphql(
        complexity = "if as_of.is_some() { crate::REPLAY_COST + child_complexity } else { crate::SCORECARD_COST + child_complexity }"
    )]
    async fn scorecard(
        &self,
        ctx: &Context<'_>,
        period: crate::scalars::PeriodScalar,
        member_id: Option<Uuid>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<crate::scorecard::Scorecard> {
        let member_id = member_id.map(MemberId);
        let period = self.scope.normalise(period.0);
        match as_of {
            Some(as_of) => {
                crate::scorecard::load_as_of(ctx, &self.scope, period, member_id, as_of).await
            }
            None => crate::scorecard::load(ctx, &self.scope, &self.view, period, member_id).await,
        }
    }

    /// Every version of a KPI's targets, oldest first: who, when, for which period,
    /// before → after, why.
    async fn target_history(
        &self,
        ctx: &Context<'_>,
        kpi_id: Uuid,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<crate::kpi::TargetChange>> {
        let all = crate::kpi::target_history(ctx, &self.scope, kpi_id.into()).await?;
        crate::page::slice("target_history", all, first, after.as_deref())
    }

    /// Current observations of one metric whose dates touch `from`..`to`, ordered by
    /// platform, scope and dates (not for members).
    #[allow(clippy::too_many_arguments)]
    async fn observations(
        &self,
        ctx: &Context<'_>,
        metric: String,
        from: Date,
        to: Date,
        platform: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<crate::observation::Observation>> {
        let range = kpi_ledger_domain::period::DateRange::new(from.0, to.0)
            .map_err(|e| validation(format!("from/to: {e}")))?;
        crate::observation::list(ctx, &self.scope, metric, range, platform, first, after).await
    }

    /// Every event of the engagement in global order, each with its actor (a name or, for
    /// client viewers, a pseudonym), reason, correlation id and a sentence in Japanese,
    /// Simplified Chinese or English (consultants, client owners and viewers).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<crate::audit::AuditLogFilter>,
    ) -> Result<crate::audit::AuditLogPage> {
        crate::audit::audit_log(ctx, &self.scope, first, after, filter).await
    }

    /// Reviews of this engagement's periods (not for members).
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<crate::review::Review>> {
        crate::review::reviews(ctx, &self.scope).await
    }

    /// Incentive plans (consultants and client owners).
    async fn incentive_plans(&self, ctx: &Context<'_>) -> Result<Vec<crate::plan::IncentivePlan>> {
        crate::plan::plans(ctx, &self.scope).await
    }

    /// Payouts in the order calculated, optionally of one period (members: their own
    /// only).
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        period: Option<crate::scalars::PeriodScalar>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<crate::payout::Payout>> {
        let period = period.map(|p| self.scope.normalise(p.0).to_string());
        let all = crate::payout::payouts(ctx, &self.scope, period).await?;
        crate::page::slice("payouts", all, first, after.as_deref())
    }

    /// This month's team score, the twelve months before and late platforms, at a
    /// glance: stored between the engagement's changes, so a portfolio reads it cheaply.
    #[graphql(complexity = "crate::SCORECARD_COST + child_complexity")]
    async fn summary(&self, ctx: &Context<'_>) -> Result<crate::scorecard::EngagementSummary> {
        crate::scorecard::summary(ctx, &self.scope, self.summary.clone()).await
    }

    /// Who read a member's personal data (name and email, payout statements), per day and
    /// reader: the member may ask for their own, consultants and client owners for anyone's
    /// (to answer an access request under APPI).
    async fn personal_data_reads(
        &self,
        ctx: &Context<'_>,
        member_id: Uuid,
    ) -> Result<Vec<crate::member::PersonalDataRead>> {
        crate::member::personal_data_reads(ctx, &self.scope, MemberId(member_id)).await
    }

    /// One payout: members read only their own, client viewers none (FORBIDDEN).
    async fn payout(&self, ctx: &Context<'_>, id: Uuid) -> Result<crate::payout::Payout> {
        crate::payout::payout(ctx, &self.scope, id).await
    }

    /// Recomputes a payout by replaying the event log to its recorded positions.
    #[graphql(complexity = "crate::REPLAY_COST + child_complexity")]
    async fn payout_verification(
        &self,
        ctx: &Context<'_>,
        payout_id: Uuid,
    ) -> Result<crate::payout::PayoutVerification> {
        crate::payout::verify(ctx, &self.scope, payout_id).await
    }

    /// Imports of marketplace files, newest first, with progress and outcome.
    async fn imports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<crate::imports::ImportJob>> {
        let all = crate::imports::list(ctx, &self.scope).await?;
        crate::page::slice("imports", all, first, after.as_deref())
    }

    /// The members the caller may see: everyone for consultants and client owners (with
    /// names and emails), everyone pseudonymised for client viewers, only themselves for
    /// members. Former members are included when `includeFormer` is true.
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_former: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Member>> {
        let today = request(ctx).today_in(self.scope.time_zone());
        // A member's list holds only themselves: filtered before the page and its count,
        // so neither the total nor the pages tell how many others there are.
        let self_only = self.scope.role().member_visibility() == MemberVisibility::SelfOnly;
        let members: Vec<MemberView> = ports(ctx)
            .engagements()?
            .members(&self.scope)
            .await
            .gql()?
            .into_iter()
            .filter(|m| include_former || m.active_until.is_none_or(|until| until >= today))
            .filter(|m| !self_only || m.member_id == self.scope.member_id())
            .collect();
        // Only the page's personal data is decrypted.
        let window = crate::page::window("members", first, after.as_deref())?;
        let total = members.len() as u64;
        let shown: Vec<MemberView> = members
            .into_iter()
            .skip(window.offset)
            .take(window.limit)
            .collect();
        let shown = present_members(ctx, &self.scope, shown).await?;
        Ok(crate::page::page("members", window, total, shown))
    }
}

#[derive(Default)]
pub struct EngagementQuery;

#[Object]
impl EngagementQuery {
    /// The engagements the caller belongs to, newest first.
    async fn engagements(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Page<Engagement>> {
        const LIST: &str = "engagements";
        let scopes = visible_engagements(ctx).await?;
        let total = scopes.len() as u64;
        // A portfolio asks each engagement's summary: read them all at once.
        let look_ahead = ctx.look_ahead();
        let summaries = look_ahead.field("nodes").field("summary").exists()
            || look_ahead
                .field("edges")
                .field("node")
                .field("summary")
                .exists();
        query(
            after,
            before,
            first,
            last,
            |after: Option<String>, before: Option<String>, first, last| async move {
                let position_of =
                    |cursor: &str| crate::page::decode(LIST, cursor).map(|p| p as i64);
                let after = after.as_deref().map(position_of).transpose()?;
                let before = before.as_deref().map(position_of).transpose()?;
                // Newest first: "after" a cursor means older than it.
                let window: Vec<EngagementScope> = scopes
                    .into_iter()
                    .filter(|s| after.is_none_or(|a| s.opened_position() < a))
                    .filter(|s| before.is_none_or(|b| s.opened_position() > b))
                    .collect();
                let shown = window.len();
                let (start, end) = match (first, last) {
                    (Some(first), _) => (0, first.min(MAX_PAGE).min(shown)),
                    (None, Some(last)) => (shown.saturating_sub(last.min(MAX_PAGE)), shown),
                    (None, None) => (0, DEFAULT_PAGE.min(shown)),
                };
                let mut connection = Connection::with_additional_fields(
                    start > 0 || after.is_some(),
                    end < shown,
                    crate::page::Counted { total_count: total },
                );
                let shown =
                    Engagement::load_all(ctx, window[start..end].to_vec(), summaries).await?;
                for engagement in shown {
                    let cursor = crate::page::cursor(
                        LIST,
                        usize::try_from(engagement.scope.opened_position()).unwrap_or(0),
                    );
                    connection.edges.push(Edge::new(cursor, engagement));
                }
                Ok::<_, async_graphql::Error>(connection)
            },
        )
        .await
    }

    /// One engagement the caller belongs to. NOT_FOUND otherwise, whether or not it exists.
    async fn engagement(&self, ctx: &Context<'_>, id: Uuid) -> Result<Engagement> {
        let scope = engagement_scope(ctx, EngagementId(id)).await?;
        Engagement::load(ctx, scope).await
    }
}

#[derive(InputObject)]
pub struct OpenEngagementInput {
    pub name: String,
    pub client_name: String,
    /// ISO 3166 market; default `JP`.
    pub market: Option<String>,
    /// IANA time zone; default `Asia/Tokyo`.
    pub time_zone: Option<String>,
    /// 1-12; default 4 (April).
    pub fiscal_year_start_month: Option<i32>,
    /// ISO 4217; default `JPY`.
    pub currency: Option<String>,
    /// From the catalogue: amazon_jp, rakuten, yahoo_shopping, qoo10, shopee_jp, own_store.
    pub platforms: Option<Vec<String>>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct ChangeEngagementStatusInput {
    pub engagement_id: Uuid,
    pub status: StatusGql,
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Opens an engagement; the caller (who needs the consultant grant) becomes its first
    /// consultant. It starts in DIAGNOSING.
    async fn open_engagement(
        &self,
        ctx: &Context<'_>,
        input: OpenEngagementInput,
    ) -> Result<Engagement> {
        let engagement_id = EngagementId::new_random();
        let permit = open_permit(ctx, engagement_id)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let mut settings = EngagementSettings::with_defaults(input.name, input.client_name);
        if let Some(market) = input.market {
            settings.market = market;
        }
        if let Some(time_zone) = input.time_zone {
            settings.time_zone = time_zone;
        }
        if let Some(month) = input.fiscal_year_start_month {
            settings.fiscal_year_start_month = u32::try_from(month).unwrap_or(0);
        }
        if let Some(currency) = input.currency {
            settings.currency = currency;
        }
        if let Some(platforms) = input.platforms {
            settings.platforms = platforms;
        }
        let founded_on = request(ctx).today_in(&settings.time_zone);
        ports(ctx)
            .engagements()?
            .open_engagement(&permit, settings, founded_on, &metadata)
            .await
            .gql()?;
        let scope = engagement_scope(ctx, engagement_id).await?;
        Engagement::load(ctx, scope).await
    }

    /// Moves the engagement to another status, as SPEC §2's table allows; anything else is
    /// refused with INVALID_TRANSITION. Consultants only.
    async fn change_engagement_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeEngagementStatusInput,
    ) -> Result<Engagement> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ManageEngagement)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let command = EngagementCommand::ChangeStatus {
            to: input.status.into(),
        };
        ports(ctx)
            .engagements()?
            .execute_engagement(&permit, command, &metadata)
            .await
            .gql()?;
        Engagement::load(ctx, scope).await
    }
}
