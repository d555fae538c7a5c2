//! The GraphQL API of kpi-ledger: schema, resolvers, access checks and error codes.
//!
//! It knows no web framework and no database: the server passes in an implementation of
//! [`ports::Ports`] and, per request, the authenticated [`access::Viewer`] and a
//! [`access::RequestContext`].

pub mod access;
mod audit;
pub mod card_cache;
mod changes;
mod engagement;
pub mod error;
mod imports;
mod kpi;
pub mod limits;
mod member;
mod metrics;
mod observation;
pub mod page;
mod payout;
mod plan;
pub mod ports;
mod review;
pub mod scalars;
mod scorecard;
pub mod texts;
pub mod timing;
mod viewer;

use async_graphql::{EmptySubscription, MergedObject, Schema};
use ports::Ports;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    viewer::ViewerQuery,
    engagement::EngagementQuery,
    metrics::MetricQuery,
    payout::PayoutQuery,
    audit::AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    engagement::EngagementMutation,
    member::MemberMutation,
    metrics::MetricMutation,
    kpi::KpiMutation,
    observation::ObservationMutation,
    imports::ImportMutation,
    review::ReviewMutation,
    plan::PlanMutation,
    payout::PayoutMutation,
);

pub type KpiSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Bounds on what one request may ask for, so a single query cannot tie up the server:
/// size and depth are checked by [`limits`] before validation; complexity by the library.
const MAX_COMPLEXITY: usize = 2_000;

/// What a field that replays the event log costs against [`MAX_COMPLEXITY`]: as-of
/// scorecards, KPIs and targets, locked results, changes (two replays), verifications,
/// statements and what-ifs. At most ten replays fit in one request.
pub const REPLAY_COST: usize = 200;
/// What a live scorecard (or a portfolio summary) costs: read-model queries, no replay.
pub const SCORECARD_COST: usize = 10;

/// The schema wired to the server's ports.
pub fn build_schema(ports: Ports) -> KpiSchema {
    build_schema_with(ports, true, None)
}

/// [`build_schema`], with introspection answered or refused (production installations
/// may switch it off: `serve --no-introspection`), and each command's time told to
/// `clock`.
pub fn build_schema_with(
    ports: Ports,
    introspection: bool,
    clock: Option<std::sync::Arc<dyn timing::CommandClock>>,
) -> KpiSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(ports)
    .data(card_cache::CardCache::default())
    .extension(error::ErrorCodes);
    // Before the limits: they parse the document and do not pass it on.
    if let Some(clock) = clock {
        builder = builder.extension(timing::CommandTiming(clock));
    }
    let builder = builder
        .extension(limits::QueryLimits)
        .limit_complexity(MAX_COMPLEXITY);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema in SDL, as exported to `docs/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}
