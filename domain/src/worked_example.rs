//! SPEC §7's worked example as data: "Acme Home JP", June 2026, Li Wei (advertising,
//! joined 2026-06-11, target bonus ¥200,000), three KPIs and June's figures on amazon_jp.
//! The domain's fixtures build an event log from it, the API tests and the demo record it
//! through the API: one description, so the three cannot drift apart.

use crate::metrics::Direction;

pub const ENGAGEMENT: &str = "Acme Home JP";
pub const CLIENT: &str = "Acme Home K.K.";
pub const PLATFORM: &str = "amazon_jp";
pub const PERIOD: &str = "2026-06";

/// Li Wei.
pub const MEMBER_NAME: &str = "Li Wei";
pub const MEMBER_EMAIL: &str = "li.wei@acme.example";
pub const MEMBER_POSITION: &str = "advertising";
pub const MEMBER_ACTIVE_FROM: &str = "2026-06-11";
pub const TARGET_BONUS: &str = "200000";

/// What the example must give.
pub const SCORE: &str = "99";
pub const PAYOUT_PCT: &str = "98.75";
pub const PAYOUT: &str = "131667";

/// One KPI of the example, assigned to the position `advertising`, unscoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExampleKpi {
    pub metric: &'static str,
    pub weight: &'static str,
    pub direction: Direction,
    /// Every version of its June levels (threshold, target, stretch) with the reason, in
    /// order; the last is in force.
    pub targets: &'static [((&'static str, &'static str, &'static str), &'static str)],
}

pub const KPIS: [ExampleKpi; 3] = [
    ExampleKpi {
        metric: "acos",
        weight: "40",
        direction: Direction::Lower,
        targets: &[(("0.35", "0.25", "0.20"), "baseline")],
    },
    ExampleKpi {
        metric: "ctr",
        weight: "20",
        direction: Direction::Higher,
        targets: &[(("0.003", "0.0045", "0.006"), "baseline")],
    },
    ExampleKpi {
        metric: "gmv",
        weight: "40",
        direction: Direction::Higher,
        // The GMV target was revised once: the target history has two versions.
        targets: &[
            (("40000000", "48000000", "60000000"), "baseline"),
            (
                ("40000000", "50000000", "60000000"),
                "summer campaign budget approved",
            ),
        ],
    },
];

/// June's observations on amazon_jp: (metric, first day, last day, value). GMV arrives in
/// two halves, ¥55,000,000 in all.
pub const OBSERVATIONS: [(&str, &str, &str, &str); 6] = [
    ("ad_spend", "2026-06-01", "2026-06-30", "1200000"),
    ("ad_sales", "2026-06-01", "2026-06-30", "4800000"),
    ("clicks", "2026-06-01", "2026-06-30", "9000"),
    ("impressions", "2026-06-01", "2026-06-30", "2400000"),
    ("gmv", "2026-06-01", "2026-06-15", "30000000"),
    ("gmv", "2026-06-16", "2026-06-30", "25000000"),
];
