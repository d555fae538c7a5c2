//! The personal-data vault (SPEC §11): members' names and emails, encrypted with
//! XChaCha20-Poly1305 under one random key per (engagement, member). Destroying that key
//! is how personal data is erased; ciphertexts without a key read as erased. The keys are
//! stored wrapped by the installation's key file (`crate::keyring`), not beside the
//! ciphertext in the clear.

use crate::access_log::{PersonalDataReads, NAME_AND_EMAIL};
use crate::keyring::{member_key_purpose, Keyring};
use crate::on_db;
use crate::store::{Db, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use kpi_ledger_domain::ids::{EngagementId, MemberId};
use kpi_ledger_graphql::access::EngagementScope;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What is encrypted for one membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPersonal {
    pub display_name: String,
    pub email: String,
}

/// A member's personal fields, or the fact that they were erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    Present(MemberPersonal),
    Erased,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("personal data of member {0} does not decrypt with its key")]
    Tampered(MemberId),
}

impl From<sqlx::Error> for VaultError {
    fn from(value: sqlx::Error) -> Self {
        VaultError::Store(value.into())
    }
}

#[derive(Clone)]
pub struct Vault {
    db: Db,
    keyring: Keyring,
    reads: PersonalDataReads,
}

/// Binds a ciphertext to its owner, so a row copied onto another member fails to decrypt.
fn associated_data(engagement_id: EngagementId, member_id: MemberId) -> Vec<u8> {
    format!("kpi-ledger/member/{engagement_id}/{member_id}").into_bytes()
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    member_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    key: Option<Vec<u8>>,
}

impl Vault {
    pub fn new(db: Db, keyring: Keyring, reads: PersonalDataReads) -> Self {
        Self { db, keyring, reads }
    }

    /// The log of who read whose personal data.
    pub fn reads(&self) -> &PersonalDataReads {
        &self.reads
    }

    /// [`Vault::open`] for the caller of `scope`, whose reads of others' data are logged.
    pub async fn open_for(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, Sealed>, VaultError> {
        let opened = self.open(scope.engagement_id(), members).await?;
        let read: Vec<MemberId> = opened
            .iter()
            .filter(|(_, sealed)| matches!(sealed, Sealed::Present(_)))
            .map(|(id, _)| *id)
            .collect();
        self.reads.note(scope, &read, NAME_AND_EMAIL);
        Ok(opened)
    }

    /// Encrypts `fields` under a fresh key and stores key and ciphertext together.
    pub async fn seal(
        &self,
        engagement_id: EngagementId,
        member_id: MemberId,
        fields: &MemberPersonal,
    ) -> Result<(), VaultError> {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut key);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let plaintext =
            serde_json::to_vec(fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new((&key).into());
        let aad = associated_data(engagement_id, member_id);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO member_keys (engagement_id, member_id, key) VALUES ($1, $2, $3)")
                .bind(engagement_id.to_string())
                .bind(member_id.to_string())
                .bind(self.keyring.wrap(
                    &member_key_purpose(&engagement_id.to_string(), &member_id.to_string()),
                    &key,
                ))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO member_personal_data (engagement_id, member_id, nonce, ciphertext)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(engagement_id.to_string())
            .bind(member_id.to_string())
            .bind(nonce.to_vec())
            .bind(ciphertext)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes a membership's key and ciphertext entirely (used to undo a seal whose
    /// command failed).
    pub async fn discard(
        &self,
        engagement_id: EngagementId,
        member_id: MemberId,
    ) -> Result<(), VaultError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for table in ["member_keys", "member_personal_data"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE engagement_id = $1 AND member_id = $2"
                ))
                .bind(engagement_id.to_string())
                .bind(member_id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Decrypts the personal fields of the given members of one engagement. Members with
    /// a ciphertext but no key read as [`Sealed::Erased`]; members with neither are absent.
    pub async fn open(
        &self,
        engagement_id: EngagementId,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, Sealed>, VaultError> {
        let rows: Vec<SealedRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT d.member_id, d.nonce, d.ciphertext, k.key
                   FROM member_personal_data d
                   LEFT JOIN member_keys k
                     ON k.engagement_id = d.engagement_id AND k.member_id = d.member_id
                  WHERE d.engagement_id = $1",
            )
            .bind(engagement_id.to_string())
            .fetch_all(pool)
            .await?
        });
        let mut result = HashMap::new();
        for row in rows {
            let Ok(member_id) = row.member_id.parse::<MemberId>() else {
                continue;
            };
            if !members.contains(&member_id) {
                continue;
            }
            let sealed = match row.key {
                None => Sealed::Erased,
                Some(wrapped) => {
                    let key = self
                        .keyring
                        .unwrap(
                            &member_key_purpose(&engagement_id.to_string(), &row.member_id),
                            &wrapped,
                        )
                        .map_err(|_| VaultError::Tampered(member_id))?;
                    if key.len() != 32 || row.nonce.len() != 24 {
                        return Err(VaultError::Tampered(member_id));
                    }
                    let cipher = XChaCha20Poly1305::new(key.as_slice().into());
                    let aad = associated_data(engagement_id, member_id);
                    let plaintext = cipher
                        .decrypt(
                            XNonce::from_slice(&row.nonce),
                            Payload {
                                msg: &row.ciphertext,
                                aad: &aad,
                            },
                        )
                        .map_err(|_| VaultError::Tampered(member_id))?;
                    Sealed::Present(
                        serde_json::from_slice(&plaintext)
                            .map_err(|_| VaultError::Tampered(member_id))?,
                    )
                }
            };
            result.insert(member_id, sealed);
        }
        Ok(result)
    }
}
