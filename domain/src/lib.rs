//! The pure domain of kpi-ledger.
//!
//! Aggregates decide, events record. Nothing in this crate performs IO or reads the clock:
//! the instant a change is recorded, who made it and why arrive from the edge as
//! [`metadata::CommandMetadata`], and any date a rule needs (an active-from date, say) is a
//! field of the command.

pub mod access;
pub mod audit;
pub mod changes;
pub mod engagement;
pub mod error;
pub mod ids;
pub mod import;
pub mod kpi;
pub mod language;
pub mod metadata;
pub mod metrics;
pub mod narrate;
pub mod payout;
pub mod period;
pub mod plan;
pub mod replay;
pub mod review;
pub mod scorecard;
pub mod scoring;
pub mod series;
pub mod settlement;
pub mod text;
pub mod upcast;
pub mod user;
pub mod values;
pub mod worked_example;

pub use error::{DomainError, ErrorKind};
