use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an engagement is in its life (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EngagementStatus {
    #[default]
    Diagnosing,
    Trial,
    Active,
    Paused,
    Closed,
}

impl EngagementStatus {
    pub const ALL: [EngagementStatus; 5] = [
        EngagementStatus::Diagnosing,
        EngagementStatus::Trial,
        EngagementStatus::Active,
        EngagementStatus::Paused,
        EngagementStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EngagementStatus::Diagnosing => "diagnosing",
            EngagementStatus::Trial => "trial",
            EngagementStatus::Active => "active",
            EngagementStatus::Paused => "paused",
            EngagementStatus::Closed => "closed",
        }
    }

    /// The transitions SPEC §2 allows, and no others.
    pub fn can_move_to(self, to: EngagementStatus) -> bool {
        use EngagementStatus::*;
        matches!(
            (self, to),
            (Diagnosing, Trial)
                | (Diagnosing, Closed)
                | (Trial, Active)
                | (Trial, Closed)
                | (Active, Paused)
                | (Active, Closed)
                | (Paused, Active)
                | (Paused, Closed)
        )
    }

    /// The statuses this one may move to, for error messages.
    pub fn next_allowed(self) -> Vec<EngagementStatus> {
        EngagementStatus::ALL
            .into_iter()
            .filter(|to| self.can_move_to(*to))
            .collect()
    }
}

impl fmt::Display for EngagementStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngagementStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngagementStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown engagement status `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::EngagementStatus::*;
    use super::*;

    #[test]
    fn exactly_the_spec_table_of_transitions_is_allowed() {
        let allowed: Vec<(EngagementStatus, EngagementStatus)> = EngagementStatus::ALL
            .into_iter()
            .flat_map(|from| EngagementStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_move_to(*to))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Diagnosing, Trial),
                (Diagnosing, Closed),
                (Trial, Active),
                (Trial, Closed),
                (Active, Paused),
                (Active, Closed),
                (Paused, Active),
                (Paused, Closed),
            ]
        );
    }
}
