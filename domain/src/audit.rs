//! Tamper evidence (SPEC §10), as pure functions: which chain an event belongs to, the
//! hash that links it to the previous event of its chain, and the Merkle tree over every
//! chain's head that a signed checkpoint commits to. docs/AUDIT.md documents the encoding;
//! `scripts/verify_audit.py` re-implements the check.

use crate::ids::EngagementId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `previous` hash of a chain's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of events that are not one engagement's (users, grants).
pub const INSTALLATION: &str = "installation";

/// One event as the chain covers it: the stored bytes of payload and metadata (before any
/// upcaster), and the columns the database assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    pub position: i64,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    /// RFC 3339, UTC, microseconds: `2026-06-30T09:15:02.123456Z` ([`canonical_instant`]).
    pub recorded_at: &'a str,
    pub payload: &'a str,
    pub metadata: &'a str,
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `recorded_at` as the chain writes it.
pub fn canonical_instant(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The hash of `link` following `previous` (hex SHA-256 over the documented encoding: a
/// version line, then each field on its own line, payload and metadata prefixed by their
/// length in bytes).
pub fn link_hash(previous: &str, link: &Link<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"kpi-ledger/chain/v1\n");
    for field in [
        previous,
        &link.position.to_string(),
        link.aggregate_type,
        link.aggregate_id,
        &link.sequence.to_string(),
        link.event_type,
        link.event_version,
        link.recorded_at,
    ] {
        hasher.update(field.as_bytes());
        hasher.update(b"\n");
    }
    for blob in [link.payload, link.metadata] {
        hasher.update(format!("{}:", blob.len()).as_bytes());
        hasher.update(blob.as_bytes());
        hasher.update(b"\n");
    }
    hex(hasher.finalize())
}

/// The engagement an event belongs to, when the event itself says: its metadata (every
/// engagement command since the engagement id was recorded there), the engagement's own
/// events, and events whose payload names it. `None` for events that only their
/// aggregate's first event ties to an engagement (an older KPI's weight change, say): the
/// caller looks those up, and for events of no engagement (users) uses [`INSTALLATION`].
pub fn engagement_of(
    aggregate_type: &str,
    aggregate_id: &str,
    payload: &Value,
    metadata_engagement: Option<&str>,
) -> Option<EngagementId> {
    let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<EngagementId>().ok());
    if let Some(id) = metadata_engagement.and_then(|e| e.parse().ok()) {
        return Some(id);
    }
    let inner = payload.as_object().and_then(|o| o.values().next())?;
    match aggregate_type {
        "engagement" => aggregate_id.parse().ok(),
        "series" => parse(&inner["key"]["engagement_id"]),
        "kpi" => parse(&inner["definition"]["engagement_id"]),
        "import" | "review" | "plan" | "payout" => parse(&inner["engagement_id"]),
        _ => None,
    }
}

/// Whether events of this aggregate type belong to an engagement at all.
pub fn engagement_scoped(aggregate_type: &str) -> bool {
    aggregate_type != "user"
}

/// One chain's head as a checkpoint commits to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// An engagement id, or [`INSTALLATION`].
    pub chain: String,
    pub position: i64,
    pub hash: String,
}

impl Head {
    /// The Merkle leaf of this head.
    pub fn leaf(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(
            format!(
                "kpi-ledger/leaf/v1\n{}\n{}\n{}",
                self.chain, self.position, self.hash
            )
            .as_bytes(),
        );
        hex(hasher.finalize())
    }
}

fn node(left: &str, right: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("kpi-ledger/node/v1\n{left}\n{right}").as_bytes());
    hex(hasher.finalize())
}

/// The root over leaves (in the order given: heads sorted by chain). A level with an odd
/// count carries its last hash up unchanged. The root of no leaves is [`GENESIS`].
pub fn merkle_root(leaves: &[String]) -> String {
    if leaves.is_empty() {
        return GENESIS.to_string();
    }
    let mut level: Vec<String> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node(left, right),
                [single] => single.clone(),
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level.remove(0)
}

/// One step of an inclusion proof: the sibling hash, and on which side it sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofStep {
    /// `left` or `right`: where the sibling goes when hashing.
    pub side: String,
    pub hash: String,
}

/// The steps from leaf `index` to the root. The siblings are hashes only: a proof names no
/// other chain.
pub fn merkle_proof(leaves: &[String], mut index: usize) -> Vec<ProofStep> {
    let mut proof = Vec::new();
    let mut level: Vec<String> = leaves.to_vec();
    while level.len() > 1 {
        let sibling = if index % 2 == 0 { index + 1 } else { index - 1 };
        if sibling < level.len() {
            proof.push(ProofStep {
                side: if sibling < index { "left" } else { "right" }.into(),
                hash: level[sibling].clone(),
            });
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node(left, right),
                [single] => single.clone(),
                _ => unreachable!("chunks of two"),
            })
            .collect();
        index /= 2;
    }
    proof
}

/// Folds a proof from `leaf` to the root it implies.
pub fn proof_root(leaf: &str, proof: &[ProofStep]) -> String {
    proof.iter().fold(leaf.to_string(), |hash, step| {
        if step.side == "left" {
            node(&step.hash, &hash)
        } else {
            node(&hash, &step.hash)
        }
    })
}

/// What a checkpoint's signature covers.
pub fn checkpoint_message(root: &str, created_at: &str, log_position: i64) -> String {
    format!("kpi-ledger/checkpoint/v1\n{root}\n{created_at}\n{log_position}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn link(position: i64, payload: &'static str) -> Link<'static> {
        Link {
            position,
            aggregate_type: "kpi",
            aggregate_id: "k1",
            sequence: position,
            event_type: "TargetSet",
            event_version: "1.0",
            recorded_at: "2026-06-30T09:15:02.123456Z",
            payload,
            metadata: "{}",
        }
    }

    #[test]
    fn a_link_depends_on_every_stored_byte_and_on_the_previous_link() {
        let a = link_hash(GENESIS, &link(1, r#"{"a":1}"#));
        assert_eq!(a.len(), 64);
        assert_ne!(a, link_hash(GENESIS, &link(1, r#"{"a":2}"#)));
        assert_ne!(a, link_hash(GENESIS, &link(2, r#"{"a":1}"#)));
        assert_ne!(a, link_hash(&"1".repeat(64), &link(1, r#"{"a":1}"#)));
        // Whitespace is a byte too: the chain covers bytes as stored, not their meaning.
        assert_ne!(a, link_hash(GENESIS, &link(1, r#"{"a": 1}"#)));
    }

    #[test]
    fn every_leaf_proves_its_way_to_the_root() {
        for n in 1..=9 {
            let leaves: Vec<String> = (0..n)
                .map(|i| {
                    Head {
                        chain: format!("chain-{i}"),
                        position: i as i64,
                        hash: GENESIS.into(),
                    }
                    .leaf()
                })
                .collect();
            let root = merkle_root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                assert_eq!(proof_root(leaf, &merkle_proof(&leaves, i)), root, "{n}/{i}");
            }
            if n > 1 {
                let forged = Head {
                    chain: "chain-0".into(),
                    position: 99,
                    hash: GENESIS.into(),
                };
                assert_ne!(proof_root(&forged.leaf(), &merkle_proof(&leaves, 0)), root);
            }
        }
    }

    #[test]
    fn an_events_engagement_comes_from_its_metadata_or_its_payload() {
        let e = "00000000-0000-0000-0000-000000000001";
        let id: EngagementId = e.parse().unwrap();
        assert_eq!(
            engagement_of("kpi", "k", &json!({"KpiWeightChanged": {}}), Some(e)),
            Some(id)
        );
        assert_eq!(
            engagement_of(
                "engagement",
                e,
                &json!({"EngagementStatusChanged": {}}),
                None
            ),
            Some(id)
        );
        assert_eq!(
            engagement_of(
                "series",
                "s",
                &json!({"ObservationRecorded": {"key": {"engagement_id": e}}}),
                None
            ),
            Some(id)
        );
        assert_eq!(
            engagement_of(
                "kpi",
                "k",
                &json!({"KpiWeightChanged": {"from": "1"}}),
                None
            ),
            None
        );
    }
}
