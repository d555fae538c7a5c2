//! Who read whose personal data (SPEC §11): every decryption of a member's name and email
//! for someone else, and every payout statement, counted per (engagement, member, reader,
//! kind, day). Counted in memory and written in batches — every few seconds and at
//! shutdown — so a read costs no write. A person's access request is answered from it
//! (`engagement.personalDataReads`).

use crate::on_db;
use crate::store::{Db, StoreError};
use chrono::{NaiveDate, Utc};
use kpi_ledger_domain::ids::{MemberId, UserId};
use kpi_ledger_graphql::access::EngagementScope;
use kpi_ledger_graphql::ports::PersonalDataReadView;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A read of a member's name and email.
pub const NAME_AND_EMAIL: &str = "name_and_email";
/// A payout statement of the member, downloaded.
pub const PAYOUT_STATEMENT: &str = "payout_statement";

/// Pending counts beyond which a read triggers a write at once.
const FLUSH_AT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ReadKey {
    engagement_id: String,
    member_id: String,
    reader_user_id: String,
    reader_member_id: String,
    kind: &'static str,
    day: NaiveDate,
}

/// The batched log of personal-data reads.
#[derive(Clone)]
pub struct PersonalDataReads {
    db: Db,
    pending: Arc<Mutex<HashMap<ReadKey, i64>>>,
}

impl PersonalDataReads {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            pending: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one read of each of `members`' data by the caller of `scope` (their own
    /// data is not counted).
    pub fn note(&self, scope: &EngagementScope, members: &[MemberId], kind: &'static str) {
        let day = kpi_ledger_domain::period::time_zone(scope.time_zone())
            .map(|tz| Utc::now().with_timezone(&tz).date_naive())
            .unwrap_or_else(|_| Utc::now().date_naive());
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for member in members.iter().filter(|m| **m != scope.member_id()) {
                let key = ReadKey {
                    engagement_id: scope.engagement_id().to_string(),
                    member_id: member.to_string(),
                    reader_user_id: scope.user_id().to_string(),
                    reader_member_id: scope.member_id().to_string(),
                    kind,
                    day,
                };
                *pending.entry(key).or_insert(0) += 1;
            }
            pending.len() >= FLUSH_AT
        };
        if full {
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(error) = this.flush().await {
                    tracing::warn!(%error, "cannot write the personal-data read log; will retry");
                }
            });
        }
    }

    /// Writes the pending counts in one transaction. On failure they are kept for the
    /// next attempt.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<(ReadKey, i64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let written: Result<(), StoreError> = async {
            on_db!(&self.db, pool => {
                let mut tx = pool.begin().await?;
                for (key, reads) in &batch {
                    sqlx::query(
                        "INSERT INTO personal_data_reads (engagement_id, member_id, reader_user_id,
                             reader_member_id, kind, day, reads)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (engagement_id, member_id, reader_user_id, kind, day)
                         DO UPDATE SET reads = personal_data_reads.reads + excluded.reads",
                    )
                    .bind(&key.engagement_id)
                    .bind(&key.member_id)
                    .bind(&key.reader_user_id)
                    .bind(&key.reader_member_id)
                    .bind(key.kind)
                    .bind(key.day.to_string())
                    .bind(reads)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            });
            Ok(())
        }
        .await;
        if written.is_err() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (key, reads) in batch {
                *pending.entry(key).or_insert(0) += reads;
            }
        }
        written
    }

    /// Every recorded read of `member`'s data in `scope`'s engagement, newest day first.
    pub async fn of_member(
        &self,
        scope: &EngagementScope,
        member: MemberId,
    ) -> Result<Vec<PersonalDataReadView>, StoreError> {
        self.flush().await?;
        let rows: Vec<(String, String, String, String, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT day, kind, reader_user_id, reader_member_id, reads
                   FROM personal_data_reads
                  WHERE engagement_id = $1 AND member_id = $2
                  ORDER BY day DESC, kind, reader_member_id",
            )
            .bind(scope.engagement_id().to_string())
            .bind(member.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(day, kind, reader_user, reader_member, reads)| {
                let corrupt = |what: &str| StoreError::Corrupt(format!("read log {what}"));
                Ok(PersonalDataReadView {
                    day: day.parse().map_err(|_| corrupt("day"))?,
                    kind,
                    reader_user_id: reader_user
                        .parse::<UserId>()
                        .map_err(|_| corrupt("reader"))?,
                    reader_member_id: reader_member
                        .parse::<MemberId>()
                        .map_err(|_| corrupt("reader"))?,
                    reads,
                })
            })
            .collect()
    }
}
