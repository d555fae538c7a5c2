//! Sign-in for people: passwords (argon2id), one-time links that set them (invitations
//! and resets, 72 hours), and browser sessions with idle and absolute expiry and a CSRF
//! token. Links and session tokens are random 256-bit values kept only as SHA-256 hashes.

use crate::accounts::Accounts;
use crate::on_db;
use crate::store::{Db, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_domain::language::Language;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// How long an invitation or reset link stays valid.
pub const LINK_VALIDITY: Duration = Duration::hours(72);
/// A session ends after this long without a request…
pub const IDLE_TIMEOUT: Duration = Duration::hours(2);
/// …and this long after sign-in, whatever happens.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Passwords are at least this long (NIST SP 800-63B asks for 8; we ask for 10)…
pub const MIN_PASSWORD_CHARS: usize = 10;
/// …and at most this long, so hashing stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    PasswordTooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SignInError {
    fn from(value: sqlx::Error) -> Self {
        SignInError::Store(value.into())
    }
}

/// Why a link was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation,
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
}

/// A new session: the cookie value (shown once, never stored) and the session.
pub struct OpenedSession {
    pub token: String,
    pub session: Session,
}

/// Passwords, links and sessions on the installation's database.
#[derive(Clone)]
pub struct SignIn {
    db: Db,
}

/// A fresh random 256-bit token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The password rules, before any hashing.
pub fn check_password(password: &str) -> Result<(), SignInError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(SignInError::PasswordTooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(SignInError::PasswordTooLong);
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, SignInError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| SignInError::Hash(e.to_string()))
}

/// A hash of a password nobody has, verified against when the email is unknown, so an
/// unknown email takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

impl SignIn {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Sets `user_id`'s password and ends their other sessions.
    pub async fn set_password(&self, user_id: UserId, password: &str) -> Result<(), SignInError> {
        check_password(password)?;
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| SignInError::Hash(e.to_string()))??;
        let now = stamp(Utc::now());
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO user_passwords (user_id, password_hash, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET password_hash = $2, updated_at = $3",
            )
            .bind(user_id.to_string())
            .bind(&hash)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account whose email and password these are, if any.
    pub async fn check_credentials(
        &self,
        accounts: &Accounts,
        email: &str,
        password: &str,
    ) -> Result<Option<UserId>, SignInError> {
        let index = accounts.email_index(email).await?;
        let row: Option<(String, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT a.user_id, p.password_hash FROM user_accounts a
                   JOIN user_passwords p ON p.user_id = a.user_id
                   LEFT JOIN token_revocations r ON r.user_id = a.user_id
                  WHERE a.email_index = $1 AND r.disabled_at IS NULL",
            )
            .bind(&index)
            .fetch_optional(pool)
            .await?
        });
        let password = password.to_string();
        let (user_id, stored) = match row {
            Some((user_id, stored)) => (Some(user_id), stored),
            None => (None, decoy_hash().to_string()),
        };
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .unwrap_or(false);
        match (matches, user_id) {
            (true, Some(user_id)) => {
                Ok(Some(UserId::from_str(&user_id).map_err(|e| {
                    StoreError::Corrupt(format!("user id {user_id}: {e}"))
                })?))
            }
            _ => Ok(None),
        }
    }

    /// Makes a one-time link for `user_id`; returns its token (put it in the URL).
    pub async fn create_link(
        &self,
        user_id: UserId,
        purpose: LinkPurpose,
    ) -> Result<String, SignInError> {
        let token = random_token();
        let now = Utc::now();
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO sign_in_links (token_hash, user_id, purpose, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(digest(&token))
            .bind(user_id.to_string())
            .bind(purpose.as_str())
            .bind(stamp(now))
            .bind(stamp(now + LINK_VALIDITY))
            .execute(pool)
            .await?;
        });
        Ok(token)
    }

    /// The account a link is valid for (unused, unexpired), without using it.
    pub async fn link_user(&self, token: &str) -> Result<Option<UserId>, SignInError> {
        let row: Option<(String,)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT user_id FROM sign_in_links
                  WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(digest(token))
            .bind(stamp(Utc::now()))
            .fetch_optional(pool)
            .await?
        });
        row.map(|(id,)| {
            UserId::from_str(&id).map_err(|e| StoreError::Corrupt(format!("user id {id}: {e}")))
        })
        .transpose()
        .map_err(Into::into)
    }

    /// Sets the password through a link, which is then used up (with every other link of
    /// the account); opens a session. None if the link is not valid.
    pub async fn redeem_link(
        &self,
        token: &str,
        password: &str,
    ) -> Result<Option<OpenedSession>, SignInError> {
        check_password(password)?;
        let now = stamp(Utc::now());
        let claimed: Option<(String,)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "UPDATE sign_in_links SET used_at = $2
                  WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING user_id",
            )
            .bind(digest(token))
            .bind(&now)
            .fetch_optional(pool)
            .await?
        });
        let Some((user_id,)) = claimed else {
            return Ok(None);
        };
        let user_id = UserId::from_str(&user_id)
            .map_err(|e| StoreError::Corrupt(format!("user id {user_id}: {e}")))?;
        on_db!(&self.db, pool => {
            sqlx::query("UPDATE sign_in_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id.to_string())
                .bind(&now)
                .execute(pool)
                .await?;
        });
        self.set_password(user_id, password).await?;
        Ok(Some(self.open_session(user_id).await?))
    }

    /// Opens a session for `user_id`.
    pub async fn open_session(&self, user_id: UserId) -> Result<OpenedSession, SignInError> {
        let token = random_token();
        let csrf_token = random_token();
        let now = Utc::now();
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
                 VALUES ($1, $2, $3, $4, $4, $5)",
            )
            .bind(digest(&token))
            .bind(user_id.to_string())
            .bind(&csrf_token)
            .bind(stamp(now))
            .bind(stamp(now + ABSOLUTE_TIMEOUT))
            .execute(pool)
            .await?;
        });
        Ok(OpenedSession {
            token,
            session: Session {
                user_id,
                csrf_token,
            },
        })
    }

    /// The live session of a cookie value, its idle clock restarted; None when unknown,
    /// idle too long or past its absolute end.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, SignInError> {
        let now = Utc::now();
        let row: Option<(String, String, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT user_id, csrf_token, last_seen_at FROM web_sessions
                  WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
            )
            .bind(digest(token))
            .bind(stamp(now))
            .bind(stamp(now - IDLE_TIMEOUT))
            .fetch_optional(pool)
            .await?
        });
        let Some((user_id, csrf_token, last_seen)) = row else {
            return Ok(None);
        };
        // Restart the idle clock at most once a minute: reads stay reads.
        let stale = DateTime::parse_from_rfc3339(&last_seen)
            .map(|seen| now - seen.with_timezone(&Utc) > Duration::minutes(1))
            .unwrap_or(true);
        if stale {
            on_db!(&self.db, pool => {
                sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1")
                    .bind(digest(token))
                    .bind(stamp(now))
                    .execute(pool)
                    .await?;
            });
        }
        let user_id = UserId::from_str(&user_id)
            .map_err(|e| StoreError::Corrupt(format!("user id {user_id}: {e}")))?;
        Ok(Some(Session {
            user_id,
            csrf_token,
        }))
    }

    /// Ends a session (sign-out), and sessions that expired meanwhile.
    pub async fn close_session(&self, token: &str) -> Result<(), SignInError> {
        let now = Utc::now();
        on_db!(&self.db, pool => {
            sqlx::query(
                "DELETE FROM web_sessions WHERE token_hash = $1 OR expires_at <= $2 OR last_seen_at <= $3",
            )
            .bind(digest(token))
            .bind(stamp(now))
            .bind(stamp(now - IDLE_TIMEOUT))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The language a person chose, if they did.
    pub async fn language(&self, user_id: UserId) -> Result<Option<Language>, SignInError> {
        let row: Option<(String,)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT language FROM user_preferences WHERE user_id = $1")
                .bind(user_id.to_string())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(l,)| Language::from_str(&l).ok()))
    }

    /// Remembers the language a person chose.
    pub async fn set_language(
        &self,
        user_id: UserId,
        language: Language,
    ) -> Result<(), SignInError> {
        let code = match language {
            Language::Ja => "ja",
            Language::Zh => "zh",
            Language::En => "en",
        };
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_preferences (user_id, language) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET language = $2",
            )
            .bind(user_id.to_string())
            .bind(code)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn password_length_is_bounded() {
        assert!(matches!(
            check_password("short"),
            Err(SignInError::PasswordTooShort)
        ));
        assert!(check_password("ten chars!").is_ok());
        assert!(check_password("パスワードは十文字以上").is_ok());
        assert!(matches!(
            check_password(&"x".repeat(201)),
            Err(SignInError::PasswordTooLong)
        ));
    }

    #[test]
    fn tokens_are_stored_as_digests() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_ne!(random_token(), token);
        assert_eq!(digest(&token).len(), 64);
        assert_ne!(digest(&token), token);
    }
}
