use super::*;
use crate::engagement::MalformedPosition;
use crate::ids::{EngagementId, KpiId};
use crate::metrics::{builtin_catalogue, Direction, MetricDefinition};
use crate::period::Period;
use crate::scoring::{Curve, Levels};
use cqrs_es::test::TestFramework;
use rust_decimal::Decimal;
use std::str::FromStr;
use uuid::Uuid;

type KpiTest = TestFramework<Kpi>;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn metric(key: &str) -> MetricDefinition {
    builtin_catalogue()
        .into_iter()
        .find(|m| m.key == key)
        .unwrap()
}

fn kpi_id() -> KpiId {
    KpiId(Uuid::from_u128(5))
}

fn engagement() -> EngagementId {
    EngagementId(Uuid::from_u128(1))
}

fn define_acos() -> KpiCommand {
    KpiCommand::Define {
        kpi_id: kpi_id(),
        name: None,
        engagement_id: engagement(),
        metric: metric("acos"),
        platform: None,
        scope: None,
        assignee: Assignee::Position("advertising".into()),
        weight: d("40"),
        direction: None,
        curve: Curve::default(),
        gate: None,
    }
}

fn acos_defined() -> KpiEvent {
    KpiEvent::KpiDefined {
        kpi_id: kpi_id(),
        definition: KpiDefinition {
            engagement_id: engagement(),
            name: "ACoS (ad spend ÷ ad sales)".into(),
            metric: "acos".into(),
            platform: None,
            scope: None,
            assignee: Assignee::Position("advertising".into()),
            weight: d("40"),
            direction: Direction::Lower,
            curve: Curve::default(),
            gate: None,
        },
    }
}

fn june() -> Period {
    "2026-06".parse().unwrap()
}

fn acos_levels() -> Levels {
    Levels {
        threshold: d("0.35"),
        target: d("0.25"),
        stretch: Some(d("0.20")),
    }
}

#[test]
fn defining_a_kpi_takes_the_metrics_direction_and_default_curve() {
    KpiTest::with(())
        .given_no_previous_events()
        .when(define_acos())
        .then_expect_events(vec![acos_defined()]);
}

#[test]
fn a_negative_weight_is_refused() {
    let mut command = define_acos();
    if let KpiCommand::Define { weight, .. } = &mut command {
        *weight = d("-1");
    }
    KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(KpiError::NegativeWeight(d("-1")));
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::ChangeWeight { weight: d("-5") })
        .then_expect_error(KpiError::NegativeWeight(d("-5")));
}

#[test]
fn a_metric_without_direction_needs_one_stated() {
    let mut command = define_acos();
    if let KpiCommand::Define { metric: m, .. } = &mut command {
        *m = metric("units_on_hand");
    }
    KpiTest::with(())
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_error(KpiError::DirectionNeeded("units_on_hand".into()));
    if let KpiCommand::Define { direction, .. } = &mut command {
        *direction = Some(Direction::Higher);
    }
    assert!(KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .is_ok());
}

#[test]
fn curve_settings_outside_0_100_stretch_are_refused() {
    let mut command = define_acos();
    if let KpiCommand::Define { curve, .. } = &mut command {
        curve.stretch_score = d("90");
    }
    KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(KpiError::Curve(
            "stretchScore 90 must be at least 100".into(),
        ));
}

#[test]
fn a_gate_lies_between_0_and_the_stretch_score() {
    let mut command = define_acos();
    if let KpiCommand::Define { gate, .. } = &mut command {
        *gate = Some(Some(d("121")));
    }
    KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(KpiError::GateOutOfRange {
            min_score: d("121"),
            stretch_score: d("120"),
        });
}

#[test]
fn a_position_assignee_is_a_position_key() {
    let mut command = define_acos();
    if let KpiCommand::Define { assignee, .. } = &mut command {
        *assignee = Assignee::Position("Ad Ops".into());
    }
    KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(KpiError::MalformedPosition(MalformedPosition(
            "Ad Ops".into(),
        )));
}

#[test]
fn a_gate_defaults_to_the_threshold_score() {
    let mut command = define_acos();
    if let KpiCommand::Define { gate, weight, .. } = &mut command {
        *gate = Some(None);
        *weight = Decimal::ZERO;
    }
    let events = KpiTest::with(())
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .unwrap();
    let KpiEvent::KpiDefined { definition, .. } = &events[0] else {
        panic!()
    };
    assert_eq!(definition.gate, Some(Gate { min_score: d("50") }));
    assert_eq!(definition.weight, Decimal::ZERO);
}

#[test]
fn changing_the_weight_records_before_and_after() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::ChangeWeight { weight: d("30") })
        .then_expect_events(vec![KpiEvent::KpiWeightChanged {
            from: d("40"),
            to: d("30"),
        }]);
}

#[test]
fn the_first_target_of_a_period_has_no_previous_levels() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: acos_levels(),
            reason: "baseline".into(),
            locked: vec![],
        })
        .then_expect_events(vec![KpiEvent::TargetSet {
            period: june(),
            levels: acos_levels(),
            previous: None,
            reason: "baseline".into(),
        }]);
}

#[test]
fn a_revision_records_the_levels_it_replaces() {
    let revised = Levels {
        target: d("0.24"),
        ..acos_levels()
    };
    KpiTest::with(())
        .given(vec![
            acos_defined(),
            KpiEvent::TargetSet {
                period: june(),
                levels: acos_levels(),
                previous: None,
                reason: "baseline".into(),
            },
        ])
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: revised,
            reason: "Prime Day".into(),
            locked: vec![],
        })
        .then_expect_events(vec![KpiEvent::TargetSet {
            period: june(),
            levels: revised,
            previous: Some(acos_levels()),
            reason: "Prime Day".into(),
        }]);
}

#[test]
fn a_target_change_without_a_reason_is_refused() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: acos_levels(),
            reason: "  ".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::ReasonRequired);
}

#[test]
fn a_target_change_names_at_least_one_period() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![],
            levels: acos_levels(),
            reason: "baseline".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::NoPeriods);
}

#[test]
fn levels_against_the_metrics_direction_are_refused() {
    let backwards = Levels {
        threshold: d("0.20"),
        target: d("0.25"),
        stretch: None,
    };
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: backwards,
            reason: "x".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::Levels(
            "threshold 0.20 must be at least the target 0.25 for a lower-is-better metric".into(),
        ));
}

#[test]
fn setting_the_same_levels_again_is_refused() {
    KpiTest::with(())
        .given(vec![
            acos_defined(),
            KpiEvent::TargetSet {
                period: june(),
                levels: acos_levels(),
                previous: None,
                reason: "baseline".into(),
            },
        ])
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: acos_levels(),
            reason: "again".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::SameLevels("2026-06".into()));
}

#[test]
fn a_retired_kpi_takes_no_more_changes() {
    let retired = vec![
        acos_defined(),
        KpiEvent::KpiRetired {
            from: "2026-07-01".parse().unwrap(),
        },
    ];
    KpiTest::with(())
        .given(retired.clone())
        .when(KpiCommand::ChangeWeight { weight: d("10") })
        .then_expect_error(KpiError::Retired("2026-07-01".parse().unwrap()));
    KpiTest::with(())
        .given(retired)
        .when(KpiCommand::SetTarget {
            periods: vec![june()],
            levels: acos_levels(),
            reason: "x".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::Retired("2026-07-01".parse().unwrap()));
}

#[test]
fn commands_on_an_undefined_kpi_are_not_found() {
    KpiTest::with(())
        .given_no_previous_events()
        .when(KpiCommand::ChangeWeight { weight: d("10") })
        .then_expect_error(KpiError::NotFound);
}

#[test]
fn one_change_can_set_several_periods_at_once() {
    let july: Period = "2026-07".parse().unwrap();
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![june(), july.clone()],
            levels: acos_levels(),
            reason: "H2 plan".into(),
            locked: vec![],
        })
        .then_expect_events(vec![
            KpiEvent::TargetSet {
                period: june(),
                levels: acos_levels(),
                previous: None,
                reason: "H2 plan".into(),
            },
            KpiEvent::TargetSet {
                period: july,
                levels: acos_levels(),
                previous: None,
                reason: "H2 plan".into(),
            },
        ]);
}

#[test]
fn a_period_named_twice_is_refused() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec![june(), june()],
            levels: acos_levels(),
            reason: "x".into(),
            locked: vec![],
        })
        .then_expect_error(KpiError::PeriodNamedTwice("2026-06".into()));
}

#[test]
fn the_target_of_a_locked_period_cannot_change() {
    KpiTest::with(())
        .given(vec![acos_defined()])
        .when(KpiCommand::SetTarget {
            periods: vec!["2026-05".parse().unwrap(), june()],
            levels: acos_levels(),
            reason: "too late".into(),
            locked: vec![june()],
        })
        .then_expect_error(KpiError::PeriodLocked("2026-06".into()));
}
