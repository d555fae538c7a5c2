//! The server's implementation of the GraphQL ports over the database.

use crate::accounts::Accounts;
use crate::imports::jobs::{Job, Jobs};
use crate::imports::{spool_dir, ImportSpec, Importer};
use crate::on_db;
use crate::projections::Projector;
use crate::store::events::Cqrs;
use crate::store::{Db, StoreError};
use crate::vault::{MemberPersonal, Sealed, Vault, VaultError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::AggregateError;
use kpi_ledger_domain::engagement::{Engagement, EngagementCommand};
use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId, UserId};
use kpi_ledger_domain::kpi::{Kpi, KpiCommand, KpiDefinition};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::metrics::{builtin_catalogue, MetricDefinition};
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::scoring::Levels;
use kpi_ledger_domain::series::{Series, SeriesCommand, SeriesKey};
use kpi_ledger_domain::user::Grants;
use kpi_ledger_domain::DomainError;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{
    AccountView, AdjustmentView, EngagementView, EnsuredAccount, ImportJobView, ImportProblemView,
    ImportRequest, KpiView, LockView, MemberView, MembershipView, ObservationView, PayoutView,
    PersonalData, PersonalFields, PlanView, PortError, Ports, ReviewEntryView, ReviewView,
    TargetChangeView, TargetView, VerificationView, WatermarkView,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

/// Everything a request needs, shared by all requests.
pub struct Services {
    db: Db,
    engagements: Cqrs<Engagement>,
    kpis: Cqrs<Kpi>,
    series: Cqrs<Series>,
    reviews: Cqrs<kpi_ledger_domain::review::Review>,
    plans: Cqrs<kpi_ledger_domain::plan::Plan>,
    payouts: Cqrs<kpi_ledger_domain::settlement::PayoutRecord>,
    accounts: Accounts,
    vault: Vault,
    jobs: Jobs,
    projector: Arc<Projector>,
}

impl Services {
    pub fn new(db: Db, projector: Arc<Projector>) -> Self {
        Self {
            engagements: Cqrs::new(&db),
            kpis: Cqrs::new(&db),
            series: Cqrs::new(&db),
            reviews: Cqrs::new(&db),
            plans: Cqrs::new(&db),
            payouts: Cqrs::new(&db),
            accounts: Accounts::new(db.clone(), projector.clone()),
            vault: Vault::new(db.clone()),
            jobs: Jobs::new(Importer::new(db.clone(), projector.clone())),
            projector,
            db,
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Refuses ids of records that belong to another engagement (or none): NOT_FOUND.
    async fn owned_by(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        engagement_id: EngagementId,
        what: &str,
    ) -> Result<(), PortError> {
        let sql = format!("SELECT engagement_id FROM {table} WHERE {column} = $1");
        let owner: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)?
        });
        if owner == Some(engagement_id.to_string()) {
            Ok(())
        } else {
            Err(PortError::Domain {
                kind: kpi_ledger_domain::ErrorKind::NotFound,
                message: format!("{what} not found"),
            })
        }
    }

    async fn payout_views(
        &self,
        engagement_id: EngagementId,
        period: Option<String>,
        ids: Option<&[uuid::Uuid]>,
    ) -> Result<Vec<PayoutView>, PortError> {
        let rows: Vec<PayoutRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT payout_id, calculation, replayed_to, status, approved_at, paid_on,
                        calculated_at
                   FROM payouts WHERE engagement_id = $1 ORDER BY position",
            )
            .bind(engagement_id.to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let adjustments: Vec<AdjustmentRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT a.payout_id, a.amount, a.reason, a.carry_into, a.recorded_at
                   FROM payout_adjustments a JOIN payouts p ON p.payout_id = a.payout_id
                  WHERE p.engagement_id = $1 ORDER BY a.position",
            )
            .bind(engagement_id.to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let mut views = Vec::new();
        for row in rows {
            let id: uuid::Uuid = parse("payout id", &row.payout_id)?;
            if ids.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            let calculation: kpi_ledger_domain::settlement::Calculation =
                serde_json::from_str(&row.calculation).map_err(internal)?;
            if period
                .as_ref()
                .is_some_and(|p| *p != calculation.period.to_string())
            {
                continue;
            }
            views.push(PayoutView {
                adjustments: adjustments
                    .iter()
                    .filter(|a| a.payout_id == row.payout_id)
                    .map(|a| {
                        Ok(AdjustmentView {
                            amount: parse("amount", &a.amount)?,
                            reason: a.reason.clone(),
                            carry_into: a.carry_into.clone(),
                            recorded_at: parse("instant", &a.recorded_at)?,
                        })
                    })
                    .collect::<Result<_, PortError>>()?,
                id,
                calculation,
                replayed_to: row.replayed_to,
                status: row.status,
                approved_at: row
                    .approved_at
                    .as_deref()
                    .map(|t| parse("instant", t))
                    .transpose()?,
                paid_on: date(row.paid_on)?,
                calculated_at: parse("instant", &row.calculated_at)?,
            });
        }
        Ok(views)
    }

    /// Decides and records a command on aggregate `id`, then brings the read models up to
    /// date.
    async fn record<A>(
        &self,
        cqrs: &Cqrs<A>,
        id: &str,
        command: A::Command,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>
    where
        A: cqrs_es::Aggregate<Services = ()>,
        A::Command: Clone,
        A::Error: DomainError,
    {
        cqrs.execute(id, command, metadata.to_map())
            .await
            .map_err(command_error)?;
        self.project().await;
        Ok(())
    }

    /// Brings the read models up to date after a recorded command. The command is
    /// recorded either way; a projection failure is logged and retried in the background.
    async fn project(&self) {
        if let Err(error) = self.projector.catch_up().await {
            tracing::error!(%error, "read models lag behind the event log");
        }
    }
}

fn internal(error: impl std::fmt::Display) -> PortError {
    PortError::Internal(error.to_string())
}

impl From<StoreError> for PortError {
    fn from(value: StoreError) -> Self {
        internal(value)
    }
}

impl From<VaultError> for PortError {
    fn from(value: VaultError) -> Self {
        internal(value)
    }
}

fn command_error<E: DomainError>(error: AggregateError<E>) -> PortError {
    match error {
        AggregateError::UserError(e) => PortError::Domain {
            kind: e.kind(),
            message: e.to_string(),
        },
        AggregateError::AggregateConflict => PortError::Conflict(
            "another change to the same engagement was recorded at the same moment; \
             nothing of this request was recorded, please retry"
                .into(),
        ),
        other => internal(other),
    }
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, PortError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| internal(format!("stored {what} `{text}` is unreadable: {e}")))
}

#[derive(sqlx::FromRow)]
struct EngagementRow {
    engagement_id: String,
    name: String,
    client_name: String,
    market: String,
    time_zone: String,
    fiscal_year_start_month: i64,
    currency: String,
    platforms: String,
    status: String,
    opened_at: String,
    opened_position: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    member_id: String,
    user_id: String,
    role: String,
    position: Option<String>,
    active_from: String,
    active_until: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    engagement_id: String,
    member_id: String,
    role: String,
    time_zone: String,
    active_until: Option<String>,
    opened_position: i64,
}

#[derive(sqlx::FromRow)]
struct PayoutRow {
    payout_id: String,
    calculation: String,
    replayed_to: i64,
    status: String,
    approved_at: Option<String>,
    paid_on: Option<String>,
    calculated_at: String,
}

#[derive(sqlx::FromRow)]
struct AdjustmentRow {
    payout_id: String,
    amount: String,
    reason: String,
    carry_into: String,
    recorded_at: String,
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    review_id: String,
    period: String,
    status: String,
    version: i64,
    snapshot_position: i64,
    opened_at: String,
}

#[derive(sqlx::FromRow)]
struct LockRow {
    review_id: String,
    version: i64,
    snapshot_position: i64,
    locked_at: String,
    reopened_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ReviewEntryRow {
    review_id: String,
    position: i64,
    kind: String,
    detail: String,
    actor: String,
    recorded_at: String,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    plan_id: String,
    version: i64,
    terms: String,
    approved: i64,
    approved_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KpiRow {
    kpi_id: String,
    definition: String,
    weight: String,
    retired_from: Option<String>,
    defined_at: String,
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    kpi_id: String,
    period: String,
    levels: String,
}

#[derive(sqlx::FromRow)]
struct TargetChangeRow {
    kpi_id: String,
    position: i64,
    period: String,
    before: Option<String>,
    after: String,
    reason: String,
    actor: String,
    recorded_at: String,
}

#[derive(sqlx::FromRow)]
struct ObservationRow {
    metric: String,
    platform: String,
    scope: String,
    start_date: String,
    end_date: String,
    value: String,
    source: String,
    recorded_at: String,
    recorded_position: i64,
}

#[derive(sqlx::FromRow)]
struct WatermarkRow {
    platform: String,
    source: String,
    through: String,
}

/// A replayed card with the watermarks and platforms of the same position.
fn as_of_card(
    position: i64,
    card: kpi_ledger_domain::scorecard::Scorecard,
    kpis: Vec<kpi_ledger_domain::scorecard::CardKpi>,
    model: &kpi_ledger_domain::replay::Model,
) -> kpi_ledger_graphql::ports::AsOfScorecard {
    kpi_ledger_graphql::ports::AsOfScorecard {
        position,
        card,
        kpis,
        watermarks: model
            .watermarks()
            .map(|(platform, source, through)| WatermarkView {
                platform: platform.to_string(),
                source: source.to_string(),
                through,
            })
            .collect(),
        platforms: model
            .settings()
            .map(|s| s.platforms.clone())
            .unwrap_or_default(),
    }
}

fn job_view(job: Job) -> ImportJobView {
    let (problems, total_problems) = match &job.refusal {
        Some(refusal) => (
            refusal
                .problems
                .iter()
                .map(|p| ImportProblemView {
                    line: p.line,
                    column: p.column.clone(),
                    value: p.value.clone(),
                    reason: p.reason.clone(),
                })
                .collect(),
            refusal.total,
        ),
        None => (Vec::new(), 0),
    };
    let summary = job.summary.as_ref();
    ImportJobView {
        id: job.job_id,
        status: job.status.as_str().to_string(),
        format: job.format,
        platform: job.platform,
        range: job.range,
        file_name: job.file_name,
        bytes_total: job.bytes_total,
        bytes_read: job.bytes_read,
        rows_read: job.rows_read,
        rows_invalid: job.rows_invalid,
        message: job.message,
        problems,
        total_problems,
        import_id: summary.map(|s| s.import_id),
        already_imported: summary.is_some_and(|s| s.already_imported),
        observations_recorded: summary.map_or(0, |s| s.observations_recorded),
        observations_restated: summary.map_or(0, |s| s.observations_restated),
        series: summary.map_or(0, |s| s.series),
        watermarks: summary
            .map(|s| {
                s.watermarks
                    .iter()
                    .map(|w| (w.platform.clone(), w.through))
                    .collect()
            })
            .unwrap_or_default(),
        conversion: job.conversion,
        created_at: job.created_at,
        updated_at: job.updated_at,
    }
}

fn observation_view(row: ObservationRow) -> Result<ObservationView, PortError> {
    Ok(ObservationView {
        metric: row.metric,
        platform: row.platform,
        scope: Some(row.scope).filter(|s| !s.is_empty()),
        range: DateRange::new(
            parse("date", &row.start_date)?,
            parse("date", &row.end_date)?,
        )
        .map_err(internal)?,
        value: parse("value", &row.value)?,
        source: row.source,
        recorded_at: parse("instant", &row.recorded_at)?,
        recorded_position: row.recorded_position,
    })
}

fn date(text: Option<String>) -> Result<Option<NaiveDate>, PortError> {
    text.map(|t| parse::<NaiveDate>("date", &t)).transpose()
}

#[async_trait]
impl Ports for Services {
    async fn account(&self, user_id: UserId) -> Result<Option<AccountView>, PortError> {
        Ok(self.accounts.by_id(user_id).await?.map(|a| AccountView {
            user_id: a.user_id,
            email: a.email,
            display_name: a.display_name,
            grants: a.grants,
        }))
    }

    async fn memberships(&self, user_id: UserId) -> Result<Vec<MembershipView>, PortError> {
        let rows: Vec<MembershipRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT m.engagement_id, m.member_id, m.role, e.time_zone, m.active_until,
                        e.opened_position
                   FROM engagement_members m
                   JOIN engagements e ON e.engagement_id = m.engagement_id
                  WHERE m.user_id = $1
                  ORDER BY m.added_position DESC",
            )
            .bind(user_id.to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(MembershipView {
                    engagement_id: parse("engagement id", &row.engagement_id)?,
                    member_id: parse("member id", &row.member_id)?,
                    role: parse("role", &row.role)?,
                    time_zone: row.time_zone,
                    active_until: date(row.active_until)?,
                    opened_position: row.opened_position,
                })
            })
            .collect()
    }

    async fn engagement(&self, scope: &EngagementScope) -> Result<EngagementView, PortError> {
        let row: EngagementRow = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT engagement_id, name, client_name, market, time_zone,
                        fiscal_year_start_month, currency, platforms, status, opened_at,
                        opened_position
                   FROM engagements WHERE engagement_id = $1",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)?
        });
        Ok(EngagementView {
            id: parse("engagement id", &row.engagement_id)?,
            name: row.name,
            client_name: row.client_name,
            market: row.market,
            time_zone: row.time_zone,
            fiscal_year_start_month: u32::try_from(row.fiscal_year_start_month)
                .map_err(internal)?,
            currency: row.currency,
            platforms: serde_json::from_str(&row.platforms).map_err(internal)?,
            status: parse("status", &row.status)?,
            opened_at: parse::<DateTime<Utc>>("instant", &row.opened_at)?,
            opened_position: row.opened_position,
        })
    }

    async fn members(&self, scope: &EngagementScope) -> Result<Vec<MemberView>, PortError> {
        let rows: Vec<MemberRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT member_id, user_id, role, position, active_from, active_until
                   FROM engagement_members WHERE engagement_id = $1 ORDER BY added_position",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(MemberView {
                    member_id: parse("member id", &row.member_id)?,
                    user_id: parse("user id", &row.user_id)?,
                    role: parse("role", &row.role)?,
                    position: row.position,
                    active_from: parse("date", &row.active_from)?,
                    active_until: date(row.active_until)?,
                })
            })
            .collect()
    }

    async fn member_personal_data(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, PersonalData>, PortError> {
        let opened = self.vault.open(scope.engagement_id(), members).await?;
        Ok(opened
            .into_iter()
            .map(|(id, sealed)| {
                let data = match sealed {
                    Sealed::Present(p) => PersonalData::Present(PersonalFields {
                        display_name: p.display_name,
                        email: p.email,
                    }),
                    Sealed::Erased => PersonalData::Erased,
                };
                (id, data)
            })
            .collect())
    }

    async fn ensure_account(
        &self,
        _permit: &CommandPermit,
        email: &str,
        display_name: &str,
    ) -> Result<EnsuredAccount, PortError> {
        let (user_id, created) = self.accounts.ensure(email, display_name).await?;
        Ok(EnsuredAccount { user_id, created })
    }

    async fn register_account(
        &self,
        _permit: &CommandPermit,
        user_id: UserId,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.accounts
            .register(user_id, Grants::default(), metadata)
            .await
            .map_err(internal)
    }

    async fn discard_account(
        &self,
        _permit: &CommandPermit,
        user_id: UserId,
    ) -> Result<(), PortError> {
        Ok(self.accounts.discard(user_id).await?)
    }

    async fn store_member_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        fields: &PersonalFields,
    ) -> Result<(), PortError> {
        let personal = MemberPersonal {
            display_name: fields.display_name.clone(),
            email: fields.email.clone(),
        };
        Ok(self
            .vault
            .seal(permit.engagement_id(), member_id, &personal)
            .await?)
    }

    async fn discard_member_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
    ) -> Result<(), PortError> {
        Ok(self
            .vault
            .discard(permit.engagement_id(), member_id)
            .await?)
    }

    async fn head_position(&self) -> Result<i64, PortError> {
        Ok(crate::store::events::head_position(&self.db).await?)
    }

    async fn reviews(&self, scope: &EngagementScope) -> Result<Vec<ReviewView>, PortError> {
        let engagement = scope.engagement_id().to_string();
        let rows: Vec<ReviewRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT review_id, period, status, version, snapshot_position, opened_at
                   FROM reviews WHERE engagement_id = $1 ORDER BY opened_at, review_id",
            )
            .bind(&engagement)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let entries: Vec<ReviewEntryRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT e.review_id, e.position, e.kind, e.detail, e.actor, e.recorded_at
                   FROM review_entries e JOIN reviews r ON r.review_id = e.review_id
                  WHERE r.engagement_id = $1 ORDER BY e.position",
            )
            .bind(&engagement)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let locks: Vec<LockRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT review_id, version, snapshot_position, locked_at, reopened_at
                   FROM period_locks WHERE engagement_id = $1 ORDER BY review_id, version",
            )
            .bind(&engagement)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(ReviewView {
                    id: parse("review id", &row.review_id)?,
                    locks: locks
                        .iter()
                        .filter(|l| l.review_id == row.review_id)
                        .map(|l| {
                            Ok(LockView {
                                version: u32::try_from(l.version).unwrap_or(0),
                                snapshot_position: l.snapshot_position,
                                locked_at: parse("instant", &l.locked_at)?,
                                reopened_at: l
                                    .reopened_at
                                    .as_deref()
                                    .map(|t| parse("instant", t))
                                    .transpose()?,
                            })
                        })
                        .collect::<Result<_, PortError>>()?,
                    entries: entries
                        .iter()
                        .filter(|e| e.review_id == row.review_id)
                        .map(|e| {
                            Ok(ReviewEntryView {
                                position: e.position,
                                kind: e.kind.clone(),
                                detail: serde_json::from_str(&e.detail).map_err(internal)?,
                                actor: e.actor.clone(),
                                recorded_at: parse("instant", &e.recorded_at)?,
                            })
                        })
                        .collect::<Result<_, PortError>>()?,
                    period: row.period,
                    status: row.status,
                    version: u32::try_from(row.version).unwrap_or(0),
                    snapshot_position: row.snapshot_position,
                    opened_at: parse("instant", &row.opened_at)?,
                })
            })
            .collect()
    }

    async fn period_locked(
        &self,
        scope: &EngagementScope,
        period: &str,
    ) -> Result<bool, PortError> {
        let locks: i64 = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM period_locks
                  WHERE engagement_id = $1 AND period = $2 AND reopened_at IS NULL",
            )
            .bind(scope.engagement_id().to_string())
            .bind(period)
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)?
        });
        Ok(locks > 0)
    }

    async fn execute_review(
        &self,
        permit: &CommandPermit,
        review_id: uuid::Uuid,
        command: kpi_ledger_domain::review::ReviewCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        use kpi_ledger_domain::review::ReviewCommand;
        match &command {
            ReviewCommand::Open { engagement_id, .. }
                if *engagement_id == permit.engagement_id() => {}
            ReviewCommand::Open { .. } => {
                return Err(internal("a review opened for another engagement"))
            }
            _ => {
                self.owned_by(
                    "reviews",
                    "review_id",
                    &review_id.to_string(),
                    permit.engagement_id(),
                    "review",
                )
                .await?
            }
        }
        self.record(&self.reviews, &review_id.to_string(), command, metadata)
            .await
    }

    async fn plans(&self, scope: &EngagementScope) -> Result<Vec<PlanView>, PortError> {
        let rows: Vec<PlanRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT plan_id, version, terms, approved, approved_by FROM incentive_plans
                  WHERE engagement_id = $1 ORDER BY drafted_at, plan_id",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(PlanView {
                    id: parse("plan id", &row.plan_id)?,
                    version: u32::try_from(row.version).unwrap_or(0),
                    terms: serde_json::from_str(&row.terms).map_err(internal)?,
                    approved: row.approved != 0,
                    approved_by: row.approved_by,
                })
            })
            .collect()
    }

    async fn execute_plan(
        &self,
        permit: &CommandPermit,
        plan_id: uuid::Uuid,
        command: kpi_ledger_domain::plan::PlanCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        use kpi_ledger_domain::plan::PlanCommand;
        match &command {
            PlanCommand::Draft { engagement_id, .. }
                if *engagement_id == permit.engagement_id() => {}
            PlanCommand::Draft { .. } => {
                return Err(internal("a plan drafted for another engagement"))
            }
            _ => {
                self.owned_by(
                    "incentive_plans",
                    "plan_id",
                    &plan_id.to_string(),
                    permit.engagement_id(),
                    "incentive plan",
                )
                .await?
            }
        }
        self.record(&self.plans, &plan_id.to_string(), command, metadata)
            .await
    }

    async fn calculate_payouts(
        &self,
        permit: &CommandPermit,
        period: &kpi_ledger_domain::period::Period,
        plan_id: uuid::Uuid,
        metadata: &CommandMetadata,
    ) -> Result<Vec<PayoutView>, PortError> {
        use kpi_ledger_domain::settlement::{calculate, payout_id, PayoutCommand, PayoutError};
        let engagement_id = permit.engagement_id();
        self.project().await;
        let head = crate::store::events::head_position(&self.db).await?;
        let state = crate::store::events::replay(&self.db, engagement_id, head).await?;
        let refused = |e: kpi_ledger_domain::settlement::SettlementError| PortError::Domain {
            kind: kpi_ledger_domain::DomainError::kind(&e),
            message: e.to_string(),
        };
        let review = state
            .review_for(period)
            .filter(|r| r.locked)
            .ok_or_else(|| {
                refused(kpi_ledger_domain::settlement::SettlementError::NotLocked(
                    period.to_string(),
                ))
            })?;
        let frozen =
            crate::store::events::replay(&self.db, engagement_id, review.snapshot_position).await?;
        let plan = state
            .plan(plan_id)
            .ok_or_else(|| refused(kpi_ledger_domain::settlement::SettlementError::PlanNotFound))?;
        // All participants or none.
        let calculations = plan
            .terms
            .participants
            .iter()
            .map(|p| calculate(&state, &frozen, period, plan_id, p.member_id).map_err(refused))
            .collect::<Result<Vec<_>, _>>()?;
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
            match self
                .payouts
                .execute(&id.to_string(), command, metadata.to_map())
                .await
            {
                Ok(()) | Err(AggregateError::UserError(PayoutError::AlreadyCalculated)) => {}
                Err(error) => return Err(command_error(error)),
            }
        }
        self.project().await;
        self.payout_views(engagement_id, None, Some(&ids)).await
    }

    async fn payouts(
        &self,
        scope: &EngagementScope,
        period: Option<String>,
    ) -> Result<Vec<PayoutView>, PortError> {
        self.payout_views(scope.engagement_id(), period, None).await
    }

    async fn execute_payout(
        &self,
        permit: &CommandPermit,
        payout_id: uuid::Uuid,
        command: kpi_ledger_domain::settlement::PayoutCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.owned_by(
            "payouts",
            "payout_id",
            &payout_id.to_string(),
            permit.engagement_id(),
            "payout",
        )
        .await?;
        self.record(&self.payouts, &payout_id.to_string(), command, metadata)
            .await
    }

    async fn verify_payout(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
    ) -> Result<VerificationView, PortError> {
        let payout = self
            .payout_views(scope.engagement_id(), None, Some(&[payout_id]))
            .await?
            .pop()
            .ok_or_else(|| PortError::Domain {
                kind: kpi_ledger_domain::ErrorKind::NotFound,
                message: "payout not found".into(),
            })?;
        let recorded = payout.calculation;
        // Replay the log itself — never the stored result — to the positions the payout
        // was calculated at.
        let state =
            crate::store::events::replay(&self.db, scope.engagement_id(), payout.replayed_to)
                .await?;
        let frozen = crate::store::events::replay(
            &self.db,
            scope.engagement_id(),
            recorded.snapshot_position,
        )
        .await?;
        let recomputed = kpi_ledger_domain::settlement::calculate(
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

    async fn locked_scorecard(
        &self,
        scope: &EngagementScope,
        review_id: uuid::Uuid,
        member: Option<MemberId>,
        version: Option<u32>,
    ) -> Result<kpi_ledger_graphql::ports::AsOfScorecard, PortError> {
        self.owned_by(
            "reviews",
            "review_id",
            &review_id.to_string(),
            scope.engagement_id(),
            "review",
        )
        .await?;
        let head = crate::store::events::head_position(&self.db).await?;
        let state = crate::store::events::replay(&self.db, scope.engagement_id(), head).await?;
        let not_found = |message: String| PortError::Domain {
            kind: kpi_ledger_domain::ErrorKind::NotFound,
            message,
        };
        let review = state
            .reviews()
            .find(|r| r.review_id == review_id)
            .cloned()
            .ok_or_else(|| not_found("review not found".into()))?;
        // A lock version reads with its own snapshot and the decisions made before it.
        let (snapshot, decisions) = match version {
            Some(v) => {
                let lock = review
                    .lock(Some(v))
                    .ok_or_else(|| not_found(format!("the review has no lock version {v}")))?;
                (lock.snapshot_position, review.decisions_of(lock))
            }
            None => (review.snapshot_position, review.decisions.as_slice()),
        };
        let frozen =
            crate::store::events::replay(&self.db, scope.engagement_id(), snapshot).await?;
        let (card, kpis) = frozen
            .decided_scorecard(&review.period, member, decisions)
            .map_err(not_found)?;
        Ok(as_of_card(snapshot, card, kpis, &frozen))
    }

    async fn what_if_payouts(
        &self,
        scope: &EngagementScope,
        period: &kpi_ledger_domain::period::Period,
        plan_id: uuid::Uuid,
        scenario: &kpi_ledger_domain::settlement::Scenario,
    ) -> Result<Vec<kpi_ledger_domain::settlement::Calculation>, PortError> {
        let engagement_id = scope.engagement_id();
        let head = crate::store::events::head_position(&self.db).await?;
        let state = crate::store::events::replay(&self.db, engagement_id, head).await?;
        let frozen = match state.review_for(period).filter(|r| r.locked) {
            Some(review) => {
                crate::store::events::replay(&self.db, engagement_id, review.snapshot_position)
                    .await?
            }
            None => state.clone(),
        };
        let refused = |e: kpi_ledger_domain::settlement::SettlementError| PortError::Domain {
            kind: kpi_ledger_domain::DomainError::kind(&e),
            message: e.to_string(),
        };
        let plan = state
            .plan(plan_id)
            .ok_or_else(|| refused(kpi_ledger_domain::settlement::SettlementError::PlanNotFound))?;
        plan.terms
            .participants
            .iter()
            .map(|p| {
                kpi_ledger_domain::settlement::what_if(
                    &state,
                    &frozen,
                    period,
                    plan_id,
                    p.member_id,
                    scenario,
                )
                .map_err(refused)
            })
            .collect()
    }

    async fn payout_statement(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
        format: kpi_ledger_graphql::ports::StatementFormat,
        language: kpi_ledger_graphql::ports::StatementLanguage,
    ) -> Result<kpi_ledger_graphql::ports::StatementFile, PortError> {
        let payout = self
            .payout_views(scope.engagement_id(), None, Some(&[payout_id]))
            .await?
            .pop()
            .ok_or_else(|| PortError::Domain {
                kind: kpi_ledger_domain::ErrorKind::NotFound,
                message: "payout not found".into(),
            })?;
        let calculation = payout.calculation;
        let state =
            crate::store::events::replay(&self.db, scope.engagement_id(), payout.replayed_to)
                .await?;
        let frozen = crate::store::events::replay(
            &self.db,
            scope.engagement_id(),
            calculation.snapshot_position,
        )
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
        let engagement = self.engagement(scope).await?;
        // Names only for those who may see them (SPEC §1).
        let member_name = if scope.role() == kpi_ledger_domain::access::EngagementRole::ClientViewer
        {
            None
        } else {
            match self
                .vault
                .open(scope.engagement_id(), &[calculation.member_id])
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
            time_zone: engagement
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Asia::Tokyo),
            lines: member_lines,
            team_lines,
            status: payout.status,
            approved_at: payout.approved_at,
            paid_on: payout.paid_on,
            calculation,
        };
        let (bytes, file_name, content_type) =
            crate::statements::render(&data, format, language.into()).map_err(internal)?;
        Ok(kpi_ledger_graphql::ports::StatementFile {
            file_name,
            content_type: content_type.to_string(),
            bytes,
        })
    }

    async fn scorecard_as_of(
        &self,
        scope: &EngagementScope,
        period: &kpi_ledger_domain::period::Period,
        member: Option<MemberId>,
        as_of: DateTime<Utc>,
    ) -> Result<kpi_ledger_graphql::ports::AsOfScorecard, PortError> {
        let position: Option<i64> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT MAX(position) FROM events WHERE recorded_at <= $1")
                    .bind(as_of.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .fetch_one(pool)
                    .await
                    .map_err(StoreError::from)?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT MAX(position) FROM events WHERE recorded_at <= $1")
                    .bind(as_of)
                    .fetch_one(pool)
                    .await
                    .map_err(StoreError::from)?
            }
        };
        let position = position.unwrap_or(0);
        let model = crate::store::events::replay(&self.db, scope.engagement_id(), position).await?;
        let (card, kpis) =
            model
                .scorecard(period, member)
                .map_err(|message| PortError::Domain {
                    kind: kpi_ledger_domain::ErrorKind::NotFound,
                    message,
                })?;
        Ok(as_of_card(position, card, kpis, &model))
    }

    async fn start_import(
        &self,
        permit: &CommandPermit,
        request: ImportRequest,
        mut content: std::fs::File,
        metadata: &CommandMetadata,
    ) -> Result<ImportJobView, PortError> {
        let folder = spool_dir();
        let path = folder.join(format!("upload-{}", uuid::Uuid::new_v4()));
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let mut file = std::fs::File::create(&target)?;
            std::io::copy(&mut content, &mut file)?;
            file.sync_all()
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let spec = ImportSpec {
            engagement_id: permit.engagement_id(),
            format: request.format,
            platform: request.platform,
            range: request.range,
            encoding: request.encoding,
            file_name: request.file_name,
            conversion: request.conversion,
        };
        let job = self
            .jobs
            .submit(spec, permit.actor(), path, metadata.clone())
            .await?;
        Ok(job_view(job))
    }

    async fn import_jobs(&self, scope: &EngagementScope) -> Result<Vec<ImportJobView>, PortError> {
        Ok(self
            .jobs
            .jobs(scope.engagement_id())
            .await?
            .into_iter()
            .map(job_view)
            .collect())
    }

    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let id: EngagementId = permit.engagement_id();
        self.record(&self.engagements, &id.to_string(), command, metadata)
            .await
    }

    async fn metric_catalogue(
        &self,
        scope: &EngagementScope,
    ) -> Result<Vec<MetricDefinition>, PortError> {
        let rows: Vec<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT definition FROM engagement_metrics WHERE engagement_id = $1
                 ORDER BY defined_position",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let mut catalogue = builtin_catalogue();
        for row in rows {
            catalogue.push(serde_json::from_str(&row).map_err(internal)?);
        }
        Ok(catalogue)
    }

    async fn kpis(&self, scope: &EngagementScope) -> Result<Vec<KpiView>, PortError> {
        let rows: Vec<KpiRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT kpi_id, definition, weight, retired_from, defined_at FROM kpis
                  WHERE engagement_id = $1 ORDER BY defined_position",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                let mut definition: KpiDefinition =
                    serde_json::from_str(&row.definition).map_err(internal)?;
                definition.weight = parse::<Decimal>("weight", &row.weight)?;
                Ok(KpiView {
                    kpi_id: parse("KPI id", &row.kpi_id)?,
                    definition,
                    retired_from: date(row.retired_from)?,
                    defined_at: parse("instant", &row.defined_at)?,
                })
            })
            .collect()
    }

    async fn targets(
        &self,
        scope: &EngagementScope,
        kpis: &[KpiId],
    ) -> Result<Vec<TargetView>, PortError> {
        // Join through kpis so only this engagement's targets can come back.
        let rows: Vec<TargetRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT t.kpi_id, t.period, t.levels FROM kpi_targets t
                   JOIN kpis k ON k.kpi_id = t.kpi_id
                  WHERE k.engagement_id = $1 ORDER BY t.kpi_id, t.period",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        let wanted: Vec<String> = kpis.iter().map(|k| k.to_string()).collect();
        rows.into_iter()
            .filter(|row| wanted.contains(&row.kpi_id))
            .map(|row| {
                Ok(TargetView {
                    kpi_id: parse("KPI id", &row.kpi_id)?,
                    period: row.period,
                    levels: serde_json::from_str::<Levels>(&row.levels).map_err(internal)?,
                })
            })
            .collect()
    }

    async fn target_history(
        &self,
        scope: &EngagementScope,
        kpi: KpiId,
    ) -> Result<Vec<TargetChangeView>, PortError> {
        let rows: Vec<TargetChangeRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT h.kpi_id, h.position, h.period, h.before, h.after, h.reason, h.actor,
                        h.recorded_at
                   FROM target_history h JOIN kpis k ON k.kpi_id = h.kpi_id
                  WHERE k.engagement_id = $1 AND h.kpi_id = $2 ORDER BY h.position",
            )
            .bind(scope.engagement_id().to_string())
            .bind(kpi.to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(TargetChangeView {
                    kpi_id: parse("KPI id", &row.kpi_id)?,
                    position: row.position,
                    period: row.period,
                    before: row
                        .before
                        .map(|b| serde_json::from_str::<Levels>(&b))
                        .transpose()
                        .map_err(internal)?,
                    after: serde_json::from_str(&row.after).map_err(internal)?,
                    reason: row.reason,
                    actor: row.actor,
                    recorded_at: parse("instant", &row.recorded_at)?,
                })
            })
            .collect()
    }

    async fn observations(
        &self,
        scope: &EngagementScope,
        metrics: &[String],
        range: DateRange,
        series_scopes: Option<&[Option<String>]>,
    ) -> Result<Vec<ObservationView>, PortError> {
        // Scopes are stored as '' for the store level.
        let scopes: Option<Vec<String>> =
            series_scopes.map(|s| s.iter().map(|s| s.clone().unwrap_or_default()).collect());
        let scope_filter = match &scopes {
            Some(list) if !list.is_empty() => format!(
                " AND scope IN ({})",
                (0..list.len())
                    .map(|i| format!("${}", i + 5))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(_) => " AND 1 = 0".to_string(),
            None => String::new(),
        };
        let sql = format!(
            "SELECT metric, platform, scope, start_date, end_date, value, source,
                    recorded_at, recorded_position
               FROM observations
              WHERE engagement_id = $1 AND metric = $2
                AND start_date <= $3 AND end_date >= $4{scope_filter}
              ORDER BY platform, scope, start_date"
        );
        let mut views = Vec::new();
        for metric in metrics {
            let rows: Vec<ObservationRow> = on_db!(&self.db, pool => {
                let mut query = sqlx::query_as(&sql)
                    .bind(scope.engagement_id().to_string())
                    .bind(metric)
                    .bind(range.end.to_string())
                    .bind(range.start.to_string());
                for s in scopes.iter().flatten() {
                    query = query.bind(s);
                }
                query.fetch_all(pool).await.map_err(StoreError::from)?
            });
            for row in rows {
                views.push(observation_view(row)?);
            }
        }
        Ok(views)
    }

    async fn observation_page(
        &self,
        scope: &EngagementScope,
        metric: &str,
        range: DateRange,
        platform: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ObservationView>, u64), PortError> {
        let filter = "FROM observations
              WHERE engagement_id = $1 AND metric = $2 AND start_date <= $3 AND end_date >= $4
                AND ($5 = '' OR platform = $5)";
        let select = format!(
            "SELECT metric, platform, scope, start_date, end_date, value, source,
                    recorded_at, recorded_position
               {filter}
              ORDER BY platform, scope, start_date, end_date
              LIMIT $6 OFFSET $7"
        );
        let count = format!("SELECT COUNT(*) {filter}");
        let (rows, total): (Vec<ObservationRow>, i64) = on_db!(&self.db, pool => {
            let rows = sqlx::query_as(&select)
                .bind(scope.engagement_id().to_string())
                .bind(metric)
                .bind(range.end.to_string())
                .bind(range.start.to_string())
                .bind(platform.unwrap_or_default())
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)?;
            let total = sqlx::query_scalar(&count)
                .bind(scope.engagement_id().to_string())
                .bind(metric)
                .bind(range.end.to_string())
                .bind(range.start.to_string())
                .bind(platform.unwrap_or_default())
                .fetch_one(pool)
                .await
                .map_err(StoreError::from)?;
            (rows, total)
        });
        let views = rows
            .into_iter()
            .map(observation_view)
            .collect::<Result<_, _>>()?;
        Ok((views, u64::try_from(total).unwrap_or(0)))
    }

    async fn watermarks(&self, scope: &EngagementScope) -> Result<Vec<WatermarkView>, PortError> {
        let rows: Vec<WatermarkRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT platform, source, through FROM source_watermarks
                  WHERE engagement_id = $1 ORDER BY platform, source",
            )
            .bind(scope.engagement_id().to_string())
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(WatermarkView {
                    platform: row.platform,
                    source: row.source,
                    through: parse("date", &row.through)?,
                })
            })
            .collect()
    }

    async fn execute_kpi(
        &self,
        permit: &CommandPermit,
        kpi: KpiId,
        command: KpiCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        // A KPI command may only address a KPI of the permit's engagement.
        let belongs = match &command {
            KpiCommand::Define { engagement_id, .. } => *engagement_id == permit.engagement_id(),
            _ => {
                let owner: Option<String> = on_db!(&self.db, pool => {
                    sqlx::query_scalar("SELECT engagement_id FROM kpis WHERE kpi_id = $1")
                        .bind(kpi.to_string())
                        .fetch_optional(pool)
                        .await
                        .map_err(StoreError::from)?
                });
                owner == Some(permit.engagement_id().to_string())
            }
        };
        if !belongs {
            return Err(PortError::Domain {
                kind: kpi_ledger_domain::ErrorKind::NotFound,
                message: "KPI not found".into(),
            });
        }
        self.record(&self.kpis, &kpi.to_string(), command, metadata)
            .await
    }

    async fn execute_series(
        &self,
        permit: &CommandPermit,
        key: &SeriesKey,
        command: SeriesCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let addressed = match &command {
            SeriesCommand::Record { key, .. } | SeriesCommand::Correct { key, .. } => key,
        };
        if key.engagement_id != permit.engagement_id() || addressed != key {
            return Err(PortError::Domain {
                kind: kpi_ledger_domain::ErrorKind::NotFound,
                message: "series not found".into(),
            });
        }
        self.record(
            &self.series,
            &key.series_id().to_string(),
            command,
            metadata,
        )
        .await
    }
}
