//! The real binary: bootstrap an installation from the command line and serve it.

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kpi-ledger");

fn kpi(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("KPI_LEDGER_JWT_SECRET")
        .output()
        .expect("run kpi-ledger")
}

#[test]
fn the_cli_bootstraps_users_and_prints_a_bare_token() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = kpi(dir.path(), &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let said = String::from_utf8_lossy(&migrated.stdout);
    assert!(
        said.contains("applied migration 0001 foundation"),
        "migrate names what it applied: {said}"
    );
    let again = kpi(dir.path(), &["migrate"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "no migrations were pending; the database is up to date"
    );
    let logs = String::from_utf8_lossy(&migrated.stderr);
    assert!(
        !logs.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {logs:?}"
    );
    assert!(
        dir.path().join("data/kpi-ledger.db").exists(),
        "the default SQLite file and folder are created on first use"
    );

    let added = kpi(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "Aiko@Consultancy.example",
            "--name",
            "Aiko Sato",
            "--consultant",
        ],
    );
    assert!(added.status.success(), "{added:?}");

    let again = kpi(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "aiko@consultancy.example",
            "--name",
            "A",
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let issued = kpi(
        dir.path(),
        &[
            "token",
            "issue",
            "--user",
            "aiko@consultancy.example",
            "--ttl",
            "30d",
        ],
    );
    assert!(issued.status.success(), "{issued:?}");
    let stdout = String::from_utf8(issued.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token is printed: {stdout:?}");
    assert_eq!(lines[0].split('.').count(), 3, "a JWT: {stdout:?}");

    let unknown = kpi(
        dir.path(),
        &["token", "issue", "--user", "nobody@example.jp"],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with email"));

    let bad_url = kpi(dir.path(), &["migrate", "--database-url", "mysql://x"]);
    assert!(!bad_url.status.success());
    assert!(String::from_utf8_lossy(&bad_url.stderr).contains("unsupported database URL"));

    // Nothing listens on port 9: the reason, at once, not a pool timeout.
    let unreachable = kpi(
        dir.path(),
        &[
            "migrate",
            "--database-url",
            "postgres://kpi@127.0.0.1:9/kpi",
        ],
    );
    assert!(!unreachable.status.success());
    let said = String::from_utf8_lossy(&unreachable.stderr);
    assert!(said.contains("Connection refused"), "{said}");
    assert!(!said.contains("timed out"), "{said}");
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &address.to_string()])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            use std::io::{Read, Write};
            stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.1 200") {
                ready = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready, "the server became ready");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[test]
fn the_demo_seeds_once_and_prints_tokens_for_three_roles() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = kpi(dir.path(), &["demo"]);
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            !stdout.contains("is ready") && stdout.contains("No server is running yet"),
            "demo alone does not claim a server runs: {stdout}"
        );
        for role in ["consultant", "client owner", "member"] {
            let lines: Vec<&str> = stdout
                .lines()
                .filter(|l| l.trim_start().starts_with(role))
                .collect();
            assert_eq!(
                lines.len(),
                2,
                "a sign-in link and a token for {role}: {stdout}"
            );
            assert!(
                lines[0].contains("http://127.0.0.1:8080/invitations/"),
                "{}",
                lines[0]
            );
            assert_eq!(
                lines[1].rsplit(' ').next().unwrap().split('.').count(),
                3,
                "{}",
                lines[1]
            );
        }
    }
}
