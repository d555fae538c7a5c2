//! What the schema needs from the rest of the system, one port per concept. The server
//! implements them over its database; the schema never names a store or writes SQL.
//!
//! Every method that reads or changes one engagement takes an [`EngagementScope`] or a
//! [`CommandPermit`]. Those can only be made by the access checks in [`crate::access`],
//! so a resolver cannot reach engagement data without having passed them.
//!
//! [`EngagementScope`]: crate::access::EngagementScope
//! [`CommandPermit`]: crate::access::CommandPermit

mod audit;
mod engagements;
mod identity;
mod imports;
mod kpis;
mod observations;
mod payouts;
mod plans;
mod reviews;
mod scorecards;
mod texts;

pub use audit::*;
pub use engagements::*;
pub use identity::*;
pub use imports::*;
pub use kpis::*;
pub use observations::*;
pub use payouts::*;
pub use plans::*;
pub use reviews::*;
pub use scorecards::*;
pub use texts::*;

use kpi_ledger_domain::ErrorKind;
use std::sync::Arc;

/// Why a port call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PortError {
    /// The domain refused the command.
    #[error("{message}")]
    Domain { kind: ErrorKind, message: String },
    /// Another change to the same thing won a race and retries did not help.
    #[error("{0}")]
    Conflict(String),
    /// Something went wrong that the caller cannot fix (database down, corrupt data).
    #[error("{0}")]
    Internal(String),
}

impl PortError {
    /// A refusal of `kind`.
    pub fn refused(kind: ErrorKind, message: impl Into<String>) -> Self {
        PortError::Domain {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::refused(ErrorKind::NotFound, format!("{what} not found"))
    }
}

/// The ports a schema is built with. The server sets all of them; a test sets the one or
/// two it exercises, and a resolver that reaches a port nobody set fails with INTERNAL.
#[derive(Clone, Default)]
pub struct Ports {
    identity: Option<Arc<dyn IdentityPort>>,
    engagements: Option<Arc<dyn EngagementPort>>,
    kpis: Option<Arc<dyn KpiPort>>,
    observations: Option<Arc<dyn ObservationPort>>,
    scorecards: Option<Arc<dyn ScorecardPort>>,
    reviews: Option<Arc<dyn ReviewPort>>,
    plans: Option<Arc<dyn PlanPort>>,
    payouts: Option<Arc<dyn PayoutPort>>,
    imports: Option<Arc<dyn ImportPort>>,
    audit: Option<Arc<dyn AuditPort>>,
    texts: Option<Arc<dyn TextPort>>,
}

fn missing(what: &str) -> async_graphql::Error {
    crate::error::coded(
        crate::error::INTERNAL,
        format!("the server has no {what} service"),
    )
}

macro_rules! port {
    ($field:ident, $with:ident, $trait:ident, $what:literal) => {
        pub fn $with(mut self, port: Arc<dyn $trait>) -> Self {
            self.$field = Some(port);
            self
        }

        pub fn $field(&self) -> async_graphql::Result<&dyn $trait> {
            self.$field.as_deref().ok_or_else(|| missing($what))
        }
    };
}

impl Ports {
    port!(identity, with_identity, IdentityPort, "identity");
    port!(engagements, with_engagements, EngagementPort, "engagement");
    port!(kpis, with_kpis, KpiPort, "KPI");
    port!(
        observations,
        with_observations,
        ObservationPort,
        "observation"
    );
    port!(scorecards, with_scorecards, ScorecardPort, "scorecard");
    port!(reviews, with_reviews, ReviewPort, "review");
    port!(plans, with_plans, PlanPort, "plan");
    port!(payouts, with_payouts, PayoutPort, "payout");
    port!(imports, with_imports, ImportPort, "import");
    port!(audit, with_audit, AuditPort, "audit");
    port!(texts, with_texts, TextPort, "sealed text");
}
