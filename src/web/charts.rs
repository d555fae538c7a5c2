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

/// One period of a trend chart.
pub struct TrendPoint {
    pub label: String,
    pub actual: Option<Decimal>,
    /// threshold, target, stretch — when a target was set for the period.
    pub levels: Option<(Decimal, Decimal, Option<Decimal>)>,
}

/// A KPI over consecutive periods: the band from threshold to stretch and the target as a
/// dash per period, the actuals as a line with points.
pub fn trend(title: &str, points: &[TrendPoint]) -> String {
    const W: f64 = 600.0;
    const H: f64 = 150.0;
    const BOTTOM: f64 = 20.0;
    let plot = H - BOTTOM - 6.0;
    let values = points.iter().flat_map(|p| {
        p.actual.into_iter().chain(
            p.levels
                .into_iter()
                .flat_map(|(a, b, c)| [Some(a), Some(b), c].into_iter().flatten()),
        )
    });
    let top = values
        .filter_map(|v| v.to_f64())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let step = W / points.len().max(1) as f64;
    let y = |v: Decimal| 6.0 + plot - (v.to_f64().unwrap_or(0.0).max(0.0) / top * plot);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="trend" viewBox="0 0 {W} {H}" role="img" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    let _ = write!(
        svg,
        r##"<line x1="0" y1="{:.1}" x2="{W}" y2="{:.1}" stroke="#d9dee5"/>"##,
        6.0 + plot,
        6.0 + plot
    );
    for (i, point) in points.iter().enumerate() {
        let x = i as f64 * step;
        if let Some((threshold, target, stretch)) = point.levels {
            let high = stretch.unwrap_or(target).max(threshold);
            let low = stretch.unwrap_or(target).min(threshold);
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#d5ead2"/>"##,
                x + 2.0,
                y(high),
                step - 4.0,
                (y(low) - y(high)).max(1.0)
            );
            let _ = write!(
                svg,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#b3261e" stroke-width="2"/>"##,
                x + 2.0,
                y(target),
                x + step - 2.0,
                y(target)
            );
        }
        if i == 0 || i + 1 == points.len() || i % 3 == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#5b6675">{}</text>"##,
                x + step / 2.0,
                H - 5.0,
                escape(&point.label)
            );
        }
    }
    // The actuals as a line, broken where a period has none.
    let mut path = String::new();
    let mut drawing = false;
    for (i, point) in points.iter().enumerate() {
        match point.actual {
            Some(actual) => {
                let command = if drawing { 'L' } else { 'M' };
                let _ = write!(
                    path,
                    "{command}{:.1},{:.1} ",
                    i as f64 * step + step / 2.0,
                    y(actual)
                );
                drawing = true;
            }
            None => drawing = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            r##"<path d="{}" fill="none" stroke="#27364a" stroke-width="2"/>"##,
            path.trim()
        );
    }
    for (i, point) in points.iter().enumerate() {
        if let Some(actual) = point.actual {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#27364a"/>"##,
                i as f64 * step + step / 2.0,
                y(actual)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A small line of scores (the portfolio's trend): gaps where a month has none.
pub fn sparkline(title: &str, scores: &[Option<Decimal>]) -> String {
    const W: f64 = 120.0;
    const H: f64 = 28.0;
    let top = scores
        .iter()
        .flatten()
        .filter_map(|v| v.to_f64())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let step = W / scores.len().max(1) as f64;
    let y = |v: Decimal| H - 3.0 - (v.to_f64().unwrap_or(0.0).max(0.0) / top * (H - 6.0));
    let mut path = String::new();
    let mut drawing = false;
    for (i, score) in scores.iter().enumerate() {
        match score {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if drawing { 'L' } else { 'M' },
                    i as f64 * step + step / 2.0,
                    y(*v)
                );
                drawing = true;
            }
            None => drawing = false,
        }
    }
    let mut svg = format!(
        r#"<svg class="spark" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    if !path.is_empty() {
        let _ = write!(
            svg,
            r##"<path d="{}" fill="none" stroke="#1f5fa8" stroke-width="2"/>"##,
            path.trim()
        );
    }
    if let Some((i, Some(v))) = scores.iter().enumerate().rev().find(|(_, s)| s.is_some()) {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#1f5fa8"/>"##,
            i as f64 * step + step / 2.0,
            y(*v)
        );
    }
    svg.push_str("</svg>");
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
    fn a_trend_draws_a_band_per_target_and_a_point_per_actual() {
        let points = vec![
            TrendPoint {
                label: "Apr".into(),
                actual: Some(d("10")),
                levels: Some((d("8"), d("10"), Some(d("12")))),
            },
            TrendPoint {
                label: "May".into(),
                actual: None,
                levels: None,
            },
            TrendPoint {
                label: "Jun".into(),
                actual: Some(d("5")),
                levels: Some((d("8"), d("10"), None)),
            },
        ];
        let svg = trend("GMV & co", &points);
        assert!(svg.contains("<title>GMV &amp; co</title>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches(r##"fill="#d5ead2""##).count(), 2, "{svg}");
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains(">Apr<") && svg.contains(">Jun<"));
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
