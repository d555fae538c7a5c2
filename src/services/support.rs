//! What every service shares: turning store and domain failures into port errors, running
//! a command and bringing the read models up to date, and checking that an id belongs to
//! the caller's engagement.

use crate::projector::Projector;
use crate::store::events::Cqrs;
use crate::store::repository::AppendRefused;
use crate::store::StoreError;
use crate::vault::VaultError;
use cqrs_es::AggregateError;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::DomainError;
use kpi_ledger_graphql::access::CommandPermit;
use kpi_ledger_graphql::ports::PortError;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub(crate) fn internal(error: impl std::fmt::Display) -> PortError {
    PortError::Internal(error.to_string())
}

impl From<StoreError> for PortError {
    fn from(value: StoreError) -> Self {
        internal(value)
    }
}

impl From<crate::texts::TextError> for PortError {
    fn from(value: crate::texts::TextError) -> Self {
        internal(value)
    }
}

impl From<VaultError> for PortError {
    fn from(value: VaultError) -> Self {
        internal(value)
    }
}

pub(crate) fn command_error<E: DomainError>(error: AggregateError<E>) -> PortError {
    match error {
        AggregateError::UserError(e) => PortError::Domain {
            kind: e.kind(),
            message: e.to_string(),
        },
        // A fact the decision relied on changed before the append (see the repository).
        AggregateError::UnexpectedError(error) if error.is::<AppendRefused>() => {
            let refused = error
                .downcast::<AppendRefused>()
                .expect("checked by `is` above");
            PortError::Domain {
                kind: refused.kind,
                message: refused.message,
            }
        }
        AggregateError::AggregateConflict => PortError::Conflict(
            "another change to the same engagement was recorded at the same moment; \
             nothing of this request was recorded, please retry"
                .into(),
        ),
        other => internal(other),
    }
}

/// NOT_FOUND unless `owner` (the engagement a record belongs to, if it exists) is the
/// caller's: ids of other engagements read exactly like ids that do not exist.
pub(crate) fn owned_by(
    owner: Option<EngagementId>,
    engagement: EngagementId,
    what: &str,
) -> Result<(), PortError> {
    if owner == Some(engagement) {
        Ok(())
    } else {
        Err(PortError::not_found(what))
    }
}

/// Runs commands and brings the read models up to date so the caller reads its own write.
#[derive(Clone)]
pub struct Recorder {
    projector: Arc<Projector>,
    writers: Arc<Semaphore>,
}

/// How long a command waits for one of the write slots before it is answered "busy".
const WRITE_SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl Recorder {
    /// `write_slots`: how many commands may hold a database connection at once. The rest
    /// of the pool stays free for reads, so commands stuck behind a held lock never take
    /// every connection.
    pub fn new(projector: Arc<Projector>, write_slots: usize) -> Self {
        Self {
            projector,
            writers: Arc::new(Semaphore::new(write_slots.max(1))),
        }
    }

    /// Decides and records a command of the permit's engagement on aggregate `id`, then
    /// projects it. Every event of it carries the engagement's id.
    pub async fn record<A>(
        &self,
        cqrs: &Cqrs<A>,
        permit: &CommandPermit,
        id: &str,
        command: A::Command,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>
    where
        A: cqrs_es::Aggregate<Services = ()>,
        A::Command: Clone,
        A::Error: DomainError,
    {
        let _slot = tokio::time::timeout(WRITE_SLOT_WAIT, self.writers.acquire())
            .await
            .map_err(|_| {
                PortError::Conflict(
                    "the ledger is busy: every write slot is taken; nothing was recorded, retry"
                        .into(),
                )
            })?
            .map_err(internal)?;
        let metadata = metadata.clone().for_engagement(permit.engagement_id());
        cqrs.execute(id, command, metadata.to_map())
            .await
            .map_err(command_error)?;
        self.project().await;
        Ok(())
    }

    /// Brings the read models up to date after a recorded command. The command is
    /// recorded either way; a projection failure is logged and retried in the background.
    pub async fn project(&self) {
        if let Err(error) = self.projector.catch_up().await {
            tracing::error!(%error, "read models lag behind the event log");
        }
    }
}
