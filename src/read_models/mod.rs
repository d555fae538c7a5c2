//! Read models: each module holds one read model's projection (the SQL statements an event
//! causes) and its queries, beside each other; its tables are created by `migrations/`.
//! The projector ([`crate::projector`]) feeds every read model from its own checkpoint, so
//! one read model can be rebuilt, or a new one backfilled, alone.
//!
//! Every query here runs the same SQL on SQLite and PostgreSQL (`$n` parameters, TEXT and
//! BIGINT columns).

pub mod engagements;
pub mod imports;
pub mod kpis;
pub mod observations;
pub mod payouts;
pub mod plans;
pub mod reviews;
pub mod users;

#[cfg(test)]
mod tests;

use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;

/// One read model as the projector sees it.
pub struct ReadModel {
    /// Its checkpoint's name in `projection_checkpoints`.
    pub name: &'static str,
    /// The tables it owns, emptied when it is rebuilt (children first).
    pub tables: &'static [&'static str],
    /// The statements one event causes in it (none for events it does not read).
    pub project: fn(&StoredEvent) -> Result<Vec<Statement>, StoreError>,
}

/// Every read model, in the order their statements run for one event.
pub const ALL: &[ReadModel] = &[
    users::READ_MODEL,
    engagements::READ_MODEL,
    kpis::READ_MODEL,
    observations::READ_MODEL,
    imports::READ_MODEL,
    reviews::READ_MODEL,
    plans::READ_MODEL,
    payouts::READ_MODEL,
];

/// Decodes an event through the domain's upcasters, naming the event if it does not fit.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(event: &StoredEvent) -> Result<T, StoreError> {
    event.decode()
}

/// An event's recorded-at instant as read models store it.
pub(crate) fn timestamp(event: &StoredEvent) -> String {
    event
        .recorded_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored text read back as `T`, or an error that names what was unreadable.
pub(crate) fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("stored {what} `{text}` is unreadable: {e}")))
}

/// An optional stored date.
pub(crate) fn date(text: Option<String>) -> Result<Option<chrono::NaiveDate>, StoreError> {
    text.map(|t| parse("date", &t)).transpose()
}

/// A stored JSON column read back as `T`.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored {what} is unreadable: {e}")))
}
