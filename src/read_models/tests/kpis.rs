//! `kpis`: definitions, current targets and the target history.

use super::{by, int, json_param, openings, stored, text, NULL_TEXT, RECORDED_AT};
use crate::read_models::kpis::READ_MODEL;
use crate::store::events::StoredEvent;
use cqrs_es::Aggregate;
use kpi_ledger_domain::kpi::{Kpi, KpiEvent};
use kpi_ledger_domain::scoring::Levels;
use rust_decimal::Decimal;

const KPI: &str = "8a1f3e2d-4c5b-4a69-8e7f-0a1b2c3d4e5f";
const CONSULTANT: &str = "0b7e9c1d-3f2a-4e5b-8c6d-7e8f9a0b1c2d";

fn levels(threshold: i64, target: i64, stretch: Option<i64>) -> Levels {
    Levels {
        threshold: Decimal::from(threshold),
        target: Decimal::from(target),
        stretch: stretch.map(Decimal::from),
    }
}

fn target_set(previous: Option<Levels>) -> KpiEvent {
    KpiEvent::TargetSet {
        period: "2026-06".parse().unwrap(),
        levels: levels(900, 1_000, Some(1_200)),
        previous,
        reason: "the June campaign doubles traffic".into(),
    }
}

fn kpi_event(position: i64, event: &KpiEvent) -> StoredEvent {
    stored(Kpi::TYPE, KPI, position, event)
}

#[test]
fn a_target_set_upserts_the_periods_levels_and_records_the_change_with_its_actor() {
    let event = by(
        CONSULTANT,
        kpi_event(77, &target_set(Some(levels(800, 950, None)))),
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        ["INSERT INTO kpi_targets", "INSERT INTO target_history"]
    );
    let upsert = &statements[0];
    assert!(upsert.sql.contains("ON CONFLICT (kpi_id, period)"));
    assert_eq!(upsert.params[..2], [text(KPI), text("2026-06")]);
    assert_eq!(
        json_param::<Levels>(&upsert.params[2]),
        levels(900, 1_000, Some(1_200))
    );
    assert_eq!(upsert.params[3], int(77));

    let history = &statements[1].params;
    assert_eq!(history[..3], [text(KPI), int(77), text("2026-06")]);
    assert_eq!(json_param::<Levels>(&history[3]), levels(800, 950, None));
    assert_eq!(
        json_param::<Levels>(&history[4]),
        levels(900, 1_000, Some(1_200))
    );
    assert_eq!(
        history[5..],
        [
            text(r#"{"inline":"the June campaign doubles traffic"}"#),
            text(CONSULTANT),
            text(RECORDED_AT),
        ]
    );
}

#[test]
fn a_periods_first_target_has_no_before_levels() {
    let event = by(CONSULTANT, kpi_event(78, &target_set(None)));

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements[1].params[3], NULL_TEXT);
}

#[test]
fn a_target_change_without_an_actor_is_attributed_to_the_system() {
    let event = kpi_event(79, &target_set(None));

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements[1].params[6], text("system"));
}

#[test]
fn a_weight_change_and_a_retirement_update_the_kpi_row() {
    let weight = kpi_event(
        80,
        &KpiEvent::KpiWeightChanged {
            from: Decimal::from(30),
            to: "12.5".parse().unwrap(),
        },
    );
    let retired = kpi_event(
        81,
        &KpiEvent::KpiRetired {
            from: "2026-07-01".parse().unwrap(),
        },
    );

    let weight = (READ_MODEL.project)(&weight).unwrap();
    let retired = (READ_MODEL.project)(&retired).unwrap();

    assert_eq!(openings(&weight), ["UPDATE kpis SET"]);
    assert_eq!(weight[0].params, vec![text("12.5"), text(KPI)]);
    assert_eq!(openings(&retired), ["UPDATE kpis SET"]);
    assert!(retired[0].sql.contains("retired_from = $1"));
    assert_eq!(retired[0].params, vec![text("2026-07-01"), text(KPI)]);
}

#[test]
fn a_payload_that_does_not_decode_is_reported_with_its_position() {
    let mut event = kpi_event(82, &target_set(None));
    event.payload = serde_json::json!({ "TargetSet": { "period": "June" } });

    let error = (READ_MODEL.project)(&event).unwrap_err();

    assert!(
        matches!(&error, crate::store::StoreError::Corrupt(m) if m.contains("position 82")),
        "{error}"
    );
}
