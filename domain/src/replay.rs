//! A fold of the event log into everything a scorecard needs, for one engagement. Reads
//! "as of" a position replay the log up to it into a [`Model`] and score from there, so
//! they never depend on stored results (SPEC §9, §10).

use crate::engagement::{EngagementEvent, EngagementSettings};
use crate::ids::{EngagementId, KpiId, MemberId};
use crate::import::ImportEvent;
use crate::kpi::KpiEvent;
use crate::metrics::{builtin_catalogue, MetricDefinition};
use crate::period::{DateRange, Period};
use crate::plan::{PlanEvent, PlanTerms};
use crate::review::{Decision, ReviewEvent};
use crate::scorecard::{self, CardKpi, CardMember, Point, Scorecard};
use crate::scoring::Levels;
use crate::series::{SeriesEvent, SeriesKey};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// One member as the log says at the replayed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedMember {
    pub member_id: MemberId,
    pub position: Option<String>,
    pub active_from: NaiveDate,
    pub active_until: Option<NaiveDate>,
}

/// A review as the log says at the replayed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedReview {
    pub review_id: Uuid,
    pub period: Period,
    pub locked: bool,
    /// The version of the last lock (0 before the first).
    pub version: u32,
    /// The position the period's scoring inputs are frozen at.
    pub snapshot_position: i64,
    pub decisions: Vec<Decision>,
    /// Every lock so far, oldest first; a reopen leaves the earlier versions readable.
    pub locks: Vec<ReplayedLock>,
}

/// One version of a review's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedLock {
    pub version: u32,
    /// The position this version froze the period's scoring inputs at.
    pub snapshot_position: i64,
    /// How many of the review's decisions were recorded when this version was locked:
    /// the decisions that apply to it.
    pub decisions: usize,
    /// A later reopen unlocked this version.
    pub reopened: bool,
}

impl ReplayedReview {
    /// One lock version, or the newest when `version` is `None`.
    pub fn lock(&self, version: Option<u32>) -> Option<&ReplayedLock> {
        match version {
            Some(v) => self.locks.iter().find(|l| l.version == v),
            None => self.locks.last(),
        }
    }

    /// The decisions that apply to a lock version: those recorded before it was locked.
    pub fn decisions_of(&self, lock: &ReplayedLock) -> &[Decision] {
        &self.decisions[..lock.decisions.min(self.decisions.len())]
    }
}

/// An incentive plan as the log says at the replayed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedPlan {
    pub plan_id: Uuid,
    pub version: u32,
    pub terms: PlanTerms,
    pub approved: bool,
}

#[derive(Debug, Clone)]
struct ReplayedKpi {
    card: CardKpi,
    targets: BTreeMap<String, Levels>,
}

/// One stored event as the replay reads it.
#[derive(Debug, Clone, Copy)]
pub struct LoggedEvent<'a> {
    pub position: i64,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub event_type: &'a str,
    pub event_version: &'a str,
    /// The payload as stored (before any upcaster).
    pub payload: &'a serde_json::Value,
}

/// The state of one engagement at a position of the log.
#[derive(Debug, Clone)]
pub struct Model {
    engagement_id: EngagementId,
    settings: Option<EngagementSettings>,
    members: BTreeMap<MemberId, ReplayedMember>,
    custom_metrics: Vec<MetricDefinition>,
    kpis: Vec<ReplayedKpi>,
    kpi_index: HashMap<KpiId, usize>,
    /// Every observation: its value and the source that delivered it (an index into
    /// `sources`; a correction keeps the source of the value it corrects).
    series: BTreeMap<SeriesKey, BTreeMap<DateRange, (Decimal, u16)>>,
    /// Source names, interned: an import's observations share one entry.
    sources: Vec<String>,
    /// (platform, source) → complete through.
    watermarks: BTreeMap<(String, String), NaiveDate>,
    reviews: BTreeMap<Uuid, ReplayedReview>,
    plans: BTreeMap<Uuid, ReplayedPlan>,
    /// The last position applied.
    pub position: i64,
}

impl Model {
    pub fn new(engagement_id: EngagementId) -> Self {
        Self {
            engagement_id,
            settings: None,
            members: BTreeMap::new(),
            custom_metrics: Vec::new(),
            kpis: Vec::new(),
            kpi_index: HashMap::new(),
            series: BTreeMap::new(),
            sources: Vec::new(),
            watermarks: BTreeMap::new(),
            reviews: BTreeMap::new(),
            plans: BTreeMap::new(),
            position: 0,
        }
    }

    /// Applies one stored event. Events of other engagements and of aggregates a scorecard
    /// does not read are skipped; every event is decoded through [`crate::upcast`].
    /// How much the model holds, roughly: its observations, KPIs, members, reviews and
    /// plans (a measure for caches of models, not bytes).
    pub fn size(&self) -> usize {
        self.series.values().map(BTreeMap::len).sum::<usize>()
            + self.kpis.len()
            + self.members.len()
            + self.reviews.len()
            + self.plans.len()
    }

    pub fn apply(&mut self, event: LoggedEvent<'_>) -> Result<(), String> {
        use crate::engagement::Engagement;
        use crate::kpi::Kpi;
        use crate::plan::Plan;
        use crate::review::Review;
        use crate::series::Series;
        use cqrs_es::Aggregate;
        self.position = event.position;
        fn decoded<E: serde::de::DeserializeOwned>(event: &LoggedEvent<'_>) -> Result<E, String> {
            crate::upcast::decode(
                event.aggregate_type,
                event.event_type,
                event.event_version,
                event.payload,
            )
            .map_err(|e| format!("event at position {}: {e}", event.position))
        }
        match event.aggregate_type {
            Engagement::TYPE if event.aggregate_id == self.engagement_id.to_string() => {
                self.apply_engagement(decoded(&event)?);
            }
            Kpi::TYPE => self.apply_kpi(event.aggregate_id, decoded(&event)?),
            Series::TYPE => self.apply_series(decoded(&event)?),
            crate::import::IMPORT_AGGREGATE => {
                if let ImportEvent::ImportCompleted {
                    engagement_id,
                    format,
                    watermarks,
                    ..
                } = decoded(&event)?
                {
                    if engagement_id == self.engagement_id {
                        for w in watermarks {
                            self.advance(w.platform, format.clone(), w.through);
                        }
                    }
                }
            }
            Review::TYPE => self.apply_review(event.aggregate_id, decoded(&event)?),
            Plan::TYPE => self.apply_plan(event.aggregate_id, decoded(&event)?),
            _ => {}
        }
        Ok(())
    }

    fn apply_engagement(&mut self, event: EngagementEvent) {
        match event {
            EngagementEvent::EngagementOpened { settings, .. } => self.settings = Some(settings),
            EngagementEvent::MemberAdded {
                member_id,
                position,
                active_from,
                ..
            } => {
                self.members.insert(
                    member_id,
                    ReplayedMember {
                        member_id,
                        position,
                        active_from,
                        active_until: None,
                    },
                );
            }
            EngagementEvent::MemberRemoved {
                member_id,
                active_until,
            } => {
                if let Some(member) = self.members.get_mut(&member_id) {
                    member.active_until = Some(active_until);
                }
            }
            EngagementEvent::MetricDefined { metric } => self.custom_metrics.push(metric),
            EngagementEvent::MemberRoleChanged { .. }
            | EngagementEvent::EngagementStatusChanged { .. }
            | EngagementEvent::MemberPersonalDataErased { .. } => {}
        }
    }

    fn apply_kpi(&mut self, aggregate_id: &str, event: KpiEvent) {
        match event {
            KpiEvent::KpiDefined { kpi_id, definition } => {
                if definition.engagement_id == self.engagement_id {
                    self.kpi_index.insert(kpi_id, self.kpis.len());
                    self.kpis.push(ReplayedKpi {
                        card: CardKpi {
                            kpi_id,
                            definition,
                            retired_from: None,
                        },
                        targets: BTreeMap::new(),
                    });
                }
            }
            other => {
                let Some(index) = aggregate_id
                    .parse::<KpiId>()
                    .ok()
                    .and_then(|id| self.kpi_index.get(&id).copied())
                else {
                    return;
                };
                let kpi = &mut self.kpis[index];
                match other {
                    KpiEvent::KpiWeightChanged { to, .. } => kpi.card.definition.weight = to,
                    KpiEvent::KpiRetired { from } => kpi.card.retired_from = Some(from),
                    KpiEvent::TargetSet { period, levels, .. } => {
                        kpi.targets.insert(period.to_string(), levels);
                    }
                    KpiEvent::KpiDefined { .. } => {}
                }
            }
        }
    }

    fn advance(&mut self, platform: String, source: String, through: NaiveDate) {
        let entry = self.watermarks.entry((platform, source)).or_insert(through);
        if through > *entry {
            *entry = through;
        }
    }

    fn apply_review(&mut self, aggregate_id: &str, event: ReviewEvent) {
        if let ReviewEvent::ReviewOpened {
            review_id,
            engagement_id,
            period,
            snapshot_position,
        } = &event
        {
            if *engagement_id == self.engagement_id {
                self.reviews.insert(
                    *review_id,
                    ReplayedReview {
                        review_id: *review_id,
                        period: period.clone(),
                        locked: false,
                        version: 0,
                        snapshot_position: *snapshot_position,
                        decisions: Vec::new(),
                        locks: Vec::new(),
                    },
                );
            }
            return;
        }
        let Some(review) = aggregate_id
            .parse::<Uuid>()
            .ok()
            .and_then(|id| self.reviews.get_mut(&id))
        else {
            return;
        };
        match event {
            ReviewEvent::DecisionRecorded { decision } => review.decisions.push(decision),
            ReviewEvent::PeriodLocked {
                version,
                snapshot_position,
            } => {
                review.locked = true;
                review.version = version;
                review.snapshot_position = snapshot_position;
                review.locks.push(ReplayedLock {
                    version,
                    snapshot_position,
                    decisions: review.decisions.len(),
                    reopened: false,
                });
            }
            ReviewEvent::PeriodReopened {
                snapshot_position, ..
            } => {
                review.locked = false;
                review.snapshot_position = snapshot_position;
                if let Some(lock) = review.locks.last_mut() {
                    lock.reopened = true;
                }
            }
            _ => {}
        }
    }

    fn apply_plan(&mut self, aggregate_id: &str, event: PlanEvent) {
        match event {
            PlanEvent::PlanDrafted {
                plan_id,
                engagement_id,
                version,
                terms,
            } => {
                if engagement_id == self.engagement_id {
                    self.plans.insert(
                        plan_id,
                        ReplayedPlan {
                            plan_id,
                            version,
                            terms,
                            approved: false,
                        },
                    );
                }
            }
            other => {
                let Some(plan) = aggregate_id
                    .parse::<Uuid>()
                    .ok()
                    .and_then(|id| self.plans.get_mut(&id))
                else {
                    return;
                };
                match other {
                    PlanEvent::PlanRevised { version, terms } => {
                        plan.version = version;
                        plan.terms = terms;
                        plan.approved = false;
                    }
                    PlanEvent::PlanApproved { version, .. } => {
                        if version == plan.version {
                            plan.approved = true;
                        }
                    }
                    PlanEvent::PlanDrafted { .. } => {}
                }
            }
        }
    }

    /// The review that locks (or last locked) a period.
    pub fn review_for(&self, period: &Period) -> Option<&ReplayedReview> {
        self.reviews
            .values()
            .filter(|r| &r.period == period)
            .max_by_key(|r| (r.locked, r.version))
    }

    pub fn reviews(&self) -> impl Iterator<Item = &ReplayedReview> {
        self.reviews.values()
    }

    pub fn plan(&self, plan_id: Uuid) -> Option<&ReplayedPlan> {
        self.plans.get(&plan_id)
    }

    fn apply_series(&mut self, event: SeriesEvent) {
        if let SeriesEvent::ObservationRecorded {
            key, range, source, ..
        } = &event
        {
            if key.engagement_id == self.engagement_id {
                self.advance(key.platform.clone(), source.watermark_name(), range.end);
            }
        }
        let (key, values): (SeriesKey, Vec<(DateRange, Decimal, Option<String>)>) = match event {
            SeriesEvent::ObservationRecorded {
                key,
                range,
                value,
                source,
                ..
            } => (key, vec![(range, value, Some(source.watermark_name()))]),
            SeriesEvent::ObservationCorrected {
                key, range, value, ..
            } => (key, vec![(range, value, None)]),
            SeriesEvent::ObservationsImported {
                key,
                observations,
                format,
                ..
            } => (
                key,
                observations
                    .into_iter()
                    .map(|o| (o.range, o.value, Some(format.clone())))
                    .collect(),
            ),
        };
        if key.engagement_id != self.engagement_id {
            return;
        }
        let mut interned: HashMap<String, u16> = HashMap::new();
        let mut intern = |sources: &mut Vec<String>, name: String| -> u16 {
            if let Some(id) = interned.get(&name) {
                return *id;
            }
            let id = match sources.iter().position(|s| *s == name) {
                Some(i) => i as u16,
                None => {
                    sources.push(name.clone());
                    (sources.len() - 1) as u16
                }
            };
            interned.insert(name, id);
            id
        };
        let series = self.series.entry(key).or_default();
        for (range, value, source) in values {
            let source = match source {
                Some(name) => intern(&mut self.sources, name),
                None => match series.get(&range) {
                    Some((_, id)) => *id,
                    None => intern(&mut self.sources, "manual".to_string()),
                },
            };
            series.insert(range, (value, source));
        }
    }

    /// The sources that delivered a platform's observations touching `days`.
    pub fn sources_in(&self, platform: &str, days: DateRange) -> BTreeSet<String> {
        self.series
            .iter()
            .filter(|(key, _)| key.platform == platform)
            .flat_map(|(_, values)| {
                values
                    .iter()
                    .filter(|(range, _)| range.overlaps(&days))
                    .map(|(_, (_, source))| self.sources[*source as usize].clone())
            })
            .collect()
    }

    /// Every source's watermark: (platform, source, complete through).
    pub fn watermarks(&self) -> impl Iterator<Item = (&str, &str, NaiveDate)> {
        self.watermarks
            .iter()
            .map(|((platform, source), through)| (platform.as_str(), source.as_str(), *through))
    }

    /// How far one source's data for a platform is complete.
    pub fn source_complete_through(&self, platform: &str, source: &str) -> Option<NaiveDate> {
        self.watermarks
            .get(&(platform.to_string(), source.to_string()))
            .copied()
    }

    pub fn settings(&self) -> Option<&EngagementSettings> {
        self.settings.as_ref()
    }

    pub fn member(&self, member_id: MemberId) -> Option<&ReplayedMember> {
        self.members.get(&member_id)
    }

    pub fn kpis(&self) -> impl Iterator<Item = &CardKpi> {
        self.kpis.iter().map(|k| &k.card)
    }

    /// A KPI as the log says at the replayed position.
    pub fn kpi(&self, kpi_id: KpiId) -> Option<&CardKpi> {
        self.kpi_index.get(&kpi_id).map(|i| &self.kpis[*i].card)
    }

    /// Every period a KPI has levels for, with them, in period-text order.
    pub fn targets_of(&self, kpi_id: KpiId) -> impl Iterator<Item = (&str, Levels)> {
        self.kpi_index
            .get(&kpi_id)
            .into_iter()
            .flat_map(|i| self.kpis[*i].targets.iter())
            .map(|(period, levels)| (period.as_str(), *levels))
    }

    /// Every member, former ones included.
    pub fn members(&self) -> impl Iterator<Item = &ReplayedMember> {
        self.members.values()
    }

    /// Every incentive plan.
    pub fn plans(&self) -> impl Iterator<Item = &ReplayedPlan> {
        self.plans.values()
    }

    /// The levels of a KPI for a period, as of the replayed position.
    pub fn target(&self, kpi_id: KpiId, period: &Period) -> Option<Levels> {
        let index = *self.kpi_index.get(&kpi_id)?;
        self.kpis[index].targets.get(&period.to_string()).copied()
    }

    /// The catalogue the engagement had at the replayed position.
    pub fn catalogue(&self) -> Vec<MetricDefinition> {
        let mut all = builtin_catalogue();
        all.extend(self.custom_metrics.iter().cloned());
        all
    }

    /// The days of a period in the engagement's calendar.
    pub fn days(&self, period: &Period) -> Result<DateRange, String> {
        let settings = self
            .settings
            .as_ref()
            .ok_or("the engagement did not exist yet")?;
        crate::period::calendar_days(
            period,
            settings.fiscal_year_start_month,
            &settings.time_zone,
        )
    }

    /// The scorecard of a period (the team's, or one member's) as of the replayed position,
    /// with the KPIs on it in definition order.
    pub fn scorecard(
        &self,
        period: &Period,
        member_id: Option<MemberId>,
    ) -> Result<(Scorecard, Vec<CardKpi>), String> {
        self.decided_scorecard(period, member_id, &[])
    }

    /// The scorecard with review decisions applied: excused KPIs drop out (their weight
    /// with them; an excused gate passes), overridden KPIs take the decided score.
    pub fn decided_scorecard(
        &self,
        period: &Period,
        member_id: Option<MemberId>,
        decisions: &[Decision],
    ) -> Result<(Scorecard, Vec<CardKpi>), String> {
        self.scenario_scorecard(period, member_id, decisions, &[])
    }

    /// [`Model::decided_scorecard`] with hypothetical actuals for some KPIs ("what if").
    pub fn scenario_scorecard(
        &self,
        period: &Period,
        member_id: Option<MemberId>,
        decisions: &[Decision],
        actuals: &[(KpiId, Decimal)],
    ) -> Result<(Scorecard, Vec<CardKpi>), String> {
        let applies = |m: &Option<MemberId>| m.is_none() || *m == member_id;
        let days = self.days(period)?;
        let member = match member_id {
            None => None,
            Some(id) => {
                let m = self.members.get(&id).ok_or("member not found")?;
                Some(CardMember {
                    member_id: m.member_id,
                    position: m.position.clone(),
                })
            }
        };
        let excused: Vec<KpiId> = decisions
            .iter()
            .filter_map(|d| match d {
                Decision::ExcuseKpi {
                    kpi_id, member_id, ..
                } if applies(member_id) => Some(*kpi_id),
                _ => None,
            })
            .collect();
        let override_scores: Vec<(KpiId, Decimal)> = decisions
            .iter()
            .filter_map(|d| match d {
                Decision::OverrideScore {
                    kpi_id,
                    member_id,
                    score,
                    ..
                } if applies(member_id) => Some((*kpi_id, *score)),
                _ => None,
            })
            .collect();
        let kpis: Vec<CardKpi> = self.kpis.iter().map(|k| k.card.clone()).collect();
        let targets: HashMap<KpiId, Levels> = kpis
            .iter()
            .filter_map(|k| self.target(k.kpi_id, period).map(|l| (k.kpi_id, l)))
            .collect();
        let points: Vec<Point> = self
            .series
            .iter()
            .flat_map(|(key, values)| {
                values
                    .iter()
                    .filter(|(range, _)| range.overlaps(&days))
                    .map(move |(range, (value, _))| Point {
                        metric: key.metric.clone(),
                        platform: key.platform.clone(),
                        scope: key.scope.clone(),
                        range: *range,
                        value: *value,
                    })
            })
            .collect();
        scorecard::assemble(scorecard::CardSource {
            days,
            member: member.as_ref(),
            kpis: &kpis,
            catalogue: &self.catalogue(),
            targets: &targets,
            points: &points,
            excused: &excused,
            override_scores: &override_scores,
            override_actuals: actuals,
        })
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! The worked example of SPEC §7 as a stored event log.
    use super::*;
    use crate::engagement::EngagementSettings;
    use crate::kpi::{Assignee, KpiDefinition};
    use crate::metrics::Direction;
    use crate::scoring::Curve;
    use crate::series::Source;
    use std::str::FromStr;

    /// (aggregate type, aggregate id, event type, event version, payload) in log order.
    pub type Log = Vec<(String, String, String, String, serde_json::Value)>;

    pub fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    pub fn engagement() -> EngagementId {
        EngagementId(Uuid::from_u128(1))
    }

    pub fn li() -> MemberId {
        MemberId(Uuid::from_u128(2))
    }

    pub fn june() -> Period {
        "2026-06".parse().unwrap()
    }

    pub fn push<E: serde::Serialize + cqrs_es::DomainEvent>(
        log: &mut Log,
        kind: &str,
        id: String,
        event: E,
    ) {
        log.push((
            kind.to_string(),
            id,
            event.event_type(),
            event.event_version(),
            serde_json::to_value(event).unwrap(),
        ));
    }

    /// Acme Home JP, Li Wei (advertising, from 2026-06-11), the three KPIs with June
    /// targets, and June's data on amazon_jp.
    pub fn worked_example() -> Log {
        let mut log = Log::new();
        let e = engagement().to_string();
        let mut settings = EngagementSettings::with_defaults("Acme Home JP", "Acme");
        settings.platforms = vec!["amazon_jp".into()];
        push(
            &mut log,
            "engagement",
            e.clone(),
            EngagementEvent::EngagementOpened {
                engagement_id: engagement(),
                settings,
            },
        );
        push(
            &mut log,
            "engagement",
            e,
            EngagementEvent::MemberAdded {
                member_id: li(),
                user_id: crate::ids::UserId(Uuid::from_u128(3)),
                role: crate::access::EngagementRole::Member,
                position: Some("advertising".into()),
                active_from: "2026-06-11".parse().unwrap(),
            },
        );
        use crate::worked_example as example;
        for (n, kpi) in example::KPIS.iter().enumerate() {
            let ((t0, t1, t2), _) = kpi.targets[0];
            let id = 10 + n as u128;
            add_kpi(
                &mut log,
                id,
                kpi.metric,
                kpi.weight,
                kpi.direction,
                (t0, t1, Some(t2)),
                None,
            );
            // Later versions of the target revise the first.
            for (previous, ((t0, t1, t2), reason)) in kpi.targets.iter().zip(&kpi.targets[1..]) {
                let levels = |(t0, t1, t2): (&str, &str, &str)| Levels {
                    threshold: d(t0),
                    target: d(t1),
                    stretch: Some(d(t2)),
                };
                push(
                    &mut log,
                    "kpi",
                    KpiId(Uuid::from_u128(id)).to_string(),
                    KpiEvent::TargetSet {
                        period: june(),
                        levels: levels((t0, t1, t2)),
                        previous: Some(levels(previous.0)),
                        reason: (*reason).into(),
                    },
                );
            }
        }
        for (metric, from, to, value) in example::OBSERVATIONS {
            let range = DateRange::new(from.parse().unwrap(), to.parse().unwrap()).unwrap();
            record(&mut log, metric, range, value);
        }
        log
    }

    pub fn add_kpi(
        log: &mut Log,
        n: u128,
        metric: &str,
        weight: &str,
        direction: Direction,
        (t0, t1, t2): (&str, &str, Option<&str>),
        gate: Option<Decimal>,
    ) {
        let kpi_id = KpiId(Uuid::from_u128(n));
        push(
            log,
            "kpi",
            kpi_id.to_string(),
            KpiEvent::KpiDefined {
                kpi_id,
                definition: KpiDefinition {
                    engagement_id: engagement(),
                    name: metric.into(),
                    metric: metric.into(),
                    platform: None,
                    scope: None,
                    assignee: Assignee::Position("advertising".into()),
                    weight: d(weight),
                    direction,
                    curve: Curve::default(),
                    gate: gate.map(|min_score| crate::kpi::Gate { min_score }),
                },
            },
        );
        push(
            log,
            "kpi",
            kpi_id.to_string(),
            KpiEvent::TargetSet {
                period: june(),
                levels: Levels {
                    threshold: d(t0),
                    target: d(t1),
                    stretch: t2.map(d),
                },
                previous: None,
                reason: "baseline".into(),
            },
        );
    }

    pub fn record(log: &mut Log, metric: &str, range: DateRange, value: &str) {
        let key = SeriesKey {
            engagement_id: engagement(),
            metric: metric.into(),
            platform: "amazon_jp".into(),
            scope: None,
        };
        push(
            log,
            "series",
            key.series_id().to_string(),
            SeriesEvent::ObservationRecorded {
                key,
                range,
                value: d(value),
                source: Source::Manual,
                restates: None,
            },
        );
    }

    pub fn replay(log: &Log, upto: usize) -> Model {
        let mut model = Model::new(engagement());
        for (position, (kind, id, event_type, version, payload)) in
            log.iter().take(upto).enumerate()
        {
            model
                .apply(LoggedEvent {
                    position: position as i64 + 1,
                    aggregate_type: kind,
                    aggregate_id: id,
                    event_type,
                    event_version: version,
                    payload,
                })
                .unwrap();
        }
        model
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use crate::scoring::normalised;

    #[test]
    fn replaying_the_worked_example_scores_99_and_earlier_positions_see_less() {
        let log = worked_example();
        let (card, kpis) = replay(&log, log.len())
            .scorecard(&june(), Some(li()))
            .unwrap();
        assert_eq!(kpis.len(), 3);
        assert_eq!(card.score.map(normalised), Some("99".into()));
        // Before the GMV observations (the last two) the card is incomplete.
        let (card, _) = replay(&log, log.len() - 2)
            .scorecard(&june(), Some(li()))
            .unwrap();
        assert!(!card.complete);
        assert_eq!(card.score, None);
    }
}
