//! The exact scoring math of SPEC §7, in decimals. Nothing here rounds: only display
//! rounds, to two decimals.

use crate::metrics::Direction;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Threshold, target and optional stretch of one KPI for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    pub threshold: Decimal,
    pub target: Decimal,
    pub stretch: Option<Decimal>,
}

impl Levels {
    /// Levels must run in the metric's direction: t0 ≤ t1 ≤ t2 for higher-is-better,
    /// t0 ≥ t1 ≥ t2 for lower-is-better.
    pub fn check(&self, direction: Direction) -> Result<(), String> {
        let ordered = |a: Decimal, b: Decimal| match direction {
            Direction::Higher => a <= b,
            Direction::Lower => a >= b,
        };
        let word = match direction {
            Direction::Higher => "at most",
            Direction::Lower => "at least",
        };
        if !ordered(self.threshold, self.target) {
            return Err(format!(
                "threshold {} must be {word} the target {} for a {}-is-better metric",
                self.threshold,
                self.target,
                direction.as_str()
            ));
        }
        if let Some(stretch) = self.stretch {
            if !ordered(self.target, stretch) {
                return Err(format!(
                    "target {} must be {word} the stretch {stretch} for a {}-is-better metric",
                    self.target,
                    direction.as_str()
                ));
            }
        }
        Ok(())
    }
}

/// How a KPI turns an actual into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Curve {
    /// Score at the threshold (default 50).
    pub threshold_score: Decimal,
    /// Score at or beyond the stretch (default 120).
    pub stretch_score: Decimal,
}

impl Default for Curve {
    fn default() -> Self {
        Self {
            threshold_score: Decimal::from(50),
            stretch_score: Decimal::from(120),
        }
    }
}

impl Curve {
    /// Valid settings keep 0 ≤ threshold_score ≤ 100 ≤ stretch_score.
    pub fn check(&self) -> Result<(), String> {
        if self.threshold_score < Decimal::ZERO || self.threshold_score > HUNDRED {
            return Err(format!(
                "thresholdScore {} must be between 0 and 100",
                self.threshold_score
            ));
        }
        if self.stretch_score < HUNDRED {
            return Err(format!(
                "stretchScore {} must be at least 100",
                self.stretch_score
            ));
        }
        Ok(())
    }
}

/// The score of `actual` against `levels` (SPEC §7).
pub fn kpi_score(actual: Decimal, levels: &Levels, curve: &Curve, direction: Direction) -> Decimal {
    kpi_score_of_ratio(actual, Decimal::ONE, levels, curve, direction)
}

/// The score of the actual `numerator ÷ denominator` against `levels` (SPEC §7), with one
/// rounding at the end: a band's score `s0 + (s1 − s0) × (a − l0) / (l1 − l0)` is computed
/// as one fraction over `denominator × (l1 − l0)`, so a ratio KPI's actual is never
/// rounded before it is scored. A lower-is-better metric is the mirror image of a
/// higher-is-better one, so it is scored on negated values. `denominator` must not be 0.
pub fn kpi_score_of_ratio(
    numerator: Decimal,
    denominator: Decimal,
    levels: &Levels,
    curve: &Curve,
    direction: Direction,
) -> Decimal {
    debug_assert!(
        !denominator.is_zero(),
        "a ratio with a zero denominator has no score"
    );
    // Keep the denominator positive so comparisons of fractions are comparisons of numerators.
    let (numerator, denominator) = if denominator.is_sign_negative() {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    match direction {
        Direction::Higher => score_higher(Fraction::new(numerator, denominator), levels, curve),
        Direction::Lower => score_higher(
            Fraction::new(-numerator, denominator),
            &Levels {
                threshold: -levels.threshold,
                target: -levels.target,
                stretch: levels.stretch.map(|s| -s),
            },
            curve,
        ),
    }
}

/// An actual as the quotient `num ÷ den` (den > 0), kept unrounded.
#[derive(Clone, Copy)]
struct Fraction {
    num: Decimal,
    den: Decimal,
}

impl Fraction {
    fn new(num: Decimal, den: Decimal) -> Self {
        Self { num, den }
    }

    /// The rounded quotient, for the rare inputs whose exact form would overflow.
    fn value(self) -> Decimal {
        self.num / self.den
    }

    /// `self − level` as a numerator over `self.den`, or `None` on overflow.
    fn minus(self, level: Decimal) -> Option<Decimal> {
        self.num.checked_sub(level.checked_mul(self.den)?)
    }

    fn at_least(self, level: Decimal) -> bool {
        match self.minus(level) {
            Some(difference) => !difference.is_sign_negative() || difference.is_zero(),
            None => self.value() >= level,
        }
    }

    /// `from + (to − from) × (self − low) / (high − low)` with a single division.
    fn interpolate(self, low: Decimal, high: Decimal, from: Decimal, to: Decimal) -> Decimal {
        let exact = || -> Option<Decimal> {
            let span = high.checked_sub(low)?;
            let numerator = from
                .checked_mul(span)?
                .checked_mul(self.den)?
                .checked_add(to.checked_sub(from)?.checked_mul(self.minus(low)?)?)?;
            numerator.checked_div(span.checked_mul(self.den)?)
        };
        exact().unwrap_or_else(|| from + (to - from) * (self.value() - low) / (high - low))
    }
}

fn score_higher(a: Fraction, levels: &Levels, curve: &Curve) -> Decimal {
    let (t0, t1) = (levels.threshold, levels.target);
    if !a.at_least(t0) {
        return Decimal::ZERO;
    }
    if let Some(t2) = levels.stretch {
        if a.at_least(t2) {
            return curve.stretch_score;
        }
        if a.at_least(t1) {
            // t1 ≤ a < t2, so t2 > t1 and the division is safe.
            return a.interpolate(t1, t2, HUNDRED, curve.stretch_score);
        }
    } else if a.at_least(t1) {
        return HUNDRED;
    }
    // t0 ≤ a < t1, so t1 > t0.
    a.interpolate(t0, t1, curve.threshold_score, HUNDRED)
}

/// Σ(wᵢ × sᵢ) / Σ wᵢ, or `None` when the weights sum to zero.
pub fn weighted_score(scores: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let total_weight: Decimal = scores.iter().map(|(w, _)| *w).sum();
    if total_weight.is_zero() {
        return None;
    }
    let weighted: Decimal = scores.iter().map(|(w, s)| *w * *s).sum();
    Some(weighted / total_weight)
}

/// A decimal as SPEC §13 writes it: no exponent, no trailing zeros (`"99"`, `"0.375"`).
pub fn normalised(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Rounds for display: two decimals, half away from zero.
pub fn display(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn levels(t0: &str, t1: &str, t2: Option<&str>) -> Levels {
        Levels {
            threshold: d(t0),
            target: d(t1),
            stretch: t2.map(d),
        }
    }

    #[test]
    fn the_worked_example_scores_100_75_110_and_99() {
        let curve = Curve::default();
        let acos = kpi_score(
            d("1200000") / d("4800000"),
            &levels("0.35", "0.25", Some("0.20")),
            &curve,
            Direction::Lower,
        );
        let ctr = kpi_score(
            d("9000") / d("2400000"),
            &levels("0.003", "0.0045", Some("0.006")),
            &curve,
            Direction::Higher,
        );
        let gmv = kpi_score(
            d("55000000"),
            &levels("40000000", "50000000", Some("60000000")),
            &curve,
            Direction::Higher,
        );
        assert_eq!(normalised(acos), "100");
        assert_eq!(normalised(ctr), "75");
        assert_eq!(normalised(gmv), "110");
        let card = weighted_score(&[(d("40"), acos), (d("20"), ctr), (d("40"), gmv)]).unwrap();
        assert_eq!(normalised(card), "99");
    }

    #[test]
    fn a_ratio_is_scored_from_its_components_with_one_rounding() {
        // 100 ÷ 3,100 against 2% / 4% / 6%: the exact score is 80.645161290322580645161290322…,
        // whose nearest 28-digit value is …032 (rounding the ratio first gave …025).
        let score = kpi_score_of_ratio(
            d("100"),
            d("3100"),
            &levels("0.02", "0.04", Some("0.06")),
            &Curve::default(),
            Direction::Higher,
        );
        assert_eq!(score.to_string(), "80.64516129032258064516129032");
        let lower = kpi_score_of_ratio(
            d("100"),
            d("3100"),
            &levels("0.04", "0.02", None),
            &Curve::default(),
            Direction::Lower,
        );
        // 50 + 50 × (0.04 − 100/3100) / 0.02 = 50 + 50 × 24/62 = 69.35483870967741935483870967741…,
        // correctly rounded to the 29 digits this value fits in.
        assert_eq!(lower.to_string(), "69.354838709677419354838709677");
    }

    #[test]
    fn the_gate_example_scores_zero() {
        let odr = kpi_score(
            d("0.012"),
            &levels("0.01", "0.005", None),
            &Curve::default(),
            Direction::Lower,
        );
        assert_eq!(odr, Decimal::ZERO);
    }

    #[test]
    fn each_band_follows_the_formula() {
        let c = Curve::default();
        let l = levels("40", "50", Some("60"));
        assert_eq!(kpi_score(d("39.99"), &l, &c, Direction::Higher), d("0"));
        assert_eq!(kpi_score(d("40"), &l, &c, Direction::Higher), d("50"));
        assert_eq!(kpi_score(d("45"), &l, &c, Direction::Higher), d("75"));
        assert_eq!(kpi_score(d("50"), &l, &c, Direction::Higher), d("100"));
        assert_eq!(kpi_score(d("60"), &l, &c, Direction::Higher), d("120"));
        assert_eq!(kpi_score(d("1000"), &l, &c, Direction::Higher), d("120"));
        let no_stretch = levels("40", "50", None);
        assert_eq!(
            kpi_score(d("70"), &no_stretch, &c, Direction::Higher),
            d("100")
        );
    }

    #[test]
    fn equal_levels_leave_their_band_empty_without_dividing_by_zero() {
        let c = Curve::default();
        let flat = levels("50", "50", Some("50"));
        assert_eq!(kpi_score(d("49"), &flat, &c, Direction::Higher), d("0"));
        assert_eq!(kpi_score(d("50"), &flat, &c, Direction::Higher), d("120"));
        let t1_t2 = levels("40", "50", Some("50"));
        assert_eq!(kpi_score(d("50"), &t1_t2, &c, Direction::Higher), d("120"));
        let t0_t1 = levels("50", "50", Some("60"));
        assert_eq!(kpi_score(d("50"), &t0_t1, &c, Direction::Higher), d("100"));
        assert_eq!(
            kpi_score(d("0.2"), &levels("0.2", "0.2", None), &c, Direction::Lower),
            d("100")
        );
    }

    #[test]
    fn levels_must_run_in_the_metrics_direction() {
        assert!(levels("40", "50", Some("60"))
            .check(Direction::Higher)
            .is_ok());
        assert!(levels("60", "50", None).check(Direction::Higher).is_err());
        assert!(levels("40", "50", Some("45"))
            .check(Direction::Higher)
            .is_err());
        assert!(levels("0.35", "0.25", Some("0.20"))
            .check(Direction::Lower)
            .is_ok());
        assert!(levels("0.25", "0.35", None)
            .check(Direction::Lower)
            .is_err());
    }

    #[test]
    fn decimals_print_normalised() {
        assert_eq!(normalised(d("75.000")), "75");
        assert_eq!(normalised(d("98.7500")), "98.75");
        assert_eq!(normalised(d("0.3750")), "0.375");
        assert_eq!(display(d("99.125")), d("99.13"));
        assert_eq!(display(d("-99.125")), d("-99.13"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn decimal(range: std::ops::Range<i64>) -> impl Strategy<Value = Decimal> {
        range.prop_map(|n| Decimal::new(n, 2))
    }

    /// Ordered levels t0 ≤ t1 ≤ t2 (stretch optional), and a curve within the valid range.
    fn setup() -> impl Strategy<Value = (Levels, Curve)> {
        (
            decimal(-100_000..100_000),
            decimal(0..50_000),
            proptest::option::of(decimal(0..50_000)),
            0i64..=100,
            100i64..=200,
        )
            .prop_map(|(t0, gap1, gap2, ts, ss)| {
                let t1 = t0 + gap1;
                (
                    Levels {
                        threshold: t0,
                        target: t1,
                        stretch: gap2.map(|g| t1 + g),
                    },
                    Curve {
                        threshold_score: Decimal::from(ts),
                        stretch_score: Decimal::from(ss),
                    },
                )
            })
    }

    proptest! {
        #[test]
        fn a_better_actual_never_scores_lower(
            (levels, curve) in setup(),
            a in decimal(-200_000..200_000),
            step in decimal(0..100_000),
        ) {
            let worse = kpi_score(a, &levels, &curve, Direction::Higher);
            let better = kpi_score(a + step, &levels, &curve, Direction::Higher);
            prop_assert!(better >= worse, "{a} -> {worse}, {} -> {better}", a + step);
        }

        #[test]
        fn scores_stay_between_zero_and_the_stretch_score(
            (levels, curve) in setup(),
            a in decimal(-300_000..300_000),
        ) {
            let s = kpi_score(a, &levels, &curve, Direction::Higher);
            prop_assert!(s >= Decimal::ZERO && s <= curve.stretch_score, "{s}");
        }

        #[test]
        fn lower_is_better_mirrors_higher_is_better(
            (levels, curve) in setup(),
            a in decimal(-300_000..300_000),
        ) {
            let mirrored = Levels {
                threshold: -levels.threshold,
                target: -levels.target,
                stretch: levels.stretch.map(|s| -s),
            };
            prop_assert!(mirrored.check(Direction::Lower).is_ok());
            prop_assert_eq!(
                kpi_score(a, &levels, &curve, Direction::Higher),
                kpi_score(-a, &mirrored, &curve, Direction::Lower)
            );
        }
    }
}
