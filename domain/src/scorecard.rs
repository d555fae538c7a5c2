//! Computing a scorecard (SPEC §4, §7): from a period's days, the KPIs that belong on the
//! card, their targets and the observations of their series, to actuals, scores, the
//! weighted score, completeness and gates. Pure: the caller loads the inputs.

use crate::ids::KpiId;
use crate::kpi::KpiDefinition;
use crate::metrics::{Aggregation, MetricDefinition};
use crate::period::DateRange;
use crate::scoring::{kpi_score, kpi_score_of_ratio, weighted_score, Levels};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// Core KPIs a scorecard should hold at most before it is flagged (SPEC §6).
pub const MAX_CORE_KPIS: usize = 5;

/// One observation as a scorecard reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub metric: String,
    pub platform: String,
    /// ASIN, SKU or campaign; `None` for the store level.
    pub scope: Option<String>,
    pub range: DateRange,
    pub value: Decimal,
}

/// Everything needed to score one KPI.
#[derive(Debug, Clone)]
pub struct KpiInput {
    pub kpi_id: KpiId,
    pub definition: KpiDefinition,
    pub metric: MetricDefinition,
    /// The aggregation of every component metric the KPI's metric reads.
    pub component_aggregations: HashMap<String, Aggregation>,
    pub levels: Option<Levels>,
    /// Observations of the KPI's series that touch the period (already filtered to the
    /// KPI's platform and scope), inside it or straddling its edge.
    pub points: Vec<Point>,
    /// A review decision replacing the score (SPEC §8).
    pub override_score: Option<Decimal>,
    /// A hypothetical actual ("what if"), scored instead of the observations.
    pub override_actual: Option<Decimal>,
}

/// Why a KPI has or lacks a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiStatus {
    Scored,
    /// No observation lies inside the period for some component.
    NoData,
    /// A ratio whose denominator sums to zero.
    ZeroDenominator,
    /// No target was set for this period.
    NoTarget,
    /// A review decision set the score.
    Overridden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiResult {
    pub kpi_id: KpiId,
    pub actual: Option<Decimal>,
    /// For ratios, the aggregated numerator and denominator.
    pub numerator: Option<Decimal>,
    pub denominator: Option<Decimal>,
    pub score: Option<Decimal>,
    pub weight: Decimal,
    /// `weight × score`, when scored.
    pub weighted: Option<Decimal>,
    pub status: KpiStatus,
    pub levels: Option<Levels>,
    /// Observations that straddle the period's edge: reported, not counted.
    pub straddling: Vec<Point>,
    /// Observations counted.
    pub observations: usize,
    /// For gate KPIs: whether the score reaches the gate (`None`: no score yet).
    pub gate_passed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    pub days: DateRange,
    pub kpis: Vec<KpiResult>,
    /// Σ(wᵢ × sᵢ) / Σ wᵢ; `None` while incomplete or when every weight is 0.
    pub score: Option<Decimal>,
    /// Every KPI on the card has a score.
    pub complete: bool,
    /// More than [`MAX_CORE_KPIS`] weighted KPIs.
    pub too_many_kpis: bool,
    /// Every gate KPI passed; `None` while a gate has no score.
    pub gates_passed: Option<bool>,
}

/// The one value of a component metric over the period.
fn aggregate_component(aggregation: &Aggregation, points: &[&Point]) -> Option<Decimal> {
    if points.is_empty() {
        return None;
    }
    match aggregation {
        Aggregation::Sum => Some(points.iter().map(|p| p.value).sum()),
        Aggregation::Mean => {
            let sum: Decimal = points.iter().map(|p| p.value).sum();
            Some(sum / Decimal::from(points.len()))
        }
        // A level: each platform's latest value in the period, summed across platforms.
        Aggregation::Latest => {
            let mut latest: BTreeMap<&str, &Point> = BTreeMap::new();
            for point in points {
                let newer = latest.get(point.platform.as_str()).is_none_or(|seen| {
                    (point.range.end, point.range.start) > (seen.range.end, seen.range.start)
                });
                if newer {
                    latest.insert(&point.platform, point);
                }
            }
            Some(latest.values().map(|p| p.value).sum())
        }
        // Components are never ratios (the catalogue guarantees it).
        Aggregation::Ratio { .. } => None,
    }
}

struct Actual {
    value: Option<Decimal>,
    numerator: Option<Decimal>,
    denominator: Option<Decimal>,
    status: KpiStatus,
}

fn actual(input: &KpiInput, counted: &[&Point]) -> Actual {
    let component = |key: &str| -> Option<Decimal> {
        let points: Vec<&Point> = counted
            .iter()
            .copied()
            .filter(|p| p.metric == key)
            .collect();
        let aggregation = input
            .component_aggregations
            .get(key)
            .cloned()
            .unwrap_or(Aggregation::Sum);
        aggregate_component(&aggregation, &points)
    };
    let side = |keys: &[String]| -> Option<Decimal> {
        keys.iter().map(|k| component(k)).sum::<Option<Decimal>>()
    };
    match &input.metric.aggregation {
        Aggregation::Ratio {
            numerator,
            denominator,
        } => {
            let (num, den) = (side(numerator), side(denominator));
            match (num, den) {
                (Some(n), Some(d)) if d.is_zero() => Actual {
                    value: None,
                    numerator: Some(n),
                    denominator: Some(d),
                    status: KpiStatus::ZeroDenominator,
                },
                (Some(n), Some(d)) => Actual {
                    value: Some(n / d),
                    numerator: Some(n),
                    denominator: Some(d),
                    status: KpiStatus::Scored,
                },
                _ => Actual {
                    value: None,
                    numerator: num,
                    denominator: den,
                    status: KpiStatus::NoData,
                },
            }
        }
        _ => {
            let value = component(&input.metric.key);
            Actual {
                status: if value.is_some() {
                    KpiStatus::Scored
                } else {
                    KpiStatus::NoData
                },
                value,
                numerator: None,
                denominator: None,
            }
        }
    }
}

fn score_kpi(days: DateRange, input: &KpiInput) -> KpiResult {
    let (counted, straddling): (Vec<&Point>, Vec<&Point>) = input
        .points
        .iter()
        .filter(|p| p.range.overlaps(&days))
        .partition(|p| days.contains_range(&p.range));
    let actual = match input.override_actual {
        Some(value) => Actual {
            value: Some(value),
            numerator: None,
            denominator: None,
            status: KpiStatus::Scored,
        },
        None => actual(input, &counted),
    };
    let (status, score) = match (actual.status, actual.value, input.levels) {
        _ if input.override_score.is_some() => (KpiStatus::Overridden, input.override_score),
        (KpiStatus::Scored, Some(value), Some(levels)) => {
            let (curve, direction) = (&input.definition.curve, input.definition.direction);
            // A ratio is scored from its components, so its actual is rounded only once.
            let score = match (input.override_actual, actual.numerator, actual.denominator) {
                (None, Some(n), Some(d)) if !d.is_zero() => {
                    kpi_score_of_ratio(n, d, &levels, curve, direction)
                }
                _ => kpi_score(value, &levels, curve, direction),
            };
            (KpiStatus::Scored, Some(score))
        }
        (KpiStatus::Scored, _, None) => (KpiStatus::NoTarget, None),
        (status, _, _) => (status, None),
    };
    let weight = input.definition.weight;
    KpiResult {
        kpi_id: input.kpi_id,
        actual: actual.value,
        numerator: actual.numerator,
        denominator: actual.denominator,
        score,
        weight,
        weighted: score.map(|s| s * weight),
        status,
        levels: input.levels,
        straddling: straddling.into_iter().cloned().collect(),
        observations: counted.len(),
        gate_passed: input
            .definition
            .gate
            .and_then(|gate| score.map(|s| s >= gate.min_score)),
    }
}

/// A KPI as a card sees it: its definition (with the current weight) and retirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardKpi {
    pub kpi_id: KpiId,
    pub definition: KpiDefinition,
    pub retired_from: Option<chrono::NaiveDate>,
}

/// The member a card is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMember {
    pub member_id: crate::ids::MemberId,
    pub position: Option<String>,
}

/// Whether a KPI is on the card: the team's (no member), or a member's (their position's
/// KPIs and their own), and not retired before the period starts.
pub fn on_card(kpi: &CardKpi, days: DateRange, member: Option<&CardMember>) -> bool {
    use crate::kpi::Assignee;
    if kpi.retired_from.is_some_and(|from| from <= days.start) {
        return false;
    }
    match (&kpi.definition.assignee, member) {
        (Assignee::Team, None) => true,
        (Assignee::Position(p), Some(m)) => m.position.as_deref() == Some(p.as_str()),
        (Assignee::Member(id), Some(m)) => *id == m.member_id,
        _ => false,
    }
}

/// Builds the scoring inputs of the given KPIs from the catalogue, the period's targets
/// and the recorded observations touching the period (every series; filtered here to
/// each KPI's platform and scope).
pub fn inputs(
    kpis: &[CardKpi],
    catalogue: &[MetricDefinition],
    targets: &HashMap<KpiId, Levels>,
    observations: &[Point],
) -> Result<Vec<KpiInput>, String> {
    let by_key: HashMap<&str, &MetricDefinition> =
        catalogue.iter().map(|m| (m.key.as_str(), m)).collect();
    kpis.iter()
        .map(|kpi| {
            let metric = (*by_key
                .get(kpi.definition.metric.as_str())
                .ok_or_else(|| format!("metric {} is unknown", kpi.definition.metric))?)
            .clone();
            let wanted = metric.components();
            let points = observations
                .iter()
                .filter(|o| wanted.contains(&o.metric))
                .filter(|o| {
                    kpi.definition
                        .platform
                        .as_ref()
                        .is_none_or(|p| &o.platform == p)
                })
                .filter(|o| o.scope == kpi.definition.scope)
                .cloned()
                .collect();
            Ok(KpiInput {
                kpi_id: kpi.kpi_id,
                component_aggregations: wanted
                    .iter()
                    .filter_map(|c| {
                        by_key
                            .get(c.as_str())
                            .map(|m| (c.clone(), m.aggregation.clone()))
                    })
                    .collect(),
                definition: kpi.definition.clone(),
                metric,
                levels: targets.get(&kpi.kpi_id).copied(),
                points,
                override_score: None,
                override_actual: None,
            })
        })
        .collect()
}

/// Everything a card is assembled from, wherever it comes from: the read models for the
/// live card, a replay of the log for a card as of a position or as a review locked it.
pub struct CardSource<'a> {
    pub days: DateRange,
    /// The member whose card it is; `None` for the team's.
    pub member: Option<&'a CardMember>,
    /// Every KPI of the engagement (the card keeps those on it).
    pub kpis: &'a [CardKpi],
    pub catalogue: &'a [MetricDefinition],
    /// The levels of each KPI for the card's period.
    pub targets: &'a HashMap<KpiId, Levels>,
    /// Observations touching the days, of any series.
    pub points: &'a [Point],
    /// KPIs a review excused: off the card, their weight with them.
    pub excused: &'a [KpiId],
    /// Scores a review decided instead of the computed ones.
    pub override_scores: &'a [(KpiId, Decimal)],
    /// Hypothetical actuals ("what if").
    pub override_actuals: &'a [(KpiId, Decimal)],
}

/// The one way a card is put together: the KPIs on it, their inputs, the review's
/// adjustments, then [`compute`]. Returns the card and its KPIs in definition order.
pub fn assemble(source: CardSource<'_>) -> Result<(Scorecard, Vec<CardKpi>), String> {
    let kpis: Vec<CardKpi> = source
        .kpis
        .iter()
        .filter(|k| on_card(k, source.days, source.member))
        .filter(|k| !source.excused.contains(&k.kpi_id))
        .cloned()
        .collect();
    let mut inputs = inputs(&kpis, source.catalogue, source.targets, source.points)?;
    for input in &mut inputs {
        if let Some((_, score)) = source
            .override_scores
            .iter()
            .find(|(k, _)| *k == input.kpi_id)
        {
            input.override_score = Some(*score);
        }
        if let Some((_, actual)) = source
            .override_actuals
            .iter()
            .find(|(k, _)| *k == input.kpi_id)
        {
            input.override_actual = Some(*actual);
        }
    }
    Ok((compute(source.days, &inputs), kpis))
}

/// Scores every KPI of a card over `days`.
pub fn compute(days: DateRange, inputs: &[KpiInput]) -> Scorecard {
    let kpis: Vec<KpiResult> = inputs.iter().map(|input| score_kpi(days, input)).collect();
    let complete = kpis.iter().all(|k| k.score.is_some());
    let score = if complete {
        let pairs: Vec<(Decimal, Decimal)> = kpis
            .iter()
            .filter_map(|k| k.score.map(|s| (k.weight, s)))
            .collect();
        weighted_score(&pairs)
    } else {
        None
    };
    let gates: Vec<Option<bool>> = inputs
        .iter()
        .zip(&kpis)
        .filter(|(input, _)| input.definition.gate.is_some())
        .map(|(_, result)| result.gate_passed)
        .collect();
    let gates_passed = gates
        .iter()
        .copied()
        .collect::<Option<Vec<bool>>>()
        .map(|all| all.iter().all(|g| *g));
    Scorecard {
        days,
        too_many_kpis: kpis.iter().filter(|k| k.weight > Decimal::ZERO).count() > MAX_CORE_KPIS,
        kpis,
        score,
        complete,
        gates_passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EngagementId;
    use crate::kpi::{Assignee, Gate};
    use crate::metrics::builtin_catalogue;
    use crate::scoring::{normalised, Curve};
    use std::str::FromStr;
    use uuid::Uuid;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn june() -> DateRange {
        DateRange::new("2026-06-01".parse().unwrap(), "2026-06-30".parse().unwrap()).unwrap()
    }

    fn day(n: u32) -> DateRange {
        DateRange::day(chrono::NaiveDate::from_ymd_opt(2026, 6, n).unwrap())
    }

    fn point(metric: &str, range: DateRange, value: &str) -> Point {
        Point {
            metric: metric.into(),
            platform: "amazon_jp".into(),
            scope: None,
            range,
            value: d(value),
        }
    }

    fn input(
        n: u128,
        metric_key: &str,
        weight: &str,
        levels: Option<(&str, &str, Option<&str>)>,
        points: Vec<Point>,
    ) -> KpiInput {
        let catalogue = builtin_catalogue();
        let metric = catalogue
            .iter()
            .find(|m| m.key == metric_key)
            .unwrap()
            .clone();
        let component_aggregations = metric
            .components()
            .into_iter()
            .map(|c| {
                let agg = catalogue
                    .iter()
                    .find(|m| m.key == c)
                    .unwrap()
                    .aggregation
                    .clone();
                (c, agg)
            })
            .collect();
        KpiInput {
            kpi_id: KpiId(Uuid::from_u128(n)),
            definition: KpiDefinition {
                engagement_id: EngagementId(Uuid::nil()),
                name: metric.label.clone(),
                metric: metric.key.clone(),
                platform: None,
                scope: None,
                assignee: Assignee::Position("advertising".into()),
                weight: d(weight),
                direction: metric
                    .direction
                    .unwrap_or(crate::metrics::Direction::Higher),
                curve: Curve::default(),
                gate: None,
            },
            metric,
            component_aggregations,
            levels: levels.map(|(t0, t1, t2)| Levels {
                threshold: d(t0),
                target: d(t1),
                stretch: t2.map(d),
            }),
            points,
            override_score: None,
            override_actual: None,
        }
    }

    fn worked_example() -> Vec<KpiInput> {
        vec![
            input(
                1,
                "acos",
                "40",
                Some(("0.35", "0.25", Some("0.20"))),
                vec![
                    point("ad_spend", june(), "1200000"),
                    point("ad_sales", june(), "4800000"),
                ],
            ),
            input(
                2,
                "ctr",
                "20",
                Some(("0.003", "0.0045", Some("0.006"))),
                vec![
                    point("clicks", june(), "9000"),
                    point("impressions", june(), "2400000"),
                ],
            ),
            input(
                3,
                "gmv",
                "40",
                Some(("40000000", "50000000", Some("60000000"))),
                vec![point("gmv", june(), "55000000")],
            ),
        ]
    }

    #[test]
    fn the_worked_example_scores_99() {
        let card = compute(june(), &worked_example());
        let scores: Vec<String> = card
            .kpis
            .iter()
            .map(|k| normalised(k.score.unwrap()))
            .collect();
        assert_eq!(scores, ["100", "75", "110"]);
        assert_eq!(normalised(card.kpis[1].actual.unwrap()), "0.00375");
        assert_eq!(card.score.map(normalised), Some("99".into()));
        assert!(card.complete);
        assert_eq!(card.gates_passed, Some(true), "no gate, nothing blocks");
    }

    #[test]
    fn a_failed_gate_is_reported_without_changing_the_score() {
        let mut inputs = worked_example();
        let mut odr = input(
            4,
            "order_defect_rate",
            "0",
            Some(("0.01", "0.005", None)),
            vec![
                point("defective_orders", june(), "12"),
                point("orders", june(), "1000"),
            ],
        );
        odr.definition.gate = Some(Gate { min_score: d("50") });
        inputs.push(odr);
        let card = compute(june(), &inputs);
        assert_eq!(card.kpis[3].score, Some(Decimal::ZERO));
        assert_eq!(card.kpis[3].gate_passed, Some(false));
        assert_eq!(card.gates_passed, Some(false));
        assert_eq!(
            card.score.map(normalised),
            Some("99".into()),
            "a weight-0 gate does not move the score"
        );
    }

    #[test]
    fn a_ratio_is_the_ratio_of_sums_not_the_mean_of_daily_ratios() {
        // Day 1: 10 clicks of 1,000 impressions (1 %); day 2: 1,000 of 1,000,000 (0.1 %).
        // Ratio of sums: 1,010 / 1,001,000 ≈ 0.1009 %; the mean of daily ratios would be 0.55 %.
        let ctr = input(
            1,
            "ctr",
            "1",
            Some(("0.001", "0.002", None)),
            vec![
                point("clicks", day(1), "10"),
                point("impressions", day(1), "1000"),
                point("clicks", day(2), "1000"),
                point("impressions", day(2), "1000000"),
            ],
        );
        let card = compute(june(), &[ctr]);
        let result = &card.kpis[0];
        assert_eq!(result.actual, Some(d("1010") / d("1001000")));
        assert_eq!(result.numerator, Some(d("1010")));
        assert_eq!(result.denominator, Some(d("1001000")));
        // 0.1009 % is just over the 0.1 % threshold: a score a little above 50, where the
        // mean of daily ratios (0.55 %) would have scored 100.
        let score = result.score.unwrap();
        assert!(score > d("50") && score < d("51"), "{score}");
    }

    #[test]
    fn a_ratio_kpi_is_scored_from_its_components_not_its_rounded_ratio() {
        // 100 orders of 3,100 sessions against 2% / 4% / 6%: one rounding, at the end.
        let conversion = input(
            1,
            "conversion_rate",
            "1",
            Some(("0.02", "0.04", Some("0.06"))),
            vec![
                point("orders", june(), "100"),
                point("sessions", june(), "3100"),
            ],
        );
        let card = compute(june(), &[conversion]);
        assert_eq!(
            card.kpis[0].score.map(|s| s.to_string()),
            Some("80.64516129032258064516129032".into())
        );
    }

    #[test]
    fn a_zero_denominator_has_no_value_and_leaves_the_card_incomplete() {
        let ctr = input(
            1,
            "ctr",
            "1",
            Some(("0.001", "0.002", None)),
            vec![
                point("clicks", day(1), "0"),
                point("impressions", day(1), "0"),
            ],
        );
        let card = compute(june(), &[ctr]);
        assert_eq!(card.kpis[0].status, KpiStatus::ZeroDenominator);
        assert_eq!(card.kpis[0].actual, None);
        assert!(!card.complete);
        assert_eq!(card.score, None);
    }

    #[test]
    fn missing_data_and_missing_targets_leave_the_card_incomplete() {
        let no_data = input(1, "gmv", "1", Some(("1", "2", None)), vec![]);
        let no_target = input(2, "gmv", "1", None, vec![point("gmv", day(3), "5")]);
        let card = compute(june(), &[no_data, no_target]);
        assert_eq!(card.kpis[0].status, KpiStatus::NoData);
        assert_eq!(card.kpis[1].status, KpiStatus::NoTarget);
        assert!(!card.complete);
        assert_eq!(card.score, None);
    }

    #[test]
    fn observations_straddling_the_edge_are_reported_not_counted() {
        let may_to_june =
            DateRange::new("2026-05-25".parse().unwrap(), "2026-06-03".parse().unwrap()).unwrap();
        let gmv = input(
            1,
            "gmv",
            "1",
            Some(("1", "2", None)),
            vec![point("gmv", may_to_june, "999"), point("gmv", day(10), "5")],
        );
        let card = compute(june(), &[gmv]);
        assert_eq!(card.kpis[0].actual, Some(d("5")));
        assert_eq!(card.kpis[0].straddling.len(), 1);
        assert_eq!(card.kpis[0].observations, 1);
    }

    #[test]
    fn a_level_takes_each_platforms_latest_value() {
        let stock = input(
            1,
            "units_on_hand",
            "1",
            Some(("1", "2", None)),
            vec![
                point("units_on_hand", day(1), "100"),
                point("units_on_hand", day(20), "40"),
                Point {
                    metric: "units_on_hand".into(),
                    platform: "rakuten".into(),
                    scope: None,
                    range: day(5),
                    value: d("7"),
                },
            ],
        );
        let card = compute(june(), &[stock]);
        assert_eq!(card.kpis[0].actual, Some(d("47")));
    }

    #[test]
    fn more_than_five_weighted_kpis_are_flagged() {
        let inputs: Vec<KpiInput> = (0..6).map(|n| input(n, "gmv", "1", None, vec![])).collect();
        assert!(compute(june(), &inputs).too_many_kpis);
        assert!(!compute(june(), &inputs[..5]).too_many_kpis);
    }
}
