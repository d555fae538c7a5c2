//! The audit trail of one engagement: its chain verified, with its checkpoint proof.

use crate::audit::verify::Problem;
use crate::audit::{checkpoint, verify};
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_graphql::access::EngagementScope;
use kpi_ledger_graphql::ports::{AuditPort, ChainProblemView, ChainVerificationView, PortError};

pub struct AuditService {
    db: Db,
    recorder: super::Recorder,
}

impl AuditService {
    pub fn new(db: Db, recorder: super::Recorder) -> Self {
        Self { db, recorder }
    }
}

fn problem_view(problem: &Problem) -> ChainProblemView {
    let (kind, position, expected, found) = match problem {
        Problem::Altered {
            position,
            expected,
            found,
        } => (
            "altered",
            Some(*position),
            Some(expected.clone()),
            Some(found.clone()),
        ),
        Problem::Missing { position } => ("missing", Some(*position), None, None),
        Problem::Gap { position, .. } => ("gap", Some(*position), None, None),
        Problem::Unlinked { position } => ("unlinked", Some(*position), None, None),
        Problem::Truncated {
            checkpoint_position,
            checkpoint_hash,
            found_position,
            ..
        } => (
            "truncated",
            Some(*checkpoint_position),
            Some(checkpoint_hash.clone()),
            found_position.map(|p| p.to_string()),
        ),
    };
    ChainProblemView {
        kind: kind.into(),
        position,
        expected,
        found,
        message: problem.describe(),
    }
}

#[async_trait]
impl AuditPort for AuditService {
    async fn verify_chain(
        &self,
        scope: &EngagementScope,
    ) -> Result<ChainVerificationView, PortError> {
        // Link whatever the chainer has not linked yet.
        self.recorder.project().await;
        let chain = scope.engagement_id().to_string();
        let verification = verify::verify_chain(&self.db, &chain).await?;
        let proof = checkpoint::latest(&self.db)
            .await?
            .and_then(|c| c.proof(&chain))
            .map(serde_json::to_value)
            .transpose()
            .map_err(super::support::internal)?;
        Ok(ChainVerificationView {
            events: verification.events,
            head_position: verification.head_position,
            head_hash: verification.head_hash,
            problem: verification.problem.as_ref().map(problem_view),
            checkpoint_id: verification.checkpoint_id,
            proof,
        })
    }
}
