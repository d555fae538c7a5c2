#!/usr/bin/env bash
# Import benchmark (docs/PERFORMANCE.md): imports generated generic_csv files of 100,000
# and 1,000,000 rows with the release binary, on SQLite and (if reachable) PostgreSQL,
# and prints rows per second and peak RSS. Usage: scripts/bench-import.sh [ROWS...]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=("${@:-100000 1000000}")
# shellcheck disable=SC2206
rows=(${rows[@]})
pg_admin="${KPI_LEDGER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --release --quiet --bin kpi-ledger --example generate_generic_csv
bin=target/release/kpi-ledger
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

prepare() { # $1 database URL -> prints the engagement id
  local url=$1
  "$bin" --database-url "$url" user add --email bench@example.jp --name Bench --consultant >/dev/null
  local token port
  token=$("$bin" --database-url "$url" token issue --user bench@example.jp --ttl 1h)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" --database-url "$url" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"query":"mutation { openEngagement(input: {name: \"Bench\", clientName: \"Bench K.K.\", platforms: [\"amazon_jp\"]}) { id } }"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["openEngagement"]["id"])'
  kill "$server"; wait "$server" 2>/dev/null || true
}

run() { # $1 label, $2 database URL, $3 rows
  local label=$1 url=$2 n=$3 file="$work/rows-$3.csv" engagement
  [ -f "$file" ] || target/release/examples/generate_generic_csv "$n" >"$file"
  engagement=$(prepare "$url")
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" --database-url "$url" import --user bench@example.jp \
    --engagement "$engagement" --format generic_csv "$file" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r seconds rss_kb <"$work/time"
  python3 - "$label" "$n" "$seconds" "$rss_kb" "$(stat -c %s "$file")" <<'PY'
import sys
label, n, s, kb, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"| {label} | {n:,} | {size/1e6:.1f} MB | {s:.1f} s | {n/s:,.0f} rows/s | {kb/1024:.0f} MiB |")
PY
}

echo "| backend | rows | file | time | throughput | peak RSS |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in "${rows[@]}"; do
  run SQLite "sqlite://$work/bench-$n.db" "$n"
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    db="kpi_bench_${n}_$$"
    psql "$pg_admin" -qc "CREATE DATABASE $db"
    run PostgreSQL "${pg_admin%/*}/$db" "$n"
    psql "$pg_admin" -qc "DROP DATABASE $db"
  fi
done
