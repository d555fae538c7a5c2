//! Observation series (SPEC §4): every observation of one (engagement, metric, platform,
//! scope). One aggregate per series, so the no-overlap rule is decided on the whole series.

use crate::error::{DomainError, ErrorKind};
use crate::ids::EngagementId;
use crate::metrics::MetricDefinition;
use crate::period::DateRange;
use crate::text::Note;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// Identifies a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    pub engagement_id: EngagementId,
    pub metric: String,
    pub platform: String,
    /// ASIN, SKU or campaign; `None` for the store-level series.
    pub scope: Option<String>,
}

/// Namespace of series ids (UUID v5 of the key), so a series id is derived, not stored.
const SERIES_NAMESPACE: Uuid = Uuid::from_u128(0x6b70_695f_6c65_6467_6572_5f73_6572_6965);

impl SeriesKey {
    /// The aggregate id of the series: a name-based UUID of its key.
    pub fn series_id(&self) -> Uuid {
        let name = serde_json::to_string(&(
            self.engagement_id,
            &self.metric,
            &self.platform,
            &self.scope,
        ))
        .expect("a key serialises");
        Uuid::new_v5(&SERIES_NAMESPACE, name.as_bytes())
    }
}

/// Where an observation came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    Manual,
    Import { format: String, import_id: Uuid },
}

impl Source {
    /// The source's name for freshness watermarks: `manual` or the import format.
    pub fn watermark_name(&self) -> String {
        match self {
            Source::Manual => "manual".into(),
            Source::Import { format, .. } => format.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesCommand {
    /// Record a value; the same bounds again restate it. `metric` is the catalogue entry
    /// of `key.metric`, resolved by the edge.
    Record {
        key: SeriesKey,
        metric: MetricDefinition,
        range: DateRange,
        value: Decimal,
        source: Source,
    },
    /// Correct a recorded value, with a mandatory reason.
    Correct {
        key: SeriesKey,
        metric: MetricDefinition,
        range: DateRange,
        value: Decimal,
        reason: Note,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeriesEvent {
    ObservationRecorded {
        key: SeriesKey,
        range: DateRange,
        value: Decimal,
        source: Source,
        /// The value this one restates, if the same bounds were recorded before.
        restates: Option<Decimal>,
    },
    ObservationCorrected {
        key: SeriesKey,
        range: DateRange,
        value: Decimal,
        previous: Decimal,
        reason: Note,
    },
    /// A batch of observations of this series from one import (at most
    /// [`IMPORT_BATCH`] per event). Written by the import pipeline, which has checked the
    /// no-overlap rule against the whole series.
    ObservationsImported {
        key: SeriesKey,
        import_id: Uuid,
        format: String,
        observations: Vec<ImportedObservation>,
    },
}

/// Observations per import event: bounds the size of one event.
pub const IMPORT_BATCH: usize = 1_000;

/// One observation of an import batch. Stored (since `ObservationsImported` 2.0) as a
/// compact row `["2026-05-01", "2026-05-01", "1234", null]` — first day, last day, value,
/// restated value — because an import writes one per row of its file; 1.0 stored an object
/// per observation, about twice the size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ImportedRow", into = "ImportedRow")]
pub struct ImportedObservation {
    pub range: DateRange,
    pub value: Decimal,
    /// The value it restates, if the same bounds were recorded before.
    pub restates: Option<Decimal>,
}

/// [`ImportedObservation`] as stored.
#[derive(Serialize, Deserialize)]
struct ImportedRow(
    chrono::NaiveDate,
    chrono::NaiveDate,
    Decimal,
    Option<Decimal>,
);

impl From<ImportedRow> for ImportedObservation {
    fn from(ImportedRow(start, end, value, restates): ImportedRow) -> Self {
        ImportedObservation {
            range: DateRange { start, end },
            value,
            restates,
        }
    }
}

impl From<ImportedObservation> for ImportedRow {
    fn from(o: ImportedObservation) -> Self {
        ImportedRow(o.range.start, o.range.end, o.value, o.restates)
    }
}

/// The aggregate type of series (`Series::TYPE`), for code that may not name the aggregate.
pub const SERIES_AGGREGATE: &str = "series";

/// `ObservationsImported` 1.0 → 2.0: each observation from
/// `{"range": {"start", "end"}, "value", "restates"}` to `[start, end, value, restates]`.
pub fn observations_imported_v1_to_v2(mut payload: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    if let Some(Value::Array(observations)) = payload
        .get_mut("ObservationsImported")
        .and_then(|e| e.get_mut("observations"))
    {
        for observation in observations.iter_mut() {
            let range = &observation["range"];
            *observation = Value::Array(vec![
                range["start"].clone(),
                range["end"].clone(),
                observation["value"].clone(),
                observation.get("restates").cloned().unwrap_or(Value::Null),
            ]);
        }
    }
    payload
}

impl DomainEvent for SeriesEvent {
    fn event_type(&self) -> String {
        match self {
            SeriesEvent::ObservationRecorded { .. } => "ObservationRecorded",
            SeriesEvent::ObservationCorrected { .. } => "ObservationCorrected",
            SeriesEvent::ObservationsImported { .. } => "ObservationsImported",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            // 2.0: observations as compact rows (`upcast` reads 1.0).
            SeriesEvent::ObservationsImported { .. } => "2.0",
            // 2.0: the reason as a note.
            SeriesEvent::ObservationCorrected { .. } => "2.0",
            _ => "1.0",
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    /// The command names another series than the one it is sent to.
    #[error("invalid observation: the command addresses another series")]
    WrongSeries,
    /// The value breaks its metric's rules (a ratio, a negative, a fraction of a count);
    /// the reason is [`MetricDefinition::check_value`]'s.
    #[error("invalid observation: {0}")]
    Value(String),
    /// A correction without a reason.
    #[error("invalid observation: reason: a correction needs a reason")]
    ReasonRequired,
    #[error("{new} overlaps the observation already recorded for {existing} with other bounds; record the same bounds to restate it")]
    Overlap { new: DateRange, existing: DateRange },
    #[error("no observation recorded for {0} in this series")]
    NotRecorded(DateRange),
    #[error("the observation for {0} already has this value")]
    Unchanged(DateRange),
}

impl DomainError for SeriesError {
    fn kind(&self) -> ErrorKind {
        match self {
            SeriesError::WrongSeries
            | SeriesError::Value(_)
            | SeriesError::ReasonRequired
            | SeriesError::Unchanged(_) => ErrorKind::Validation,
            SeriesError::Overlap { .. } => ErrorKind::Conflict,
            SeriesError::NotRecorded(_) => ErrorKind::NotFound,
        }
    }
}

/// The series aggregate: the current value of every range recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    key: Option<SeriesKey>,
    values: BTreeMap<DateRange, Decimal>,
}

impl Series {
    fn check_key(&self, key: &SeriesKey) -> Result<(), SeriesError> {
        match &self.key {
            Some(existing) if existing != key => Err(SeriesError::WrongSeries),
            _ => Ok(()),
        }
    }

    fn decide(&self, command: SeriesCommand) -> Result<SeriesEvent, SeriesError> {
        match command {
            SeriesCommand::Record {
                key,
                metric,
                range,
                value,
                source,
            } => {
                self.check_key(&key)?;
                metric.check_value(value).map_err(SeriesError::Value)?;
                if let Some(existing) = self
                    .values
                    .keys()
                    .find(|r| **r != range && r.overlaps(&range))
                {
                    return Err(SeriesError::Overlap {
                        new: range,
                        existing: *existing,
                    });
                }
                Ok(SeriesEvent::ObservationRecorded {
                    restates: self.values.get(&range).copied(),
                    key,
                    range,
                    value,
                    source,
                })
            }
            SeriesCommand::Correct {
                key,
                metric,
                range,
                value,
                reason,
            } => {
                self.check_key(&key)?;
                if reason.is_blank() {
                    return Err(SeriesError::ReasonRequired);
                }
                let reason = reason.trimmed();
                metric.check_value(value).map_err(SeriesError::Value)?;
                let previous = *self
                    .values
                    .get(&range)
                    .ok_or(SeriesError::NotRecorded(range))?;
                if previous == value {
                    return Err(SeriesError::Unchanged(range));
                }
                Ok(SeriesEvent::ObservationCorrected {
                    key,
                    range,
                    value,
                    previous,
                    reason,
                })
            }
        }
    }
}

impl Aggregate for Series {
    const TYPE: &'static str = SERIES_AGGREGATE;
    type Command = SeriesCommand;
    type Event = SeriesEvent;
    type Error = SeriesError;
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
            SeriesEvent::ObservationRecorded {
                key, range, value, ..
            }
            | SeriesEvent::ObservationCorrected {
                key, range, value, ..
            } => {
                self.key = Some(key);
                self.values.insert(range, value);
            }
            SeriesEvent::ObservationsImported {
                key, observations, ..
            } => {
                self.key = Some(key);
                for observation in observations {
                    self.values.insert(observation.range, observation.value);
                }
            }
        }
    }
}
