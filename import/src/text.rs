//! Text helpers shared by the formats: header-name normalisation, totals rows, mojibake
//! heuristics and row keys.

/// A header name as compared: trimmed, full-width ASCII (brackets, letters, digits,
/// hyphens) folded to ASCII, the ideographic and no-break spaces folded to a space, runs
/// of spaces collapsed, ASCII letters lower-cased. `（子）ASIN` and `(Child) ASIN ` thus
/// compare as `(子)asin` and `(child) asin`; nothing else is loosened, so
/// `セッション数 - 合計` never matches `セッション数 - 合計 - B2B`.
pub(crate) fn header_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for c in raw.chars() {
        let c = match c {
            '\u{FEFF}' => continue,
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' | '\t' => ' ',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' => '-',
            other => other,
        };
        if c == ' ' {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The words a totals row carries in its first cell (SPEC §5: 合計, 通算実績, Total).
const TOTALS: &[&str] = &[
    "合計",
    "総計",
    "合計値",
    "通算実績",
    "全体",
    "total",
    "totals",
    "grand total",
];

/// Whether a cell marks a totals row.
pub(crate) fn is_totals(cell: &str) -> bool {
    let name = header_name(cell);
    TOTALS.contains(&name.as_str())
}

/// Halfwidth katakana, which real headers and most data never use but mojibake is full of.
fn is_halfwidth_kana(c: char) -> bool {
    ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// The Windows-1252 letters that bytes 0x80–0x9F become when UTF-8 is read as such.
const CP1252_HIGH: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/// Signs that text went through the wrong decoder, reliable enough to refuse a file on:
/// the replacement character; UTF-8 read as CP932 (`縺`, `繧`, `繝` — the lead of
/// most hiragana and katakana — directly followed by halfwidth katakana or `・`); UTF-8
/// read as Latin-1/Windows-1252 (`ã`, `â`, `ç`, `Ã`… followed by a continuation-byte
/// character: `ã‚`, `â€`, `ç¹`, `ï»¿`).
pub(crate) fn looks_garbled(text: &str) -> bool {
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c == '\u{FFFD}' {
            return true;
        }
        if let Some(p) = previous {
            if matches!(p, '縺' | '繧' | '繝') && (is_halfwidth_kana(c) || c == '・') {
                return true;
            }
            let lead = ('\u{00C2}'..='\u{00EF}').contains(&p);
            let continuation = ('\u{0080}'..='\u{00BF}').contains(&c) || CP1252_HIGH.contains(c);
            if lead && continuation {
                return true;
            }
        }
        previous = Some(c);
    }
    false
}

/// Looser signs, used on a would-be header that matched no column: halfwidth-katakana
/// soup or Latin-1 letters where Japanese or English headers were expected.
pub(crate) fn looks_garbled_header(fields: &[String]) -> bool {
    let mut kana = 0;
    let mut latin = 0;
    for field in fields {
        if looks_garbled(field) {
            return true;
        }
        for c in field.chars() {
            if is_halfwidth_kana(c) {
                kana += 1;
            }
            if ('\u{00C0}'..='\u{00FF}').contains(&c) {
                latin += 1;
            }
            if matches!(c, '縺' | '繧' | '繝') {
                return true;
            }
        }
    }
    kana >= 3 || latin >= 3
}

/// A row key from its parts, `|`-separated, with `|` and `\` inside a part escaped so two
/// different tuples never give the same key.
pub(crate) fn key(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        for c in part.chars() {
            if c == '|' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// A short sample of a text for an error message.
pub(crate) fn sample(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_fold_width_and_spaces_but_nothing_else() {
        assert_eq!(
            header_name("（子）ASIN"),
            header_name("(子) ASIN").replace(' ', "")
        );
        assert_eq!(header_name("（子）ＡＳＩＮ"), "(子)asin");
        assert_eq!(header_name(" 7 Day Total Sales "), "7 day total sales");
        assert_eq!(header_name("売上金額（すべて）"), "売上金額(すべて)");
        assert_eq!(header_name("セッション数　-　合計"), "セッション数 - 合計");
        assert_ne!(
            header_name("セッション数 - 合計"),
            header_name("セッション数 - 合計 - B2B")
        );
    }

    #[test]
    fn totals_rows_are_recognised() {
        for cell in ["合計", " 通算実績 ", "Total", "TOTAL", "総計"] {
            assert!(is_totals(cell), "{cell}");
        }
        assert!(!is_totals("2026/05/01"));
        assert!(!is_totals("B0DHANDY01"));
    }

    #[test]
    fn mojibake_is_recognised_and_real_text_is_not() {
        for garbled in [
            "譌･莉�",
            "繧ｻ繝・す繝ｧ繝ｳ謨ｰ",
            "æ—¥ä»˜",
            "ã‚»ãƒƒã‚·ãƒ§ãƒ³",
            "ï»¿Date",
            "Â¥1,234",
        ] {
            assert!(looks_garbled(garbled), "{garbled}");
        }
        for fine in [
            "セッション数 - 合計",
            "注文商品の売上額",
            "São Paulo",
            "Crème brûlée",
            "￥1,234",
            "ﾊﾝﾃﾞｨﾌｧﾝ 首振り",
        ] {
            assert!(!looks_garbled(fine), "{fine}");
        }
        assert!(looks_garbled_header(&["ﾃﾞﾊﾞｲｽ".to_string()]));
        assert!(!looks_garbled_header(&[
            "日付".to_string(),
            "Date".to_string()
        ]));
    }

    #[test]
    fn keys_never_collide_through_the_separator() {
        assert_ne!(key(&["a|b", "c"]), key(&["a", "b|c"]));
        assert_ne!(key(&["a\\", "b"]), key(&["a", "\\b"]));
        assert_eq!(key(&["2026-05-01", "すべて"]), "2026-05-01|すべて");
    }
}
