use crate::engagement::{validate_position, MalformedPosition};
use crate::error::{DomainError, ErrorKind};
use crate::ids::{EngagementId, KpiId, MemberId};
use crate::metrics::{Direction, MetricDefinition};
use crate::period::Period;
use crate::scoring::{Curve, Levels};
use crate::text::Note;
use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whose scorecard a KPI belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Assignee {
    /// The engagement-level team scorecard.
    Team,
    /// Every member holding this position.
    Position(String),
    /// One member.
    Member(MemberId),
}

/// A KPI gate: below `min_score`, every payout depending on the scorecard is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub min_score: Decimal,
}

/// What a KPI measures and how it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiDefinition {
    pub engagement_id: EngagementId,
    pub name: String,
    pub metric: String,
    /// `None`: every platform's series, summed (ratios: components summed, then divided).
    pub platform: Option<String>,
    /// `None`: the store-level series; else one ASIN, SKU or campaign.
    pub scope: Option<String>,
    pub assignee: Assignee,
    pub weight: Decimal,
    pub direction: Direction,
    pub curve: Curve,
    pub gate: Option<Gate>,
}

// Commands live for one request; boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiCommand {
    /// Define a KPI. `metric` is the catalogue entry the edge resolved for
    /// `definition.metric`; `direction` overrides the metric's direction (required when
    /// the metric has none).
    Define {
        kpi_id: KpiId,
        name: Option<String>,
        engagement_id: EngagementId,
        metric: MetricDefinition,
        platform: Option<String>,
        scope: Option<String>,
        assignee: Assignee,
        weight: Decimal,
        direction: Option<Direction>,
        curve: Curve,
        /// `Some(None)`: a gate at the threshold score; `Some(Some(x))`: a gate at x.
        gate: Option<Option<Decimal>>,
    },
    ChangeWeight {
        weight: Decimal,
    },
    /// Retire from a day on: the KPI leaves every scorecard of periods starting then or later.
    Retire {
        from: NaiveDate,
    },
    /// Set or revise the levels for one or more periods (stored per period, all or none),
    /// with a mandatory reason.
    SetTarget {
        periods: Vec<Period>,
        levels: Levels,
        reason: Note,
        /// The periods a review had locked when the change was decided (SPEC §6, §8):
        /// their targets cannot change. The append refuses the change if a lock was added
        /// after the decision.
        locked: Vec<Period>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KpiEvent {
    KpiDefined {
        kpi_id: KpiId,
        definition: KpiDefinition,
    },
    KpiWeightChanged {
        from: Decimal,
        to: Decimal,
    },
    KpiRetired {
        from: NaiveDate,
    },
    TargetSet {
        period: Period,
        levels: Levels,
        /// The levels this change replaced; `None` for the period's first target.
        previous: Option<Levels>,
        reason: Note,
    },
}

impl DomainEvent for KpiEvent {
    fn event_type(&self) -> String {
        match self {
            KpiEvent::KpiDefined { .. } => "KpiDefined",
            KpiEvent::KpiWeightChanged { .. } => "KpiWeightChanged",
            KpiEvent::KpiRetired { .. } => "KpiRetired",
            KpiEvent::TargetSet { .. } => "TargetSet",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            // 2.0: the reason as a note (`upcast` reads 1.0).
            KpiEvent::TargetSet { .. } => "2.0",
            _ => "1.0",
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KpiError {
    #[error("KPI not found")]
    NotFound,
    #[error("a KPI with this id already exists")]
    AlreadyDefined,
    #[error("the KPI was retired from {0}")]
    Retired(NaiveDate),
    #[error("invalid KPI: weight {0} is negative; weights are 0 or more")]
    NegativeWeight(Decimal),
    /// The scoring curve breaks its rules; the reason is [`Curve::check`]'s.
    #[error("invalid KPI: {0}")]
    Curve(String),
    /// The metric (named) has no direction and the command states none.
    #[error("invalid KPI: direction: {0} is neither better high nor low; say which way is better")]
    DirectionNeeded(String),
    #[error("invalid KPI: gateMinScore {min_score} must be between 0 and the stretch score {stretch_score}")]
    GateOutOfRange {
        min_score: Decimal,
        stretch_score: Decimal,
    },
    #[error("invalid KPI: {0}")]
    MalformedPosition(#[from] MalformedPosition),
    #[error("invalid KPI: reason: every target change needs a reason")]
    ReasonRequired,
    #[error("invalid KPI: periods: name at least one period")]
    NoPeriods,
    /// The levels run against the KPI's direction; the reason is [`Levels::check`]'s.
    #[error("invalid KPI: {0}")]
    Levels(String),
    #[error("invalid KPI: periods: {0} is named twice")]
    PeriodNamedTwice(String),
    #[error("the weight is already {0}")]
    SameWeight(Decimal),
    #[error("the target for {0} already has exactly these levels")]
    SameLevels(String),
    #[error("{0} is locked by a review; record a reopen decision first")]
    PeriodLocked(String),
}

impl DomainError for KpiError {
    fn kind(&self) -> ErrorKind {
        match self {
            KpiError::NotFound => ErrorKind::NotFound,
            KpiError::AlreadyDefined => ErrorKind::Conflict,
            KpiError::Retired(_) => ErrorKind::InvalidTransition,
            KpiError::PeriodLocked(_) => ErrorKind::Locked,
            KpiError::NegativeWeight(_)
            | KpiError::Curve(_)
            | KpiError::DirectionNeeded(_)
            | KpiError::GateOutOfRange { .. }
            | KpiError::MalformedPosition(_)
            | KpiError::ReasonRequired
            | KpiError::NoPeriods
            | KpiError::Levels(_)
            | KpiError::PeriodNamedTwice(_)
            | KpiError::SameWeight(_)
            | KpiError::SameLevels(_) => ErrorKind::Validation,
        }
    }
}

/// The KPI aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpi {
    definition: Option<KpiDefinition>,
    retired_from: Option<NaiveDate>,
    targets: BTreeMap<String, Levels>,
}

impl Kpi {
    pub fn definition(&self) -> Option<&KpiDefinition> {
        self.definition.as_ref()
    }

    fn active(&self) -> Result<&KpiDefinition, KpiError> {
        let definition = self.definition.as_ref().ok_or(KpiError::NotFound)?;
        match self.retired_from {
            Some(from) => Err(KpiError::Retired(from)),
            None => Ok(definition),
        }
    }

    fn decide(&self, command: KpiCommand) -> Result<Vec<KpiEvent>, KpiError> {
        match command {
            KpiCommand::Define {
                kpi_id,
                name,
                engagement_id,
                metric,
                platform,
                scope,
                assignee,
                weight,
                direction,
                curve,
                gate,
            } => {
                if self.definition.is_some() {
                    return Err(KpiError::AlreadyDefined);
                }
                check_weight(weight)?;
                curve.check().map_err(KpiError::Curve)?;
                let direction = direction
                    .or(metric.direction)
                    .ok_or_else(|| KpiError::DirectionNeeded(metric.key.clone()))?;
                let gate = gate.map(|min| Gate {
                    min_score: min.unwrap_or(curve.threshold_score),
                });
                if let Some(gate) = gate {
                    if gate.min_score < Decimal::ZERO || gate.min_score > curve.stretch_score {
                        return Err(KpiError::GateOutOfRange {
                            min_score: gate.min_score,
                            stretch_score: curve.stretch_score,
                        });
                    }
                }
                if let Assignee::Position(position) = &assignee {
                    validate_position(position)?;
                }
                let scope = scope
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                let name = name
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| metric.label.clone());
                Ok(vec![KpiEvent::KpiDefined {
                    kpi_id,
                    definition: KpiDefinition {
                        engagement_id,
                        name,
                        metric: metric.key,
                        platform,
                        scope,
                        assignee,
                        weight,
                        direction,
                        curve,
                        gate,
                    },
                }])
            }
            KpiCommand::ChangeWeight { weight } => {
                let definition = self.active()?;
                check_weight(weight)?;
                if definition.weight == weight {
                    return Err(KpiError::SameWeight(weight));
                }
                Ok(vec![KpiEvent::KpiWeightChanged {
                    from: definition.weight,
                    to: weight,
                }])
            }
            KpiCommand::Retire { from } => {
                self.active()?;
                Ok(vec![KpiEvent::KpiRetired { from }])
            }
            KpiCommand::SetTarget {
                periods,
                levels,
                reason,
                locked,
            } => {
                let definition = self.active()?;
                if reason.is_blank() {
                    return Err(KpiError::ReasonRequired);
                }
                let reason = reason.trimmed();
                if periods.is_empty() {
                    return Err(KpiError::NoPeriods);
                }
                levels
                    .check(definition.direction)
                    .map_err(KpiError::Levels)?;
                let mut seen = std::collections::BTreeSet::new();
                let mut events = Vec::new();
                for period in periods {
                    let key = period.to_string();
                    if !seen.insert(key.clone()) {
                        return Err(KpiError::PeriodNamedTwice(key));
                    }
                    if locked.contains(&period) {
                        return Err(KpiError::PeriodLocked(key));
                    }
                    let previous = self.targets.get(&key).copied();
                    if previous == Some(levels) {
                        return Err(KpiError::SameLevels(key));
                    }
                    events.push(KpiEvent::TargetSet {
                        period,
                        levels,
                        previous,
                        reason: reason.clone(),
                    });
                }
                Ok(events)
            }
        }
    }
}

fn check_weight(weight: Decimal) -> Result<(), KpiError> {
    if weight < Decimal::ZERO {
        return Err(KpiError::NegativeWeight(weight));
    }
    Ok(())
}

impl Aggregate for Kpi {
    const TYPE: &'static str = "kpi";
    type Command = KpiCommand;
    type Event = KpiEvent;
    type Error = KpiError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            KpiEvent::KpiDefined { definition, .. } => self.definition = Some(definition),
            KpiEvent::KpiWeightChanged { to, .. } => {
                if let Some(definition) = &mut self.definition {
                    definition.weight = to;
                }
            }
            KpiEvent::KpiRetired { from } => self.retired_from = Some(from),
            KpiEvent::TargetSet { period, levels, .. } => {
                self.targets.insert(period.to_string(), levels);
            }
        }
    }
}
