//! SPEC §7's worked example recorded through the GraphQL API, from the one description in
//! `kpi_ledger_domain::worked_example`: the demo seeds it, the API tests start from it.

use anyhow::anyhow;
use async_trait::async_trait;
use kpi_ledger_domain::worked_example as example;
use serde_json::{json, Value};

/// The API as one user calls it (over HTTP, or in-process).
#[async_trait]
pub trait CallApi: Sync {
    /// Runs one operation and returns its data, or fails with the API's error.
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value>;
}

/// Ids of what the example recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub engagement: String,
    /// Li Wei's member id.
    pub li: String,
    /// (metric, KPI id) in definition order.
    pub kpis: Vec<(String, String)>,
}

impl Recorded {
    /// The id of the KPI of `metric`.
    pub fn kpi(&self, metric: &str) -> &str {
        self.kpis
            .iter()
            .find(|(m, _)| m == metric)
            .map(|(_, id)| id.as_str())
            .unwrap_or_default()
    }
}

fn id(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("expected an id, got {value}"))
}

/// Records the example as the consultant `api` calls as: opens the engagement on
/// `platforms`, adds Li Wei, defines the three KPIs with every version of their June
/// targets, and records June's observations.
pub async fn record(api: &impl CallApi, platforms: &[&str]) -> anyhow::Result<Recorded> {
    let engagement = id(&api
        .call(
            "mutation($i: OpenEngagementInput!) { openEngagement(input: $i) { id } }",
            json!({ "i": { "name": example::ENGAGEMENT, "clientName": example::CLIENT,
                           "platforms": platforms } }),
        )
        .await?["openEngagement"]["id"])?;
    let li = id(&api
        .call(
            "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "displayName": example::MEMBER_NAME,
                           "email": example::MEMBER_EMAIL, "role": "MEMBER",
                           "position": example::MEMBER_POSITION,
                           "activeFrom": example::MEMBER_ACTIVE_FROM } }),
        )
        .await?["addMember"]["id"])?;
    let mut kpis = Vec::new();
    for kpi in example::KPIS {
        let kpi_id = id(&api
            .call(
                "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
                json!({ "i": { "engagementId": engagement, "metric": kpi.metric,
                               "weight": kpi.weight,
                               "assignee": { "position": example::MEMBER_POSITION } } }),
            )
            .await?["defineKpi"]["id"])?;
        for ((threshold, target, stretch), reason) in kpi.targets {
            api.call(
                "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
                json!({ "i": { "engagementId": engagement, "kpiId": kpi_id,
                               "periods": [example::PERIOD], "threshold": threshold,
                               "target": target, "stretch": stretch, "reason": reason } }),
            )
            .await?;
        }
        kpis.push((kpi.metric.to_string(), kpi_id));
    }
    for (metric, from, to, value) in example::OBSERVATIONS {
        api.call(
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": metric,
                           "platform": example::PLATFORM, "from": from, "to": to,
                           "value": value } }),
        )
        .await?;
    }
    Ok(Recorded {
        engagement,
        li,
        kpis,
    })
}
