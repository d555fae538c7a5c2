//! Payout statements (SPEC §9): one member's payout with the scorecard behind it, as CSV
//! (UTF-8 with BOM, so spreadsheet programs in Japan open it correctly) or XLSX, with
//! Japanese or English headings.

use kpi_ledger_domain::scorecard::{CardKpi, KpiResult};
use kpi_ledger_domain::scoring::{display, normalised};
use kpi_ledger_domain::settlement::Calculation;
use kpi_ledger_graphql::ports::{StatementFormat, StatementLanguage};

/// Everything a statement shows.
pub struct StatementData {
    pub engagement_name: String,
    pub member_name: Option<String>,
    pub currency: String,
    pub calculation: Calculation,
    pub lines: Vec<(CardKpi, KpiResult)>,
}

struct Labels {
    kpi_headings: [&'static str; 10],
    summary: [&'static str; 16],
}

fn labels(language: StatementLanguage) -> Labels {
    match language {
        StatementLanguage::En => Labels {
            kpi_headings: [
                "KPI",
                "Metric",
                "Threshold",
                "Target",
                "Stretch",
                "Actual",
                "Score",
                "Weight",
                "Weighted score",
                "Gate",
            ],
            summary: [
                "Engagement",
                "Member",
                "Period",
                "Scorecard score",
                "Team score",
                "Team weight",
                "Score used",
                "Payout curve",
                "Payout %",
                "Gates",
                "Active days",
                "Period days",
                "Target bonus",
                "Amount",
                "Formula",
                "Lock version / snapshot position",
            ],
        },
        StatementLanguage::Ja => Labels {
            kpi_headings: [
                "KPI",
                "指標",
                "最低ライン",
                "目標",
                "ストレッチ",
                "実績",
                "スコア",
                "ウェイト",
                "加重スコア",
                "ゲート",
            ],
            summary: [
                "エンゲージメント",
                "メンバー",
                "期間",
                "スコアカード得点",
                "チーム得点",
                "チーム比率",
                "採用得点",
                "支給カーブ",
                "支給率(%)",
                "ゲート",
                "在籍日数",
                "期間日数",
                "目標賞与",
                "支給額",
                "計算式",
                "ロック版 / スナップショット位置",
            ],
        },
    }
}

fn yes_no(language: StatementLanguage, value: bool) -> &'static str {
    match (language, value) {
        (StatementLanguage::En, true) => "passed",
        (StatementLanguage::En, false) => "failed",
        (StatementLanguage::Ja, true) => "通過",
        (StatementLanguage::Ja, false) => "未達",
    }
}

fn opt(value: Option<rust_decimal::Decimal>) -> String {
    value.map(normalised).unwrap_or_default()
}

/// The statement as rows of cells: the summary, a blank row, then one row per KPI.
fn rows(data: &StatementData, language: StatementLanguage) -> Vec<Vec<String>> {
    let l = labels(language);
    let c = &data.calculation;
    let f = &c.figures;
    let curve = c
        .curve
        .points
        .iter()
        .map(|p| format!("({}, {})", normalised(p.score), normalised(p.payout_pct)))
        .collect::<Vec<_>>()
        .join(" ");
    let summary_values = [
        data.engagement_name.clone(),
        data.member_name
            .clone()
            .unwrap_or_else(|| c.member_id.to_string()),
        c.period.to_string(),
        normalised(display(c.individual_score)),
        c.team_score
            .map(|s| normalised(display(s)))
            .unwrap_or_default(),
        normalised(c.team_weight),
        normalised(display(c.score)),
        curve,
        normalised(display(f.payout_pct)),
        yes_no(language, c.gates_passed).to_string(),
        f.active_days.to_string(),
        f.period_days.to_string(),
        format!("{} {}", normalised(f.target_bonus), data.currency),
        format!("{} {}", normalised(f.amount), data.currency),
        c.formula.clone(),
        format!("{} / {}", c.lock_version, c.snapshot_position),
    ];
    let mut rows: Vec<Vec<String>> = l
        .summary
        .iter()
        .zip(summary_values)
        .map(|(label, value)| vec![label.to_string(), value])
        .collect();
    rows.push(Vec::new());
    rows.push(l.kpi_headings.iter().map(|h| h.to_string()).collect());
    for (kpi, result) in &data.lines {
        let levels = result.levels;
        rows.push(vec![
            kpi.definition.name.clone(),
            kpi.definition.metric.clone(),
            opt(levels.map(|l| l.threshold)),
            opt(levels.map(|l| l.target)),
            opt(levels.and_then(|l| l.stretch)),
            opt(result.actual),
            opt(result.score.map(display)),
            normalised(result.weight),
            opt(result.weighted.map(display)),
            result
                .gate_passed
                .map(|g| yes_no(language, g).to_string())
                .unwrap_or_default(),
        ]);
    }
    rows
}

/// The statement's bytes, file name and content type.
pub fn render(
    data: &StatementData,
    format: StatementFormat,
    language: StatementLanguage,
) -> Result<(Vec<u8>, String, &'static str), String> {
    let rows = rows(data, language);
    let stem = format!(
        "statement-{}-{}",
        data.calculation.period, data.calculation.member_id
    )
    .replace(['/', ':'], "_");
    match format {
        StatementFormat::Csv => {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            {
                let mut writer = csv::WriterBuilder::new()
                    .flexible(true)
                    .from_writer(&mut bytes);
                for row in &rows {
                    writer.write_record(row).map_err(|e| e.to_string())?;
                }
                writer.flush().map_err(|e| e.to_string())?;
            }
            Ok((bytes, format!("{stem}.csv"), "text/csv; charset=utf-8"))
        }
        StatementFormat::Xlsx => {
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let sheet = workbook.add_worksheet();
            sheet.set_name("Statement").map_err(|e| e.to_string())?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (r as u32, c as u16);
                    // Numbers are written as numbers, exactly as text shows them.
                    match cell.parse::<f64>() {
                        Ok(n) if !cell.is_empty() && c > 0 => {
                            sheet.write_number(r, c, n).map_err(|e| e.to_string())?;
                        }
                        _ if c == 0 => {
                            sheet
                                .write_string_with_format(r, c, cell, &bold)
                                .map_err(|e| e.to_string())?;
                        }
                        _ => {
                            sheet.write_string(r, c, cell).map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            sheet.set_column_width(0, 28).map_err(|e| e.to_string())?;
            let bytes = workbook.save_to_buffer().map_err(|e| e.to_string())?;
            Ok((
                bytes,
                format!("{stem}.xlsx"),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ))
        }
    }
}
