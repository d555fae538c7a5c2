//! The audit trail: verification of an engagement's hash chain, and its checkpoint proof.

use super::PortError;
use crate::access::EngagementScope;
use async_trait::async_trait;

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblemView {
    /// altered, missing, gap, unlinked or truncated.
    pub kind: String,
    pub position: Option<i64>,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// A sentence naming the position and what was found.
    pub message: String,
}

/// An engagement's chain, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerificationView {
    pub events: u64,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    pub problem: Option<ChainProblemView>,
    /// The newest signed checkpoint the chain was held against.
    pub checkpoint_id: Option<String>,
    /// The inclusion proof of the engagement's head in that checkpoint (JSON, the format
    /// `scripts/verify_audit.py` reads).
    pub proof: Option<serde_json::Value>,
}

#[async_trait]
pub trait AuditPort: Send + Sync + 'static {
    /// Recomputes the engagement's chain from the stored events and holds it against the
    /// newest checkpoint.
    async fn verify_chain(
        &self,
        scope: &EngagementScope,
    ) -> Result<ChainVerificationView, PortError>;
}
