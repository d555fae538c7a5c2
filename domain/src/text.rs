//! Free text that may name people: reasons, review findings, decisions, action items,
//! payout adjustments (SPEC §11).
//!
//! Events hold such text as a [`Note`]. A note written today is [`Note::Sealed`]: the text
//! itself lives encrypted in the vault under its own key, and the event holds only the
//! text's id and a keyed digest of it. Erasing the text destroys its key; the event, and
//! so the audit chain over the stored events, stays exactly as it was, and the digest
//! still lets a reader check that a text opened from the vault is the one the event
//! refers to. Events recorded before texts were sealed read as [`Note::Inline`] (see the
//! upcasters in [`crate::upcast`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The longest free text a command accepts, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Free text as an event holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// The text is in the vault: its id there and the keyed digest (hex) of its bytes.
    Sealed { id: Uuid, digest: String },
    /// The text itself, in the event (events recorded before texts were sealed, and
    /// commands built where no vault is at hand, such as the domain's own tests).
    Inline(String),
}

impl Note {
    pub fn inline(text: impl Into<String>) -> Self {
        Note::Inline(text.into())
    }

    /// True for an inline text that is empty once trimmed. A sealed note is never blank:
    /// the vault refuses to seal empty text.
    pub fn is_blank(&self) -> bool {
        matches!(self, Note::Inline(text) if text.trim().is_empty())
    }

    /// The note with an inline text trimmed.
    pub fn trimmed(self) -> Self {
        match self {
            Note::Inline(text) => Note::Inline(text.trim().to_string()),
            sealed => sealed,
        }
    }

    /// The vault id of a sealed note.
    pub fn sealed_id(&self) -> Option<Uuid> {
        match self {
            Note::Sealed { id, .. } => Some(*id),
            Note::Inline(_) => None,
        }
    }

    /// The text, when the event itself holds it.
    pub fn inline_text(&self) -> Option<&str> {
        match self {
            Note::Inline(text) => Some(text),
            Note::Sealed { .. } => None,
        }
    }

    /// Reads a note kept by a read model: its JSON form, or (rows written before notes
    /// existed, which migration 0016 converts) the bare text.
    pub fn from_stored(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_else(|_| Note::Inline(stored.to_string()))
    }

    /// The form read models keep: the note as JSON.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a note serializes")
    }
}

impl From<&str> for Note {
    fn from(value: &str) -> Self {
        Note::Inline(value.to_string())
    }
}

impl From<String> for Note {
    fn from(value: String) -> Self {
        Note::Inline(value)
    }
}

/// Every note in a JSON value (an event payload, a review entry): objects of the shape
/// `{"sealed": {"id", "digest"}}` or `{"inline": "…"}`.
pub fn notes_in(value: &Value) -> Vec<Note> {
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<Note>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 && (map.contains_key("sealed") || map.contains_key("inline")) {
                if let Ok(note) = serde_json::from_value::<Note>(value.clone()) {
                    found.push(note);
                    return;
                }
            }
            map.values().for_each(|v| collect(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

/// `value` with every note replaced by what `shown` makes of it (the text, or null).
pub fn replace_notes(value: &Value, shown: &dyn Fn(&Note) -> Value) -> Value {
    match value {
        Value::Object(map) => {
            if map.len() == 1 && (map.contains_key("sealed") || map.contains_key("inline")) {
                if let Ok(note) = serde_json::from_value::<Note>(value.clone()) {
                    return shown(&note);
                }
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), replace_notes(v, shown)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| replace_notes(v, shown)).collect())
        }
        other => other.clone(),
    }
}

/// The upcaster's rewrite for events whose free-text fields were plain strings in their
/// 1.0 shape: every string under one of `fields`, at any depth, becomes an inline note.
pub fn inline_fields(mut payload: Value, fields: &[&str]) -> Value {
    wrap(&mut payload, fields);
    payload
}

fn wrap(value: &mut Value, fields: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if fields.contains(&key.as_str()) => {
                        *v = serde_json::json!({ "inline": std::mem::take(text) });
                    }
                    _ => wrap(v, fields),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| wrap(v, fields)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sealed_note_is_its_id_and_digest_and_an_old_string_reads_inline() {
        let id = Uuid::from_u128(7);
        let sealed = Note::Sealed {
            id,
            digest: "ab".into(),
        };
        assert_eq!(
            serde_json::to_value(&sealed).unwrap(),
            json!({ "sealed": { "id": id, "digest": "ab" } })
        );
        assert_eq!(Note::from_stored(&sealed.to_stored()), sealed);
        assert_eq!(
            Note::from_stored("Mika missed ACoS"),
            Note::inline("Mika missed ACoS")
        );
        assert!(Note::inline("  ").is_blank());
        assert!(!sealed.is_blank());
    }

    #[test]
    fn old_payloads_get_inline_notes_where_free_text_was() {
        let old = json!({ "DecisionRecorded": { "decision": {
            "kind": "action_item", "item_id": "x", "owner": "Mika", "due": "2026-07-01",
            "description": "check ACoS" } } });
        let new = inline_fields(old, &["owner", "description", "reason"]);
        assert_eq!(
            new["DecisionRecorded"]["decision"]["owner"],
            json!({ "inline": "Mika" })
        );
        assert_eq!(new["DecisionRecorded"]["decision"]["kind"], "action_item");
        let found = notes_in(&new);
        assert_eq!(found.len(), 2);
        assert!(found.contains(&Note::inline("Mika")));
        assert!(found.contains(&Note::inline("check ACoS")));
        let shown = replace_notes(&new, &|n| json!(n.inline_text().unwrap().to_uppercase()));
        assert_eq!(shown["DecisionRecorded"]["decision"]["owner"], "MIKA");
    }
}
