//! Scorecards (SPEC §7): assembled from the read models and computed exactly by the
//! domain on every read, so a new observation costs one row and recomputes nothing.

use crate::access::{ports, EngagementScope};
use crate::card_cache::CardCache;
use crate::error::{coded, not_found, validation, PortResultExt, FORBIDDEN};
use crate::kpi::{Kpi, Target};
use crate::observation::Observation;
use crate::ports::{EngagementView, KpiView, ObservationView, WatermarkView};
use crate::scalars::{Date, Dec};
use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::period::{DateRange, Period};
use kpi_ledger_domain::scorecard::{self, CardKpi, CardMember, KpiResult, KpiStatus, Point};
use kpi_ledger_domain::scoring::display;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "KpiScoreStatus")]
pub enum StatusGql {
    Scored,
    /// Some component has no observation inside the period.
    NoData,
    /// A ratio whose denominator is zero: no value (not 0, not infinity).
    ZeroDenominator,
    /// No target was set for this period.
    NoTarget,
    /// A review decision set the score.
    Overridden,
}

impl From<KpiStatus> for StatusGql {
    fn from(value: KpiStatus) -> Self {
        match value {
            KpiStatus::Scored => StatusGql::Scored,
            KpiStatus::NoData => StatusGql::NoData,
            KpiStatus::ZeroDenominator => StatusGql::ZeroDenominator,
            KpiStatus::NoTarget => StatusGql::NoTarget,
            KpiStatus::Overridden => StatusGql::Overridden,
        }
    }
}

/// How fresh one source's data is.
#[derive(SimpleObject, Clone)]
pub struct Freshness {
    pub platform: String,
    /// `manual` or an import format.
    pub source: String,
    /// The source is complete through this day.
    pub complete_through: Date,
    /// Whether it covers the whole period.
    pub covers_period: bool,
}

/// One KPI's line on a scorecard.
#[derive(Clone)]
pub struct KpiScore {
    kpi: KpiView,
    result: KpiResult,
    scope: EngagementScope,
    period: String,
    straddling: Vec<Observation>,
}

#[Object]
impl KpiScore {
    async fn kpi(&self) -> Kpi {
        Kpi::new(self.kpi.clone(), &self.scope)
    }
    async fn status(&self) -> StatusGql {
        self.result.status.into()
    }
    /// The period's value: a sum, latest, mean, or ratio of sums.
    async fn actual(&self) -> Option<Dec> {
        self.result.actual.map(Dec)
    }
    /// For ratios: the period's aggregated numerator.
    async fn numerator(&self) -> Option<Dec> {
        self.result.numerator.map(Dec)
    }
    /// For ratios: the period's aggregated denominator.
    async fn denominator(&self) -> Option<Dec> {
        self.result.denominator.map(Dec)
    }
    /// Exact score (percent).
    async fn score(&self) -> Option<Dec> {
        self.result.score.map(Dec)
    }
    /// The score rounded for display: two decimals, half away from zero.
    async fn score_display(&self) -> Option<Dec> {
        self.result.score.map(|s| Dec(display(s)))
    }
    async fn weight(&self) -> Dec {
        self.result.weight.into()
    }
    /// weight × score.
    async fn weighted_score(&self) -> Option<Dec> {
        self.result.weighted.map(Dec)
    }
    async fn target(&self) -> Option<Target> {
        self.result.levels.map(|levels| Target {
            period: self.period.clone(),
            threshold: levels.threshold.into(),
            target: levels.target.into(),
            stretch: levels.stretch.map(Dec),
        })
    }
    /// How many observations were counted.
    async fn observation_count(&self) -> i32 {
        i32::try_from(self.result.observations).unwrap_or(i32::MAX)
    }
    /// Observations that straddle the period's edge: reported, not counted.
    async fn straddling(&self) -> &[Observation] {
        &self.straddling
    }
    /// For gate KPIs: whether the score reaches the gate; null while unscored.
    async fn gate_passed(&self) -> Option<bool> {
        self.result.gate_passed
    }
}

/// The lock a period stands under now.
#[derive(SimpleObject, Clone)]
pub struct PeriodLock {
    /// The review whose sign-off locked the period.
    pub review_id: Uuid,
    pub version: u32,
    /// The event position the locked result was computed at.
    pub snapshot_position: i64,
    pub locked_at: chrono::DateTime<chrono::Utc>,
}

/// A team's or a member's scorecard for one period.
#[derive(Clone)]
pub struct Scorecard {
    period: Period,
    as_of_position: Option<i64>,
    member_id: Option<MemberId>,
    card: scorecard::Scorecard,
    kpis: Vec<KpiScore>,
    freshness: Vec<Freshness>,
    scope: EngagementScope,
    /// For a live card of a locked period: the lock.
    lock: Option<PeriodLock>,
}

#[Object]
impl Scorecard {
    async fn period(&self) -> String {
        self.period.to_string()
    }
    /// First day of the period in the engagement's time zone.
    async fn start_date(&self) -> Date {
        self.card.days.start.into()
    }
    /// Last day of the period (inclusive).
    async fn end_date(&self) -> Date {
        self.card.days.end.into()
    }
    /// The member whose card this is; null for the team scorecard.
    async fn member_id(&self) -> Option<Uuid> {
        self.member_id.map(|m| m.as_uuid())
    }
    /// Σ(weight × score) / Σ weight, exact; null while incomplete.
    async fn score(&self) -> Option<Dec> {
        self.card.score.map(Dec)
    }
    /// The score rounded for display: two decimals, half away from zero.
    async fn score_display(&self) -> Option<Dec> {
        self.card.score.map(|s| Dec(display(s)))
    }
    /// For a card asked `asOf` an instant: the event position it was replayed to.
    async fn as_of_position(&self) -> Option<i64> {
        self.as_of_position
    }
    /// Every KPI has a score.
    async fn complete(&self) -> bool {
        self.card.complete
    }
    /// The KPIs that keep the card incomplete (no data, zero denominator, no target).
    async fn missing(&self) -> Vec<Uuid> {
        self.card
            .kpis
            .iter()
            .filter(|k| k.score.is_none())
            .map(|k| k.kpi_id.as_uuid())
            .collect()
    }
    /// More than five weighted KPIs: allowed, but flagged (SPEC §6).
    async fn too_many_kpis(&self) -> bool {
        self.card.too_many_kpis
    }
    /// Every gate KPI passed; null while a gate has no score.
    async fn gates_passed(&self) -> Option<bool> {
        self.card.gates_passed
    }
    async fn kpis(&self) -> &[KpiScore] {
        &self.kpis
    }
    /// How fresh each source feeding this card is.
    async fn freshness(&self) -> &[Freshness] {
        &self.freshness
    }
    /// The earliest "complete through" day across the sources feeding this card.
    async fn data_complete_through(&self) -> Option<Date> {
        self.freshness.iter().map(|f| f.complete_through).min()
    }
    /// For the live card: whether a review has locked the period. Payouts use the locked
    /// result (`lockedScorecard`); this card moves with later changes.
    async fn locked(&self) -> bool {
        self.lock.is_some()
    }
    /// For the live card of a locked period: the lock it stands under.
    async fn lock(&self) -> Option<&PeriodLock> {
        self.lock.as_ref()
    }
    /// For the live card of a locked period: the locked result, beside this live one.
    async fn locked_scorecard(&self, ctx: &Context<'_>) -> Result<Option<Scorecard>> {
        let Some(lock) = &self.lock else {
            return Ok(None);
        };
        load_locked(
            ctx,
            &self.scope,
            lock.review_id,
            self.period.clone(),
            self.member_id,
            Some(lock.version),
        )
        .await
        .map(Some)
    }
}

/// The lock the period stands under now, if any.
async fn current_lock(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    period: &str,
) -> Result<Option<PeriodLock>> {
    Ok(ports(ctx)
        .reviews()?
        .reviews(scope)
        .await
        .gql()?
        .into_iter()
        .filter(|r| r.period == period && r.status == "locked")
        .find_map(|r| {
            r.locks.last().map(|l| PeriodLock {
                review_id: r.id,
                version: l.version,
                snapshot_position: l.snapshot_position,
                locked_at: l.locked_at,
            })
        }))
}

/// Decides whether the caller may read this card: the team's for everyone; a member's
/// for consultants and client owners, and for that member. Members asking for another
/// member's card are told it does not exist.
fn check_access(scope: &EngagementScope, member_id: Option<MemberId>) -> Result<()> {
    match member_id {
        None => scope.require(Capability::ReadTeamScorecards),
        Some(m) if m == scope.member_id() => Ok(()),
        Some(_) if scope.allows(Capability::ReadAllPersonalScorecards) => Ok(()),
        Some(_) if scope.role() == EngagementRole::Member => Err(not_found("member")),
        Some(_) => Err(coded(
            FORBIDDEN,
            "your role may read team scorecards only, not members' personal ones",
        )),
    }
}

fn card_kpi(view: &KpiView) -> CardKpi {
    CardKpi {
        kpi_id: view.kpi_id,
        definition: view.definition.clone(),
        retired_from: view.retired_from,
    }
}

/// Computes a scorecard for `period` (team, or one member).
pub async fn load(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    engagement: &EngagementView,
    period: Period,
    member_id: Option<MemberId>,
) -> Result<Scorecard> {
    check_access(scope, member_id)?;
    // A card kept since the engagement last changed answers (see card_cache); the head
    // was read with the engagement's row, before anything of the card.
    let (Some(cache), Some(head)) = (ctx.data_opt::<CardCache>(), engagement.head) else {
        return compute(ctx, scope, engagement, period, member_id).await;
    };
    let key = (scope.engagement_id(), period.to_string(), member_id);
    if let Some(kept) = cache.get(&key, head) {
        return Ok(kept.for_viewer(scope));
    }
    let card = compute(ctx, scope, engagement, period, member_id).await?;
    cache.put(key, head, std::sync::Arc::new(card.clone()));
    Ok(card)
}

impl Scorecard {
    /// This card as `scope`'s viewer reads it: the fields below check access with it.
    fn for_viewer(&self, scope: &EngagementScope) -> Scorecard {
        let mut card = self.clone();
        card.scope = scope.clone();
        for kpi in &mut card.kpis {
            kpi.scope = scope.clone();
        }
        card
    }
}

/// The live card computed from the read models.
async fn compute(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    engagement: &EngagementView,
    period: Period,
    member_id: Option<MemberId>,
) -> Result<Scorecard> {
    let ports = ports(ctx);
    let days = kpi_ledger_domain::period::calendar_days(
        &period,
        engagement.fiscal_year_start_month,
        &engagement.time_zone,
    )
    .map_err(validation)?;

    let member = match member_id {
        None => None,
        Some(id) => Some(
            ports
                .engagements()?
                .members(scope)
                .await
                .gql()?
                .into_iter()
                .find(|m| m.member_id == id)
                .ok_or_else(|| not_found("member"))?,
        ),
    };
    let card_member = member.as_ref().map(|m| CardMember {
        member_id: m.member_id,
        position: m.position.clone(),
    });
    let all_kpis: Vec<KpiView> = ports.kpis()?.kpis(scope).await.gql()?;
    // Only the KPIs on this card need targets and observations.
    let kpis: Vec<&KpiView> = all_kpis
        .iter()
        .filter(|k| scorecard::on_card(&card_kpi(k), days, card_member.as_ref()))
        .collect();
    let catalogue = ports.engagements()?.metric_catalogue(scope).await.gql()?;
    let period_key = period.to_string();
    let ids: Vec<_> = kpis.iter().map(|k| k.kpi_id).collect();
    let targets: HashMap<_, _> = ports
        .kpis()?
        .targets(scope, &ids)
        .await
        .gql()?
        .into_iter()
        .filter(|t| t.period == period_key)
        .map(|t| (t.kpi_id, t.levels))
        .collect();

    let mut components: BTreeSet<String> = BTreeSet::new();
    for kpi in &kpis {
        if let Some(metric) = catalogue.iter().find(|m| m.key == kpi.definition.metric) {
            components.extend(metric.components());
        }
    }
    let components: Vec<String> = components.into_iter().collect();
    let observations: Vec<ObservationView> = if components.is_empty() {
        Vec::new()
    } else {
        // Only the series scopes the card's KPIs read (store level for unscoped KPIs).
        let mut scopes: Vec<Option<String>> =
            kpis.iter().map(|k| k.definition.scope.clone()).collect();
        scopes.sort();
        scopes.dedup();
        ports
            .observations()?
            .observations(scope, &components, days, Some(&scopes))
            .await
            .gql()?
    };
    let points: Vec<Point> = observations
        .iter()
        .map(|o| Point {
            metric: o.metric.clone(),
            platform: o.platform.clone(),
            scope: o.scope.clone(),
            range: o.range,
            value: o.value,
        })
        .collect();
    let card_kpis: Vec<CardKpi> = kpis.iter().map(|k| card_kpi(k)).collect();
    let (card, _) = scorecard::assemble(scorecard::CardSource {
        days,
        member: card_member.as_ref(),
        kpis: &card_kpis,
        catalogue: &catalogue,
        targets: &targets,
        points: &points,
        excused: &[],
        override_scores: &[],
        override_actuals: &[],
    })
    .map_err(validation)?;
    let kpis: Vec<KpiView> = kpis.into_iter().cloned().collect();
    // Straddling observations are reported with where they came from.
    let straddling: Vec<Vec<Observation>> = card
        .kpis
        .iter()
        .map(|result| {
            result
                .straddling
                .iter()
                .filter_map(|p| {
                    observations.iter().find(|o| {
                        o.metric == p.metric
                            && o.platform == p.platform
                            && o.scope == p.scope
                            && o.range == p.range
                    })
                })
                .map(Observation::from)
                .collect()
        })
        .collect();
    let freshness = freshness(ctx, scope, engagement, &kpis, days).await?;
    let lock = current_lock(ctx, scope, &period_key).await?;
    let kpi_scores = kpis
        .into_iter()
        .zip(card.kpis.iter().cloned())
        .zip(straddling)
        .map(|((kpi, result), straddling)| KpiScore {
            kpi,
            result,
            scope: scope.clone(),
            period: period_key.clone(),
            straddling,
        })
        .collect();
    Ok(Scorecard {
        period,
        as_of_position: None,
        member_id,
        card,
        kpis: kpi_scores,
        freshness,
        scope: scope.clone(),
        lock,
    })
}

/// The scorecard as it stood at an instant, replayed from the event log.
pub async fn load_as_of(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    period: Period,
    member_id: Option<MemberId>,
    as_of: chrono::DateTime<chrono::Utc>,
) -> Result<Scorecard> {
    check_access(scope, member_id)?;
    let replayed = ports(ctx)
        .scorecards()?
        .scorecard_as_of(scope, &period, member_id, as_of)
        .await
        .gql()?;
    from_replay(ctx, scope, period, member_id, replayed, as_of).await
}

/// A period's result as its review locked it: the log replayed to the lock's snapshot,
/// with the review's decisions applied.
pub async fn load_locked(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    review_id: uuid::Uuid,
    period: Period,
    member_id: Option<MemberId>,
    version: Option<u32>,
) -> Result<Scorecard> {
    check_access(scope, member_id)?;
    let replayed = ports(ctx)
        .scorecards()?
        .locked_scorecard(scope, review_id, member_id, version)
        .await
        .gql()?;
    from_replay(ctx, scope, period, member_id, replayed, chrono::Utc::now()).await
}

async fn from_replay(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    period: Period,
    member_id: Option<MemberId>,
    replayed: crate::ports::AsOfScorecard,
    as_of: chrono::DateTime<chrono::Utc>,
) -> Result<Scorecard> {
    let current: HashMap<_, KpiView> = ports(ctx)
        .kpis()?
        .kpis(scope)
        .await
        .gql()?
        .into_iter()
        .map(|k| (k.kpi_id, k))
        .collect();
    let period_key = period.to_string();
    let days = replayed.card.days;
    let definitions: Vec<&kpi_ledger_domain::kpi::KpiDefinition> =
        replayed.kpis.iter().map(|k| &k.definition).collect();
    let freshness = fresh(
        &definitions,
        &replayed.platforms,
        replayed.watermarks.clone(),
        days,
    );
    let kpis = replayed
        .kpis
        .into_iter()
        .zip(replayed.card.kpis.iter().cloned())
        .filter_map(|(card_kpi, result)| {
            let mut kpi = current.get(&card_kpi.kpi_id)?.clone();
            // The KPI as it stood then.
            kpi.definition = card_kpi.definition;
            kpi.retired_from = card_kpi.retired_from;
            let straddling = result
                .straddling
                .iter()
                .map(|p| Observation {
                    metric: p.metric.clone(),
                    platform: p.platform.clone(),
                    scope: p.scope.clone(),
                    start: p.range.start.into(),
                    end: p.range.end.into(),
                    value: p.value.into(),
                    source: String::new(),
                    recorded_at: as_of,
                    position: replayed.position,
                })
                .collect();
            Some(KpiScore {
                kpi,
                result,
                scope: scope.clone(),
                period: period_key.clone(),
                straddling,
            })
        })
        .collect();
    Ok(Scorecard {
        period,
        as_of_position: Some(replayed.position),
        member_id,
        card: replayed.card,
        kpis,
        freshness,
        scope: scope.clone(),
        lock: None,
    })
}

/// The watermarks of the sources that feed the card's platforms.
async fn freshness(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    engagement: &EngagementView,
    kpis: &[KpiView],
    days: DateRange,
) -> Result<Vec<Freshness>> {
    let watermarks: Vec<WatermarkView> =
        ports(ctx).observations()?.watermarks(scope).await.gql()?;
    let definitions: Vec<&kpi_ledger_domain::kpi::KpiDefinition> =
        kpis.iter().map(|k| &k.definition).collect();
    Ok(fresh(&definitions, &engagement.platforms, watermarks, days))
}

/// The watermarks of the platforms the KPIs read (an unscoped KPI reads every platform).
fn fresh(
    kpis: &[&kpi_ledger_domain::kpi::KpiDefinition],
    all_platforms: &[String],
    watermarks: Vec<WatermarkView>,
    days: DateRange,
) -> Vec<Freshness> {
    let mut platforms: BTreeSet<&str> = BTreeSet::new();
    for kpi in kpis {
        match &kpi.platform {
            Some(p) => {
                platforms.insert(p);
            }
            None => platforms.extend(all_platforms.iter().map(String::as_str)),
        }
    }
    watermarks
        .into_iter()
        .filter(|w| platforms.contains(w.platform.as_str()))
        .map(|w| Freshness {
            covers_period: w.through >= days.end,
            platform: w.platform,
            source: w.source,
            complete_through: w.through.into(),
        })
        .collect()
}

/// An engagement's line on the portfolio, as stored between changes.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSummary {
    period: String,
    score: Option<rust_decimal::Decimal>,
    complete: bool,
    late: Vec<(String, chrono::NaiveDate)>,
    trend: Vec<(String, Option<rust_decimal::Decimal>)>,
}

/// An engagement at a glance: this month's team score, the twelve months before, and the
/// platforms whose data is late. Kept until the engagement's next event, so a portfolio
/// reads stored lines instead of computing scorecards.
pub struct EngagementSummary(StoredSummary);

/// One month of the summary's trend.
#[derive(SimpleObject)]
pub struct SummaryPoint {
    pub period: String,
    /// The team score; null while that month's card is incomplete.
    pub score: Option<Dec>,
}

/// A platform whose newest data is more than two days old.
#[derive(SimpleObject)]
pub struct LatePlatform {
    pub platform: String,
    pub complete_through: Date,
}

#[Object]
impl EngagementSummary {
    /// The current month in the engagement's time zone.
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// This month's team score so far; null while incomplete.
    async fn score(&self) -> Option<Dec> {
        self.0.score.map(Dec)
    }
    async fn complete(&self) -> bool {
        self.0.complete
    }
    /// Platforms feeding the team card whose data stops more than two days before today.
    async fn late(&self) -> Vec<LatePlatform> {
        self.0
            .late
            .iter()
            .map(|(platform, through)| LatePlatform {
                platform: platform.clone(),
                complete_through: (*through).into(),
            })
            .collect()
    }
    /// The team score of the twelve months ending with `period`, oldest first.
    async fn trend(&self) -> Vec<SummaryPoint> {
        self.0
            .trend
            .iter()
            .map(|(period, score)| SummaryPoint {
                period: period.clone(),
                score: score.map(Dec),
            })
            .collect()
    }
}

/// The engagement's today and current month ("2026-06"), which its summary is of.
pub fn summary_period(ctx: &Context<'_>, scope: &EngagementScope) -> (chrono::NaiveDate, String) {
    use chrono::Datelike;
    let today = ctx
        .data::<crate::access::RequestContext>()
        .map(|r| r.today_in(scope.time_zone()))
        .unwrap_or_else(|_| chrono::Utc::now().date_naive());
    let period = format!("{}-{:02}", today.year(), today.month());
    (today, period)
}

/// The engagement's summary: stored if still current, else computed from twelve team
/// cards and stored. `cached` is the stored one if the caller read it already.
pub async fn summary(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    cached: Option<crate::ports::CachedSummary>,
) -> Result<EngagementSummary> {
    use chrono::Datelike;
    let (today, period) = summary_period(ctx, scope);
    let scorecards = ports(ctx).scorecards()?;
    let cached = match cached {
        Some(cached) => cached,
        None => scorecards
            .cached_summaries(&[(scope.clone(), period.clone())])
            .await
            .gql()?
            .pop()
            .ok_or_else(|| validation("no stored summary was read"))?,
    };
    let head = cached.head;
    if let Some(stored) = cached
        .current
        .and_then(|json| serde_json::from_str(&json).ok())
    {
        return Ok(EngagementSummary(stored));
    }
    let engagement = ports(ctx).engagements()?.engagement(scope).await.gql()?;
    let (mut year, mut month) = (today.year(), today.month());
    let mut months = Vec::new();
    for _ in 0..12 {
        months.push(format!("{year}-{month:02}"));
        (year, month) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
    }
    months.reverse();
    let mut trend = Vec::new();
    let mut current = None;
    for key in &months {
        let period: Period = key
            .parse()
            .map_err(|e: kpi_ledger_domain::period::PeriodError| validation(e.to_string()))?;
        let card = load(ctx, scope, &engagement, period, None).await?;
        trend.push((key.clone(), card.card.score));
        if *key == months[11] {
            current = Some(card);
        }
    }
    let card = current.ok_or_else(|| validation("no current month"))?;
    let stale_before = today - chrono::Duration::days(2);
    let mut late: Vec<(String, chrono::NaiveDate)> = Vec::new();
    for f in &card.freshness {
        let through = f.complete_through.0;
        if through < stale_before && !late.iter().any(|(p, _)| *p == f.platform) {
            late.push((f.platform.clone(), through));
        }
    }
    let stored = StoredSummary {
        period: period.clone(),
        score: card.card.score,
        complete: card.card.complete,
        late,
        trend,
    };
    if let Ok(json) = serde_json::to_string(&stored) {
        scorecards
            .store_summary(scope, &period, head, &json)
            .await
            .gql()?;
    }
    Ok(EngagementSummary(stored))
}
