//! Login accounts: the account directory (email and display name, sealed and erasable,
//! never in events) plus the `User` aggregate that records registration and grants.

use crate::keyring::{Keyring, KeyringError};
use crate::on_db;
use crate::projector::Projector;
use crate::store::events::Cqrs;
use crate::store::{Db, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use cqrs_es::AggregateError;
use hmac::{Hmac, Mac};
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::{Grants, User, UserCommand, UserError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The installation secret emails are hashed with for lookup.
const INDEX_SECRET: &str = "account_index";
/// Marks a keyed hash in `email_index` (an erased account holds `erased:<id>` there).
const INDEX_PREFIX: &str = "hmac:";

fn keyring_error(error: KeyringError) -> StoreError {
    match error {
        KeyringError::Store(e) => e,
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// What an erased account's email becomes: unique, and no address.
pub fn erased_email(user_id: UserId) -> String {
    format!("erased:{user_id}")
}

/// A login account with its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub grants: Grants,
    /// Bearer tokens issued at or before this instant (Unix seconds) are refused.
    pub tokens_revoked_before: Option<i64>,
    /// Disabled by an administrator: nothing of theirs is accepted.
    pub disabled: bool,
}

impl Account {
    /// Whether the email and name were erased (SPEC §11).
    pub fn erased(&self) -> bool {
        self.email == erased_email(self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("no user with email {0}")]
    UnknownEmail(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not record the user: {0}")]
    Command(#[from] AggregateError<UserError>),
}

impl From<sqlx::Error> for AccountError {
    fn from(value: sqlx::Error) -> Self {
        AccountError::Store(value.into())
    }
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: String,
    sealed: Option<Vec<u8>>,
    sealed_key: Option<Vec<u8>>,
    consultant: Option<i64>,
    admin: Option<i64>,
    revoked_before: Option<i64>,
    disabled_at: Option<i64>,
}

const SELECT_ACCOUNT: &str = "
SELECT a.user_id, a.sealed, a.sealed_key, u.consultant, u.admin,
       r.revoked_before, r.disabled_at
  FROM user_accounts a LEFT JOIN users u ON u.user_id = a.user_id
  LEFT JOIN token_revocations r ON r.user_id = a.user_id";

/// The personal part of an account, sealed in `user_accounts.sealed`.
#[derive(Serialize, Deserialize)]
struct Personal {
    email: String,
    display_name: String,
}

fn account_aad(user_id: &str) -> Vec<u8> {
    format!("kpi-ledger/account/{user_id}").into_bytes()
}

fn account_key_purpose(user_id: &str) -> String {
    format!("kpi-ledger/account-key/{user_id}")
}

/// The account directory and user registration. Emails and names are stored encrypted
/// under one key per account (wrapped by the key file); an account is found by its email
/// through a keyed hash of it, never the address itself.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    users: Arc<Cqrs<User>>,
    projector: Arc<Projector>,
    keyring: Keyring,
    index_key: Arc<OnceCell<Vec<u8>>>,
}

impl Accounts {
    pub fn new(db: Db, projector: Arc<Projector>, keyring: Keyring) -> Self {
        Self {
            users: Arc::new(Cqrs::new(&db)),
            db,
            projector,
            keyring,
            index_key: Arc::new(OnceCell::new()),
        }
    }

    /// The keyed hash an email is found by (HMAC-SHA-256 under an installation secret).
    pub async fn email_index(&self, email: &str) -> Result<String, StoreError> {
        let key = self
            .index_key
            .get_or_try_init(|| async {
                self.keyring
                    .secret(&self.db, INDEX_SECRET, || {
                        let mut key = vec![0u8; 32];
                        rand::rngs::OsRng.fill_bytes(&mut key);
                        key
                    })
                    .await
                    .map_err(keyring_error)
            })
            .await?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(email.trim().to_lowercase().as_bytes());
        Ok(format!(
            "{INDEX_PREFIX}{}",
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    }

    /// Seals an account's email and name under a fresh key: (ciphertext, wrapped key).
    fn seal(&self, user_id: UserId, personal: &Personal) -> (Vec<u8>, Vec<u8>) {
        let user = user_id.to_string();
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut key);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let plaintext = serde_json::to_vec(personal).expect("two strings serialize");
        let ciphertext = XChaCha20Poly1305::new((&key).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &account_aad(&user),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        (sealed, self.keyring.wrap(&account_key_purpose(&user), &key))
    }

    fn open(&self, row: AccountRow) -> Result<Account, StoreError> {
        let user_id: UserId = row
            .user_id
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("user id {}: {e}", row.user_id)))?;
        let personal = match (row.sealed, row.sealed_key) {
            (Some(sealed), Some(wrapped)) if sealed.len() > 24 => {
                let unreadable =
                    || StoreError::Corrupt(format!("the account {user_id} does not decrypt"));
                let key = self
                    .keyring
                    .unwrap(&account_key_purpose(&row.user_id), &wrapped)
                    .map_err(|_| unreadable())?;
                if key.len() != 32 {
                    return Err(unreadable());
                }
                let plaintext = XChaCha20Poly1305::new(key.as_slice().into())
                    .decrypt(
                        XNonce::from_slice(&sealed[..24]),
                        Payload {
                            msg: &sealed[24..],
                            aad: &account_aad(&row.user_id),
                        },
                    )
                    .map_err(|_| unreadable())?;
                serde_json::from_slice(&plaintext).map_err(|_| unreadable())?
            }
            // Erased: the key is gone.
            _ => Personal {
                email: erased_email(user_id),
                display_name: String::new(),
            },
        };
        Ok(Account {
            user_id,
            email: personal.email,
            display_name: personal.display_name,
            grants: Grants {
                consultant: row.consultant.unwrap_or(0) != 0,
                admin: row.admin.unwrap_or(0) != 0,
            },
            tokens_revoked_before: row.revoked_before,
            disabled: row.disabled_at.is_some(),
        })
    }

    /// Accounts stored before emails and names were sealed: sealed now (a plaintext
    /// email sits in `email_index` until then). Runs at every start; usually finds none.
    pub async fn seal_plaintext(&self) -> Result<usize, StoreError> {
        let rows: Vec<(String, String, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT user_id, email_index, display_name FROM user_accounts
                  WHERE sealed IS NULL AND email_index NOT LIKE 'erased:%'",
            )
            .fetch_all(pool)
            .await?
        });
        for (user, email, display_name) in &rows {
            let user_id: UserId = user
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("user id {user}: {e}")))?;
            let index = self.email_index(email).await?;
            let (sealed, key) = self.seal(
                user_id,
                &Personal {
                    email: email.clone(),
                    display_name: display_name.clone(),
                },
            );
            on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE user_accounts SET email_index = $1, display_name = '', sealed = $2,
                            sealed_key = $3
                      WHERE user_id = $4 AND sealed IS NULL",
                )
                .bind(&index)
                .bind(sealed)
                .bind(key)
                .bind(user)
                .execute(pool)
                .await?;
            });
        }
        Ok(rows.len())
    }

    pub async fn by_id(&self, user_id: UserId) -> Result<Option<Account>, StoreError> {
        let sql = format!("{SELECT_ACCOUNT} WHERE a.user_id = $1");
        let row: Option<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(user_id.to_string()).fetch_optional(pool).await?
        });
        row.map(|r| self.open(r)).transpose()
    }

    pub async fn by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("{SELECT_ACCOUNT} WHERE a.email_index = $1");
        let index = self.email_index(email).await?;
        let row: Option<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(index)
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| self.open(r)).transpose()
    }

    /// Every account, by email: the `user list` command.
    pub async fn list(&self) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(SELECT_ACCOUNT).fetch_all(pool).await?
        });
        let mut accounts = rows
            .into_iter()
            .map(|r| self.open(r))
            .collect::<Result<Vec<_>, _>>()?;
        accounts.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(accounts)
    }

    /// Changes an account's installation grants (consultant, admin): an event of its
    /// `User` aggregate, so the installation's audit chain records who changed them.
    pub async fn change_grants(
        &self,
        user_id: UserId,
        grants: Grants,
        metadata: &CommandMetadata,
    ) -> Result<(), AccountError> {
        self.users
            .execute(
                &user_id.to_string(),
                UserCommand::ChangeGrants { grants },
                metadata.to_map(),
            )
            .await?;
        self.projector.catch_up().await?;
        Ok(())
    }

    /// Refuses every bearer token of `user_id` issued up to now and ends their web
    /// sessions; tokens issued afterwards work.
    pub async fn revoke_tokens(&self, user_id: UserId) -> Result<(), StoreError> {
        let now = Utc::now().timestamp();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO token_revocations (user_id, revoked_before) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET revoked_before = $2",
            )
            .bind(user_id.to_string())
            .bind(now)
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

    /// Disables an account (`user disable`): its tokens, sessions and password are refused
    /// until it is enabled again; its sessions end now. Or enables it.
    pub async fn set_disabled(&self, user_id: UserId, disabled: bool) -> Result<(), StoreError> {
        let now = Utc::now().timestamp();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO token_revocations (user_id, revoked_before, disabled_at) VALUES ($1, 0, $2)
                 ON CONFLICT (user_id) DO UPDATE SET disabled_at = $2",
            )
            .bind(user_id.to_string())
            .bind(disabled.then_some(now))
            .execute(&mut *tx)
            .await?;
            if disabled {
                sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Inserts a directory entry for `email` unless one exists; returns the account's id
    /// and whether this call created it. Two concurrent calls for one email agree on one id.
    pub async fn ensure(
        &self,
        email: &str,
        display_name: &str,
    ) -> Result<(UserId, bool), StoreError> {
        let email = email.trim().to_lowercase();
        let user_id = UserId::new_random();
        let index = self.email_index(&email).await?;
        let (sealed, key) = self.seal(
            user_id,
            &Personal {
                email: email.clone(),
                display_name: display_name.trim().to_string(),
            },
        );
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_accounts (user_id, email_index, display_name, sealed, sealed_key,
                     created_at)
                 VALUES ($1, $2, '', $3, $4, $5) ON CONFLICT (email_index) DO NOTHING",
            )
            .bind(user_id.to_string())
            .bind(&index)
            .bind(sealed)
            .bind(key)
            .bind(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok((user_id, true));
        }
        let existing = self
            .by_email(&email)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("account of {email} vanished")))?;
        Ok((existing.user_id, false))
    }

    /// Deletes a directory entry created for a change that then failed — unless a
    /// membership (of a concurrent request for the same email) already refers to it.
    pub async fn discard(&self, user_id: UserId) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query(
                "DELETE FROM user_accounts WHERE user_id = $1
                   AND NOT EXISTS (SELECT 1 FROM engagement_members WHERE user_id = $1)
                   AND NOT EXISTS (SELECT 1 FROM users WHERE user_id = $1)",
            )
            .bind(user_id.to_string())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Erases a login account's email and name once nothing needs them any more (SPEC
    /// §11): no membership of theirs still has personal data in the vault, and they hold
    /// no installation grant. The account is then disabled, its password, links, sessions
    /// and preferences deleted; its id stays, since events refer to it. Returns whether it
    /// was erased.
    pub async fn erase_if_unneeded(&self, user_id: UserId) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        let now = Utc::now().timestamp();
        let erased = on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let needed: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM engagement_members m
                                  JOIN member_keys k ON k.engagement_id = m.engagement_id
                                                    AND k.member_id = m.member_id
                                 WHERE m.user_id = $1)
                     OR EXISTS (SELECT 1 FROM users u
                                 WHERE u.user_id = $1 AND (u.consultant <> 0 OR u.admin <> 0))
                     OR NOT EXISTS (SELECT 1 FROM user_accounts a WHERE a.user_id = $1)",
            )
            .bind(&user)
            .fetch_one(&mut *tx)
            .await?;
            if !needed {
                for table in ["user_passwords", "sign_in_links", "web_sessions", "user_preferences"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                        .bind(&user)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO token_revocations (user_id, revoked_before, disabled_at)
                     VALUES ($1, $2, $2)
                     ON CONFLICT (user_id) DO UPDATE SET revoked_before = $2, disabled_at = $2",
                )
                .bind(&user)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE user_accounts SET email_index = $2, display_name = '', sealed = NULL,
                            sealed_key = NULL
                      WHERE user_id = $1",
                )
                .bind(&user)
                .bind(erased_email(user_id))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            !needed
        });
        Ok(erased)
    }

    /// Records the registration of a directory entry, with its grants.
    pub async fn register(
        &self,
        user_id: UserId,
        grants: Grants,
        metadata: &CommandMetadata,
    ) -> Result<(), AccountError> {
        self.users
            .execute(
                &user_id.to_string(),
                UserCommand::Register { user_id, grants },
                metadata.to_map(),
            )
            .await?;
        self.projector.catch_up().await?;
        Ok(())
    }

    /// Creates a new account with grants (the `user add` command).
    pub async fn add(
        &self,
        email: &str,
        display_name: &str,
        grants: Grants,
        metadata: &CommandMetadata,
    ) -> Result<Account, AccountError> {
        let email = email.trim().to_lowercase();
        if !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(AccountError::Invalid(format!(
                "email: `{email}` is not an email address"
            )));
        }
        if display_name.trim().is_empty() {
            return Err(AccountError::Invalid("name: must not be empty".into()));
        }
        let (user_id, created) = self.ensure(&email, display_name).await?;
        if !created {
            return Err(AccountError::EmailTaken(email));
        }
        if let Err(error) = self.register(user_id, grants, metadata).await {
            self.discard(user_id).await?;
            return Err(error);
        }
        self.by_id(user_id)
            .await?
            .ok_or_else(|| AccountError::UnknownEmail(email))
    }
}
