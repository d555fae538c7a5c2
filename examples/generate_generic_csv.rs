//! Writes a `generic_csv` file of N rows to stdout for import benchmarks:
//! `cargo run --release --example generate_generic_csv -- 1000000 > rows.csv`.
//! Rows are daily GMV of N / 1,000 SKUs over 1,000 days from 2023-01-01: every key unique.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let days = 1_000u64.min(rows.max(1));
    let skus = rows.div_ceil(days);
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date");
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    writeln!(out, "date,platform,metric,value,scope")?;
    let mut written = 0u64;
    'outer: for sku in 0..skus {
        for day in 0..days {
            if written == rows {
                break 'outer;
            }
            let date = start + chrono::Duration::days(day as i64);
            let value = 1_000 + (sku * 7919 + day * 104_729) % 90_000;
            writeln!(out, "{date},amazon_jp,gmv,{value},SKU-{sku:06}")?;
            written += 1;
        }
    }
    out.flush()
}
