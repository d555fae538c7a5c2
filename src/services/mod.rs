//! The server's implementations of the GraphQL ports: one service per concept, each
//! holding only what it needs. Reads go to the read models (`crate::read_models`),
//! commands through cqrs-es (`crate::store::events`), personal data through the vault.

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
mod support;
mod texts;

pub use audit::AuditService;
pub use engagements::EngagementService;
pub use identity::IdentityService;
pub use imports::ImportService;
pub use kpis::KpiService;
pub use observations::ObservationService;
pub use payouts::PayoutService;
pub use plans::PlanService;
pub use reviews::ReviewService;
pub use scorecards::ScorecardService;
pub(crate) use support::Recorder;
pub use texts::TextService;

use crate::access_log::PersonalDataReads;
use crate::accounts::Accounts;
use crate::imports::jobs::Jobs;
use crate::imports::Importer;
use crate::keyring::Keyring;
use crate::projector::Projector;
use crate::store::Db;
use crate::texts::Texts;
use crate::vault::Vault;
use kpi_ledger_graphql::ports::Ports;
use std::sync::Arc;

/// Every service of one server, sharing one database and one projector.
pub struct Services {
    pub identity: Arc<IdentityService>,
    pub engagements: Arc<EngagementService>,
    pub kpis: Arc<KpiService>,
    pub observations: Arc<ObservationService>,
    pub scorecards: Arc<ScorecardService>,
    pub reviews: Arc<ReviewService>,
    pub plans: Arc<PlanService>,
    pub payouts: Arc<PayoutService>,
    pub imports: Arc<ImportService>,
    pub audit: Arc<AuditService>,
    pub texts: Arc<TextService>,
    accounts: Accounts,
    jobs: Jobs,
    reads: PersonalDataReads,
}

impl Services {
    pub fn new(db: Db, projector: Arc<Projector>, keyring: Keyring) -> Self {
        // Commands may hold at most this many of the pool's connections (16 on PostgreSQL,
        // 8 on SQLite); the rest stay free for reads and the projector.
        let write_slots = match db.backend() {
            crate::store::Backend::Postgres => 10,
            crate::store::Backend::Sqlite => 5,
        };
        let recorder = Recorder::new(projector.clone(), write_slots);
        let accounts = Accounts::new(db.clone(), projector.clone(), keyring.clone());
        let reads = PersonalDataReads::new(db.clone());
        let texts = Texts::new(db.clone(), keyring.clone());
        let vault = Vault::new(db.clone(), keyring, reads.clone());
        let jobs = Jobs::new(Importer::new(db.clone(), projector));
        Self {
            identity: Arc::new(IdentityService::new(db.clone(), accounts.clone())),
            engagements: Arc::new(EngagementService::new(
                db.clone(),
                accounts.clone(),
                vault.clone(),
                texts.clone(),
                recorder.clone(),
            )),
            kpis: Arc::new(KpiService::new(db.clone(), recorder.clone())),
            observations: Arc::new(ObservationService::new(db.clone(), recorder.clone())),
            scorecards: Arc::new(ScorecardService::new(db.clone())),
            reviews: Arc::new(ReviewService::new(db.clone(), recorder.clone())),
            plans: Arc::new(PlanService::new(db.clone(), recorder.clone())),
            payouts: Arc::new(PayoutService::new(
                db.clone(),
                vault.clone(),
                recorder.clone(),
            )),
            audit: Arc::new(AuditService::new(db, vault, texts.clone(), recorder)),
            texts: Arc::new(TextService::new(texts)),
            imports: Arc::new(ImportService::new(jobs.clone())),
            accounts,
            jobs,
            reads,
        }
    }

    /// Every service as the port the GraphQL schema takes.
    pub fn ports(&self) -> Ports {
        Ports::default()
            .with_identity(self.identity.clone())
            .with_engagements(self.engagements.clone())
            .with_kpis(self.kpis.clone())
            .with_observations(self.observations.clone())
            .with_scorecards(self.scorecards.clone())
            .with_reviews(self.reviews.clone())
            .with_plans(self.plans.clone())
            .with_payouts(self.payouts.clone())
            .with_imports(self.imports.clone())
            .with_audit(self.audit.clone())
            .with_texts(self.texts.clone())
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The batched log of personal-data reads.
    pub fn reads(&self) -> &PersonalDataReads {
        &self.reads
    }
}
