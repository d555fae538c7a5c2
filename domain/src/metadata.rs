//! Metadata attached to every event of one command: who, under which correlation id, and
//! why. The recorded-at instant is not here: the database assigns it at append so that it
//! never goes backwards along the global event order.

use crate::ids::UserId;
use crate::text::Note;
use std::collections::HashMap;
use uuid::Uuid;

pub const ACTOR: &str = "actor";
pub const CORRELATION_ID: &str = "correlation_id";
pub const REASON: &str = "reason";
/// The reason as a sealed note (JSON), where the text itself is in the vault.
pub const REASON_NOTE: &str = "reason_note";
pub const ENGAGEMENT_ID: &str = "engagement_id";
pub const DECIDED_AT: &str = "decided_at";

/// Who asked for a change, in which request, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    /// The user on whose behalf the command runs. `None` only for installation bootstrap
    /// from the command line before any user exists.
    pub actor: Option<UserId>,
    pub correlation_id: Uuid,
    /// Why a person made this change; required by some commands. Sealed in the vault
    /// when it comes from a person (it may name people).
    pub reason: Option<Note>,
    /// The engagement the change belongs to (every change of an engagement carries it).
    pub engagement_id: Option<crate::ids::EngagementId>,
    /// The log position of the facts the decision was made on (locked periods, say): the
    /// append refuses the change if those facts changed after it (see the event store).
    pub decided_at: Option<i64>,
}

impl CommandMetadata {
    pub fn new(actor: Option<UserId>, correlation_id: Uuid) -> Self {
        Self {
            actor,
            correlation_id,
            reason: None,
            engagement_id: None,
            decided_at: None,
        }
    }

    pub fn for_engagement(mut self, engagement_id: crate::ids::EngagementId) -> Self {
        self.engagement_id = Some(engagement_id);
        self
    }

    pub fn decided_at(mut self, position: i64) -> Self {
        self.decided_at = Some(position);
        self
    }

    /// A reason kept in the event's metadata as it is (system and command-line changes).
    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .map(Note::Inline);
        self
    }

    /// A reason as a note (sealed by the caller); blank notes are dropped.
    pub fn with_note(mut self, reason: Option<Note>) -> Self {
        self.reason = reason.map(Note::trimmed).filter(|r| !r.is_blank());
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
        match &self.reason {
            Some(Note::Inline(reason)) => {
                map.insert(REASON.to_string(), reason.clone());
            }
            Some(sealed) => {
                map.insert(REASON_NOTE.to_string(), sealed.to_stored());
            }
            None => {}
        }
        if let Some(engagement) = self.engagement_id {
            map.insert(ENGAGEMENT_ID.to_string(), engagement.to_string());
        }
        if let Some(position) = self.decided_at {
            map.insert(DECIDED_AT.to_string(), position.to_string());
        }
        map
    }
}

/// The reason stored in an event's metadata: a sealed note, or plain text.
pub fn reason_of(map: &HashMap<String, String>) -> Option<Note> {
    map.get(REASON_NOTE)
        .map(|n| Note::from_stored(n))
        .or_else(|| map.get(REASON).map(|r| Note::Inline(r.clone())))
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

    #[test]
    fn a_sealed_reason_is_kept_as_its_note_and_a_plain_one_as_text() {
        let sealed = Note::Sealed {
            id: Uuid::from_u128(1),
            digest: "ff".into(),
        };
        let map = CommandMetadata::new(None, Uuid::nil())
            .with_note(Some(sealed.clone()))
            .to_map();
        assert!(!map.contains_key(REASON));
        assert_eq!(reason_of(&map), Some(sealed));
        let map = CommandMetadata::new(None, Uuid::nil())
            .with_reason(Some(" demo ".into()))
            .to_map();
        assert_eq!(map.get(REASON).map(String::as_str), Some("demo"));
        assert_eq!(reason_of(&map), Some(Note::inline("demo")));
    }
}
