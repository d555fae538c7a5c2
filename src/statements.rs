//! Payout statements (SPEC §9): one member's payout with the scorecards behind it, as CSV
//! (UTF-8 with BOM, so spreadsheet programs in Japan open it correctly) or XLSX, in
//! Japanese, Simplified Chinese or English.
//!
//! A statement must let an auditor recompute the yen amount from what it prints, so every
//! figure appears exactly as the calculation used it: money as whole yen, the payout
//! percentage and scores with every digit, ratios as exact percentages with their
//! numerator and denominator. In XLSX a number is a numeric cell when a spreadsheet holds
//! it exactly (money with a yen format, ratios with a percentage format showing every
//! digit), and text with every digit otherwise.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use kpi_ledger_domain::language::{metric_name, Language};
use kpi_ledger_domain::metrics::{MetricDefinition, Unit};
use kpi_ledger_domain::scorecard::{CardKpi, KpiResult};
use kpi_ledger_domain::scoring::normalised;
use kpi_ledger_domain::settlement::Calculation;
use kpi_ledger_graphql::ports::StatementFormat;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// One KPI line of a scorecard on the statement.
pub struct StatementLine {
    pub kpi: CardKpi,
    /// The KPI's metric as the catalogue defined it at the snapshot (unit, names).
    pub metric: Option<MetricDefinition>,
    pub result: KpiResult,
}

/// Everything a statement shows.
pub struct StatementData {
    pub engagement_name: String,
    /// The member's name, for callers who may see it; `None` prints the member id.
    pub member_name: Option<String>,
    pub currency: String,
    /// The engagement's time zone: dates are printed in it.
    pub time_zone: Tz,
    pub calculation: Calculation,
    /// The member's own scorecard.
    pub lines: Vec<StatementLine>,
    /// The team scorecard of the same lock.
    pub team_lines: Vec<StatementLine>,
    /// calculated, approved or paid.
    pub status: String,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_on: Option<NaiveDate>,
}

/// One cell, typed so that CSV and XLSX each write it exactly.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    /// A heading of a table.
    Heading(String),
    Number(Decimal),
    /// Whole units of the engagement's currency.
    Money(Decimal),
    /// A fraction shown as a percentage (`0.25` is 25%).
    Percent(Decimal),
    Date(NaiveDate),
}

struct Labels {
    summary: [&'static str; 25],
    kpi_headings: [&'static str; 12],
    individual: &'static str,
    team: &'static str,
    passed: &'static str,
    failed: &'static str,
    statuses: [&'static str; 3],
    sheet: &'static str,
}

fn labels(language: Language) -> Labels {
    match language {
        Language::En => Labels {
            summary: [
                "Engagement",
                "Member",
                "Period",
                "Review lock version",
                "Snapshot position",
                "Plan version",
                "Status",
                "Approved on",
                "Paid on",
                "Individual score",
                "Team score",
                "Team weight",
                "Score used",
                "Payout curve (score → payout %)",
                "Payout %",
                "Gates",
                "Active days",
                "Period days",
                "Target bonus",
                "Numerator (target bonus × payout % × gate × active days)",
                "Denominator (100 × period days)",
                "Rounded (half away from zero)",
                "Cap",
                "Amount",
                "Formula",
            ],
            kpi_headings: [
                "KPI",
                "Metric",
                "Threshold",
                "Target",
                "Stretch",
                "Actual",
                "Numerator",
                "Denominator",
                "Score",
                "Weight",
                "Weighted score",
                "Gate",
            ],
            individual: "Individual KPIs",
            team: "Team KPIs",
            passed: "passed",
            failed: "failed",
            statuses: ["calculated", "approved", "paid"],
            sheet: "Statement",
        },
        Language::Ja => Labels {
            summary: [
                "エンゲージメント",
                "メンバー",
                "期間",
                "レビューのロック版",
                "スナップショット位置",
                "プラン版",
                "状態",
                "承認日",
                "支払日",
                "個人スコア",
                "チームスコア",
                "チーム比率",
                "採用スコア",
                "支給カーブ（スコア → 支給率%）",
                "支給率（%）",
                "ゲート",
                "在籍日数",
                "期間日数",
                "目標賞与",
                "分子（目標賞与 × 支給率 × ゲート × 在籍日数）",
                "分母（100 × 期間日数）",
                "端数処理後（四捨五入）",
                "上限",
                "支給額",
                "計算式",
            ],
            kpi_headings: [
                "KPI",
                "指標",
                "最低ライン",
                "目標",
                "ストレッチ",
                "実績",
                "分子",
                "分母",
                "スコア",
                "ウェイト",
                "加重スコア",
                "ゲート",
            ],
            individual: "個人KPI",
            team: "チームKPI",
            passed: "通過",
            failed: "未達",
            statuses: ["計算済み", "承認済み", "支払済み"],
            sheet: "支給明細",
        },
        Language::Zh => Labels {
            summary: [
                "项目",
                "成员",
                "期间",
                "评审锁定版本",
                "快照位置",
                "方案版本",
                "状态",
                "批准日期",
                "支付日期",
                "个人得分",
                "团队得分",
                "团队权重",
                "采用得分",
                "支付曲线（得分 → 支付比例%）",
                "支付比例（%）",
                "门槛",
                "在职天数",
                "期间天数",
                "目标奖金",
                "分子（目标奖金 × 支付比例 × 门槛 × 在职天数）",
                "分母（100 × 期间天数）",
                "取整后（四舍五入）",
                "上限",
                "支付金额",
                "计算公式",
            ],
            kpi_headings: [
                "KPI",
                "指标",
                "最低线",
                "目标",
                "挑战目标",
                "实际",
                "分子",
                "分母",
                "得分",
                "权重",
                "加权得分",
                "门槛",
            ],
            individual: "个人KPI",
            team: "团队KPI",
            passed: "通过",
            failed: "未通过",
            statuses: ["已计算", "已批准", "已支付"],
            sheet: "支付明细",
        },
    }
}

/// The formula in words of `language`.
fn formula(language: Language) -> &'static str {
    match language {
        Language::En => {
            "round half away from zero (target bonus × payout % × gate × active days ÷ (100 × period days)), then at most the cap"
        }
        Language::Ja => {
            "目標賞与 × 支給率 × ゲート × 在籍日数 ÷ (100 × 期間日数) を円未満四捨五入し、上限を適用"
        }
        Language::Zh => "目标奖金 × 支付比例 × 门槛 × 在职天数 ÷ (100 × 期间天数)，四舍五入到整数，再受上限约束",
    }
}

fn optional(value: Option<Decimal>, cell: fn(Decimal) -> Cell) -> Cell {
    value.map(cell).unwrap_or(Cell::Empty)
}

/// A KPI value in its unit: ratios as percentages, money as money.
fn in_unit(unit: Option<Unit>) -> fn(Decimal) -> Cell {
    match unit {
        Some(Unit::Ratio) => Cell::Percent,
        _ => Cell::Number,
    }
}

fn kpi_rows(lines: &[StatementLine], language: Language, l: &Labels) -> Vec<Vec<Cell>> {
    lines
        .iter()
        .map(|line| {
            let result = &line.result;
            let levels = result.levels;
            let unit = line.metric.as_ref().map(|m| m.unit);
            let value = in_unit(unit);
            let metric = match &line.metric {
                Some(m) => metric_name(m, language),
                None => line.kpi.definition.metric.clone(),
            };
            vec![
                Cell::Text(line.kpi.definition.name.clone()),
                Cell::Text(metric),
                optional(levels.map(|l| l.threshold), value),
                optional(levels.map(|l| l.target), value),
                optional(levels.and_then(|l| l.stretch), value),
                optional(result.actual, value),
                optional(result.numerator, Cell::Number),
                optional(result.denominator, Cell::Number),
                optional(result.score, Cell::Number),
                Cell::Number(result.weight),
                optional(result.weighted, Cell::Number),
                match result.gate_passed {
                    Some(true) => Cell::Text(l.passed.into()),
                    Some(false) => Cell::Text(l.failed.into()),
                    None => Cell::Empty,
                },
            ]
        })
        .collect()
}

/// The statement as rows of cells: the summary, then the member's KPIs, then the team's.
fn rows(data: &StatementData, language: Language) -> Vec<Vec<Cell>> {
    let l = labels(language);
    let c = &data.calculation;
    let f = &c.figures;
    let curve = c
        .curve
        .points
        .iter()
        .map(|p| format!("{} → {}", normalised(p.score), normalised(p.payout_pct)))
        .collect::<Vec<_>>()
        .join(", ");
    let status = match data.status.as_str() {
        "approved" => l.statuses[1],
        "paid" => l.statuses[2],
        _ => l.statuses[0],
    };
    let approved_on = data
        .approved_at
        .map(|at| Cell::Date(at.with_timezone(&data.time_zone).date_naive()))
        .unwrap_or(Cell::Empty);
    let summary_values = [
        Cell::Text(data.engagement_name.clone()),
        Cell::Text(
            data.member_name
                .clone()
                .unwrap_or_else(|| c.member_id.to_string()),
        ),
        Cell::Text(c.period.to_string()),
        Cell::Number(c.lock_version.into()),
        Cell::Number(c.snapshot_position.into()),
        Cell::Number(c.plan_version.into()),
        Cell::Text(status.into()),
        approved_on,
        data.paid_on.map(Cell::Date).unwrap_or(Cell::Empty),
        Cell::Number(c.individual_score),
        optional(c.team_score, Cell::Number),
        Cell::Number(c.team_weight),
        Cell::Number(c.score),
        Cell::Text(curve),
        Cell::Number(f.payout_pct),
        Cell::Text(if c.gates_passed { l.passed } else { l.failed }.into()),
        Cell::Number(f.active_days.into()),
        Cell::Number(f.period_days.into()),
        Cell::Money(f.target_bonus),
        Cell::Number(f.numerator),
        Cell::Number(f.denominator),
        Cell::Money(f.rounded),
        optional(f.cap, Cell::Money),
        Cell::Money(f.amount),
        Cell::Text(formula(language).into()),
    ];
    let mut rows: Vec<Vec<Cell>> = l
        .summary
        .iter()
        .zip(summary_values)
        .map(|(label, value)| vec![Cell::Heading(label.to_string()), value])
        .collect();
    for (title, lines) in [(l.individual, &data.lines), (l.team, &data.team_lines)] {
        if lines.is_empty() {
            continue;
        }
        rows.push(Vec::new());
        rows.push(vec![Cell::Heading(title.into())]);
        rows.push(
            l.kpi_headings
                .iter()
                .map(|h| Cell::Heading(h.to_string()))
                .collect(),
        );
        rows.extend(kpi_rows(lines, language, &l));
    }
    rows
}

/// A percentage written exactly: `0.00375` is `0.375%`.
fn percent_text(fraction: Decimal) -> String {
    format!("{}%", normalised(fraction * Decimal::ONE_HUNDRED))
}

fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) | Cell::Heading(t) => t.clone(),
        Cell::Number(n) | Cell::Money(n) => normalised(*n),
        Cell::Percent(p) => percent_text(*p),
        Cell::Date(d) => d.to_string(),
    }
}

/// `value` as a spreadsheet number, when the spreadsheet holds it exactly (at most 15
/// significant digits, which is what a spreadsheet shows).
fn exact_f64(value: Decimal) -> Option<f64> {
    let normal = value.normalize();
    let digits = normal.mantissa().unsigned_abs().to_string().len();
    if digits > 15 {
        return None;
    }
    let number = normal.to_f64()?;
    (format!("{number}").parse::<Decimal>().ok()? == normal).then_some(number)
}

/// A file name a person can read: `statement-2026-06-li-wei-v2`.
fn file_stem(data: &StatementData) -> String {
    let c = &data.calculation;
    let who = match &data.member_name {
        Some(name) => {
            let slug: String = name
                .trim()
                .chars()
                .map(|ch| {
                    if ch.is_alphanumeric() {
                        ch.to_lowercase().next().unwrap_or(ch)
                    } else {
                        '-'
                    }
                })
                .collect();
            let slug = slug
                .split('-')
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            if slug.is_empty() {
                c.member_id.to_string()
            } else {
                slug
            }
        }
        None => c.member_id.to_string(),
    };
    let period = c.period.to_string().replace(['/', ':', '+'], "_");
    format!("statement-{period}-{who}-v{}", c.lock_version)
}

/// The statement's bytes, file name and content type.
pub fn render(
    data: &StatementData,
    format: StatementFormat,
    language: Language,
) -> Result<(Vec<u8>, String, &'static str), String> {
    let rows = rows(data, language);
    let stem = file_stem(data);
    match format {
        StatementFormat::Csv => {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            {
                let mut writer = csv::WriterBuilder::new()
                    .flexible(true)
                    .from_writer(&mut bytes);
                for row in &rows {
                    let cells: Vec<String> = row.iter().map(csv_text).collect();
                    writer.write_record(&cells).map_err(|e| e.to_string())?;
                }
                writer.flush().map_err(|e| e.to_string())?;
            }
            Ok((bytes, format!("{stem}.csv"), "text/csv; charset=utf-8"))
        }
        StatementFormat::Xlsx => Ok((
            xlsx(&rows, &data.currency, language).map_err(|e| e.to_string())?,
            format!("{stem}.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )),
    }
}

fn xlsx(
    rows: &[Vec<Cell>],
    currency: &str,
    language: Language,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(labels(language).sheet)?;
    let heading = Format::new().set_bold();
    let money = Format::new().set_num_format(if currency == "JPY" {
        "¥#,##0;-¥#,##0"
    } else {
        "#,##0.##"
    });
    let number = Format::new().set_num_format("General");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    sheet.write_string(r, c, t)?;
                }
                Cell::Heading(t) => {
                    sheet.write_string_with_format(r, c, t, &heading)?;
                }
                Cell::Money(n) | Cell::Number(n) => {
                    let format = if matches!(cell, Cell::Money(_)) {
                        &money
                    } else {
                        &number
                    };
                    match exact_f64(*n) {
                        Some(value) => sheet.write_number_with_format(r, c, value, format)?,
                        None => sheet.write_string(r, c, normalised(*n))?,
                    };
                }
                Cell::Percent(p) => {
                    let places = (*p * Decimal::ONE_HUNDRED).normalize().scale();
                    match exact_f64(*p) {
                        Some(value) if places <= 10 => {
                            let pattern = if places == 0 {
                                "0%".to_string()
                            } else {
                                format!("0.{}%", "0".repeat(places as usize))
                            };
                            let format = Format::new().set_num_format(pattern);
                            sheet.write_number_with_format(r, c, value, &format)?
                        }
                        _ => sheet.write_string(r, c, percent_text(*p))?,
                    };
                }
                Cell::Date(d) => {
                    let value = rust_xlsxwriter::ExcelDateTime::parse_from_str(&d.to_string())?;
                    sheet.write_datetime_with_format(r, c, &value, &date)?;
                }
            }
        }
    }
    sheet.set_column_width(0, 36)?;
    sheet.set_column_width(1, 28)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId};
    use kpi_ledger_domain::kpi::{Assignee, KpiDefinition};
    use kpi_ledger_domain::metrics::builtin_catalogue;
    use kpi_ledger_domain::payout::{payout, PayoutCurve};
    use kpi_ledger_domain::period::DateRange;
    use kpi_ledger_domain::scorecard::{self, Point};
    use kpi_ledger_domain::scoring::{Curve, Levels};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_a_spreadsheet_cannot_hold_exactly_stay_text() {
        assert_eq!(exact_f64(d("71.875")), Some(71.875));
        assert_eq!(exact_f64(d("131667")), Some(131667.0));
        assert_eq!(exact_f64(d("0.1")), Some(0.1));
        assert_eq!(exact_f64(d("80.64516129032258064516129032")), None);
    }

    fn line(
        key: &str,
        assignee: Assignee,
        levels: Levels,
        points: &[(&str, &str)],
    ) -> StatementLine {
        let days = june();
        let catalogue = builtin_catalogue();
        let metric = catalogue.iter().find(|m| m.key == key).unwrap().clone();
        let kpi = CardKpi {
            kpi_id: KpiId(uuid::Uuid::new_v4()),
            definition: KpiDefinition {
                engagement_id: EngagementId(uuid::Uuid::nil()),
                name: metric.label.clone(),
                metric: key.into(),
                platform: None,
                scope: None,
                assignee,
                weight: d("1"),
                direction: metric.direction.unwrap(),
                curve: Curve::default(),
                gate: None,
            },
            retired_from: None,
        };
        let points: Vec<Point> = points
            .iter()
            .map(|(m, v)| Point {
                metric: m.to_string(),
                platform: "amazon_jp".into(),
                scope: None,
                range: days,
                value: d(v),
            })
            .collect();
        let targets = [(kpi.kpi_id, levels)].into_iter().collect();
        let inputs =
            scorecard::inputs(std::slice::from_ref(&kpi), &catalogue, &targets, &points).unwrap();
        let result = scorecard::compute(days, &inputs).kpis.remove(0);
        StatementLine {
            kpi,
            metric: Some(metric),
            result,
        }
    }

    fn june() -> DateRange {
        DateRange::new(
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        )
        .unwrap()
    }

    /// A payout at score 77.5: 50 + 50 × 17.5 / 40 = 71.875 %, ¥71,875 of ¥100,000.
    fn statement() -> StatementData {
        let curve = PayoutCurve::default();
        let figures = payout(d("100000"), d("77.5"), &curve, true, 30, 30, None);
        StatementData {
            engagement_name: "Acme Home JP".into(),
            member_name: Some("佐藤 美香".into()),
            currency: "JPY".into(),
            time_zone: chrono_tz::Asia::Tokyo,
            calculation: Calculation {
                member_id: MemberId(uuid::Uuid::nil()),
                period: "2026-06".parse().unwrap(),
                review_id: uuid::Uuid::nil(),
                lock_version: 2,
                snapshot_position: 41,
                plan_id: uuid::Uuid::nil(),
                plan_version: 1,
                individual_score: d("77.5"),
                team_score: Some(d("80.64516129032258064516129032")),
                team_weight: d("0"),
                curve,
                score: d("77.5"),
                gates_passed: true,
                figures,
                formula: kpi_ledger_domain::payout::FORMULA.into(),
            },
            lines: vec![line(
                "gmv",
                Assignee::Position("operations".into()),
                Levels {
                    threshold: d("40"),
                    target: d("50"),
                    stretch: None,
                },
                &[("gmv", "45")],
            )],
            team_lines: vec![line(
                "conversion_rate",
                Assignee::Team,
                Levels {
                    threshold: d("0.02"),
                    target: d("0.04"),
                    stretch: Some(d("0.06")),
                },
                &[("orders", "100"), ("sessions", "3100")],
            )],
            status: "approved".into(),
            approved_at: Some("2026-07-02T16:30:00Z".parse().unwrap()),
            paid_on: None,
        }
    }

    fn csv(data: &StatementData, language: Language) -> String {
        let (bytes, _, _) = render(data, StatementFormat::Csv, language).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_payout_percentage_and_inputs_appear_exactly_as_used() {
        let text = csv(&statement(), Language::En);
        assert!(text.contains("Payout %,71.875\n"), "{text}");
        assert!(text.contains("Target bonus,100000\n"), "{text}");
        assert!(text.contains("Amount,71875\n"), "{text}");
        assert!(text.contains("Score used,77.5\n"), "{text}");
        assert!(
            text.contains("Team score,80.64516129032258064516129032\n"),
            "every digit: {text}"
        );
        // Approved late on 2 July UTC is 3 July in Tokyo.
        assert!(text.contains("Approved on,2026-07-03\n"), "{text}");
        assert!(text.contains("Paid on,\n"), "{text}");
    }

    #[test]
    fn the_team_kpis_of_the_card_are_listed_with_exact_ratios() {
        let text = csv(&statement(), Language::En);
        let team = text.split("Team KPIs").nth(1).expect("a team section");
        assert!(
            team.contains("Conversion rate,Conversion rate,2%,4%,6%,3.22580645161290322580645161%,100,3100,80.64516129032258064516129032,"),
            "{team}"
        );
    }

    #[test]
    fn statements_speak_japanese_and_chinese_throughout() {
        let ja = csv(&statement(), Language::Ja);
        assert!(ja.contains("支給率（%）,71.875"), "{ja}");
        assert!(ja.contains("流通総額（GMV）"), "{ja}");
        assert!(ja.contains("転換率（CVR）"), "{ja}");
        assert!(ja.contains("状態,承認済み"), "{ja}");
        let zh = csv(&statement(), Language::Zh);
        assert!(zh.contains("支付比例（%）,71.875"), "{zh}");
        assert!(zh.contains("转化率"), "{zh}");
    }

    #[test]
    fn file_names_are_readable_and_distinct_per_lock_version() {
        let mut data = statement();
        let (_, name, _) = render(&data, StatementFormat::Xlsx, Language::Ja).unwrap();
        assert_eq!(name, "statement-2026-06-佐藤-美香-v2.xlsx");
        data.member_name = Some("Li Wei".into());
        data.calculation.lock_version = 1;
        let (_, name, _) = render(&data, StatementFormat::Csv, Language::En).unwrap();
        assert_eq!(name, "statement-2026-06-li-wei-v1.csv");
        data.member_name = None;
        let (_, name, _) = render(&data, StatementFormat::Csv, Language::En).unwrap();
        assert_eq!(
            name,
            format!("statement-2026-06-{}-v1.csv", uuid::Uuid::nil())
        );
    }

    #[test]
    fn percentages_are_written_exactly() {
        assert_eq!(percent_text(d("0.00375")), "0.375%");
        assert_eq!(percent_text(d("0.25")), "25%");
    }
}
