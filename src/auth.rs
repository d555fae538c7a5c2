//! Bearer tokens: JWTs signed with HS256 (a secret from configuration, or the key the first
//! migration stored in the database, wrapped by the key file; rotated with `token
//! rotate-key`) or verified with an external identity provider's
//! RS256/ES256 public key.

use crate::keyring::{Keyring, KeyringError};
use crate::on_db;
use crate::store::{Db, StoreError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use kpi_ledger_domain::ids::UserId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::Instant;

/// The issuer of tokens this installation signs itself.
pub const ISSUER: &str = "kpi-ledger";

/// Algorithms an external identity provider may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PublicKeyAlgorithm {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

/// How tokens are verified (and, with a secret, signed).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthSettings {
    /// HS256 signing secret (at least 32 bytes). Without it, and without a public key, the
    /// key the first migration created in the database is used.
    #[arg(long, env = "KPI_LEDGER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key of an external identity provider; tokens are then verified with it
    /// and this installation issues none.
    #[arg(long, env = "KPI_LEDGER_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Algorithm of the external public key.
    #[arg(
        long,
        env = "KPI_LEDGER_JWT_ALGORITHM",
        value_enum,
        default_value = "RS256"
    )]
    pub jwt_algorithm: Option<PublicKeyAlgorithm>,
    /// Required `iss` claim of external tokens.
    #[arg(long, env = "KPI_LEDGER_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim of external tokens.
    #[arg(long, env = "KPI_LEDGER_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Longest lifetime of a token this installation signs (and accepts from itself).
    #[arg(long, env = "KPI_LEDGER_MAX_TOKEN_TTL", default_value = "90d")]
    pub max_token_ttl: Option<humantime::Duration>,
}

/// The longest token lifetime when none is configured.
pub const DEFAULT_MAX_TOKEN_TTL: std::time::Duration =
    std::time::Duration::from_secs(90 * 24 * 3600);

/// The claims kpi-ledger reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (tokens of this installation) or the identity provider's subject.
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token's id (tokens this installation signs): `token revoke --token-id` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Used to find the account when `sub` is not a user id of this installation, and
    /// only when the identity provider says it verified it (`email_verified: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the JWT secret must be at least 32 bytes")]
    WeakSecret,
    #[error("cannot read the public key {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the public key is not a valid PEM key: {0}")]
    BadKey(jsonwebtoken::errors::Error),
    #[error("the database holds no token-signing key; run `kpi-ledger migrate`")]
    NoStoredKey,
    #[error("this installation verifies tokens of an external identity provider and issues none")]
    CannotIssue,
    #[error("token rejected: {0}")]
    Rejected(jsonwebtoken::errors::Error),
    #[error("a token may live at most {max}; asked for {asked}")]
    TooLong { max: String, asked: String },
    #[error("token rejected: it lives longer than this installation allows ({max})")]
    LivesTooLong { max: String },
    #[error("token rejected: it was revoked")]
    Revoked,
    #[error("token rejected: signed with a key this installation does not know")]
    UnknownKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The name (and `kid`) of the first token-signing key; rotated keys are named
/// `jwt_hs256:<id>` and the newest signs.
const FIRST_KEY: &str = "jwt_hs256";
/// The `kid` of tokens signed with `KPI_LEDGER_JWT_SECRET`.
const CONFIGURED_KEY: &str = "configured";
/// How often a server asks the database for keys it has not seen (a rotation by another
/// process) at most.
const KEY_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The keys of this installation's own tokens.
struct OwnKeys {
    /// The key new tokens are signed with, by `kid`.
    signing: (String, EncodingKey),
    verifying: HashMap<String, DecodingKey>,
}

impl OwnKeys {
    fn single(kid: &str, secret: &[u8]) -> Self {
        Self {
            signing: (kid.to_string(), EncodingKey::from_secret(secret)),
            verifying: HashMap::from([(kid.to_string(), DecodingKey::from_secret(secret))]),
        }
    }

    /// The key that verifies `token`, by the `kid` it names (tokens from before key ids
    /// are the first key's; a configured secret verifies whatever kid a token names).
    fn key_for(&self, token: &str) -> Result<&DecodingKey, AuthError> {
        let header = decode_header(token).map_err(AuthError::Rejected)?;
        let kid = header.kid.as_deref().unwrap_or(FIRST_KEY);
        self.verifying
            .get(kid)
            .or_else(|| self.verifying.get(CONFIGURED_KEY))
            .ok_or(AuthError::UnknownKey)
    }
}

/// Where the installation's keys are stored, for reloading after a rotation.
struct KeyStore {
    db: Db,
    keyring: Keyring,
    last_load: Mutex<Option<Instant>>,
}

/// Verifies (and where possible issues) bearer tokens.
pub struct TokenService {
    /// Own HS256 keys; `None` for an external identity provider.
    own: Option<RwLock<OwnKeys>>,
    store: Option<KeyStore>,
    external: Option<DecodingKey>,
    validation: Validation,
    /// The longest lifetime (`exp − iat`) of a self-signed token.
    max_lifetime: chrono::Duration,
    /// Ids of revoked tokens that have not expired yet, refreshed from the database in the
    /// background: checking a token reads no table.
    revoked: RwLock<HashSet<String>>,
}

impl TokenService {
    pub async fn from_settings(
        settings: &AuthSettings,
        db: &Db,
        keyring: &Keyring,
    ) -> Result<Self, AuthError> {
        if let Some(path) = &settings.jwt_public_key_file {
            let pem = std::fs::read(path).map_err(|source| AuthError::KeyFile {
                path: path.display().to_string(),
                source,
            })?;
            let (decoding, algorithm) =
                match settings.jwt_algorithm.unwrap_or(PublicKeyAlgorithm::Rs256) {
                    PublicKeyAlgorithm::Rs256 => (
                        DecodingKey::from_rsa_pem(&pem).map_err(AuthError::BadKey)?,
                        Algorithm::RS256,
                    ),
                    PublicKeyAlgorithm::Es256 => (
                        DecodingKey::from_ec_pem(&pem).map_err(AuthError::BadKey)?,
                        Algorithm::ES256,
                    ),
                };
            let mut validation = Validation::new(algorithm);
            // A configured issuer or audience must be present, not merely not wrong.
            let mut required = vec!["exp", "sub"];
            if settings.jwt_issuer.is_some() {
                required.push("iss");
            }
            if settings.jwt_audience.is_some() {
                required.push("aud");
            }
            validation.set_required_spec_claims(&required);
            validation.validate_nbf = true;
            match &settings.jwt_issuer {
                Some(issuer) => validation.set_issuer(&[issuer]),
                None => validation.iss = None,
            }
            match &settings.jwt_audience {
                Some(audience) => validation.set_audience(&[audience]),
                None => validation.validate_aud = false,
            }
            let service = Self {
                own: None,
                store: None,
                external: Some(decoding),
                validation,
                max_lifetime: max_lifetime(settings),
                revoked: RwLock::new(HashSet::new()),
            };
            service.refresh_revocations(db).await?;
            return Ok(service);
        }
        let mut service = match &settings.jwt_secret {
            Some(secret) if secret.len() < 32 => return Err(AuthError::WeakSecret),
            Some(secret) => Self::hs256(secret.as_bytes()),
            None => {
                let mut service = Self::with_own_keys(stored_keys(db, keyring).await?);
                service.store = Some(KeyStore {
                    db: db.clone(),
                    keyring: keyring.clone(),
                    last_load: Mutex::new(Some(Instant::now())),
                });
                service
            }
        };
        service.max_lifetime = max_lifetime(settings);
        service.refresh_revocations(db).await?;
        Ok(service)
    }

    /// A service signing and verifying with an HS256 secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::with_own_keys(OwnKeys::single(CONFIGURED_KEY, secret))
    }

    /// A service signing with the newest of `keys` and verifying with any of them.
    fn with_own_keys(keys: OwnKeys) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            own: Some(RwLock::new(keys)),
            store: None,
            external: None,
            validation,
            max_lifetime: chrono::Duration::from_std(DEFAULT_MAX_TOKEN_TTL)
                .unwrap_or(chrono::Duration::days(90)),
            revoked: RwLock::new(HashSet::new()),
        }
    }

    /// Whether tokens come from an external identity provider (then an `email` claim the
    /// provider verified may name the account; self-signed tokens name it by user id).
    pub fn external(&self) -> bool {
        self.own.is_none()
    }

    /// Whether this installation signs tokens itself (not with an external provider).
    pub fn can_issue(&self) -> bool {
        self.own.is_some()
    }

    /// Signs a token for `user_id` valid until `expires_at`, with a fresh token id.
    pub fn issue(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        let own = self.own.as_ref().ok_or(AuthError::CannotIssue)?;
        if expires_at - now > self.max_lifetime {
            return Err(AuthError::TooLong {
                max: humantime::format_duration(self.max_lifetime.to_std().unwrap_or_default())
                    .to_string(),
                asked: humantime::format_duration((expires_at - now).to_std().unwrap_or_default())
                    .to_string(),
            });
        }
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: Some(ISSUER.to_string()),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            email: None,
            email_verified: None,
        };
        let keys = own.read().unwrap_or_else(|e| e.into_inner());
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signing.0.clone());
        encode(&header, &claims, &keys.signing.1).map_err(AuthError::Rejected)
    }

    /// Checks signature, algorithm, expiry, not-before and issuer, that self-signed tokens
    /// live no longer than allowed, and that the token was not revoked. A key this process
    /// has not seen yet (rotated by another) is looked up, at most once a second.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        match self.verify_known(token) {
            Err(AuthError::UnknownKey) if self.reload_due() => {
                if let Some(store) = &self.store {
                    let keys = stored_keys(&store.db, &store.keyring).await?;
                    if let Some(own) = &self.own {
                        *own.write().unwrap_or_else(|e| e.into_inner()) = keys;
                    }
                }
                self.verify_known(token)
            }
            other => other,
        }
    }

    fn reload_due(&self) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let mut last = store.last_load.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < KEY_RELOAD_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// [`TokenService::verify`] with the keys this process holds.
    pub fn verify_known(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = match (&self.own, &self.external) {
            (Some(own), _) => {
                let keys = own.read().unwrap_or_else(|e| e.into_inner());
                decode::<Claims>(token, keys.key_for(token)?, &self.validation)
                    .map(|data| data.claims)
                    .map_err(AuthError::Rejected)?
            }
            (None, Some(key)) => decode::<Claims>(token, key, &self.validation)
                .map(|data| data.claims)
                .map_err(AuthError::Rejected)?,
            (None, None) => return Err(AuthError::CannotIssue),
        };
        if !self.external() && claims.exp - claims.iat > self.max_lifetime.num_seconds() {
            return Err(AuthError::LivesTooLong {
                max: humantime::format_duration(self.max_lifetime.to_std().unwrap_or_default())
                    .to_string(),
            });
        }
        if let Some(jti) = &claims.jti {
            if self
                .revoked
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(jti)
            {
                return Err(AuthError::Revoked);
            }
        }
        Ok(claims)
    }

    /// Reads the ids of revoked tokens that have not expired (the server does this every
    /// second in the background).
    pub async fn refresh_revocations(&self, db: &Db) -> Result<(), AuthError> {
        let now = Utc::now().timestamp();
        let ids: Vec<String> = on_db!(db, pool => {
            sqlx::query_scalar("SELECT token_id FROM revoked_tokens WHERE expires_at >= $1")
                .bind(now)
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)?
        });
        *self.revoked.write().unwrap_or_else(|e| e.into_inner()) = ids.into_iter().collect();
        Ok(())
    }

    /// The claims of a token this installation signed, even if expired: what `token
    /// revoke --token` needs to learn its id and expiry.
    pub fn inspect(&self, token: &str) -> Result<Claims, AuthError> {
        let own = self.own.as_ref().ok_or(AuthError::CannotIssue)?;
        let mut lenient = self.validation.clone();
        lenient.validate_exp = false;
        lenient.validate_nbf = false;
        let keys = own.read().unwrap_or_else(|e| e.into_inner());
        decode::<Claims>(token, keys.key_for(token)?, &lenient)
            .map(|data| data.claims)
            .map_err(AuthError::Rejected)
    }
}

/// Records a token id as revoked until it expires.
pub async fn revoke_token(
    db: &Db,
    token_id: &str,
    user_id: Option<UserId>,
    expires_at: i64,
) -> Result<(), StoreError> {
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO revoked_tokens (token_id, user_id, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(token_id)
        .bind(user_id.map(|u| u.to_string()))
        .bind(expires_at)
        .bind(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key's id: tokens issued from now on name it.
    pub new_key: String,
    /// Keys still verifying tokens issued before.
    pub kept: Vec<String>,
    /// Keys removed: every token they signed has expired.
    pub retired: Vec<String>,
}

/// Adds a new token-signing key, which signs from now on; earlier keys keep verifying
/// until every token they could have signed has expired (`max_ttl` after they stopped
/// signing), then they are removed. Servers pick the new key up on the first token that
/// names it; no restart.
pub async fn rotate_signing_key(
    db: &Db,
    keyring: &Keyring,
    max_ttl: std::time::Duration,
) -> Result<Rotation, AuthError> {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let new_key = format!("{FIRST_KEY}:{}", uuid::Uuid::new_v4().simple());
    // The first key exists (a migration created it) before any rotation.
    stored_keys(db, keyring).await?;
    keyring
        .add_secret(db, &new_key, &secret)
        .await
        .map_err(keyring_error)?;
    let keys = keyring
        .secrets(db, FIRST_KEY)
        .await
        .map_err(keyring_error)?;
    let horizon = Utc::now()
        - chrono::Duration::from_std(max_ttl).unwrap_or(chrono::Duration::days(90))
        - chrono::Duration::minutes(1);
    let mut retired = Vec::new();
    let mut kept = Vec::new();
    for pair in keys.windows(2) {
        let (name, _, _) = &pair[0];
        let (_, _, successor_created) = &pair[1];
        let stopped_signing = DateTime::parse_from_rfc3339(successor_created)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        if stopped_signing < horizon {
            retired.push(name.clone());
        } else {
            kept.push(name.clone());
        }
    }
    keyring
        .remove_secrets(db, &retired)
        .await
        .map_err(keyring_error)?;
    Ok(Rotation {
        new_key,
        kept,
        retired,
    })
}

fn keyring_error(error: KeyringError) -> AuthError {
    match error {
        KeyringError::Store(e) => AuthError::Store(e),
        other => AuthError::Store(StoreError::Corrupt(other.to_string())),
    }
}

/// The installation's own signing keys: every stored one verifies, the newest signs.
async fn stored_keys(db: &Db, keyring: &Keyring) -> Result<OwnKeys, AuthError> {
    let keys = keyring
        .secrets(db, FIRST_KEY)
        .await
        .map_err(keyring_error)?;
    let (newest, secret, _) = keys.last().ok_or(AuthError::NoStoredKey)?;
    Ok(OwnKeys {
        signing: (newest.clone(), EncodingKey::from_secret(secret)),
        verifying: keys
            .iter()
            .map(|(name, secret, _)| (name.clone(), DecodingKey::from_secret(secret)))
            .collect(),
    })
}

fn max_lifetime(settings: &AuthSettings) -> chrono::Duration {
    let max = settings
        .max_token_ttl
        .map(Into::into)
        .unwrap_or(DEFAULT_MAX_TOKEN_TTL);
    chrono::Duration::from_std(max).unwrap_or(chrono::Duration::days(90))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn user() -> UserId {
        UserId(uuid::Uuid::from_u128(42))
    }

    #[test]
    fn a_token_verifies_with_the_key_that_signed_it() {
        let service = TokenService::hs256(&[7u8; 32]);
        let now = Utc::now();
        let token = service
            .issue(user(), now, now + Duration::days(30))
            .unwrap();
        assert_eq!(
            service.verify_known(&token).unwrap().sub,
            user().to_string()
        );
    }

    #[test]
    fn forged_and_expired_tokens_are_rejected() {
        let service = TokenService::hs256(&[7u8; 32]);
        let forger = TokenService::hs256(&[8u8; 32]);
        let now = Utc::now();
        let forged = forger.issue(user(), now, now + Duration::days(1)).unwrap();
        assert!(service.verify_known(&forged).is_err());
        let expired = service
            .issue(user(), now - Duration::days(2), now - Duration::days(1))
            .unwrap();
        assert!(service.verify_known(&expired).is_err());
        assert!(service.verify_known("not-a-token").is_err());
    }

    #[test]
    fn tokens_live_at_most_the_maximum_and_not_before_nbf() {
        let service = TokenService::hs256(&[7u8; 32]);
        let now = Utc::now();
        assert!(matches!(
            service.issue(user(), now, now + Duration::days(36500)),
            Err(AuthError::TooLong { .. })
        ));
        assert!(service.issue(user(), now, now + Duration::days(90)).is_ok());
        // A token signed with the key but living longer than allowed, or not valid yet.
        let key = EncodingKey::from_secret(&[7u8; 32]);
        let long = serde_json::json!({ "sub": user().to_string(), "iss": ISSUER,
            "iat": now.timestamp(), "exp": (now + Duration::days(3650)).timestamp() });
        let long = encode(&Header::new(Algorithm::HS256), &long, &key).unwrap();
        assert!(matches!(
            service.verify_known(&long),
            Err(AuthError::LivesTooLong { .. })
        ));
        let later = serde_json::json!({ "sub": user().to_string(), "iss": ISSUER,
            "iat": now.timestamp(), "nbf": (now + Duration::hours(1)).timestamp(),
            "exp": (now + Duration::days(1)).timestamp() });
        let later = encode(&Header::new(Algorithm::HS256), &later, &key).unwrap();
        assert!(service.verify_known(&later).is_err(), "nbf in the future");
    }
}
