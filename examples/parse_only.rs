//! Reads a file with the import readers and counts rows, without a database:
//! `cargo run --release --example parse_only -- FORMAT FILE` (reader throughput).

fn main() {
    let mut args = std::env::args().skip(1);
    let format: kpi_ledger_import::Format = args.next().expect("format").parse().expect("a format");
    let path = args.next().expect("file");
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("readable file"));
    let options = kpi_ledger_import::ImportOptions {
        format,
        encoding: kpi_ledger_import::EncodingChoice::Auto,
        platform: Some("amazon_jp".into()),
        range: None,
        currency: "JPY".into(),
    };
    let started = std::time::Instant::now();
    let (mut rows, mut invalid) = (0u64, 0u64);
    for item in kpi_ledger_import::open(file, &options).expect("opens") {
        match item.expect("no file error") {
            kpi_ledger_import::Item::Row(_) => rows += 1,
            kpi_ledger_import::Item::Invalid(_) => invalid += 1,
        }
    }
    println!("{rows} rows, {invalid} invalid in {:?}", started.elapsed());
}
