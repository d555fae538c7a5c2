//! The GraphQL API called in-process, as a given user: how the command line and the demo
//! change data, so that they pass the same access checks and rules as every other client.

use crate::app::Context;
use anyhow::{anyhow, bail};
use chrono::Utc;
use kpi_ledger_graphql::access::{RequestContext, Viewer};
use kpi_ledger_graphql::KpiSchema;
use serde_json::Value;
use uuid::Uuid;

/// The schema, wired to the installation's services.
pub struct LocalApi {
    schema: KpiSchema,
}

/// An error the API answered with, as it answered.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub message: String,
    /// `extensions.code`.
    pub code: Option<String>,
}

impl LocalApi {
    pub fn new(context: &Context) -> Self {
        Self {
            schema: kpi_ledger_graphql::build_schema(context.services.ports()),
        }
    }

    /// The API over a schema already built (the web pages use the server's).
    pub fn from_schema(schema: KpiSchema) -> Self {
        Self { schema }
    }

    /// Runs `request` as `viewer`; the data, or the first error.
    async fn execute(
        &self,
        viewer: Viewer,
        request: async_graphql::Request,
    ) -> Result<Value, ApiError> {
        let request = request.data(viewer).data(RequestContext {
            correlation_id: Uuid::new_v4(),
            received_at: Utc::now(),
        });
        let response = self.schema.execute(request).await;
        if let Some(error) = response.errors.first() {
            return Err(ApiError {
                message: error.message.clone(),
                code: error
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("code"))
                    .map(|c| c.to_string().trim_matches('"').to_string()),
            });
        }
        response.data.into_json().map_err(|e| ApiError {
            message: e.to_string(),
            code: None,
        })
    }

    /// Runs one operation as `viewer`.
    pub async fn run(
        &self,
        viewer: Viewer,
        query: &str,
        variables: Value,
    ) -> Result<Value, ApiError> {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        self.execute(viewer, request).await
    }

    /// Runs one operation whose variable `file` is the upload of `path`.
    pub async fn run_with_file(
        &self,
        viewer: Viewer,
        query: &str,
        variables: Value,
        path: &std::path::Path,
    ) -> Result<Value, ApiError> {
        let content = std::fs::File::open(path).map_err(|e| ApiError {
            message: format!("cannot read {}: {e}", path.display()),
            code: None,
        })?;
        let mut request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        request.set_upload(
            "variables.file",
            async_graphql::UploadValue {
                filename: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                content_type: None,
                content,
            },
        );
        self.execute(viewer, request).await
    }
}

/// The viewer of the account with `email`.
pub async fn viewer_by_email(context: &Context, email: &str) -> anyhow::Result<Viewer> {
    let account = context
        .services
        .accounts()
        .by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no user with email {email}"))?;
    if account.disabled {
        anyhow::bail!("the account {email} is disabled");
    }
    Ok(Viewer {
        user_id: account.user_id,
        grants: account.grants,
    })
}

/// The data of an answer, or the error as a command-line message.
pub fn data(answer: Result<Value, ApiError>, doing: &str) -> anyhow::Result<Value> {
    match answer {
        Ok(data) => Ok(data),
        Err(error) => bail!("{doing}: {error}"),
    }
}
