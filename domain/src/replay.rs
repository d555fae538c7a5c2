//! A fold of the event log into everything a scorecard needs, for one engagement. Reads
//! "as of" a position replay the log up to it into a [`Model`] and score from there, so
//! they never depend on stored results (SPEC §9, §10).

use crate::engagement::{EngagementEvent, EngagementSettings};
use crate::ids::{EngagementId, KpiId, MemberId};
use crate::kpi::KpiEvent;
use crate::metrics::{builtin_catalogue, MetricDefinition};
use crate::period::{DateRange, Period};
use crate::scorecard::{self, CardKpi, CardMember, Point, Scorecard};
use crate::scoring::Levels;
use crate::series::{SeriesEvent, SeriesKey};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// One member as the log says at the replayed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedMember {
    pub member_id: MemberId,
    pub position: Option<String>,
    pub active_from: NaiveDate,
    pub active_until: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
struct ReplayedKpi {
    card: CardKpi,
    targets: BTreeMap<String, Levels>,
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
    series: BTreeMap<SeriesKey, BTreeMap<DateRange, Decimal>>,
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
            position: 0,
        }
    }

    /// Applies one stored event (its aggregate type, id and payload). Events of other
    /// engagements and of aggregates a scorecard does not read are skipped.
    pub fn apply(
        &mut self,
        position: i64,
        aggregate_type: &str,
        aggregate_id: &str,
        payload: &serde_json::Value,
    ) -> Result<(), String> {
        self.position = position;
        let decode_error = |e: serde_json::Error| format!("event at position {position}: {e}");
        match aggregate_type {
            "engagement" if aggregate_id == self.engagement_id.to_string() => {
                let event: EngagementEvent =
                    serde_json::from_value(payload.clone()).map_err(decode_error)?;
                self.apply_engagement(event);
            }
            "kpi" => {
                let event: KpiEvent =
                    serde_json::from_value(payload.clone()).map_err(decode_error)?;
                self.apply_kpi(aggregate_id, event);
            }
            "series" => {
                let event: SeriesEvent =
                    serde_json::from_value(payload.clone()).map_err(decode_error)?;
                self.apply_series(event);
            }
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
            | EngagementEvent::EngagementStatusChanged { .. } => {}
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

    fn apply_series(&mut self, event: SeriesEvent) {
        let (key, values): (SeriesKey, Vec<(DateRange, Decimal)>) = match event {
            SeriesEvent::ObservationRecorded {
                key, range, value, ..
            }
            | SeriesEvent::ObservationCorrected {
                key, range, value, ..
            } => (key, vec![(range, value)]),
            SeriesEvent::ObservationsImported {
                key, observations, ..
            } => (
                key,
                observations
                    .into_iter()
                    .map(|o| (o.range, o.value))
                    .collect(),
            ),
        };
        if key.engagement_id != self.engagement_id {
            return;
        }
        self.series.entry(key).or_default().extend(values);
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
        let tz: chrono_tz::Tz = settings
            .time_zone
            .parse()
            .map_err(|_| format!("unknown time zone {}", settings.time_zone))?;
        Ok(period.days(settings.fiscal_year_start_month, tz))
    }

    /// The scorecard of a period (the team's, or one member's) as of the replayed position,
    /// with the KPIs on it in definition order.
    pub fn scorecard(
        &self,
        period: &Period,
        member_id: Option<MemberId>,
    ) -> Result<(Scorecard, Vec<CardKpi>), String> {
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
        let kpis: Vec<CardKpi> = self
            .kpis
            .iter()
            .map(|k| k.card.clone())
            .filter(|k| scorecard::on_card(k, days, member.as_ref()))
            .collect();
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
                    .map(move |(range, value)| Point {
                        metric: key.metric.clone(),
                        platform: key.platform.clone(),
                        scope: key.scope.clone(),
                        range: *range,
                        value: *value,
                    })
            })
            .collect();
        let inputs = scorecard::inputs(&kpis, &self.catalogue(), &targets, &points)?;
        Ok((scorecard::compute(days, &inputs), kpis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engagement::EngagementSettings;
    use crate::kpi::{Assignee, KpiDefinition};
    use crate::metrics::Direction;
    use crate::scoring::{normalised, Curve};
    use crate::series::Source;
    use std::str::FromStr;
    use uuid::Uuid;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn replaying_the_worked_example_scores_99_and_earlier_positions_see_less() {
        let engagement = EngagementId(Uuid::from_u128(1));
        let li = MemberId(Uuid::from_u128(2));
        let june: Period = "2026-06".parse().unwrap();
        let month = june.days(4, chrono_tz::Asia::Tokyo);
        let mut log: Vec<(&str, String, serde_json::Value)> = vec![
            (
                "engagement",
                engagement.to_string(),
                serde_json::to_value(EngagementEvent::EngagementOpened {
                    engagement_id: engagement,
                    settings: EngagementSettings::with_defaults("Acme Home JP", "Acme"),
                })
                .unwrap(),
            ),
            (
                "engagement",
                engagement.to_string(),
                serde_json::to_value(EngagementEvent::MemberAdded {
                    member_id: li,
                    user_id: crate::ids::UserId(Uuid::from_u128(3)),
                    role: crate::access::EngagementRole::Member,
                    position: Some("advertising".into()),
                    active_from: "2026-06-11".parse().unwrap(),
                })
                .unwrap(),
            ),
        ];
        let kpis = [
            ("acos", "40", Direction::Lower, ("0.35", "0.25", "0.20")),
            ("ctr", "20", Direction::Higher, ("0.003", "0.0045", "0.006")),
            (
                "gmv",
                "40",
                Direction::Higher,
                ("40000000", "50000000", "60000000"),
            ),
        ];
        for (n, (metric, weight, direction, (t0, t1, t2))) in kpis.into_iter().enumerate() {
            let kpi_id = KpiId(Uuid::from_u128(10 + n as u128));
            log.push((
                "kpi",
                kpi_id.to_string(),
                serde_json::to_value(KpiEvent::KpiDefined {
                    kpi_id,
                    definition: KpiDefinition {
                        engagement_id: engagement,
                        name: metric.into(),
                        metric: metric.into(),
                        platform: None,
                        scope: None,
                        assignee: Assignee::Position("advertising".into()),
                        weight: d(weight),
                        direction,
                        curve: Curve::default(),
                        gate: None,
                    },
                })
                .unwrap(),
            ));
            log.push((
                "kpi",
                kpi_id.to_string(),
                serde_json::to_value(KpiEvent::TargetSet {
                    period: june.clone(),
                    levels: Levels {
                        threshold: d(t0),
                        target: d(t1),
                        stretch: Some(d(t2)),
                    },
                    previous: None,
                    reason: "baseline".into(),
                })
                .unwrap(),
            ));
        }
        for (metric, value) in [
            ("ad_spend", "1200000"),
            ("ad_sales", "4800000"),
            ("clicks", "9000"),
            ("impressions", "2400000"),
            ("gmv", "55000000"),
        ] {
            let key = SeriesKey {
                engagement_id: engagement,
                metric: metric.into(),
                platform: "amazon_jp".into(),
                scope: None,
            };
            log.push((
                "series",
                key.series_id().to_string(),
                serde_json::to_value(SeriesEvent::ObservationRecorded {
                    key,
                    range: month,
                    value: d(value),
                    source: Source::Manual,
                    restates: None,
                })
                .unwrap(),
            ));
        }
        let replay = |upto: usize| {
            let mut model = Model::new(engagement);
            for (position, (kind, id, payload)) in log.iter().take(upto).enumerate() {
                model.apply(position as i64 + 1, kind, id, payload).unwrap();
            }
            model
        };
        let (card, kpis) = replay(log.len()).scorecard(&june, Some(li)).unwrap();
        assert_eq!(kpis.len(), 3);
        assert_eq!(card.score.map(normalised), Some("99".into()));
        // Before the GMV observation the card is incomplete.
        let (card, _) = replay(log.len() - 1).scorecard(&june, Some(li)).unwrap();
        assert!(!card.complete);
        assert_eq!(card.score, None);
    }
}
