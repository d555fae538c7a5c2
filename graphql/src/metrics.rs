//! The metric catalogue: built-in metrics and an engagement's custom ones.

use crate::access::{command_metadata, engagement_scope, ports, EngagementScope};
use crate::error::{validation, PortResultExt};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::engagement::EngagementCommand;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::metrics::{
    builtin_catalogue, Aggregation, Direction, MetricDefinition, Unit,
};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Direction")]
pub enum DirectionGql {
    /// Higher is better.
    Higher,
    /// Lower is better.
    Lower,
}

impl From<Direction> for DirectionGql {
    fn from(value: Direction) -> Self {
        match value {
            Direction::Higher => DirectionGql::Higher,
            Direction::Lower => DirectionGql::Lower,
        }
    }
}

impl From<DirectionGql> for Direction {
    fn from(value: DirectionGql) -> Self {
        match value {
            DirectionGql::Higher => Direction::Higher,
            DirectionGql::Lower => Direction::Lower,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MetricUnit")]
pub enum UnitGql {
    /// Money in the engagement's reporting currency.
    Currency,
    Count,
    /// A fraction: 0.25 is 25 %.
    Ratio,
    Hours,
    Stars,
}

impl From<Unit> for UnitGql {
    fn from(value: Unit) -> Self {
        match value {
            Unit::Currency => UnitGql::Currency,
            Unit::Count => UnitGql::Count,
            Unit::Ratio => UnitGql::Ratio,
            Unit::Hours => UnitGql::Hours,
            Unit::Stars => UnitGql::Stars,
        }
    }
}

impl From<UnitGql> for Unit {
    fn from(value: UnitGql) -> Self {
        match value {
            UnitGql::Currency => Unit::Currency,
            UnitGql::Count => Unit::Count,
            UnitGql::Ratio => Unit::Ratio,
            UnitGql::Hours => Unit::Hours,
            UnitGql::Stars => Unit::Stars,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AggregationKind")]
pub enum AggregationGql {
    /// The sum of the period's observations (flows).
    Sum,
    /// The latest value in the period (levels such as stock).
    Latest,
    /// The mean of the period's observations.
    Mean,
    /// Σ numerator ÷ Σ denominator over the period, each component aggregated first.
    Ratio,
}

/// One measurable.
#[derive(SimpleObject)]
pub struct Metric {
    pub key: String,
    pub label: String,
    pub unit: UnitGql,
    pub aggregation: AggregationGql,
    /// How the period's value is formed, e.g. `ad_spend ÷ ad_sales`.
    pub formula: String,
    /// Which way is better; null for levels and components of ratios.
    pub direction: Option<DirectionGql>,
    /// The metrics whose observations this one reads (itself, unless a ratio).
    pub components: Vec<String>,
    /// Observations can be recorded for it (ratios are recorded through their components).
    pub recordable: bool,
    /// Defined for one engagement rather than built in.
    pub custom: bool,
}

impl Metric {
    pub fn from_definition(definition: &MetricDefinition, custom: bool) -> Self {
        Metric {
            key: definition.key.clone(),
            label: definition.label.clone(),
            unit: definition.unit.into(),
            aggregation: match definition.aggregation {
                Aggregation::Sum => AggregationGql::Sum,
                Aggregation::Latest => AggregationGql::Latest,
                Aggregation::Mean => AggregationGql::Mean,
                Aggregation::Ratio { .. } => AggregationGql::Ratio,
            },
            formula: definition.aggregation.describe(),
            direction: definition.direction.map(Into::into),
            components: definition.components(),
            recordable: !definition.aggregation.is_ratio(),
            custom,
        }
    }
}

/// The engagement's catalogue as GraphQL metrics, custom ones marked.
pub async fn engagement_metrics(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<Metric>> {
    let builtin: Vec<String> = builtin_catalogue().into_iter().map(|m| m.key).collect();
    Ok(ports(ctx)
        .engagements()?
        .metric_catalogue(scope)
        .await
        .gql()?
        .iter()
        .map(|m| Metric::from_definition(m, !builtin.contains(&m.key)))
        .collect())
}

#[derive(Default)]
pub struct MetricQuery;

#[Object]
impl MetricQuery {
    /// The built-in metric catalogue (SPEC §3). `engagement.metrics` adds custom ones.
    async fn metric_catalog(&self) -> Vec<Metric> {
        builtin_catalogue()
            .iter()
            .map(|m| Metric::from_definition(m, false))
            .collect()
    }
}

#[derive(InputObject)]
pub struct DefineMetricInput {
    pub engagement_id: Uuid,
    /// Lower-case key such as `coupon_redemptions`.
    pub key: String,
    pub label: String,
    pub unit: UnitGql,
    pub aggregation: AggregationGql,
    /// For RATIO: the metrics summed above the line.
    pub numerator: Option<Vec<String>>,
    /// For RATIO: the metrics summed below the line.
    pub denominator: Option<Vec<String>>,
    pub direction: Option<DirectionGql>,
    #[graphql(default = false)]
    pub allows_negative: bool,
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct MetricMutation;

#[Object]
impl MetricMutation {
    /// Adds a custom metric to one engagement's catalogue. Consultants only.
    async fn define_metric(&self, ctx: &Context<'_>, input: DefineMetricInput) -> Result<Metric> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ManageKpis)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let has_components = input.numerator.is_some() || input.denominator.is_some();
        let aggregation = match input.aggregation {
            AggregationGql::Sum => Aggregation::Sum,
            AggregationGql::Latest => Aggregation::Latest,
            AggregationGql::Mean => Aggregation::Mean,
            AggregationGql::Ratio => Aggregation::Ratio {
                numerator: input.numerator.unwrap_or_default(),
                denominator: input.denominator.unwrap_or_default(),
            },
        };
        if !aggregation.is_ratio() && has_components {
            return Err(validation(
                "numerator/denominator: only a RATIO metric has components",
            ));
        }
        let definition = MetricDefinition {
            key: input.key.trim().to_string(),
            label: input.label.trim().to_string(),
            unit: input.unit.into(),
            aggregation,
            direction: input.direction.map(Into::into),
            allows_negative: input.allows_negative,
        };
        ports(ctx)
            .engagements()?
            .execute_engagement(
                &permit,
                EngagementCommand::DefineMetric {
                    metric: definition.clone(),
                },
                &metadata,
            )
            .await
            .gql()?;
        Ok(Metric::from_definition(&definition, true))
    }
}
