//! The load harness (`kpi-ledger bench`) in a smoke run on both backends, so it cannot
//! rot. Its timings are printed by the full run and never asserted.

use crate::helpers::{Store, TestDatabase};

async fn smoke(store: Store) {
    let Some(database) = TestDatabase::create(store).await else {
        return;
    };
    let url = database.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kpi-ledger"))
            .args(["--database-url", &url, "bench", "--smoke"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}{err}");
    for scenario in [
        "| B1 recordObservation vs INSERT | 1 |",
        "| B7 team scorecard vs primary-key SELECT | 2 |",
        "| B10 as-of scorecard vs ordered read of its events | 1 |",
        "| B11 portfolio with team scores vs GROUP BY | 1 |",
        "| B5 rebuild of every read model vs ordered read of the log | 1 |",
        "| page: engagement overview vs primary-key SELECT | 1 |",
        "| page: member card and payout vs primary-key SELECT | 1 |",
        "| B6 lag to a second server on the same database | 1 | commands/s |",
        "| B3 import of 2000 rows vs ",
        "- B3 peak RSS of the server importing 2000 rows: ",
        "- fdatasync at the start: ",
        "- fdatasync at the end: ",
    ] {
        assert!(out.contains(scenario), "{out}");
    }
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_harness_runs_on_sqlite() {
    smoke(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_harness_runs_on_postgres() {
    smoke(Store::Postgres).await;
}

/// The harness seeds the demo and writes scratch rows: it refuses a database that holds
/// anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_harness_refuses_a_database_with_real_data() {
    let database = TestDatabase::create(Store::Sqlite).await.unwrap();
    let url = database.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        let kpi = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_kpi-ledger"))
                .args(["--database-url", &url])
                .args(args)
                .output()
                .unwrap()
        };
        let added = kpi(&[
            "user",
            "add",
            "--email",
            "aiko@consultancy.example",
            "--name",
            "Aiko",
        ]);
        assert!(added.status.success(), "{added:?}");
        kpi(&["bench", "--smoke"])
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(err.contains("empty database of its own"), "{err}");
}
