//! The web app's messages in Japanese, Simplified Chinese and English, the choice of
//! language per request, and numbers, money, percentages and periods as each language
//! writes them (¥1,234,567 · 12.5% · 2026年6月).

use kpi_ledger_domain::language::Language;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

const MESSAGES: &str = include_str!("messages.toml");

/// One message in the three languages; a missing language fails parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    ja: String,
    zh: String,
    en: String,
}

fn catalogue() -> &'static BTreeMap<String, Entry> {
    static CATALOGUE: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    CATALOGUE.get_or_init(|| parse(MESSAGES).expect("src/web/messages.toml is checked by tests"))
}

fn parse(text: &str) -> Result<BTreeMap<String, Entry>, String> {
    toml::from_str(text).map_err(|e| format!("messages.toml: {e}"))
}

/// Whether the catalogue has `key`.
pub fn has_key(key: &str) -> bool {
    catalogue().contains_key(key)
}

/// The message `key` in `language`, with `{name}` placeholders filled from `args`. An
/// unknown key reads as the key itself (tests make sure templates use known keys).
pub fn message(language: Language, key: &str, args: &[(&str, String)]) -> String {
    let Some(entry) = catalogue().get(key) else {
        tracing::error!(key, "web message missing from the catalogue");
        return key.to_string();
    };
    let text = match language {
        Language::Ja => &entry.ja,
        Language::Zh => &entry.zh,
        Language::En => &entry.en,
    };
    let mut out = text.clone();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The language for a request: an explicit choice first, then the first language of
/// `Accept-Language` kpi-ledger speaks (by quality), then English.
pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Language {
    if let Some(language) = explicit.and_then(|l| Language::from_str(l).ok()) {
        return language;
    }
    let mut offered: Vec<(f32, Language)> = accept_language
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((quality, Language::from_str(tag).ok()?))
        })
        .filter(|(quality, _)| *quality > 0.0)
        .collect();
    // Stable: equal qualities keep the header's order.
    offered.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    offered.first().map(|(_, l)| *l).unwrap_or(Language::En)
}

/// `1234567.5` → `1,234,567.5`.
fn group_thousands(value: Decimal) -> String {
    let text = value.normalize().to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A plain number with thousands separators, as stored (exact).
pub fn number(value: Decimal) -> String {
    group_thousands(value)
}

/// Money: yen without a minor unit (`¥1,234,567`), other currencies with their code.
pub fn money(value: Decimal, currency: &str) -> String {
    match currency {
        "JPY" => format!("¥{}", group_thousands(value.round_dp(0))),
        other => format!("{} {other}", group_thousands(value.round_dp(2))),
    }
}

/// A ratio (0.125) as a percentage (`12.5%`), at most two decimals.
pub fn percent(ratio: Decimal) -> String {
    format!(
        "{}%",
        group_thousands((ratio * Decimal::ONE_HUNDRED).round_dp(2))
    )
}

/// A value already in percent points (a weight of 40, a payout rate of 98.75) as `40%`.
pub fn percent_points(points: Decimal) -> String {
    format!("{}%", group_thousands(points.round_dp(2)))
}

/// A score (0–150 points on the SPEC's scale), at most one decimal.
pub fn score(value: Decimal) -> String {
    group_thousands(value.round_dp(1))
}

/// A period as each language writes it: `2026-06` → 2026年6月 / June 2026; quarters,
/// weeks and fiscal years likewise. Unknown shapes are shown as written.
pub fn period(language: Language, period: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    if let Some(year) = period.strip_prefix("FY") {
        return match language {
            Language::Ja => format!("{year}年度"),
            Language::Zh => format!("{year}财年"),
            Language::En => format!("FY{year}"),
        };
    }
    let Some((year, rest)) = period.split_once('-') else {
        return period.to_string();
    };
    if let Some(q) = rest.strip_prefix('Q') {
        return match language {
            Language::Ja => format!("{year}年 第{q}四半期"),
            Language::Zh => format!("{year}年第{q}季度"),
            Language::En => format!("Q{q} {year}"),
        };
    }
    if let Some(w) = rest.strip_prefix('W') {
        let w = w.trim_start_matches('0');
        return match language {
            Language::Ja => format!("{year}年 第{w}週"),
            Language::Zh => format!("{year}年第{w}周"),
            Language::En => format!("Week {w}, {year}"),
        };
    }
    match rest.parse::<usize>() {
        Ok(month @ 1..=12) if rest.len() == 2 => match language {
            Language::Ja | Language::Zh => format!("{year}年{month}月"),
            Language::En => format!("{} {year}", MONTHS[month - 1]),
        },
        _ => period.to_string(),
    }
}

/// A date (`2026-06-30`) as each language writes it.
pub fn date(language: Language, date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    match language {
        Language::Ja | Language::Zh => {
            format!("{}年{}月{}日", date.year(), date.month(), date.day())
        }
        Language::En => date.format("%-d %b %Y").to_string(),
    }
}

/// The message keys a template uses: every `t("key"` in it.
#[cfg(test)]
fn keys_used(template: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("t(\"") {
        rest = &rest[at + 3..];
        if let Some(end) = rest.find('"') {
            // `t("status_" ~ value)` builds its key: CODE_KEYS lists those.
            if !rest[end + 1..].trim_start().starts_with('~') {
                keys.push(rest[..end].to_string());
            }
            rest = &rest[end..];
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn every_message_has_all_three_languages() {
        let catalogue = parse(MESSAGES).expect("every key has ja, zh and en and nothing else");
        for (key, entry) in catalogue {
            for (language, text) in [("ja", &entry.ja), ("zh", &entry.zh), ("en", &entry.en)] {
                assert!(!text.trim().is_empty(), "{key} is empty in {language}");
            }
            // Placeholders agree across languages.
            let names = |text: &str| {
                let mut names: Vec<String> = text
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                    .collect();
                names.sort();
                names
            };
            assert_eq!(
                names(&entry.ja),
                names(&entry.en),
                "{key}: ja vs en placeholders"
            );
            assert_eq!(
                names(&entry.zh),
                names(&entry.en),
                "{key}: zh vs en placeholders"
            );
        }
    }

    #[test]
    fn a_key_missing_a_language_is_refused() {
        let error = parse("[greeting]\nja = \"こんにちは\"\nen = \"Hello\"\n").unwrap_err();
        assert!(error.contains("zh"), "{error}");
    }

    #[test]
    fn every_key_the_templates_use_exists() {
        let catalogue = catalogue();
        for (name, source) in super::super::templates::SOURCES {
            for key in keys_used(source) {
                assert!(
                    catalogue.contains_key(&key),
                    "template {name} uses `{key}`, which messages.toml lacks"
                );
            }
        }
        for key in super::super::CODE_KEYS {
            assert!(
                catalogue.contains_key(*key),
                "code uses `{key}`, which messages.toml lacks"
            );
        }
    }

    #[test]
    fn accept_language_picks_the_best_language_spoken() {
        assert_eq!(
            negotiate(None, Some("ja-JP,ja;q=0.9,en;q=0.8")),
            Language::Ja
        );
        assert_eq!(
            negotiate(None, Some("fr-FR, zh-CN;q=0.7, en;q=0.5")),
            Language::Zh
        );
        assert_eq!(
            negotiate(None, Some("en;q=0.4, zh-Hans;q=0.9")),
            Language::Zh
        );
        assert_eq!(negotiate(None, Some("de, fr")), Language::En);
        assert_eq!(negotiate(None, None), Language::En);
        assert_eq!(negotiate(Some("ja"), Some("zh-CN")), Language::Ja);
        assert_eq!(negotiate(Some("xx"), Some("zh-CN")), Language::Zh);
    }

    #[test]
    fn money_percentages_and_periods_per_language() {
        assert_eq!(money(dec("1234567"), "JPY"), "¥1,234,567");
        assert_eq!(money(dec("131666.67"), "JPY"), "¥131,667");
        assert_eq!(money(dec("-500"), "JPY"), "¥-500");
        assert_eq!(money(dec("1234.5"), "USD"), "1,234.5 USD");
        assert_eq!(percent(dec("0.125")), "12.5%");
        assert_eq!(percent(dec("1.2")), "120%");
        assert_eq!(percent_points(dec("98.75")), "98.75%");
        assert_eq!(number(dec("1000")), "1,000");
        assert_eq!(number(dec("999.25")), "999.25");
        assert_eq!(period(Language::Ja, "2026-06"), "2026年6月");
        assert_eq!(period(Language::Zh, "2026-06"), "2026年6月");
        assert_eq!(period(Language::En, "2026-06"), "June 2026");
        assert_eq!(period(Language::Ja, "2026-Q2"), "2026年 第2四半期");
        assert_eq!(period(Language::En, "2026-W05"), "Week 5, 2026");
        assert_eq!(period(Language::Zh, "FY2026"), "2026财年");
        let june_30 = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        assert_eq!(date(Language::Ja, june_30), "2026年6月30日");
        assert_eq!(date(Language::En, june_30), "30 Jun 2026");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            message(Language::En, "scorecard_of", &[("name", "Li Wei".into())]),
            "Scorecard of Li Wei"
        );
    }
}
