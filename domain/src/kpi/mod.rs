//! KPIs and their effective-dated targets (SPEC §6). One aggregate per KPI, so a target
//! change on one KPI never conflicts with work on another.

mod aggregate;
#[cfg(test)]
mod tests;

pub use aggregate::*;
