//! The audit trail over GraphQL (SPEC §10, §13): `auditVerification`.

use crate::access::{engagement_scope, ports};
use crate::error::PortResultExt;
use async_graphql::{Context, Json, Object, Result, SimpleObject};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::ids::EngagementId;
use uuid::Uuid;

/// The first thing wrong with a chain, where it is.
#[derive(SimpleObject)]
pub struct ChainProblem {
    /// ALTERED, MISSING, GAP, UNLINKED or TRUNCATED.
    pub kind: String,
    pub position: Option<i64>,
    /// For an altered event: the hash its stored bytes give.
    pub expected: Option<String>,
    /// For an altered event: the hash the chain holds.
    pub found: Option<String>,
    pub message: String,
}

/// An engagement's hash chain, recomputed from the stored events.
#[derive(SimpleObject)]
pub struct AuditVerification {
    pub engagement_id: Uuid,
    /// Every link recomputes, and the chain still holds the head the newest checkpoint
    /// signed.
    pub verified: bool,
    pub events: u64,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    pub problem: Option<ChainProblem>,
    pub checkpoint_id: Option<String>,
    /// The inclusion proof of this engagement's head in that checkpoint, to check with
    /// `scripts/verify_audit.py` (docs/AUDIT.md); it names no other engagement.
    pub proof: Option<Json<serde_json::Value>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Recomputes the engagement's hash chain and holds it against the newest signed
    /// checkpoint (consultants, client owners and viewers).
    async fn audit_verification(
        &self,
        ctx: &Context<'_>,
        engagement_id: Uuid,
    ) -> Result<AuditVerification> {
        let scope = engagement_scope(ctx, EngagementId(engagement_id)).await?;
        scope.require(Capability::ReadAuditLog)?;
        let view = ports(ctx).audit()?.verify_chain(&scope).await.gql()?;
        Ok(AuditVerification {
            engagement_id,
            verified: view.problem.is_none(),
            events: view.events,
            head_position: view.head_position,
            head_hash: view.head_hash,
            problem: view.problem.map(|p| ChainProblem {
                kind: p.kind.to_uppercase(),
                position: p.position,
                expected: p.expected,
                found: p.found,
                message: p.message,
            }),
            checkpoint_id: view.checkpoint_id,
            proof: view.proof.map(Json),
        })
    }
}
