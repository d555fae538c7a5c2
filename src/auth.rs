//! Bearer tokens: JWTs signed with HS256 (a secret from configuration, or the key the first
//! migration stored in the database) or verified with an external identity provider's
//! RS256/ES256 public key.

use crate::on_db;
use crate::store::{Db, StoreError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kpi_ledger_domain::ids::UserId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies (and where possible issues) bearer tokens.
pub struct TokenService {
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
    /// The longest lifetime (`exp − iat`) of a self-signed token.
    max_lifetime: chrono::Duration,
}

impl TokenService {
    pub async fn from_settings(settings: &AuthSettings, db: &Db) -> Result<Self, AuthError> {
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
            return Ok(Self {
                encoding: None,
                decoding,
                validation,
                max_lifetime: max_lifetime(settings),
            });
        }
        let secret = match &settings.jwt_secret {
            Some(secret) if secret.len() < 32 => return Err(AuthError::WeakSecret),
            Some(secret) => secret.as_bytes().to_vec(),
            None => stored_secret(db).await?,
        };
        let mut service = Self::hs256(&secret);
        service.max_lifetime = max_lifetime(settings);
        Ok(service)
    }

    /// A service signing and verifying with an HS256 secret.
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            validation,
            max_lifetime: chrono::Duration::from_std(DEFAULT_MAX_TOKEN_TTL)
                .unwrap_or(chrono::Duration::days(90)),
        }
    }

    /// Whether tokens come from an external identity provider (then an `email` claim the
    /// provider verified may name the account; self-signed tokens name it by user id).
    pub fn external(&self) -> bool {
        self.encoding.is_none()
    }

    /// Whether this installation signs tokens itself (not with an external provider).
    pub fn can_issue(&self) -> bool {
        self.encoding.is_some()
    }

    /// Signs a token for `user_id` valid until `expires_at`.
    pub fn issue(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        let encoding = self.encoding.as_ref().ok_or(AuthError::CannotIssue)?;
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
            email: None,
            email_verified: None,
        };
        encode(&Header::new(Algorithm::HS256), &claims, encoding).map_err(AuthError::Rejected)
    }

    /// Checks signature, algorithm, expiry, not-before and issuer, and for self-signed
    /// tokens that they live no longer than allowed.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(AuthError::Rejected)?;
        if !self.external() && claims.exp - claims.iat > self.max_lifetime.num_seconds() {
            return Err(AuthError::LivesTooLong {
                max: humantime::format_duration(self.max_lifetime.to_std().unwrap_or_default())
                    .to_string(),
            });
        }
        Ok(claims)
    }
}

fn max_lifetime(settings: &AuthSettings) -> chrono::Duration {
    let max = settings
        .max_token_ttl
        .map(Into::into)
        .unwrap_or(DEFAULT_MAX_TOKEN_TTL);
    chrono::Duration::from_std(max).unwrap_or(chrono::Duration::days(90))
}

async fn stored_secret(db: &Db) -> Result<Vec<u8>, AuthError> {
    let secret: Option<Vec<u8>> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT secret FROM installation_secrets WHERE name = 'jwt_hs256'")
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from)?
    });
    secret.ok_or(AuthError::NoStoredKey)
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
        assert_eq!(service.verify(&token).unwrap().sub, user().to_string());
    }

    #[test]
    fn forged_and_expired_tokens_are_rejected() {
        let service = TokenService::hs256(&[7u8; 32]);
        let forger = TokenService::hs256(&[8u8; 32]);
        let now = Utc::now();
        let forged = forger.issue(user(), now, now + Duration::days(1)).unwrap();
        assert!(service.verify(&forged).is_err());
        let expired = service
            .issue(user(), now - Duration::days(2), now - Duration::days(1))
            .unwrap();
        assert!(service.verify(&expired).is_err());
        assert!(service.verify("not-a-token").is_err());
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
            service.verify(&long),
            Err(AuthError::LivesTooLong { .. })
        ));
        let later = serde_json::json!({ "sub": user().to_string(), "iss": ISSUER,
            "iat": now.timestamp(), "nbf": (now + Duration::hours(1)).timestamp(),
            "exp": (now + Duration::days(1)).timestamp() });
        let later = encode(&Header::new(Algorithm::HS256), &later, &key).unwrap();
        assert!(service.verify(&later).is_err(), "nbf in the future");
    }
}
