//! Payouts (SPEC §7, §9): calculated only for locked periods whose data is complete, from
//! the event log replayed to the lock's snapshot — never from stored results — and
//! recorded with every input so that a later replay gives the identical amount.

use crate::error::{DomainError, ErrorKind};
use crate::ids::{EngagementId, MemberId, UserId};
use crate::payout::{active_days, member_score, payout, PayoutCurve, PayoutFigures, FORMULA};
use crate::period::Period;
use crate::replay::Model;
use crate::review::Decision;
use crate::text::Note;
use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

#[cfg(test)]
mod payout_record_tests;

/// Every input and intermediate figure of one payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calculation {
    pub member_id: MemberId,
    pub period: Period,
    pub review_id: Uuid,
    pub lock_version: u32,
    /// The event position the period's inputs were frozen at.
    pub snapshot_position: i64,
    pub plan_id: Uuid,
    pub plan_version: u32,
    pub individual_score: Decimal,
    pub team_score: Option<Decimal>,
    pub team_weight: Decimal,
    /// The plan version's payout curve.
    pub curve: PayoutCurve,
    pub score: Decimal,
    pub gates_passed: bool,
    pub figures: PayoutFigures,
    pub formula: String,
}

/// Why a payout cannot be calculated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error(
        "{0} is not locked: a review must be signed off by a consultant and a client owner first"
    )]
    NotLocked(String),
    #[error("incentive plan not found")]
    PlanNotFound,
    #[error("version {0} of the plan is not approved by a client owner")]
    PlanNotApproved(u32),
    #[error("the plan pays per {0:?} period, not for {1}")]
    WrongPeriod(crate::plan::PlanPeriod, String),
    #[error("member {0} is not a participant of the plan")]
    NotParticipant(MemberId),
    #[error("the data is incomplete: {0}")]
    Incomplete(String),
    /// The frozen model was replayed to another position than the lock's snapshot.
    #[error(
        "the inputs were replayed to position {replayed_to}, the lock froze them at {frozen_at}"
    )]
    SnapshotMismatch { replayed_to: i64, frozen_at: i64 },
    /// The period's days cannot be told in the engagement's calendar; the reason is
    /// [`Model::days`]'s.
    #[error("{0}")]
    Calendar(String),
    /// A scorecard cannot be computed; the reason is [`Model::scenario_scorecard`]'s.
    #[error("{0}")]
    Scorecard(String),
}

impl DomainError for SettlementError {
    fn kind(&self) -> ErrorKind {
        match self {
            SettlementError::NotLocked(_) | SettlementError::PlanNotApproved(_) => {
                ErrorKind::InvalidTransition
            }
            SettlementError::PlanNotFound | SettlementError::NotParticipant(_) => {
                ErrorKind::NotFound
            }
            SettlementError::Incomplete(_) => ErrorKind::Incomplete,
            SettlementError::WrongPeriod(..)
            | SettlementError::SnapshotMismatch { .. }
            | SettlementError::Calendar(_)
            | SettlementError::Scorecard(_) => ErrorKind::Validation,
        }
    }
}

/// A hypothetical: other actuals for some KPIs, another payout curve. Nothing of it is
/// recorded; a period need not be locked, and data gaps do not stop it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    pub actuals: Vec<(crate::ids::KpiId, Decimal)>,
    pub curve: Option<PayoutCurve>,
}

/// Calculates one participant's payout. `state` is the log replayed to now (reviews,
/// plans); `frozen` is the log replayed to the lock's snapshot position (scoring inputs).
pub fn calculate(
    state: &Model,
    frozen: &Model,
    period: &Period,
    plan_id: Uuid,
    member_id: MemberId,
) -> Result<Calculation, SettlementError> {
    settle(state, frozen, period, plan_id, member_id, None)
}

/// Every participant's payout of a plan for a locked period, or the first refusal: a
/// period's payouts are decided all together, so none is recorded while another is refused.
pub fn plan_payouts(
    state: &Model,
    frozen: &Model,
    period: &Period,
    plan_id: Uuid,
) -> Result<Vec<Calculation>, SettlementError> {
    let plan = state.plan(plan_id).ok_or(SettlementError::PlanNotFound)?;
    plan.terms
        .participants
        .iter()
        .map(|p| calculate(state, frozen, period, plan_id, p.member_id))
        .collect()
}

/// What a participant's payout would be under a scenario. For a locked period `frozen` is
/// the log at the lock's snapshot; otherwise the log as it is now.
pub fn what_if(
    state: &Model,
    frozen: &Model,
    period: &Period,
    plan_id: Uuid,
    member_id: MemberId,
    scenario: &Scenario,
) -> Result<Calculation, SettlementError> {
    settle(state, frozen, period, plan_id, member_id, Some(scenario))
}

fn settle(
    state: &Model,
    frozen: &Model,
    period: &Period,
    plan_id: Uuid,
    member_id: MemberId,
    scenario: Option<&Scenario>,
) -> Result<Calculation, SettlementError> {
    let locked = state.review_for(period).filter(|r| r.locked);
    let review = match (locked, scenario) {
        (Some(review), _) => review.clone(),
        (None, Some(_)) => crate::replay::ReplayedReview {
            review_id: Uuid::nil(),
            period: period.clone(),
            locked: false,
            version: 0,
            snapshot_position: frozen.position,
            decisions: state
                .review_for(period)
                .map(|r| r.decisions.clone())
                .unwrap_or_default(),
            locks: Vec::new(),
        },
        (None, None) => return Err(SettlementError::NotLocked(period.to_string())),
    };
    if frozen.position != review.snapshot_position {
        return Err(SettlementError::SnapshotMismatch {
            replayed_to: frozen.position,
            frozen_at: review.snapshot_position,
        });
    }
    let plan = state.plan(plan_id).ok_or(SettlementError::PlanNotFound)?;
    if !plan.approved {
        return Err(SettlementError::PlanNotApproved(plan.version));
    }
    if !plan.terms.period.matches(period) {
        return Err(SettlementError::WrongPeriod(
            plan.terms.period,
            period.to_string(),
        ));
    }
    let participant = plan
        .terms
        .participants
        .iter()
        .find(|p| p.member_id == member_id)
        .ok_or(SettlementError::NotParticipant(member_id))?;
    let member = frozen
        .member(member_id)
        .ok_or(SettlementError::NotParticipant(member_id))?;
    let days = frozen.days(period).map_err(SettlementError::Calendar)?;
    let decisions = &review.decisions;

    let actuals = scenario.map(|s| s.actuals.as_slice()).unwrap_or_default();
    let (individual, individual_kpis) = frozen
        .scenario_scorecard(period, Some(member_id), decisions, actuals)
        .map_err(SettlementError::Scorecard)?;
    let (team, team_kpis) = frozen
        .scenario_scorecard(period, None, decisions, actuals)
        .map_err(SettlementError::Scorecard)?;

    // Every source feeding the participant's KPIs must be complete through the period's
    // last day, unless a decision accepted the gap.
    let accepted: BTreeSet<&str> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::AcceptDataGap { platform, .. } => Some(platform.as_str()),
            _ => None,
        })
        .collect();
    let all_platforms: Vec<String> = frozen
        .settings()
        .map(|s| s.platforms.clone())
        .unwrap_or_default();
    let mut platforms: BTreeSet<String> = BTreeSet::new();
    let team_counts = plan.terms.team_weight > Decimal::ZERO;
    // Team KPIs feed the payout when the team share counts, and as gates always.
    let feeding_team = team_kpis
        .iter()
        .filter(|k| team_counts || k.definition.gate.is_some());
    for kpi in individual_kpis.iter().chain(feeding_team) {
        match &kpi.definition.platform {
            Some(p) => {
                platforms.insert(p.clone());
            }
            None => platforms.extend(all_platforms.iter().cloned()),
        }
    }
    let mut gaps = Vec::new();
    for platform in &platforms {
        if accepted.contains(platform.as_str()) {
            continue;
        }
        // Every source that delivered this platform's data for the period must be
        // complete through its last day.
        let sources = frozen.sources_in(platform, days);
        if sources.is_empty() {
            gaps.push(format!("{platform} has no data"));
        }
        for source in sources {
            match frozen.source_complete_through(platform, &source) {
                Some(through) if through >= days.end => {}
                Some(through) => gaps.push(format!(
                    "{platform} data from {source} is complete only through {through}"
                )),
                None => gaps.push(format!("{platform} data from {source} has no watermark")),
            }
        }
    }
    if !gaps.is_empty() && scenario.is_none() {
        return Err(SettlementError::Incomplete(format!(
            "{} (a review decision can accept the gap)",
            gaps.join("; ")
        )));
    }
    let individual_score = individual.score.ok_or_else(|| {
        SettlementError::Incomplete(
            "the member's scorecard is incomplete; excuse or fill the missing KPIs".into(),
        )
    })?;
    let team_score = if team_counts {
        Some(team.score.ok_or_else(|| {
            SettlementError::Incomplete("the team scorecard is incomplete".into())
        })?)
    } else {
        team.score
    };
    let gates = [individual.gates_passed, team.gates_passed];
    if gates.contains(&None) {
        return Err(SettlementError::Incomplete(
            "a gate KPI has no score; fill it or excuse it".into(),
        ));
    }
    let gates_passed = gates.iter().all(|g| *g == Some(true));
    let score = member_score(individual_score, team_score, plan.terms.team_weight)
        .ok_or_else(|| SettlementError::Incomplete("the team scorecard is incomplete".into()))?;
    let curve = scenario
        .and_then(|s| s.curve.clone())
        .unwrap_or_else(|| plan.terms.curve.clone());
    let figures = payout(
        participant.target_bonus,
        score,
        &curve,
        gates_passed,
        active_days(days, member.active_from, member.active_until),
        days.days(),
        participant.cap,
    );
    Ok(Calculation {
        member_id,
        period: period.clone(),
        review_id: review.review_id,
        lock_version: review.version,
        snapshot_position: review.snapshot_position,
        plan_id,
        plan_version: plan.version,
        individual_score,
        team_score,
        team_weight: plan.terms.team_weight,
        curve,
        score,
        gates_passed,
        figures,
        formula: FORMULA.to_string(),
    })
}

/// The id of the payout for one set of inputs: calculating again on the same lock and plan
/// version finds the same payout.
pub fn payout_id(engagement_id: EngagementId, calculation: &Calculation) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6b70_695f_7061_796f_7574_5f69_6473_0001);
    let name = format!(
        "{engagement_id}|{}|{}|{}|{}|{}|{}",
        calculation.period,
        calculation.member_id,
        calculation.review_id,
        calculation.lock_version,
        calculation.plan_id,
        calculation.plan_version
    );
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutCommand {
    Record {
        payout_id: Uuid,
        engagement_id: EngagementId,
        calculation: Box<Calculation>,
        /// The log position the calculation replayed (its reviews and plans).
        replayed_to: i64,
    },
    Approve {
        by: UserId,
    },
    MarkPaid {
        by: UserId,
        paid_on: NaiveDate,
    },
    /// A correction after payment: an adjustment (or, negative, a clawback) carried into a
    /// later period. The paid payout itself never changes.
    Adjust {
        by: UserId,
        amount: Decimal,
        reason: Note,
        carry_into: Period,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayoutEvent {
    PayoutCalculated {
        payout_id: Uuid,
        engagement_id: EngagementId,
        calculation: Box<Calculation>,
        replayed_to: i64,
    },
    PayoutApproved {
        by: UserId,
    },
    PayoutPaid {
        by: UserId,
        paid_on: NaiveDate,
    },
    PayoutAdjusted {
        by: UserId,
        amount: Decimal,
        reason: Note,
        carry_into: Period,
    },
}

impl DomainEvent for PayoutEvent {
    fn event_type(&self) -> String {
        match self {
            PayoutEvent::PayoutCalculated { .. } => "PayoutCalculated",
            PayoutEvent::PayoutApproved { .. } => "PayoutApproved",
            PayoutEvent::PayoutPaid { .. } => "PayoutPaid",
            PayoutEvent::PayoutAdjusted { .. } => "PayoutAdjusted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            // 2.0: the reason as a note (`upcast` reads 1.0).
            PayoutEvent::PayoutAdjusted { .. } => "2.0",
            _ => "1.0",
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    #[error("payout not found")]
    NotFound,
    #[error("this payout was already calculated on the same lock and plan version")]
    AlreadyCalculated,
    #[error("the payout is already approved")]
    AlreadyApproved,
    #[error("the payout must be approved by a client owner before it is paid")]
    NotApproved,
    #[error("the payout is already marked paid; corrections are adjustments")]
    AlreadyPaid,
    #[error("only a paid payout is adjusted; before payment, reopen the review and recalculate")]
    NotPaid,
    #[error("invalid input: reason: an adjustment needs a reason")]
    ReasonRequired,
    /// An adjustment of 0 or of a fraction; it must be a non-zero whole amount.
    #[error("invalid input: amount: a non-zero whole amount (negative for a clawback)")]
    ZeroOrFractionalAmount(Decimal),
}

impl DomainError for PayoutError {
    fn kind(&self) -> ErrorKind {
        match self {
            PayoutError::NotFound => ErrorKind::NotFound,
            PayoutError::AlreadyCalculated => ErrorKind::Conflict,
            PayoutError::AlreadyApproved
            | PayoutError::NotApproved
            | PayoutError::AlreadyPaid
            | PayoutError::NotPaid => ErrorKind::InvalidTransition,
            PayoutError::ReasonRequired | PayoutError::ZeroOrFractionalAmount(_) => {
                ErrorKind::Validation
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRecord {
    calculated: bool,
    approved: bool,
    paid: bool,
}

impl PayoutRecord {
    fn decide(&self, command: PayoutCommand) -> Result<PayoutEvent, PayoutError> {
        if !self.calculated && !matches!(command, PayoutCommand::Record { .. }) {
            return Err(PayoutError::NotFound);
        }
        match command {
            PayoutCommand::Record {
                payout_id,
                engagement_id,
                calculation,
                replayed_to,
            } => {
                if self.calculated {
                    return Err(PayoutError::AlreadyCalculated);
                }
                Ok(PayoutEvent::PayoutCalculated {
                    payout_id,
                    engagement_id,
                    calculation,
                    replayed_to,
                })
            }
            PayoutCommand::Approve { by } => {
                if self.approved {
                    return Err(PayoutError::AlreadyApproved);
                }
                Ok(PayoutEvent::PayoutApproved { by })
            }
            PayoutCommand::MarkPaid { by, paid_on } => {
                if !self.approved {
                    return Err(PayoutError::NotApproved);
                }
                if self.paid {
                    return Err(PayoutError::AlreadyPaid);
                }
                Ok(PayoutEvent::PayoutPaid { by, paid_on })
            }
            PayoutCommand::Adjust {
                by,
                amount,
                reason,
                carry_into,
            } => {
                if !self.paid {
                    return Err(PayoutError::NotPaid);
                }
                if reason.is_blank() {
                    return Err(PayoutError::ReasonRequired);
                }
                let reason = reason.trimmed();
                if amount.is_zero() || !amount.fract().is_zero() {
                    return Err(PayoutError::ZeroOrFractionalAmount(amount));
                }
                Ok(PayoutEvent::PayoutAdjusted {
                    by,
                    amount,
                    reason,
                    carry_into,
                })
            }
        }
    }
}

impl Aggregate for PayoutRecord {
    const TYPE: &'static str = "payout";
    type Command = PayoutCommand;
    type Event = PayoutEvent;
    type Error = PayoutError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = self.decide(command)?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PayoutEvent::PayoutCalculated { .. } => self.calculated = true,
            PayoutEvent::PayoutApproved { .. } => self.approved = true,
            PayoutEvent::PayoutPaid { .. } => self.paid = true,
            PayoutEvent::PayoutAdjusted { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::EngagementRole;
    use crate::metrics::Direction;
    use crate::payout::CurvePoint;
    use crate::plan::{Participant, PlanEvent, PlanPeriod, PlanTerms};
    use crate::replay::fixtures::*;
    use crate::review::ReviewEvent;
    use crate::scoring::normalised;

    fn plan_id() -> Uuid {
        Uuid::from_u128(50)
    }

    fn review_id() -> Uuid {
        Uuid::from_u128(60)
    }

    /// Reviews June at the current end of `log`, locks it, and approves the plan.
    fn lock_and_plan(log: &mut Log) -> i64 {
        let snapshot = log.len() as i64;
        let r = review_id().to_string();
        push(
            log,
            "review",
            r.clone(),
            ReviewEvent::ReviewOpened {
                review_id: review_id(),
                engagement_id: engagement(),
                period: june(),
                snapshot_position: snapshot,
            },
        );
        push(
            log,
            "review",
            r.clone(),
            ReviewEvent::SignedOff {
                user_id: UserId(Uuid::from_u128(70)),
                role: EngagementRole::Consultant,
            },
        );
        push(
            log,
            "review",
            r.clone(),
            ReviewEvent::SignedOff {
                user_id: UserId(Uuid::from_u128(71)),
                role: EngagementRole::ClientOwner,
            },
        );
        push(
            log,
            "review",
            r,
            ReviewEvent::PeriodLocked {
                version: 1,
                snapshot_position: snapshot,
            },
        );
        let terms = PlanTerms {
            name: "Advertising".into(),
            period: PlanPeriod::Month,
            participants: vec![Participant {
                member_id: li(),
                target_bonus: d("200000"),
                cap: None,
            }],
            curve: Default::default(),
            team_weight: Decimal::ZERO,
        };
        push(
            log,
            "plan",
            plan_id().to_string(),
            PlanEvent::PlanDrafted {
                plan_id: plan_id(),
                engagement_id: engagement(),
                version: 1,
                terms,
            },
        );
        push(
            log,
            "plan",
            plan_id().to_string(),
            PlanEvent::PlanApproved {
                version: 1,
                by: UserId(Uuid::from_u128(71)),
            },
        );
        snapshot
    }

    fn settle(log: &Log, snapshot: i64) -> Result<Calculation, SettlementError> {
        let state = replay(log, log.len());
        let frozen = replay(log, snapshot as usize);
        calculate(&state, &frozen, &june(), plan_id(), li())
    }

    #[test]
    fn li_wei_is_paid_131667_yen_for_june() {
        let mut log = worked_example();
        let snapshot = lock_and_plan(&mut log);
        let calculation = settle(&log, snapshot).unwrap();
        assert_eq!(normalised(calculation.score), "99");
        assert_eq!(normalised(calculation.figures.payout_pct), "98.75");
        assert_eq!(calculation.figures.active_days, 20);
        assert_eq!(calculation.figures.period_days, 30);
        assert_eq!(normalised(calculation.figures.amount), "131667");
    }

    #[test]
    fn later_changes_do_not_move_a_locked_payout() {
        let mut log = worked_example();
        let snapshot = lock_and_plan(&mut log);
        // After the lock: GMV restated, which the live card would show.
        record(
            &mut log,
            "gmv",
            june().days(4, chrono_tz::Asia::Tokyo),
            "40000000",
        );
        assert_eq!(
            normalised(settle(&log, snapshot).unwrap().figures.amount),
            "131667"
        );
    }

    #[test]
    fn a_failed_gate_pays_nothing() {
        let mut log = worked_example();
        add_kpi(
            &mut log,
            20,
            "order_defect_rate",
            "0",
            Direction::Lower,
            ("0.01", "0.005", None),
            Some(d("50")),
        );
        let month = june().days(4, chrono_tz::Asia::Tokyo);
        record(&mut log, "defective_orders", month, "12");
        record(&mut log, "orders", month, "1000");
        let snapshot = lock_and_plan(&mut log);
        let calculation = settle(&log, snapshot).unwrap();
        assert!(!calculation.gates_passed);
        assert_eq!(calculation.figures.amount, Decimal::ZERO);
    }

    #[test]
    fn what_if_scores_a_hypothetical_actual_without_a_lock() {
        let log = worked_example();
        let state = replay(&log, log.len());
        // GMV at ¥60,000,000 instead of ¥55,000,000: 0.4×100 + 0.2×75 + 0.4×120 = 103.
        let scenario = Scenario {
            actuals: vec![(crate::ids::KpiId(Uuid::from_u128(12)), d("60000000"))],
            curve: None,
        };
        let calculation = what_if(&state, &state, &june(), plan_id(), li(), &scenario);
        // No plan in this log: the what-if still needs an approved plan.
        assert!(matches!(calculation, Err(SettlementError::PlanNotFound)));
        let mut log = worked_example();
        lock_and_plan(&mut log);
        let state = replay(&log, log.len());
        let calculation = what_if(&state, &state, &june(), plan_id(), li(), &scenario);
        // The period is locked: the snapshot must be used.
        assert!(matches!(
            calculation,
            Err(SettlementError::SnapshotMismatch { .. })
        ));
        let frozen = replay(
            &log,
            state.review_for(&june()).unwrap().snapshot_position as usize,
        );
        let calculation = what_if(&state, &frozen, &june(), plan_id(), li(), &scenario).unwrap();
        assert_eq!(normalised(calculation.score), "103");
        let curve = PayoutCurve {
            points: vec![CurvePoint {
                score: d("0"),
                payout_pct: d("100"),
            }],
        };
        let flat = what_if(
            &state,
            &frozen,
            &june(),
            plan_id(),
            li(),
            &Scenario {
                actuals: vec![],
                curve: Some(curve),
            },
        )
        .unwrap();
        assert_eq!(normalised(flat.figures.amount), "133333");
    }

    #[test]
    fn a_source_that_stopped_early_blocks_the_payout_even_if_another_is_complete() {
        let mut log = worked_example();
        // An import of the business report complete only through June 20 delivered part
        // of June; the manual month values are complete through June 30.
        let key = crate::series::SeriesKey {
            engagement_id: engagement(),
            metric: "sessions".into(),
            platform: "amazon_jp".into(),
            scope: None,
        };
        let import_id = Uuid::from_u128(90);
        push(
            &mut log,
            "series",
            key.series_id().to_string(),
            crate::series::SeriesEvent::ObservationsImported {
                key,
                import_id,
                format: "amazon_business_report".into(),
                observations: vec![crate::series::ImportedObservation {
                    range: crate::period::DateRange::day("2026-06-20".parse().unwrap()),
                    value: d("100"),
                    restates: None,
                }],
            },
        );
        push(
            &mut log,
            "import",
            import_id.to_string(),
            crate::import::ImportEvent::ImportCompleted {
                engagement_id: engagement(),
                format: "amazon_business_report".into(),
                rows_read: 1,
                observations_recorded: 1,
                observations_restated: 0,
                series: 1,
                watermarks: vec![crate::import::Watermark {
                    platform: "amazon_jp".into(),
                    through: "2026-06-20".parse().unwrap(),
                }],
            },
        );
        let snapshot = lock_and_plan(&mut log);
        let error = settle(&log, snapshot).unwrap_err();
        assert!(
            matches!(&error, SettlementError::Incomplete(m) if m.contains("amazon_business_report is complete only through 2026-06-20")),
            "{error}"
        );
    }

    #[test]
    fn an_unlocked_period_is_not_paid() {
        let log = worked_example();
        let state = replay(&log, log.len());
        assert!(matches!(
            calculate(&state, &state, &june(), plan_id(), li()),
            Err(SettlementError::NotLocked(_))
        ));
    }

    #[test]
    fn a_platform_without_complete_data_blocks_the_payout_until_a_decision_accepts_the_gap() {
        let mut log = worked_example();
        // The engagement also sells on Rakuten, whose data never arrived: the unscoped
        // KPIs read every platform, so June is incomplete.
        let mut settings =
            crate::engagement::EngagementSettings::with_defaults("Acme Home JP", "Acme");
        settings.platforms = vec!["amazon_jp".into(), "rakuten".into()];
        log[0].4 = serde_json::to_value(crate::engagement::EngagementEvent::EngagementOpened {
            engagement_id: engagement(),
            settings,
        })
        .unwrap();
        let snapshot = lock_and_plan(&mut log);
        let error = settle(&log, snapshot).unwrap_err();
        assert!(
            matches!(&error, SettlementError::Incomplete(m) if m.contains("rakuten has no data")),
            "{error}"
        );
        push(
            &mut log,
            "review",
            review_id().to_string(),
            ReviewEvent::DecisionRecorded {
                decision: Decision::AcceptDataGap {
                    platform: "rakuten".into(),
                    reason: "no Rakuten sales in June".into(),
                },
            },
        );
        assert_eq!(
            normalised(settle(&log, snapshot).unwrap().figures.amount),
            "131667"
        );
    }
}
