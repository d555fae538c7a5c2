//! One way to read a stored event: its payload as stored, brought to the current shape by
//! the upcasters registered here, then decoded. cqrs-es loads (through an adapter in the
//! server's store), the projector and the replay all decode through [`decode`], so an
//! event changed once reads the same everywhere.
//!
//! Changing an event's shape: give the event a new version in its `DomainEvent` impl, add
//! an [`Upcaster`] from the old version to [`UPCASTERS`] that rewrites the old payload into
//! the new shape, and test it on an event inserted in the old shape. Stored events are
//! never rewritten: the upcaster runs on every read.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;

/// Rewrites payloads of one event type from one version to the next.
pub struct Upcaster {
    /// `Aggregate::TYPE` of the aggregate the event belongs to.
    pub aggregate_type: &'static str,
    pub event_type: &'static str,
    /// The version it reads…
    pub from: &'static str,
    /// …and the version it writes.
    pub to: &'static str,
    pub rewrite: fn(Value) -> Value,
}

/// Every upcaster, oldest first.
pub const UPCASTERS: &[Upcaster] = &[
    Upcaster {
        aggregate_type: crate::series::SERIES_AGGREGATE,
        event_type: "ObservationsImported",
        from: "1.0",
        to: "2.0",
        rewrite: crate::series::observations_imported_v1_to_v2,
    },
    // 2.0 of the events with free text: the text is a `text::Note` (sealed in the
    // vault from then on); the 1.0 strings read as inline notes.
    notes("series", "ObservationCorrected", reasons),
    notes("kpi", "TargetSet", reasons),
    notes("payout", "PayoutAdjusted", reasons),
    notes("review", "FindingRecorded", review_texts),
    notes("review", "DecisionRecorded", review_texts),
    notes("review", "PeriodReopened", reasons),
];

const fn notes(
    aggregate_type: &'static str,
    event_type: &'static str,
    rewrite: fn(Value) -> Value,
) -> Upcaster {
    Upcaster {
        aggregate_type,
        event_type,
        from: "1.0",
        to: "2.0",
        rewrite,
    }
}

fn reasons(payload: Value) -> Value {
    crate::text::inline_fields(payload, &["reason"])
}

/// Every free-text field a review event has had.
fn review_texts(payload: Value) -> Value {
    crate::text::inline_fields(payload, &crate::review::TEXT_FIELDS)
}

/// A stored event that does not read as its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event_type} v{version} of {aggregate_type} does not decode: {reason}")]
pub struct DecodeError {
    pub aggregate_type: String,
    pub event_type: String,
    pub version: String,
    pub reason: String,
}

/// The payload in the current shape, and its version.
pub fn current<'p>(
    aggregate_type: &str,
    event_type: &str,
    version: &str,
    payload: &'p Value,
) -> (Cow<'p, Value>, String) {
    let mut payload = Cow::Borrowed(payload);
    let mut version = version.to_string();
    for upcaster in UPCASTERS {
        if upcaster.aggregate_type == aggregate_type
            && upcaster.event_type == event_type
            && upcaster.from == version
        {
            payload = Cow::Owned((upcaster.rewrite)(payload.into_owned()));
            version = upcaster.to.to_string();
        }
    }
    (payload, version)
}

/// Decodes a stored event as `E`, after bringing it to the current shape.
pub fn decode<E: DeserializeOwned>(
    aggregate_type: &str,
    event_type: &str,
    version: &str,
    payload: &Value,
) -> Result<E, DecodeError> {
    let (payload, _) = current(aggregate_type, event_type, version, payload);
    let decoded = match payload {
        Cow::Borrowed(value) => E::deserialize(value),
        Cow::Owned(value) => serde_json::from_value(value),
    };
    decoded.map_err(|e| DecodeError {
        aggregate_type: aggregate_type.to_string(),
        event_type: event_type.to_string(),
        version: version.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{SeriesEvent, SERIES_AGGREGATE};
    use serde_json::json;

    #[test]
    fn an_import_batch_stored_as_1_0_reads_as_the_current_shape() {
        let stored = json!({ "ObservationsImported": {
            "key": { "engagement_id": "00000000-0000-0000-0000-000000000001", "metric": "gmv",
                     "platform": "amazon_jp", "scope": null },
            "import_id": "00000000-0000-0000-0000-000000000002",
            "format": "generic_csv",
            "observations": [
                { "range": { "start": "2026-05-01", "end": "2026-05-01" }, "value": "1000", "restates": null },
                { "range": { "start": "2026-05-02", "end": "2026-05-02" }, "value": "2000", "restates": "1500" }
            ] } });
        let event: SeriesEvent =
            decode(SERIES_AGGREGATE, "ObservationsImported", "1.0", &stored).unwrap();
        let SeriesEvent::ObservationsImported { observations, .. } = &event else {
            panic!("{event:?}");
        };
        assert_eq!(observations.len(), 2);
        assert_eq!(observations[1].value.to_string(), "2000");
        assert_eq!(
            observations[1].restates.map(|r| r.to_string()),
            Some("1500".into())
        );
        // Written again, it is 2.0: compact rows.
        let written = serde_json::to_value(&event).unwrap();
        assert_eq!(
            written["ObservationsImported"]["observations"][1],
            json!(["2026-05-02", "2026-05-02", "2000", "1500"])
        );
        // And 2.0 reads as itself.
        let again: SeriesEvent =
            decode(SERIES_AGGREGATE, "ObservationsImported", "2.0", &written).unwrap();
        assert_eq!(again, event);
    }

    #[test]
    fn free_text_stored_as_1_0_reads_as_inline_notes() {
        use crate::review::{Decision, ReviewEvent};
        use crate::text::Note;
        let stored = json!({ "DecisionRecorded": { "decision": {
            "kind": "excuse_kpi", "kpi_id": "00000000-0000-0000-0000-000000000003",
            "member_id": null, "reason": "Mika was on leave" } } });
        let event: ReviewEvent = decode("review", "DecisionRecorded", "1.0", &stored).unwrap();
        let ReviewEvent::DecisionRecorded {
            decision: Decision::ExcuseKpi { reason, .. },
        } = &event
        else {
            panic!("{event:?}");
        };
        assert_eq!(reason, &Note::inline("Mika was on leave"));
        let stored = json!({ "TargetSet": { "period": "2026-06",
            "levels": { "threshold": "1", "target": "2", "stretch": null },
            "previous": null, "reason": "Prime Day" } });
        let event: crate::kpi::KpiEvent = decode("kpi", "TargetSet", "1.0", &stored).unwrap();
        let crate::kpi::KpiEvent::TargetSet { reason, .. } = event else {
            panic!()
        };
        assert_eq!(reason, Note::inline("Prime Day"));
        // A 2.0 event is read as it is.
        let sealed = Note::Sealed {
            id: uuid::Uuid::from_u128(9),
            digest: "00".into(),
        };
        let written = serde_json::to_value(ReviewEvent::PeriodReopened {
            version: 1,
            snapshot_position: 4,
            reason: sealed.clone(),
        })
        .unwrap();
        let again: ReviewEvent = decode("review", "PeriodReopened", "2.0", &written).unwrap();
        assert!(matches!(again, ReviewEvent::PeriodReopened { reason, .. } if reason == sealed));
    }

    #[test]
    fn an_event_that_does_not_fit_its_type_says_which_it_is() {
        let error =
            decode::<SeriesEvent>(SERIES_AGGREGATE, "ObservationRecorded", "1.0", &json!({}))
                .unwrap_err();
        assert_eq!(error.event_type, "ObservationRecorded");
        assert!(error.to_string().contains("does not decode"), "{error}");
    }
}
