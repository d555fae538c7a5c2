//! Sealed free text (SPEC §11): reasons, review findings and decisions, action items and
//! payout adjustments may name people, so their text is kept out of the events.
//!
//! Each text is encrypted with XChaCha20-Poly1305 under its own random key, which is
//! stored wrapped by the installation's key file (`crate::keyring`). The event holds a
//! [`Note::Sealed`]: the text's id and an HMAC-SHA256 of the text under that key, so a
//! text opened here is checked against the event that refers to it, and nobody without
//! the key can test a guess against the digest. Erasing a text deletes its key, nonce and
//! ciphertext; the event and the audit chain over it stay exactly as they were.

use crate::keyring::Keyring;
use crate::on_db;
use crate::store::{Db, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::text::Note;
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use uuid::Uuid;

/// Texts opened per statement.
const OPEN_CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealed text {0} does not match the digest its event holds, or does not decrypt")]
    Tampered(Uuid),
}

impl From<sqlx::Error> for TextError {
    fn from(value: sqlx::Error) -> Self {
        TextError::Store(value.into())
    }
}

/// What the vault holds for a sealed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Text(String),
    /// Its key was destroyed (an erasure).
    Erased,
}

#[derive(Clone)]
pub struct Texts {
    db: Db,
    keyring: Keyring,
}

#[derive(sqlx::FromRow)]
struct TextRow {
    text_id: String,
    nonce: Option<Vec<u8>>,
    ciphertext: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
}

fn key_purpose(engagement_id: EngagementId, text_id: Uuid) -> String {
    format!("kpi-ledger/text-key/{engagement_id}/{text_id}")
}

/// Binds a ciphertext to its engagement and id, so a row copied elsewhere does not open.
fn associated_data(engagement_id: EngagementId, text_id: Uuid) -> Vec<u8> {
    format!("kpi-ledger/text/{engagement_id}/{text_id}").into_bytes()
}

fn digest(key: &[u8], text: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    crate::keyring::hex(&mac.finalize().into_bytes())
}

/// Whether `text` names a person called `name` or reached at `email`: the email or the
/// whole name anywhere, or one part of the name (two characters or more) as a word of
/// its own — case-insensitively. Errs on the side of erasing: a text naming another
/// person with the same family name is erased too.
pub fn names_person(text: &str, name: &str, email: &str) -> bool {
    let haystack = text.to_lowercase();
    let contains = |needle: &str| {
        let needle = needle.trim().to_lowercase();
        !needle.is_empty() && haystack.contains(&needle)
    };
    if contains(email) || contains(name) {
        return true;
    }
    name.split(|c: char| c.is_whitespace() || c == '・' || c == '·')
        .map(str::to_lowercase)
        .filter(|part| part.chars().count() >= 2)
        .any(|part| word_in(&haystack, &part))
}

/// `part` in `haystack` with no ASCII letter or digit right before or after it (so "Li"
/// does not match "Lifetime", while "美香" matches in "美香さん").
fn word_in(haystack: &str, part: &str) -> bool {
    haystack.match_indices(part).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + part.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

impl Texts {
    pub fn new(db: Db, keyring: Keyring) -> Self {
        Self { db, keyring }
    }

    /// Seals `text` (trimmed) for one engagement. Blank text is not sealed: it comes back
    /// as a blank inline note, which the domain refuses where text is required.
    pub async fn seal(&self, engagement_id: EngagementId, text: &str) -> Result<Note, TextError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Note::Inline(String::new()));
        }
        let text_id = Uuid::new_v4();
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut key);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = XChaCha20Poly1305::new((&key).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: text.as_bytes(),
                    aad: &associated_data(engagement_id, text_id),
                },
            )
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let wrapped = self
            .keyring
            .wrap(&key_purpose(engagement_id, text_id), &key);
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO sealed_texts (text_id, engagement_id, nonce, ciphertext, key)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(text_id.to_string())
            .bind(engagement_id.to_string())
            .bind(nonce.to_vec())
            .bind(ciphertext)
            .bind(wrapped)
            .execute(pool)
            .await?;
        });
        Ok(Note::Sealed {
            id: text_id,
            digest: digest(&key, text),
        })
    }

    /// Opens the sealed notes among `notes` that belong to `engagement_id`, by text id.
    /// A note of another engagement, or one the vault has no row for, is absent.
    pub async fn open(
        &self,
        engagement_id: EngagementId,
        notes: &[Note],
    ) -> Result<HashMap<Uuid, Opened>, TextError> {
        let mut wanted: HashMap<Uuid, &str> = HashMap::new();
        for note in notes {
            if let Note::Sealed { id, digest } = note {
                wanted.insert(*id, digest);
            }
        }
        let ids: Vec<String> = wanted.keys().map(Uuid::to_string).collect();
        let mut opened = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(OPEN_CHUNK) {
            for row in self.rows(engagement_id, chunk).await? {
                let Ok(text_id) = row.text_id.parse::<Uuid>() else {
                    continue;
                };
                let (text, key) = self.decrypt(engagement_id, text_id, &row)?;
                if let (Opened::Text(text), Some(key)) = (&text, key) {
                    if wanted.get(&text_id).copied() != Some(digest(&key, text).as_str()) {
                        return Err(TextError::Tampered(text_id));
                    }
                }
                opened.insert(text_id, text);
            }
        }
        Ok(opened)
    }

    /// Erases every text of the engagement that names the person (see [`names_person`]);
    /// returns how many.
    pub async fn erase_naming(
        &self,
        engagement_id: EngagementId,
        name: &str,
        email: &str,
        erased_at: &str,
    ) -> Result<usize, TextError> {
        let rows: Vec<TextRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT text_id, nonce, ciphertext, key FROM sealed_texts
                  WHERE engagement_id = $1 AND key IS NOT NULL",
            )
            .bind(engagement_id.to_string())
            .fetch_all(pool)
            .await?
        });
        let mut doomed = Vec::new();
        for row in &rows {
            let Ok(text_id) = row.text_id.parse::<Uuid>() else {
                continue;
            };
            if let (Opened::Text(text), _) = self.decrypt(engagement_id, text_id, row)? {
                if names_person(&text, name, email) {
                    doomed.push(row.text_id.clone());
                }
            }
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for text_id in &doomed {
                sqlx::query(
                    "UPDATE sealed_texts SET key = NULL, nonce = NULL, ciphertext = NULL,
                            erased_at = $1
                      WHERE text_id = $2",
                )
                .bind(erased_at)
                .bind(text_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(doomed.len())
    }

    async fn rows(
        &self,
        engagement_id: EngagementId,
        ids: &[String],
    ) -> Result<Vec<TextRow>, TextError> {
        let placeholders = (0..ids.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT text_id, nonce, ciphertext, key FROM sealed_texts
              WHERE engagement_id = $1 AND text_id IN ({placeholders})"
        );
        Ok(on_db!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql).bind(engagement_id.to_string());
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        }))
    }

    fn key(
        &self,
        engagement_id: EngagementId,
        text_id: Uuid,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, TextError> {
        self.keyring
            .unwrap(&key_purpose(engagement_id, text_id), wrapped)
            .ok()
            .filter(|key| key.len() == 32)
            .ok_or(TextError::Tampered(text_id))
    }

    fn decrypt(
        &self,
        engagement_id: EngagementId,
        text_id: Uuid,
        row: &TextRow,
    ) -> Result<(Opened, Option<Vec<u8>>), TextError> {
        let (Some(wrapped), Some(nonce), Some(ciphertext)) =
            (&row.key, &row.nonce, &row.ciphertext)
        else {
            return Ok((Opened::Erased, None));
        };
        let key = self.key(engagement_id, text_id, wrapped)?;
        if nonce.len() != 24 {
            return Err(TextError::Tampered(text_id));
        }
        let plaintext = XChaCha20Poly1305::new(key.as_slice().into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(engagement_id, text_id),
                },
            )
            .map_err(|_| TextError::Tampered(text_id))?;
        let text = String::from_utf8(plaintext).map_err(|_| TextError::Tampered(text_id))?;
        Ok((Opened::Text(text), Some(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_names_a_person_by_email_whole_name_or_a_part_as_a_word() {
        let name = "Mika Tanaka";
        let email = "mika@example.jp";
        assert!(names_person("Mika missed ACoS", name, email));
        assert!(names_person("ask TANAKA-san", name, email));
        assert!(names_person("mail mika@example.jp", name, email));
        assert!(!names_person("Mikasa sales fell", name, email));
        assert!(!names_person("ACoS above plan", name, email));
        assert!(names_person("田中美香さんの休暇", "田中 美香", "m@x.jp"));
        assert!(names_person("Li Wei was away", "Li Wei", "li@x.cn"));
        assert!(!names_person("Lifetime value", "Li Wei", "li@x.cn"));
    }
}
