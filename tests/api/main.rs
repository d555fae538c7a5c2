//! End-to-end tests through HTTP against the real router, on SQLite and PostgreSQL.

mod helpers;

mod access;
mod admin;
mod audit;
mod audit_log;
mod bench;
mod browser;
mod cli;
mod concurrency;
mod engagements;
mod erasure;
mod event_log;
mod imports;
mod keys;
mod limits;
mod matrix;
mod metrics;
mod rebuild;
mod roles;
mod scoring;
mod settlement;
mod web;
