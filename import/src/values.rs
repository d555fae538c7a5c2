//! The value spellings found in marketplace exports (SPEC §5).
//!
//! Every parser first folds full-width forms to their ASCII twins (`１，２３４` is
//! `1,234`, `％` is `%`, the ideographic space is a space), so a value typed in a Japanese
//! input method reads like one typed in ASCII. Numbers are exact decimals, never floats.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Folds full-width ASCII, the ideographic space and the minus-like signs to ASCII.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' | '\u{2009}' | '\u{202F}' => ' ',
            // Minus signs, including the triangles Japanese accounts write for negatives.
            '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '▲' | '△' => '-',
            other => other,
        })
        .collect()
}

/// `￥1,234`, `¥1,234`, `1234円`, `JPY 1,234`, full-width digits and commas, `-5`, in the
/// engagement's currency. Refuses another currency's symbol or code than `currency`
/// accepts, and converts an amount in the currency of a stated conversion.
///
/// Also accepts `\1,234` (the yen sign of CP932 decodes to a backslash), a sign before or
/// after the symbol (`-￥5`, `￥-5`), `(1,234)` for a negative, and a trailing code
/// (`1,234 JPY`). A value without a symbol or code is taken to be in `currency`.
pub fn money(text: &str, currency: &crate::Currency) -> Result<Decimal, String> {
    money_stated(text, currency, None)
}

/// [`money`] for a row that states its currency in a column of its own (`stated`), which
/// then applies to amounts without a symbol or code.
pub fn money_stated(
    text: &str,
    currency: &crate::Currency,
    stated: Option<&str>,
) -> Result<Decimal, String> {
    let folded = fold(text);
    let mut s = folded.trim();
    if s.is_empty() {
        return Err("empty value".into());
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        negative = true;
        s = s[1..s.len() - 1].trim();
    }
    if let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.trim_start();
    }
    let mut found: Option<String> = None;
    let (code, rest) = strip_currency_prefix(s);
    if let Some(code) = code {
        found = Some(code);
        s = rest.trim_start();
    }
    let (code, rest) = strip_currency_suffix(s);
    if let Some(code) = code {
        if let Some(first) = &found {
            if *first != code {
                return Err(format!(
                    "the amount names two currencies ({first} and {code})"
                ));
            }
        }
        found = Some(code);
        s = rest.trim_end();
    }
    let code = found.as_deref().or(stated);
    if let Some(code) = code {
        if !currency.accepts(code) {
            return currency.convert(Decimal::ZERO, Some(code));
        }
    }
    if negative && (s.starts_with('-') || s.starts_with('+')) {
        return Err("the amount has two signs".into());
    }
    let value = number(s).map_err(|why| {
        if found.is_some() {
            format!("not an amount of money: {why}")
        } else {
            why
        }
    })?;
    currency.convert(if negative { -value } else { value }, code)
}

/// The currency symbols and their ISO 4217 codes, longest first so `US$` wins over `$`.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("￥", "JPY"),
    ("¥", "JPY"),
    ("\\", "JPY"),
    ("円", "JPY"),
    ("$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₩", "KRW"),
    ("元", "CNY"),
];

fn strip_currency_prefix(s: &str) -> (Option<String>, &str) {
    for (symbol, code) in SYMBOLS {
        if let Some(rest) = s.strip_prefix(symbol) {
            return (Some((*code).to_string()), rest);
        }
    }
    // A three-letter code such as `JPY 1,234` or `USD1,234`.
    let letters = s.bytes().take_while(|b| b.is_ascii_uppercase()).count();
    let rest = &s[letters..];
    if letters == 3 && rest.starts_with(|c: char| c.is_ascii_digit() || " -+.".contains(c)) {
        return (Some(s[..3].to_string()), rest);
    }
    (None, s)
}

fn strip_currency_suffix(s: &str) -> (Option<String>, &str) {
    for (symbol, code) in SYMBOLS {
        if let Some(rest) = s.strip_suffix(symbol) {
            return (Some((*code).to_string()), rest);
        }
    }
    let letters = s
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    let rest = &s[..s.len() - letters];
    if letters == 3 && rest.ends_with(|c: char| c.is_ascii_digit() || c == ' ') {
        return (Some(s[s.len() - 3..].to_string()), rest);
    }
    (None, s)
}

/// A plain or thousands-separated number, full-width digits allowed.
///
/// Thousands separators must sit every three digits (`1,234,567`), so a decimal comma
/// (`12,5`) is refused rather than read as 125. No exponent, no currency, no percent.
pub fn number(text: &str) -> Result<Decimal, String> {
    let folded = fold(text);
    let s = folded.trim();
    if s.is_empty() {
        return Err("empty value".into());
    }
    let (negative, body) = match s.as_bytes()[0] {
        b'-' => (true, s[1..].trim_start()),
        b'+' => (false, s[1..].trim_start()),
        _ => (false, s),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let not_a_number = || format!("`{}` is not a number", text.trim());
    if int_part.is_empty() && frac_part.is_none_or(|f| f.is_empty()) {
        return Err(not_a_number());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return Err(not_a_number());
    }
    if int_part.contains(',') {
        let mut groups = int_part.split(',');
        let first = groups.next().unwrap_or_default();
        let grouped = !first.is_empty()
            && first.len() <= 3
            && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if !grouped {
            return Err(format!(
                "`{}` has a comma where no thousands separator belongs",
                text.trim()
            ));
        }
    }
    if let Some(frac) = frac_part {
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (frac.is_empty() && int_part.is_empty()) {
            return Err(not_a_number());
        }
    }
    let mut plain: String = int_part.chars().filter(|c| *c != ',').collect();
    if plain.is_empty() {
        plain.push('0');
    }
    if let Some(frac) = frac_part.filter(|f| !f.is_empty()) {
        plain.push('.');
        plain.push_str(frac);
    }
    let value = Decimal::from_str(&plain)
        .map_err(|_| format!("`{}` is out of range", text.trim()))?
        .normalize();
    Ok(if negative { -value } else { value })
}

/// A percentage as a fraction: `12.5%`, `12.5％` and `12.34 %` give `0.125`/`0.1234`; a
/// bare number is taken to be a fraction already (`0.1234`).
pub fn percent(text: &str) -> Result<Decimal, String> {
    let folded = fold(text);
    let s = folded.trim();
    match s.strip_suffix('%') {
        Some(rest) => Ok((number(rest)? / Decimal::ONE_HUNDRED).normalize()),
        None => number(s),
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// `2026/05/03`, `2026-05-03`, `2026年05月03日` (full-width digits allowed).
///
/// Also: one-digit months and days (`2026/5/3`), `2026.05.03`, `20260503`, a trailing
/// weekday in brackets (`2026/05/03(日)`), the `MM/DD/YYYY` of Amazon's English reports
/// (the year last means month first) and `May 03, 2026` (Amazon Ads' English reports).
pub fn date(text: &str) -> Result<NaiveDate, String> {
    let folded = fold(text);
    let mut s = folded.trim();
    if s.is_empty() {
        return Err("empty date".into());
    }
    // A trailing weekday such as `(金)`.
    if s.ends_with(')') {
        if let Some(open) = s.rfind('(') {
            let inside = &s[open + 1..s.len() - 1];
            if inside.chars().count() <= 3 && !inside.chars().any(|c| c.is_ascii_digit()) {
                s = s[..open].trim_end();
            }
        }
    }
    let bad = || {
        format!(
            "`{}` is not a date (expected 2026-05-03, 2026/05/03 or 2026年05月03日)",
            text.trim()
        )
    };
    let ymd = |y: &str, m: &str, d: &str| -> Result<NaiveDate, String> {
        let digits = |p: &str, max_len: usize| {
            !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !(y.len() == 4 && digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(bad());
        }
        let (y, m, d): (i32, u32, u32) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        NaiveDate::from_ymd_opt(y, m, d)
            .ok_or_else(|| format!("`{}` is not a day of the calendar", text.trim()))
    };
    if let Some(rest) = s.strip_suffix('日') {
        let (y, rest) = rest.split_once('年').ok_or_else(bad)?;
        let (m, d) = rest.split_once('月').ok_or_else(bad)?;
        return ymd(y.trim(), m.trim(), d.trim());
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return ymd(&s[..4], &s[4..6], &s[6..]);
    }
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() == 3 {
            if parts[0].len() == 4 {
                return ymd(parts[0], parts[1], parts[2]);
            }
            if sep == '/' && parts[2].len() == 4 {
                return ymd(parts[2], parts[0], parts[1]);
            }
            return Err(bad());
        }
    }
    // `May 03, 2026`.
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    if let (3, Some(month)) = (words.len(), words.first().and_then(|w| w.get(..3))) {
        let month = month.to_ascii_lowercase();
        if let Some(m) = MONTHS.iter().position(|name| *name == month) {
            return ymd(words[2], &(m + 1).to_string(), words[1]);
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn money_spellings_seen_in_the_wild_all_read_the_same() {
        for text in [
            "￥1,234",
            "¥1,234",
            "1234円",
            "JPY 1,234",
            "JPY1,234",
            "1,234 JPY",
            "１，２３４",
            "￥１，２３４",
            " ￥1,234 ",
            "\\1,234",
            "1234",
            "1,234.00",
        ] {
            assert_eq!(
                money(text, &crate::Currency::new("JPY")),
                Ok(dec("1234")),
                "{text}"
            );
        }
        assert_eq!(money("-￥5", &crate::Currency::new("JPY")), Ok(dec("-5")));
        assert_eq!(money("￥-5", &crate::Currency::new("JPY")), Ok(dec("-5")));
        assert_eq!(
            money("(1,234)", &crate::Currency::new("JPY")),
            Ok(dec("-1234"))
        );
        assert_eq!(money("▲500", &crate::Currency::new("JPY")), Ok(dec("-500")));
        assert_eq!(
            money("$12.50", &crate::Currency::new("USD")),
            Ok(dec("12.5"))
        );
    }

    #[test]
    fn money_in_another_currency_is_refused_and_says_which() {
        for text in ["$1,234", "USD 1,234", "1,234 USD", "US$5", "€5"] {
            let err = money(text, &crate::Currency::new("JPY")).unwrap_err();
            assert!(
                err.contains("not in the engagement's currency JPY"),
                "{text}: {err}"
            );
        }
        assert!(money("￥1,234", &crate::Currency::new("USD"))
            .unwrap_err()
            .contains("JPY"));
        assert!(money("JPY 5 USD", &crate::Currency::new("JPY")).is_err());
    }

    #[test]
    fn money_in_a_stated_conversions_currency_is_converted_exactly() {
        let currency = crate::Currency {
            code: "JPY".into(),
            conversion: Some(crate::Conversion {
                from: "USD".into(),
                rate: dec("151.20"),
            }),
        };
        assert_eq!(money("$12.50", &currency), Ok(dec("1890")));
        assert_eq!(money("12.35 USD", &currency), Ok(dec("1867.32")));
        // Without a symbol, an amount is in the file's currency: the stated one.
        assert_eq!(money("1", &currency), Ok(dec("151.2")));
        assert_eq!(money("￥100", &currency), Ok(dec("100")));
        let err = money("€5", &currency).unwrap_err();
        assert!(
            err.contains("neither the engagement's currency JPY nor USD"),
            "{err}"
        );
        assert_eq!(money_stated("2", &currency, Some("USD")), Ok(dec("302.4")));
        assert_eq!(money_stated("2", &currency, Some("JPY")), Ok(dec("2")));
    }

    #[test]
    fn numbers_take_thousands_separators_only_where_they_belong() {
        assert_eq!(number("1,071"), Ok(dec("1071")));
        assert_eq!(number("2，390"), Ok(dec("2390")));
        assert_eq!(number("１２３"), Ok(dec("123")));
        assert_eq!(number("1,234,567.5"), Ok(dec("1234567.5")));
        assert_eq!(number("-5"), Ok(dec("-5")));
        assert_eq!(number(".5"), Ok(dec("0.5")));
        assert_eq!(number("31.00"), Ok(dec("31")));
        for bad in [
            "", " ", "-", "12,5", "1,23", ",123", "1e5", "abc", "1.2.3", "12%", "￥5", ".", "--5",
        ] {
            assert!(number(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn percentages_become_fractions() {
        for text in ["12.34%", "12.34％", "12.34 %", "0.1234", "１２．３４％"] {
            assert_eq!(percent(text), Ok(dec("0.1234")), "{text}");
        }
        assert!(percent("abc%").is_err());
    }

    #[test]
    fn dates_in_every_spelling_are_the_same_day() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 3).unwrap();
        for text in [
            "2026/05/03",
            "2026-05-03",
            "2026年05月03日",
            "2026年5月3日",
            "２０２６年０５月０３日",
            "2026/5/3",
            "2026.05.03",
            "20260503",
            "2026/05/03(日)",
            "2026/05/03（日）",
            "05/03/2026",
            "May 03, 2026",
            "May 3, 2026",
            " 2026-05-03 ",
        ] {
            assert_eq!(date(text), Ok(day), "{text}");
        }
        for bad in [
            "",
            "2026/02/30",
            "2026-13-01",
            "26/05/03",
            "2026/05",
            "yesterday",
            "2026年05月",
            "0503",
            "2026-05-03-01",
            "ab€ 1, 2026",
            "日本語 1, 2026",
            "Mayo 1 2026x",
        ] {
            assert!(date(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
