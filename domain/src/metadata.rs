//! Metadata attached to every event of one command: who, under which correlation id, and
//! why. The recorded-at instant is not here: the database assigns it at append so that it
//! never goes backwards along the global event order.

use crate::ids::UserId;
use std::collections::HashMap;
use uuid::Uuid;

pub const ACTOR: &str = "actor";
pub const CORRELATION_ID: &str = "correlation_id";
pub const REASON: &str = "reason";

/// Who asked for a change, in which request, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    /// The user on whose behalf the command runs. `None` only for installation bootstrap
    /// from the command line before any user exists.
    pub actor: Option<UserId>,
    pub correlation_id: Uuid,
    /// Why a person made this change; required by some commands.
    pub reason: Option<String>,
}

impl CommandMetadata {
    pub fn new(actor: Option<UserId>, correlation_id: Uuid) -> Self {
        Self {
            actor,
            correlation_id,
            reason: None,
        }
    }

    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        self
    }

    /// The form cqrs-es stores next to each event.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        map.insert(
            ACTOR.to_string(),
            self.actor
                .map(|a| a.to_string())
                .unwrap_or_else(|| "system".to_string()),
        );
        map.insert(CORRELATION_ID.to_string(), self.correlation_id.to_string());
        if let Some(reason) = &self.reason {
            map.insert(REASON.to_string(), reason.clone());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_reasons_are_dropped_and_actor_defaults_to_system() {
        let meta = CommandMetadata::new(None, Uuid::nil()).with_reason(Some("  ".into()));
        let map = meta.to_map();
        assert_eq!(map.get(ACTOR).map(String::as_str), Some("system"));
        assert!(!map.contains_key(REASON));
    }
}
