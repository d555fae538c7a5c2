use super::*;
use crate::metrics::builtin_catalogue;
use cqrs_es::test::TestFramework;
use std::str::FromStr;

type SeriesTest = TestFramework<Series>;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn key() -> SeriesKey {
    SeriesKey {
        engagement_id: EngagementId(Uuid::from_u128(1)),
        metric: "gmv".into(),
        platform: "amazon_jp".into(),
        scope: None,
    }
}

fn gmv() -> MetricDefinition {
    builtin_catalogue()
        .into_iter()
        .find(|m| m.key == "gmv")
        .unwrap()
}

fn day(s: &str) -> DateRange {
    DateRange::day(s.parse().unwrap())
}

fn june() -> DateRange {
    DateRange::new("2026-06-01".parse().unwrap(), "2026-06-30".parse().unwrap()).unwrap()
}

fn record(range: DateRange, value: &str) -> SeriesCommand {
    SeriesCommand::Record {
        key: key(),
        metric: gmv(),
        range,
        value: d(value),
        source: Source::Manual,
    }
}

fn recorded(range: DateRange, value: &str, restates: Option<&str>) -> SeriesEvent {
    SeriesEvent::ObservationRecorded {
        key: key(),
        range,
        value: d(value),
        source: Source::Manual,
        restates: restates.map(d),
    }
}

#[test]
fn recording_a_day_records_it() {
    SeriesTest::with(())
        .given_no_previous_events()
        .when(record(day("2026-06-01"), "1834000"))
        .then_expect_events(vec![recorded(day("2026-06-01"), "1834000", None)]);
}

#[test]
fn the_same_bounds_again_restate_and_keep_the_earlier_value_in_the_event() {
    SeriesTest::with(())
        .given(vec![recorded(day("2026-06-01"), "1834000", None)])
        .when(record(day("2026-06-01"), "1835000"))
        .then_expect_events(vec![recorded(
            day("2026-06-01"),
            "1835000",
            Some("1834000"),
        )]);
}

#[test]
fn a_month_range_cannot_sit_on_top_of_daily_values() {
    SeriesTest::with(())
        .given(vec![recorded(day("2026-06-15"), "1834000", None)])
        .when(record(june(), "55000000"))
        .then_expect_error(SeriesError::Overlap {
            new: june(),
            existing: day("2026-06-15"),
        });
}

#[test]
fn a_ratio_metric_is_refused_in_favour_of_its_components() {
    let acos = builtin_catalogue()
        .into_iter()
        .find(|m| m.key == "acos")
        .unwrap();
    SeriesTest::with(())
        .given_no_previous_events()
        .when(SeriesCommand::Record {
            key: key(),
            metric: acos,
            range: june(),
            value: d("0.25"),
            source: Source::Manual,
        })
        .then_expect_error(SeriesError::Value(
            "acos is a ratio; record its components (ad_spend ÷ ad_sales) instead".into(),
        ));
}

#[test]
fn a_negative_value_is_refused_for_a_metric_that_cannot_be_negative() {
    SeriesTest::with(())
        .given_no_previous_events()
        .when(record(june(), "-1"))
        .then_expect_error(SeriesError::Value("gmv cannot be negative (got -1)".into()));
}

#[test]
fn a_command_for_another_series_is_refused() {
    let mut other = key();
    other.platform = "rakuten".into();
    SeriesTest::with(())
        .given(vec![recorded(june(), "55000000", None)])
        .when(SeriesCommand::Record {
            key: other,
            metric: gmv(),
            range: june(),
            value: d("1"),
            source: Source::Manual,
        })
        .then_expect_error(SeriesError::WrongSeries);
}

#[test]
fn a_correction_records_the_previous_value_and_reason() {
    SeriesTest::with(())
        .given(vec![recorded(june(), "55000000", None)])
        .when(SeriesCommand::Correct {
            key: key(),
            metric: gmv(),
            range: june(),
            value: d("54000000"),
            reason: "refunds".into(),
        })
        .then_expect_events(vec![SeriesEvent::ObservationCorrected {
            key: key(),
            range: june(),
            value: d("54000000"),
            previous: d("55000000"),
            reason: "refunds".into(),
        }]);
}

#[test]
fn a_correction_needs_a_reason_an_existing_value_and_a_change() {
    let given = vec![recorded(june(), "55000000", None)];
    let correct = |range: DateRange, value: &str, reason: &str| SeriesCommand::Correct {
        key: key(),
        metric: gmv(),
        range,
        value: d(value),
        reason: reason.into(),
    };
    SeriesTest::with(())
        .given(given.clone())
        .when(correct(june(), "1", " "))
        .then_expect_error(SeriesError::ReasonRequired);
    SeriesTest::with(())
        .given(given.clone())
        .when(correct(day("2026-07-01"), "1", "typo"))
        .then_expect_error(SeriesError::NotRecorded(day("2026-07-01")));
    SeriesTest::with(())
        .given(given)
        .when(correct(june(), "55000000", "typo"))
        .then_expect_error(SeriesError::Unchanged(june()));
}

#[test]
fn series_ids_are_stable_and_distinct() {
    let mut other = key();
    other.scope = Some("B0TESTASIN".into());
    assert_eq!(key().series_id(), key().series_id());
    assert_ne!(key().series_id(), other.series_id());
}
