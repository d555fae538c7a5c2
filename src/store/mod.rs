//! Storage wiring: one database (SQLite or PostgreSQL, chosen by URL) shared by the event
//! store, the read models and the personal-data vault.
//!
//! Everything above this module speaks SQL that both databases accept (`$1` parameters,
//! TEXT and BIGINT columns); [`on_db!`](crate::on_db) runs the same statement on whichever
//! pool is configured, type-checked once per backend.

mod db;
pub mod events;
pub mod params;
pub mod repository;
mod snapshots;

pub use db::{redact, Backend, Db, StoreError};
