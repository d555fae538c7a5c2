//! Payout math (SPEC §7): payout curve, team share, gates, proration, one rounding, cap.

use crate::period::DateRange;
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// One point of a payout curve: at `score`, pay `payout_pct` % of the target bonus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub score: Decimal,
    pub payout_pct: Decimal,
}

/// Ordered points; below the first pays 0, between points interpolates, above the last
/// pays the last (a cap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutCurve {
    pub points: Vec<CurvePoint>,
}

impl Default for PayoutCurve {
    fn default() -> Self {
        let p = |s: i64, pct: i64| CurvePoint {
            score: Decimal::from(s),
            payout_pct: Decimal::from(pct),
        };
        PayoutCurve {
            points: vec![p(60, 50), p(100, 100), p(120, 150)],
        }
    }
}

impl PayoutCurve {
    /// Points must be strictly increasing in score, with payouts of 0 or more.
    pub fn check(&self) -> Result<(), String> {
        if self.points.is_empty() {
            return Err("payoutCurve: needs at least one point".into());
        }
        for pair in self.points.windows(2) {
            if pair[1].score <= pair[0].score {
                return Err(format!(
                    "payoutCurve: scores must increase ({} then {})",
                    pair[0].score, pair[1].score
                ));
            }
        }
        if self.points.iter().any(|p| p.payout_pct < Decimal::ZERO) {
            return Err("payoutCurve: payout percentages must be 0 or more".into());
        }
        Ok(())
    }

    /// The payout percentage for a score.
    pub fn payout_pct(&self, score: Decimal) -> Decimal {
        let Some(first) = self.points.first() else {
            return Decimal::ZERO;
        };
        if score < first.score {
            return Decimal::ZERO;
        }
        for pair in self.points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if score >= a.score && score < b.score {
                return a.payout_pct
                    + (b.payout_pct - a.payout_pct) * (score - a.score) / (b.score - a.score);
            }
        }
        self.points
            .last()
            .map(|p| p.payout_pct)
            .unwrap_or(Decimal::ZERO)
    }
}

/// `(1 − team_weight) × individual + team_weight × team`.
pub fn member_score(
    individual: Decimal,
    team: Option<Decimal>,
    team_weight: Decimal,
) -> Option<Decimal> {
    if team_weight.is_zero() {
        return Some(individual);
    }
    team.map(|team| (Decimal::ONE - team_weight) * individual + team_weight * team)
}

/// Days of `period` on which a member with these dates was active.
pub fn active_days(
    period: DateRange,
    active_from: NaiveDate,
    active_until: Option<NaiveDate>,
) -> i64 {
    let start = period.start.max(active_from);
    let end = active_until.map_or(period.end, |until| period.end.min(until));
    if end < start {
        0
    } else {
        (end - start).num_days() + 1
    }
}

/// Every figure of one payout, kept so the amount can be shown and recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutFigures {
    pub target_bonus: Decimal,
    pub score: Decimal,
    pub payout_pct: Decimal,
    /// 1, or 0 when a gate failed.
    pub gate: Decimal,
    pub active_days: i64,
    pub period_days: i64,
    /// `target_bonus × payout_pct × gate × active_days`, before the one division.
    pub numerator: Decimal,
    /// `100 × period_days`.
    pub denominator: Decimal,
    /// Rounded once, half away from zero, to whole yen.
    pub rounded: Decimal,
    pub cap: Option<Decimal>,
    /// The amount paid: `rounded`, capped.
    pub amount: Decimal,
}

/// The formula SPEC §7 fixes, for statements.
pub const FORMULA: &str =
    "round_half_away(target_bonus × payout_pct × gate × active_days ÷ (100 × period_days)), then min(cap)";

/// Payout in whole currency units: multiply first, divide once, round once, then cap.
pub fn payout(
    target_bonus: Decimal,
    score: Decimal,
    curve: &PayoutCurve,
    gates_passed: bool,
    active_days: i64,
    period_days: i64,
    cap: Option<Decimal>,
) -> PayoutFigures {
    let payout_pct = curve.payout_pct(score);
    let gate = if gates_passed {
        Decimal::ONE
    } else {
        Decimal::ZERO
    };
    let numerator = target_bonus * payout_pct * gate * Decimal::from(active_days);
    let denominator = HUNDRED * Decimal::from(period_days.max(1));
    let rounded =
        (numerator / denominator).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let amount = match cap {
        Some(cap) if rounded > cap => cap,
        _ => rounded,
    };
    PayoutFigures {
        target_bonus,
        score,
        payout_pct,
        gate,
        active_days,
        period_days,
        numerator,
        denominator,
        rounded,
        cap,
        amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::normalised;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn june() -> DateRange {
        DateRange::new("2026-06-01".parse().unwrap(), "2026-06-30".parse().unwrap()).unwrap()
    }

    #[test]
    fn li_wei_is_paid_131667_yen_for_june() {
        let days = active_days(june(), "2026-06-11".parse().unwrap(), None);
        assert_eq!(days, 20);
        let figures = payout(
            d("200000"),
            d("99"),
            &PayoutCurve::default(),
            true,
            days,
            30,
            None,
        );
        assert_eq!(normalised(figures.payout_pct), "98.75");
        assert_eq!(normalised(figures.amount), "131667");
    }

    #[test]
    fn a_failed_gate_pays_nothing() {
        let figures = payout(
            d("200000"),
            d("99"),
            &PayoutCurve::default(),
            false,
            20,
            30,
            None,
        );
        assert_eq!(figures.amount, Decimal::ZERO);
    }

    #[test]
    fn the_spec_rounding_example_rounds_half_away_from_zero_once() {
        // ¥100,000 × 50.75 × 3 ÷ (100 × 28) = 5,437.5 → ¥5,438
        let curve = PayoutCurve {
            points: vec![CurvePoint {
                score: d("0"),
                payout_pct: d("50.75"),
            }],
        };
        let figures = payout(d("100000"), d("1"), &curve, true, 3, 28, None);
        assert_eq!(figures.amount, d("5438"));
    }

    #[test]
    fn the_curve_pays_nothing_below_its_first_point_and_caps_at_its_last() {
        let curve = PayoutCurve::default();
        assert_eq!(curve.payout_pct(d("59.99")), Decimal::ZERO);
        assert_eq!(curve.payout_pct(d("60")), d("50"));
        assert_eq!(curve.payout_pct(d("110")), d("125"));
        assert_eq!(curve.payout_pct(d("200")), d("150"));
    }

    #[test]
    fn a_cap_applies_after_rounding() {
        let figures = payout(
            d("200000"),
            d("120"),
            &PayoutCurve::default(),
            true,
            30,
            30,
            Some(d("250000")),
        );
        assert_eq!(figures.rounded, d("300000"));
        assert_eq!(figures.amount, d("250000"));
    }

    #[test]
    fn team_share_blends_the_scores() {
        assert_eq!(
            member_score(d("99"), Some(d("80")), d("0.25")),
            Some(d("94.25"))
        );
        assert_eq!(member_score(d("99"), None, d("0")), Some(d("99")));
        assert_eq!(member_score(d("99"), None, d("0.25")), None);
    }

    #[test]
    fn active_days_clip_to_the_period_and_the_member_dates() {
        assert_eq!(active_days(june(), "2026-05-01".parse().unwrap(), None), 30);
        assert_eq!(
            active_days(
                june(),
                "2026-05-01".parse().unwrap(),
                Some("2026-06-10".parse().unwrap())
            ),
            10
        );
        assert_eq!(active_days(june(), "2026-07-01".parse().unwrap(), None), 0);
    }
}
