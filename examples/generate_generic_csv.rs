//! Writes a `generic_csv` file of N rows to stdout, the file `kpi-ledger bench` imports in
//! B3: `cargo run --release --example generate_generic_csv -- 1000000 > rows.csv`.
//! Rows are daily GMV of N / 1,000 SKUs over 1,000 days from 2023-01-01: every key unique.

use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    kpi_ledger::bench::import::write_generic_csv(rows, &mut out)
}
