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
