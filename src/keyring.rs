//! The key-encryption key (SPEC §11): every key the database holds — the members' vault
//! keys, the token-signing keys, the audit signing key — is stored wrapped by a key that
//! lives outside the database, in a file. A copy of the database alone decrypts no personal
//! data and signs no token.
//!
//! The file is `KPI_LEDGER_KEY_FILE`, or beside an SQLite database (`<database>.key`), or
//! `data/kpi-ledger.key` for PostgreSQL; it is created (mode 0600) on first start. The
//! database keeps a check value sealed with it, so a server started with another key file
//! refuses to start instead of writing keys no other server can read. Keys stored before
//! the key file existed are wrapped on the first start with it.

use crate::on_db;
use crate::store::{Db, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Names the key file explicitly.
pub const KEY_FILE_ENV: &str = "KPI_LEDGER_KEY_FILE";
/// The key file of a PostgreSQL installation when none is named.
pub const DEFAULT_POSTGRES_KEY_FILE: &str = "data/kpi-ledger.key";

const CHECK_NAME: &str = "key_check";
const CHECK_TEXT: &[u8] = b"kpi-ledger key-encryption key";
/// Format of a wrapped key: this byte, a 24-byte nonce, the ciphertext with its tag.
const WRAPPED: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {0} does not hold 32 bytes of hex")]
    Malformed(String),
    #[error(
        "key file {0} is not the key this database's keys were sealed with; start with the \
         installation's key file ({KEY_FILE_ENV})"
    )]
    WrongKey(String),
    #[error("a stored key ({0}) does not unwrap: it was altered or sealed with another key")]
    Unwrap(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for KeyringError {
    fn from(value: sqlx::Error) -> Self {
        KeyringError::Store(value.into())
    }
}

/// Wraps and unwraps the keys the database stores.
#[derive(Clone)]
pub struct Keyring {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(…)")
    }
}

impl Keyring {
    /// A keyring with the given key-encryption key.
    pub fn from_key(key: [u8; 32]) -> Self {
        Self {
            cipher: Arc::new(XChaCha20Poly1305::new((&key).into())),
        }
    }

    /// Loads (or creates) the installation's key file, checks it against the database and
    /// wraps any key still stored bare.
    pub async fn open(db: &Db, database_url: &str) -> Result<Self, KeyringError> {
        let path = key_file(database_url);
        let keyring = match &path {
            Some(path) => Self::from_key(load_or_create(path)?),
            // An in-memory database lives as long as the process: so may its key.
            None => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                Self::from_key(key)
            }
        };
        let shown = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(in memory)".into());
        keyring.check(db, &shown).await?;
        keyring.wrap_bare_keys(db).await?;
        Ok(keyring)
    }

    /// Seals `key` for the place `purpose` names (a row copied elsewhere does not unwrap).
    pub fn wrap(&self, purpose: &str, key: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any key");
        let mut out = Vec::with_capacity(1 + 24 + sealed.len());
        out.push(WRAPPED);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The key `stored` holds for `purpose`.
    pub fn unwrap(&self, purpose: &str, stored: &[u8]) -> Result<Vec<u8>, KeyringError> {
        if stored.len() < 1 + 24 + 16 || stored[0] != WRAPPED {
            return Err(KeyringError::Unwrap(purpose.to_string()));
        }
        self.cipher
            .decrypt(
                XNonce::from_slice(&stored[1..25]),
                Payload {
                    msg: &stored[25..],
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| KeyringError::Unwrap(purpose.to_string()))
    }

    /// The database's check value opens with this key, or is created with it.
    async fn check(&self, db: &Db, shown: &str) -> Result<(), KeyringError> {
        match self.secret(db, CHECK_NAME, || CHECK_TEXT.to_vec()).await {
            Ok(text) if text == CHECK_TEXT => Ok(()),
            Err(KeyringError::Store(error)) => Err(KeyringError::Store(error)),
            _ => Err(KeyringError::WrongKey(shown.to_string())),
        }
    }

    /// Keys stored before this installation had a key file: wrapped now, in one
    /// transaction (a bare key is exactly 32 bytes; a wrapped one is longer).
    async fn wrap_bare_keys(&self, db: &Db) -> Result<(), KeyringError> {
        on_db!(db, pool => {
            let mut tx = pool.begin().await?;
            // Only bare keys are read: a start reads nothing once all are wrapped.
            let members: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT engagement_id, member_id, key FROM member_keys WHERE length(key) = 32",
            )
            .fetch_all(&mut *tx)
            .await?;
            for (engagement, member, key) in members {
                let wrapped = self.wrap(&member_key_purpose(&engagement, &member), &key);
                sqlx::query(
                    "UPDATE member_keys SET key = $1 WHERE engagement_id = $2 AND member_id = $3",
                )
                .bind(wrapped)
                .bind(&engagement)
                .bind(&member)
                .execute(&mut *tx)
                .await?;
            }
            let secrets: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT name, secret FROM installation_secrets
                  WHERE name <> $1 AND length(secret) = 32",
            )
            .bind(CHECK_NAME)
            .fetch_all(&mut *tx)
            .await?;
            for (name, secret) in secrets {
                let wrapped = self.wrap(&secret_purpose(&name), &secret);
                sqlx::query("UPDATE installation_secrets SET secret = $1 WHERE name = $2")
                    .bind(wrapped)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Reads the installation secret `name`, creating it from `fresh` if absent.
    pub async fn secret(
        &self,
        db: &Db,
        name: &str,
        fresh: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, KeyringError> {
        let purpose = secret_purpose(name);
        let wrapped = self.wrap(&purpose, &fresh());
        let stored: Vec<u8> = on_db!(db, pool => {
            sqlx::query(
                "INSERT INTO installation_secrets (name, secret, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(&wrapped)
            .bind(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .execute(pool)
            .await?;
            sqlx::query_scalar("SELECT secret FROM installation_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        });
        self.unwrap(&purpose, &stored)
    }

    /// Every installation secret whose name starts with `prefix`, unwrapped, with when it
    /// was created, oldest first.
    pub async fn secrets(
        &self,
        db: &Db,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>, String)>, KeyringError> {
        let rows: Vec<(String, Vec<u8>, String)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT name, secret, created_at FROM installation_secrets
                  WHERE name LIKE $1 ORDER BY created_at, name",
            )
            .bind(format!("{prefix}%"))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(name, secret, created)| {
                let key = self.unwrap(&secret_purpose(&name), &secret)?;
                Ok((name, key, created))
            })
            .collect()
    }

    /// Stores a new installation secret (a rotated signing key).
    pub async fn add_secret(&self, db: &Db, name: &str, key: &[u8]) -> Result<(), KeyringError> {
        let wrapped = self.wrap(&secret_purpose(name), key);
        on_db!(db, pool => {
            sqlx::query(
                "INSERT INTO installation_secrets (name, secret, created_at) VALUES ($1, $2, $3)",
            )
            .bind(name)
            .bind(wrapped)
            .bind(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Deletes installation secrets by name (signing keys retired after their tokens
    /// expired).
    pub async fn remove_secrets(&self, db: &Db, names: &[String]) -> Result<(), KeyringError> {
        on_db!(db, pool => {
            for name in names {
                sqlx::query("DELETE FROM installation_secrets WHERE name = $1")
                    .bind(name)
                    .execute(pool)
                    .await?;
            }
        });
        Ok(())
    }
}

/// What a member's vault key is wrapped for.
pub fn member_key_purpose(engagement_id: &str, member_id: &str) -> String {
    format!("kpi-ledger/member-key/{engagement_id}/{member_id}")
}

fn secret_purpose(name: &str) -> String {
    format!("kpi-ledger/secret/{name}")
}

/// Where the key file of the installation at `database_url` is.
pub fn key_file(database_url: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(rest) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let file = rest.split('?').next().unwrap_or_default();
        if file.is_empty() || file == ":memory:" || rest.contains("mode=memory") {
            return None;
        }
        return Some(PathBuf::from(format!("{file}.key")));
    }
    Some(PathBuf::from(DEFAULT_POSTGRES_KEY_FILE))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse(path: &Path, text: &str) -> Result<[u8; 32], KeyringError> {
    let text = text.trim();
    let malformed = || KeyringError::Malformed(path.display().to_string());
    if text.len() != 64 {
        return Err(malformed());
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| malformed())?;
    }
    Ok(key)
}

/// Reads the key file, or creates it atomically (two servers starting at once agree on
/// one key: the second finds the first's file).
fn load_or_create(path: &Path) -> Result<[u8; 32], KeyringError> {
    let io = |source| KeyringError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => return parse(path, &text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(error)),
    }
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(io)?;
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let temporary = path.with_extension(format!("tmp-{}", hex(&nonce)));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(io)?;
        file.write_all(format!("{}\n", hex(&key)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io)?;
    }
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            parse(path, &text)
        }
        Err(error) => Err(io(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_unwraps_only_for_its_purpose_and_with_its_key() {
        let keyring = Keyring::from_key([7; 32]);
        let wrapped = keyring.wrap("a", &[1; 32]);
        assert_eq!(keyring.unwrap("a", &wrapped).unwrap(), vec![1; 32]);
        assert!(keyring.unwrap("b", &wrapped).is_err());
        assert!(Keyring::from_key([8; 32]).unwrap("a", &wrapped).is_err());
        assert!(
            keyring.unwrap("a", &[1; 32]).is_err(),
            "a bare key is refused"
        );
    }

    #[test]
    fn the_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/kpi.key");
        let first = load_or_create(&path).unwrap();
        assert_eq!(load_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyringError::Malformed(_))
        ));
    }

    #[test]
    fn the_key_file_sits_beside_an_sqlite_database() {
        if std::env::var_os(KEY_FILE_ENV).is_some() {
            return;
        }
        assert_eq!(
            key_file("sqlite://data/kpi.db?mode=rwc"),
            Some(PathBuf::from("data/kpi.db.key"))
        );
        assert_eq!(key_file("sqlite::memory:"), None);
        assert_eq!(
            key_file("postgres://db/kpi"),
            Some(PathBuf::from(DEFAULT_POSTGRES_KEY_FILE))
        );
    }
}
