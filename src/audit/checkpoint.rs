//! Signed checkpoints: every chain's head at one moment, committed to by a Merkle root that
//! the installation signs with Ed25519. A client verifies their engagement's head against a
//! checkpoint with an inclusion proof that names no other engagement.
//!
//! The signing key is the installation's (`installation_secrets`, created on first use), or
//! the 32-byte seed in the file `KPI_LEDGER_AUDIT_KEY_FILE` names (hex). Every checkpoint
//! carries its public key, so a key can be rotated: old checkpoints keep verifying with the
//! key they name; auditors pin the keys they accept (docs/AUDIT.md).

use crate::keyring::{Keyring, KeyringError};
use crate::on_db;
use crate::store::{Db, StoreError};
use chrono::Utc;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use kpi_ledger_domain::audit::{
    checkpoint_message, merkle_proof, merkle_root, proof_root, Head, ProofStep,
};
use serde::{Deserialize, Serialize};

/// Where an audit signing key may come from outside the database.
pub const KEY_FILE_ENV: &str = "KPI_LEDGER_AUDIT_KEY_FILE";
const SECRET_NAME: &str = "audit_ed25519";

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Every event up to here is in a chain the checkpoint covers.
    pub log_position: i64,
    /// The Merkle root over the heads, sorted by chain.
    pub root: String,
    /// Ed25519 over [`checkpoint_message`] (hex).
    pub signature: String,
    pub public_key: String,
    pub heads: Vec<Head>,
}

/// What one client needs to check their chain against a checkpoint, and nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub format: String,
    pub checkpoint_id: String,
    pub created_at: String,
    pub log_position: i64,
    pub root: String,
    pub signature: String,
    pub public_key: String,
    /// The chain's head as the checkpoint signed it.
    pub head: Head,
    /// From the head's leaf to the root: sibling hashes only.
    pub path: Vec<ProofStep>,
}

use crate::keyring::hex;

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// The installation's signing key: from the key file `KPI_LEDGER_AUDIT_KEY_FILE` names,
/// or created on first use and stored wrapped by the installation's key file.
async fn signing_key(db: &Db, keyring: &Keyring) -> Result<SigningKey, StoreError> {
    if let Ok(path) = std::env::var(KEY_FILE_ENV) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| corrupt(format!("{KEY_FILE_ENV} {path}: {e}")))?;
        let seed: [u8; 32] = unhex(&text)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt(format!("{KEY_FILE_ENV} {path}: not 32 bytes of hex")))?;
        return Ok(SigningKey::from_bytes(&seed));
    }
    let seed = keyring
        .secret(db, SECRET_NAME, || {
            SigningKey::generate(&mut rand::rngs::OsRng)
                .to_bytes()
                .to_vec()
        })
        .await
        .map_err(|e| match e {
            KeyringError::Store(e) => e,
            other => corrupt(other),
        })?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| corrupt("the audit signing key is not 32 bytes"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Every chain's head now, sorted by chain.
async fn heads(db: &Db) -> Result<Vec<Head>, StoreError> {
    let rows: Vec<(String, i64, String)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT c.chain, c.position, c.hash FROM event_chain c
               JOIN (SELECT chain, MAX(position) AS position FROM event_chain GROUP BY chain) h
                 ON h.chain = c.chain AND h.position = c.position
              ORDER BY c.chain",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(chain, position, hash)| Head {
            chain,
            position,
            hash,
        })
        .collect())
}

fn leaves(heads: &[Head]) -> Vec<String> {
    heads.iter().map(Head::leaf).collect()
}

/// Signs every chain's head as it stands (the caller has brought the chainer up to date).
pub async fn create(db: &Db, keyring: &Keyring) -> Result<Checkpoint, StoreError> {
    let key = signing_key(db, keyring).await?;
    let log_position = crate::store::events::chained_through(db).await?;
    let heads = heads(db).await?;
    let root = merkle_root(&leaves(&heads));
    let created_at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let signature = key.sign(checkpoint_message(&root, &created_at, log_position).as_bytes());
    let checkpoint = Checkpoint {
        id: uuid::Uuid::new_v4().to_string(),
        created_at,
        log_position,
        root,
        signature: hex(&signature.to_bytes()),
        public_key: hex(key.verifying_key().as_bytes()),
        heads,
    };
    let heads_json = serde_json::to_string(&checkpoint.heads).map_err(corrupt)?;
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO audit_checkpoints (checkpoint_id, created_at, log_position, root,
                 signature, public_key, heads)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&checkpoint.id)
        .bind(&checkpoint.created_at)
        .bind(checkpoint.log_position)
        .bind(&checkpoint.root)
        .bind(&checkpoint.signature)
        .bind(&checkpoint.public_key)
        .bind(heads_json)
        .execute(pool)
        .await?;
    });
    Ok(checkpoint)
}

/// The newest checkpoint, if any.
pub async fn latest(db: &Db) -> Result<Option<Checkpoint>, StoreError> {
    type Row = (String, String, i64, String, String, String, String);
    let row: Option<Row> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT checkpoint_id, created_at, log_position, root, signature, public_key, heads
               FROM audit_checkpoints ORDER BY created_at DESC, checkpoint_id LIMIT 1",
        )
        .fetch_optional(pool)
        .await?
    });
    row.map(
        |(id, created_at, log_position, root, signature, public_key, heads)| {
            Ok(Checkpoint {
                id,
                created_at,
                log_position,
                root,
                signature,
                public_key,
                heads: serde_json::from_str(&heads).map_err(corrupt)?,
            })
        },
    )
    .transpose()
}

impl Checkpoint {
    /// Whether the signature covers this checkpoint's root, time and position, and the
    /// root is the one of its heads.
    pub fn verifies(&self) -> bool {
        let key = unhex(&self.public_key)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        let signature = unhex(&self.signature)
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b));
        match (key, signature) {
            (Some(key), Some(signature)) => {
                merkle_root(&leaves(&self.heads)) == self.root
                    && key
                        .verify(
                            checkpoint_message(&self.root, &self.created_at, self.log_position)
                                .as_bytes(),
                            &signature,
                        )
                        .is_ok()
            }
            _ => false,
        }
    }

    /// The inclusion proof of one chain's head, if the checkpoint has that chain.
    pub fn proof(&self, chain: &str) -> Option<Proof> {
        let index = self.heads.iter().position(|h| h.chain == chain)?;
        let path = merkle_proof(&leaves(&self.heads), index);
        debug_assert_eq!(proof_root(&self.heads[index].leaf(), &path), self.root);
        Some(Proof {
            format: "kpi-ledger/proof/v1".into(),
            checkpoint_id: self.id.clone(),
            created_at: self.created_at.clone(),
            log_position: self.log_position,
            root: self.root.clone(),
            signature: self.signature.clone(),
            public_key: self.public_key.clone(),
            head: self.heads[index].clone(),
            path,
        })
    }
}
