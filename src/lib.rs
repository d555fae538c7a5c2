//! The kpi-ledger service: configuration, storage wiring, projections, HTTP server and
//! command line. See docs/ARCHITECTURE.md for the map.

pub mod access_log;
pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod cli_audit;
pub mod cli_import;
pub mod demo;
pub mod graphiql;
pub mod http;
pub mod imports;
pub mod keyring;
pub mod local_api;
pub mod metrics;
pub mod projector;
pub mod read_models;
pub mod services;
pub mod statements;
pub mod store;
pub mod telemetry;
pub mod texts;
pub mod upload;
pub mod vault;
pub mod web;
pub mod worked_example;
