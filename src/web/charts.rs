//! Charts drawn on the server as SVG: no script, no network. Each carries a `<title>` and
//! the page shows the same numbers in a table for screen readers.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// What a bullet chart shows: the actual against threshold, target and stretch.
pub struct Bullet<'a> {
    pub title: &'a str,
    pub actual: Option<Decimal>,
    pub threshold: Decimal,
    pub target: Decimal,
    pub stretch: Option<Decimal>,
    /// Lower values are better (ACoS, returns).
    pub lower_is_better: bool,
}

/// Escapes text for SVG/HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 36.0;
/// Band colours from "below threshold" to "beyond stretch".
const BANDS: [&str; 4] = ["#f3d4d1", "#f6e7c1", "#d5ead2", "#b5dcb0"];

/// A horizontal bullet chart (Stephen Few): bands for the levels, a bar for the actual, a
/// tick for the target.
pub fn bullet(chart: &Bullet<'_>) -> String {
    let stretch = chart.stretch.unwrap_or(chart.target);
    let mut top = [chart.threshold, chart.target, stretch]
        .into_iter()
        .chain(chart.actual)
        .max()
        .unwrap_or(Decimal::ONE);
    if top <= Decimal::ZERO {
        top = Decimal::ONE;
    }
    let top = top.to_f64().unwrap_or(1.0) * 1.15;
    let x = |value: Decimal| -> f64 {
        let v = value.to_f64().unwrap_or(0.0).max(0.0);
        (v / top * WIDTH).min(WIDTH)
    };
    // Bands as (from, to, colour index), on the value axis.
    let bands: Vec<(f64, f64, usize)> = if chart.lower_is_better {
        vec![
            (0.0, x(stretch), 3),
            (x(stretch), x(chart.target), 2),
            (x(chart.target), x(chart.threshold), 1),
            (x(chart.threshold), WIDTH, 0),
        ]
    } else {
        vec![
            (0.0, x(chart.threshold), 0),
            (x(chart.threshold), x(chart.target), 1),
            (x(chart.target), x(stretch), 2),
            (x(stretch), WIDTH, 3),
        ]
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="bullet" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(chart.title)
    );
    for (from, to, colour) in bands {
        if to > from {
            let _ = write!(
                svg,
                r#"<rect x="{from:.1}" y="0" width="{:.1}" height="{HEIGHT}" fill="{}"/>"#,
                to - from,
                BANDS[colour]
            );
        }
    }
    if let Some(actual) = chart.actual {
        let _ = write!(
            svg,
            r##"<rect class="actual" x="0" y="12" width="{:.1}" height="12" fill="#27364a"/>"##,
            x(actual)
        );
    }
    let _ = write!(
        svg,
        r##"<rect class="target" x="{:.1}" y="4" width="3" height="28" fill="#b3261e"/></svg>"##,
        (x(chart.target) - 1.5).max(0.0)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_bullet_chart_places_the_actual_and_the_target_on_one_scale() {
        let svg = bullet(&Bullet {
            title: "GMV <June>",
            actual: Some(d("10")),
            threshold: d("8"),
            target: d("10"),
            stretch: Some(d("20")),
            lower_is_better: false,
        });
        assert!(svg.contains("<title>GMV &lt;June&gt;</title>"), "{svg}");
        // 20 × 1.15 = 23 is the full width: the actual of 10 is 300 × 10 / 23.
        assert!(
            svg.contains(r#"class="actual" x="0" y="12" width="130.4""#),
            "{svg}"
        );
        assert!(svg.contains(r#"class="target" x="128.9""#), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 6);
    }

    #[test]
    fn lower_is_better_puts_the_best_band_at_zero() {
        let svg = bullet(&Bullet {
            title: "ACoS",
            actual: None,
            threshold: d("0.35"),
            target: d("0.25"),
            stretch: Some(d("0.2")),
            lower_is_better: true,
        });
        let first = svg.find("<rect").unwrap();
        assert!(
            svg[first..].starts_with(&format!(
                r#"<rect x="0.0" y="0" width="149.1" height="36" fill="{}""#,
                BANDS[3]
            )),
            "{svg}"
        );
        assert!(!svg.contains("class=\"actual\""));
    }
}
