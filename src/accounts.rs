//! Login accounts: the account directory (email and display name, erasable, never in
//! events) plus the `User` aggregate that records registration and grants.

use crate::on_db;
use crate::projector::Projector;
use crate::store::events::Cqrs;
use crate::store::{Db, StoreError};
use chrono::Utc;
use cqrs_es::AggregateError;
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::{Grants, User, UserCommand, UserError};
use std::sync::Arc;

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
    email: String,
    display_name: String,
    consultant: Option<i64>,
    admin: Option<i64>,
    revoked_before: Option<i64>,
    disabled_at: Option<i64>,
}

const SELECT_ACCOUNT: &str = "
SELECT a.user_id, a.email, a.display_name, u.consultant, u.admin, r.revoked_before, r.disabled_at
  FROM user_accounts a LEFT JOIN users u ON u.user_id = a.user_id
  LEFT JOIN token_revocations r ON r.user_id = a.user_id";

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            user_id: row
                .user_id
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("user id {}: {e}", row.user_id)))?,
            email: row.email,
            display_name: row.display_name,
            grants: Grants {
                consultant: row.consultant.unwrap_or(0) != 0,
                admin: row.admin.unwrap_or(0) != 0,
            },
            tokens_revoked_before: row.revoked_before,
            disabled: row.disabled_at.is_some(),
        })
    }
}

/// The account directory and user registration.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    users: Arc<Cqrs<User>>,
    projector: Arc<Projector>,
}

impl Accounts {
    pub fn new(db: Db, projector: Arc<Projector>) -> Self {
        Self {
            users: Arc::new(Cqrs::new(&db)),
            db,
            projector,
        }
    }

    pub async fn by_id(&self, user_id: UserId) -> Result<Option<Account>, StoreError> {
        let sql = format!("{SELECT_ACCOUNT} WHERE a.user_id = $1");
        let row: Option<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(user_id.to_string()).fetch_optional(pool).await?
        });
        row.map(Account::try_from).transpose()
    }

    pub async fn by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("{SELECT_ACCOUNT} WHERE a.email = $1");
        let row: Option<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(email.trim().to_lowercase())
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// Every account, by email: the `user list` command.
    pub async fn list(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("{SELECT_ACCOUNT} ORDER BY a.email");
        let rows: Vec<AccountRow> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(Account::try_from).collect()
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
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_accounts (user_id, email, display_name, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING",
            )
            .bind(user_id.to_string())
            .bind(&email)
            .bind(display_name.trim())
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
                    "UPDATE user_accounts SET email = $2, display_name = '' WHERE user_id = $1",
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
