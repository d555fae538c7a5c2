//! What changed in an engagement between two positions of the log: targets revised,
//! weights and payout curves changed, observations recorded, restated or corrected, and
//! the scores those changes moved, per scorecard and KPI, each linked to the events that
//! caused it.

use crate::ids::{KpiId, MemberId};
use crate::kpi::KpiEvent;
use crate::metrics::MetricDefinition;
use crate::narrate::{AnyEvent, KpiLabel, Names};
use crate::period::{DateRange, Period};
use crate::plan::PlanTerms;
use crate::replay::Model;
use crate::review::{Decision, ReviewEvent};
use crate::scoring::Levels;
use crate::series::{SeriesEvent, SeriesKey};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Most periods whose scores are compared (the newest).
pub const MAX_PERIODS: usize = 36;

/// One event between the two positions.
#[derive(Debug, Clone)]
pub struct Happened {
    pub position: i64,
    pub aggregate_id: String,
    pub event: AnyEvent,
}

/// A KPI period's levels before → after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRevision {
    pub kpi_id: KpiId,
    pub period: String,
    pub before: Option<Levels>,
    pub after: Option<Levels>,
    pub events: Vec<i64>,
}

/// A KPI defined, reweighted or retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiChange {
    pub kpi_id: KpiId,
    /// Null when the KPI did not exist yet.
    pub weight_before: Option<Decimal>,
    pub weight_after: Option<Decimal>,
    pub retired_before: Option<NaiveDate>,
    pub retired_after: Option<NaiveDate>,
    pub events: Vec<i64>,
}

/// An incentive plan drafted, revised or approved: its version, curve and team weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub plan_id: Uuid,
    pub before: Option<PlanState>,
    pub after: Option<PlanState>,
    pub events: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanState {
    pub version: u32,
    pub approved: bool,
    pub terms: PlanTerms,
}

/// How an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationChangeKind {
    /// A value for bounds nobody recorded before.
    Recorded,
    /// A new delivery of bounds recorded before (a marketplace's restatement).
    Restated,
    /// A person corrected the value.
    Corrected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationChange {
    pub position: i64,
    pub kind: ObservationChangeKind,
    pub key: SeriesKey,
    pub range: DateRange,
    pub before: Option<Decimal>,
    pub after: Decimal,
}

/// One KPI's line on one card (or the card's total when `kpi_id` is `None`), before →
/// after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreMove {
    pub period: Period,
    /// The member's card, or the team's.
    pub member_id: Option<MemberId>,
    /// The KPI, or the card's total score.
    pub kpi_id: Option<KpiId>,
    pub score_before: Option<Decimal>,
    pub score_after: Option<Decimal>,
    pub actual_before: Option<Decimal>,
    pub actual_after: Option<Decimal>,
    /// The events between the positions that concern this line.
    pub events: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub targets: Vec<TargetRevision>,
    pub kpis: Vec<KpiChange>,
    pub plans: Vec<PlanChange>,
    pub observations: Vec<ObservationChange>,
    pub scores: Vec<ScoreMove>,
    /// Periods whose scores were compared (the newest [`MAX_PERIODS`] touched).
    pub periods: Vec<Period>,
}

/// Which cards to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cards {
    /// The team's only.
    Team,
    /// The team's and every member's.
    All,
}

/// Review periods, for [`AnyEvent::concerns_period`], from the model.
struct ModelNames<'a>(&'a Model);

impl Names for ModelNames<'_> {
    fn actor(&self) -> String {
        String::new()
    }
    fn member(&self, _: MemberId) -> String {
        String::new()
    }
    fn kpi(&self, _: &str, _: crate::language::Language) -> Option<KpiLabel> {
        None
    }
    fn review_period(&self, review: &str) -> Option<String> {
        let id: Uuid = review.parse().ok()?;
        self.0
            .reviews()
            .find(|r| r.review_id == id)
            .map(|r| r.period.to_string())
    }
    fn payout(&self, _: &str) -> Option<(MemberId, String)> {
        None
    }
    fn currency(&self) -> String {
        String::new()
    }
    fn personal_details(&self) -> bool {
        false
    }
}

/// The metric of a KPI and, for ratios, its components: what its observations are of.
pub fn kpi_metrics(metric: &str, catalogue: &[MetricDefinition]) -> Vec<String> {
    let mut metrics = vec![metric.to_string()];
    if let Some(definition) = catalogue.iter().find(|m| m.key == metric) {
        metrics.extend(definition.components());
    }
    metrics
}

/// What changed from `before` to `after` (the same engagement replayed to two positions),
/// given the events between them in order.
pub fn between(before: &Model, after: &Model, events: &[Happened], cards: Cards) -> Changes {
    let mut changes = Changes::default();
    let catalogue = after.catalogue();
    let names = ModelNames(after);

    // Targets: the net change of each KPI period a TargetSet touched.
    let mut touched: BTreeMap<(KpiId, String), Vec<i64>> = BTreeMap::new();
    for e in events {
        if let AnyEvent::Kpi(KpiEvent::TargetSet { period, .. }) = &e.event {
            if let Ok(kpi) = e.aggregate_id.parse().map(KpiId) {
                touched
                    .entry((kpi, period.to_string()))
                    .or_default()
                    .push(e.position);
            }
        }
    }
    for ((kpi_id, period), positions) in touched {
        let level = |m: &Model| {
            m.targets_of(kpi_id)
                .find(|(p, _)| *p == period)
                .map(|(_, l)| l)
        };
        let (b, a) = (level(before), level(after));
        if b != a {
            changes.targets.push(TargetRevision {
                kpi_id,
                period,
                before: b,
                after: a,
                events: positions,
            });
        }
    }

    // KPIs defined, reweighted, retired.
    for kpi in after.kpis() {
        let was = before.kpi(kpi.kpi_id);
        let weight_before = was.map(|k| k.definition.weight);
        let retired_before = was.and_then(|k| k.retired_from);
        if weight_before == Some(kpi.definition.weight) && retired_before == kpi.retired_from {
            continue;
        }
        let id = kpi.kpi_id.to_string();
        changes.kpis.push(KpiChange {
            kpi_id: kpi.kpi_id,
            weight_before,
            weight_after: Some(kpi.definition.weight),
            retired_before,
            retired_after: kpi.retired_from,
            events: events
                .iter()
                .filter(|e| matches!(e.event, AnyEvent::Kpi(ref k) if !matches!(k, KpiEvent::TargetSet { .. })))
                .filter(|e| e.aggregate_id == id || matches!(&e.event, AnyEvent::Kpi(KpiEvent::KpiDefined { kpi_id, .. }) if *kpi_id == kpi.kpi_id))
                .map(|e| e.position)
                .collect(),
        });
    }

    // Plans: version, approval, curve and team weight.
    let plan_ids: BTreeSet<Uuid> = events
        .iter()
        .filter(|e| matches!(e.event, AnyEvent::Plan(_)))
        .filter_map(|e| e.aggregate_id.parse().ok())
        .collect();
    for plan_id in plan_ids {
        let state = |m: &Model| {
            m.plan(plan_id).map(|p| PlanState {
                version: p.version,
                approved: p.approved,
                terms: p.terms.clone(),
            })
        };
        let (b, a) = (state(before), state(after));
        if b != a {
            let id = plan_id.to_string();
            changes.plans.push(PlanChange {
                plan_id,
                before: b,
                after: a,
                events: events
                    .iter()
                    .filter(|e| matches!(e.event, AnyEvent::Plan(_)) && e.aggregate_id == id)
                    .map(|e| e.position)
                    .collect(),
            });
        }
    }

    // Observations, event by event.
    for e in events {
        let AnyEvent::Series(series) = &e.event else {
            continue;
        };
        match series {
            SeriesEvent::ObservationRecorded {
                key,
                range,
                value,
                restates,
                ..
            } => changes.observations.push(ObservationChange {
                position: e.position,
                kind: match restates {
                    Some(_) => ObservationChangeKind::Restated,
                    None => ObservationChangeKind::Recorded,
                },
                key: key.clone(),
                range: *range,
                before: *restates,
                after: *value,
            }),
            SeriesEvent::ObservationCorrected {
                key,
                range,
                value,
                previous,
                ..
            } => changes.observations.push(ObservationChange {
                position: e.position,
                kind: ObservationChangeKind::Corrected,
                key: key.clone(),
                range: *range,
                before: Some(*previous),
                after: *value,
            }),
            SeriesEvent::ObservationsImported {
                key, observations, ..
            } => changes
                .observations
                .extend(observations.iter().map(|o| ObservationChange {
                    position: e.position,
                    kind: match o.restates {
                        Some(_) => ObservationChangeKind::Restated,
                        None => ObservationChangeKind::Recorded,
                    },
                    key: key.clone(),
                    range: o.range,
                    before: o.restates,
                    after: o.value,
                })),
        }
    }

    // Scores: every period the changes touch, on every card asked for.
    let periods = touched_periods(after, events);
    let mut members: Vec<Option<MemberId>> = vec![None];
    if cards == Cards::All {
        members.extend(after.members().map(|m| Some(m.member_id)));
    }
    for period in &periods {
        let Ok(days) = after.days(period) else {
            continue;
        };
        for member in &members {
            let card = |m: &Model| m.scorecard(period, *member).ok().map(|(card, _)| card);
            let (b, a) = match (card(before), card(after)) {
                (Some(b), Some(a)) => (b, a),
                // A card that did not exist before (a new member, a new engagement).
                (None, Some(a)) => {
                    push_new_card(
                        &mut changes,
                        period,
                        *member,
                        &a,
                        events,
                        after,
                        &catalogue,
                        &names,
                        days,
                    );
                    continue;
                }
                (_, None) => continue,
            };
            let mut card_events = BTreeSet::new();
            let kpi_ids: BTreeSet<KpiId> = b
                .kpis
                .iter()
                .chain(a.kpis.iter())
                .map(|k| k.kpi_id)
                .collect();
            for kpi_id in kpi_ids {
                let line = |c: &crate::scorecard::Scorecard| {
                    c.kpis
                        .iter()
                        .find(|k| k.kpi_id == kpi_id)
                        .map(|k| (k.score, k.actual))
                };
                let (lb, la) = (line(&b), line(&a));
                let (sb, ab) = lb.unwrap_or((None, None));
                let (sa, aa) = la.unwrap_or((None, None));
                if lb == la {
                    continue;
                }
                let caused = causes(kpi_id, period, days, events, after, &catalogue, &names);
                card_events.extend(caused.iter().copied());
                changes.scores.push(ScoreMove {
                    period: period.clone(),
                    member_id: *member,
                    kpi_id: Some(kpi_id),
                    score_before: sb,
                    score_after: sa,
                    actual_before: ab,
                    actual_after: aa,
                    events: caused,
                });
            }
            if b.score != a.score {
                changes.scores.push(ScoreMove {
                    period: period.clone(),
                    member_id: *member,
                    kpi_id: None,
                    score_before: b.score,
                    score_after: a.score,
                    actual_before: None,
                    actual_after: None,
                    events: card_events.into_iter().collect(),
                });
            }
        }
    }
    changes.periods = periods;
    changes
}

#[allow(clippy::too_many_arguments)]
fn push_new_card(
    changes: &mut Changes,
    period: &Period,
    member: Option<MemberId>,
    card: &crate::scorecard::Scorecard,
    events: &[Happened],
    after: &Model,
    catalogue: &[MetricDefinition],
    names: &ModelNames<'_>,
    days: DateRange,
) {
    let mut all = BTreeSet::new();
    for line in &card.kpis {
        if line.score.is_none() && line.actual.is_none() {
            continue;
        }
        let caused = causes(line.kpi_id, period, days, events, after, catalogue, names);
        all.extend(caused.iter().copied());
        changes.scores.push(ScoreMove {
            period: period.clone(),
            member_id: member,
            kpi_id: Some(line.kpi_id),
            score_before: None,
            score_after: line.score,
            actual_before: None,
            actual_after: line.actual,
            events: caused,
        });
    }
    if card.score.is_some() {
        changes.scores.push(ScoreMove {
            period: period.clone(),
            member_id: member,
            kpi_id: None,
            score_before: None,
            score_after: card.score,
            actual_before: None,
            actual_after: None,
            events: all.into_iter().collect(),
        });
    }
}

/// The events that concern one KPI's line in one period.
fn causes(
    kpi_id: KpiId,
    period: &Period,
    days: DateRange,
    events: &[Happened],
    after: &Model,
    catalogue: &[MetricDefinition],
    names: &ModelNames<'_>,
) -> Vec<i64> {
    let Some(kpi) = after.kpi(kpi_id) else {
        return Vec::new();
    };
    let metrics = kpi_metrics(&kpi.definition.metric, catalogue);
    let metrics: Vec<&str> = metrics.iter().map(String::as_str).collect();
    events
        .iter()
        .filter(|e| e.event.concerns_kpi(&e.aggregate_id, kpi_id, &metrics))
        .filter(|e| match &e.event {
            // A KPI's definition, weight and retirement concern every period.
            AnyEvent::Kpi(KpiEvent::TargetSet { .. }) => {
                e.event
                    .concerns_period(&e.aggregate_id, period, &days, names)
            }
            AnyEvent::Kpi(_) => true,
            _ => e
                .event
                .concerns_period(&e.aggregate_id, period, &days, names),
        })
        .map(|e| e.position)
        .collect()
}

/// The periods whose scores the events may move: periods of changed targets and of
/// review decisions, the months and target periods the changed observations fall in, and
/// every target period of a KPI defined, reweighted or retired; the newest
/// [`MAX_PERIODS`].
fn touched_periods(after: &Model, events: &[Happened]) -> Vec<Period> {
    let mut periods: BTreeSet<String> = BTreeSet::new();
    let mut ranges: Vec<DateRange> = Vec::new();
    let target_periods: BTreeSet<String> = after
        .kpis()
        .flat_map(|k| after.targets_of(k.kpi_id).map(|(p, _)| p.to_string()))
        .collect();
    for e in events {
        match &e.event {
            AnyEvent::Kpi(KpiEvent::TargetSet { period, .. }) => {
                periods.insert(period.to_string());
            }
            AnyEvent::Kpi(_) => {
                if let Ok(kpi) = e.aggregate_id.parse().map(KpiId) {
                    periods.extend(after.targets_of(kpi).map(|(p, _)| p.to_string()));
                }
            }
            AnyEvent::Series(s) => match s {
                SeriesEvent::ObservationRecorded { range, .. }
                | SeriesEvent::ObservationCorrected { range, .. } => ranges.push(*range),
                SeriesEvent::ObservationsImported { observations, .. } => {
                    ranges.extend(observations.iter().map(|o| o.range))
                }
            },
            AnyEvent::Review(ReviewEvent::DecisionRecorded { decision })
                if !matches!(decision, Decision::ReviseFutureTarget { .. }) =>
            {
                let id = e.aggregate_id.parse::<Uuid>().ok();
                if let Some(r) = after.reviews().find(|r| Some(r.review_id) == id) {
                    periods.insert(r.period.to_string());
                }
            }
            _ => {}
        }
    }
    for range in &ranges {
        let mut month = NaiveDate::from_ymd_opt(range.start.year(), range.start.month(), 1);
        while let Some(first) = month.filter(|m| *m <= range.end) {
            periods.insert(format!("{:04}-{:02}", first.year(), first.month()));
            month = first.checked_add_months(chrono::Months::new(1));
        }
        for p in &target_periods {
            if let Ok(period) = p.parse::<Period>() {
                if after.days(&period).is_ok_and(|d| d.overlaps(range)) {
                    periods.insert(p.clone());
                }
            }
        }
    }
    let mut parsed: Vec<(DateRange, Period)> = periods
        .iter()
        .filter_map(|p| p.parse::<Period>().ok())
        .filter_map(|p| after.days(&p).ok().map(|d| (d, p)))
        .collect();
    parsed.sort_by_key(|(days, _)| (days.start, days.end));
    let skip = parsed.len().saturating_sub(MAX_PERIODS);
    parsed.into_iter().skip(skip).map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::fixtures::*;
    use crate::scoring::normalised;

    fn gmv() -> KpiId {
        KpiId(Uuid::from_u128(12))
    }

    fn acos() -> KpiId {
        KpiId(Uuid::from_u128(10))
    }

    /// The log's events after the first `from`, as `between` takes them.
    fn happened(log: &Log, from: usize) -> Vec<Happened> {
        log.iter()
            .enumerate()
            .skip(from)
            .map(|(i, (kind, id, event_type, version, payload))| Happened {
                position: i as i64 + 1,
                aggregate_id: id.clone(),
                event: AnyEvent::decode(kind, event_type, version, payload)
                    .unwrap()
                    .unwrap(),
            })
            .collect()
    }

    fn revise_gmv(log: &mut Log, target: &str) {
        push(
            log,
            "kpi",
            gmv().to_string(),
            KpiEvent::TargetSet {
                period: june(),
                levels: Levels {
                    threshold: d("40000000"),
                    target: d(target),
                    stretch: Some(d("60000000")),
                },
                previous: None,
                reason: "revised".into(),
            },
        );
    }

    fn moved(changes: &Changes, member: Option<MemberId>, kpi: Option<KpiId>) -> ScoreMove {
        changes
            .scores
            .iter()
            .find(|s| s.member_id == member && s.kpi_id == kpi)
            .unwrap_or_else(|| panic!("a move of {kpi:?} on {member:?}: {changes:#?}"))
            .clone()
    }

    #[test]
    fn a_target_revision_moves_the_kpi_and_the_card_and_names_its_event() {
        // Given the worked example (Li Wei scores 99),
        let mut log = worked_example();
        let before = log.len();
        // when the June GMV target is raised from ¥50,000,000 to ¥55,000,000,
        revise_gmv(&mut log, "55000000");
        let changes = between(
            &replay(&log, before),
            &replay(&log, log.len()),
            &happened(&log, before),
            Cards::All,
        );
        // then the revision is listed with its levels before and after,
        assert_eq!(changes.targets.len(), 1);
        let revision = &changes.targets[0];
        assert_eq!(revision.kpi_id, gmv());
        assert_eq!(revision.period, "2026-06");
        assert_eq!(revision.before.map(|l| l.target), Some(d("50000000")));
        assert_eq!(revision.after.map(|l| l.target), Some(d("55000000")));
        assert_eq!(revision.events, vec![log.len() as i64]);
        // and Li Wei's GMV score and card score move, caused by that event.
        let line = moved(&changes, Some(li()), Some(gmv()));
        assert_eq!(line.score_before.map(normalised), Some("110".into()));
        assert_eq!(
            line.actual_before, line.actual_after,
            "the actual did not move"
        );
        assert_ne!(line.score_after, line.score_before);
        assert_eq!(line.events, vec![log.len() as i64]);
        let card = moved(&changes, Some(li()), None);
        assert_eq!(card.score_before.map(normalised), Some("99".into()));
        assert_eq!(card.events, vec![log.len() as i64]);
        // Nothing else moved: ACoS and CTR are untouched, and the team card has no KPI.
        assert!(changes
            .scores
            .iter()
            .all(|s| s.kpi_id.is_none() || s.kpi_id == Some(gmv())));
        assert!(changes.scores.iter().all(|s| s.member_id == Some(li())));
        assert_eq!(changes.periods, vec![june()]);
        assert!(changes.observations.is_empty() && changes.kpis.is_empty());
    }

    #[test]
    fn a_correction_of_a_ratio_component_moves_the_ratio_kpi() {
        // Given the worked example,
        let mut log = worked_example();
        let before = log.len();
        // when June's ad spend is corrected from ¥1,200,000 to ¥1,440,000,
        let key = SeriesKey {
            engagement_id: engagement(),
            metric: "ad_spend".into(),
            platform: "amazon_jp".into(),
            scope: None,
        };
        push(
            &mut log,
            "series",
            key.series_id().to_string(),
            SeriesEvent::ObservationCorrected {
                key,
                range: DateRange::new("2026-06-01".parse().unwrap(), "2026-06-30".parse().unwrap())
                    .unwrap(),
                value: d("1440000"),
                previous: d("1200000"),
                reason: "late invoices".into(),
            },
        );
        let changes = between(
            &replay(&log, before),
            &replay(&log, log.len()),
            &happened(&log, before),
            Cards::All,
        );
        // then the correction is listed,
        assert_eq!(changes.observations.len(), 1);
        let o = &changes.observations[0];
        assert_eq!(o.kind, ObservationChangeKind::Corrected);
        assert_eq!((o.before, o.after), (Some(d("1200000")), d("1440000")));
        // and ACoS (ad spend ÷ ad sales) moved from 25 % to 30 %, caused by it.
        let line = moved(&changes, Some(li()), Some(acos()));
        assert_eq!(line.actual_before, Some(d("0.25")));
        assert_eq!(line.actual_after.map(normalised), Some("0.3".into()));
        assert_eq!(line.events, vec![log.len() as i64]);
    }

    #[test]
    fn the_team_card_alone_is_compared_when_members_cards_may_not_be_read() {
        let mut log = worked_example();
        let before = log.len();
        revise_gmv(&mut log, "55000000");
        let changes = between(
            &replay(&log, before),
            &replay(&log, log.len()),
            &happened(&log, before),
            Cards::Team,
        );
        assert!(changes.scores.iter().all(|s| s.member_id.is_none()));
        assert_eq!(changes.targets.len(), 1, "targets are listed all the same");
    }

    #[test]
    fn nothing_between_two_equal_positions_changes_nothing() {
        let log = worked_example();
        let model = replay(&log, log.len());
        let changes = between(&model, &model, &[], Cards::All);
        assert_eq!(changes, Changes::default());
    }
}
