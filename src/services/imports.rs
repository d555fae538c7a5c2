//! Imports of marketplace files, run as jobs (`crate::imports`).

use super::support::internal;
use crate::imports::jobs::{Job, Jobs};
use crate::imports::{spool_dir, ImportSpec};
use async_trait::async_trait;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{
    ImportJobView, ImportPort, ImportProblemView, ImportRequest, PortError,
};

pub struct ImportService {
    jobs: Jobs,
}

impl ImportService {
    pub fn new(jobs: Jobs) -> Self {
        Self { jobs }
    }
}

pub(crate) fn job_view(job: Job) -> ImportJobView {
    let (problems, total_problems) = match &job.refusal {
        Some(refusal) => (
            refusal
                .problems
                .iter()
                .map(|p| ImportProblemView {
                    line: p.line,
                    column: p.column.clone(),
                    value: p.value.clone(),
                    reason: p.reason.clone(),
                })
                .collect(),
            refusal.total,
        ),
        None => (Vec::new(), 0),
    };
    let summary = job.summary.as_ref();
    ImportJobView {
        id: job.job_id,
        status: job.status.as_str().to_string(),
        format: job.format,
        platform: job.platform,
        range: job.range,
        file_name: job.file_name,
        bytes_total: job.bytes_total,
        bytes_read: job.bytes_read,
        rows_read: job.rows_read,
        rows_invalid: job.rows_invalid,
        message: job.message,
        problems,
        total_problems,
        import_id: summary.map(|s| s.import_id),
        already_imported: summary.is_some_and(|s| s.already_imported),
        observations_recorded: summary.map_or(0, |s| s.observations_recorded),
        observations_restated: summary.map_or(0, |s| s.observations_restated),
        series: summary.map_or(0, |s| s.series),
        watermarks: summary
            .map(|s| {
                s.watermarks
                    .iter()
                    .map(|w| (w.platform.clone(), w.through))
                    .collect()
            })
            .unwrap_or_default(),
        conversion: job.conversion,
        created_at: job.created_at,
        updated_at: job.updated_at,
    }
}

#[async_trait]
impl ImportPort for ImportService {
    async fn start_import(
        &self,
        permit: &CommandPermit,
        request: ImportRequest,
        mut content: std::fs::File,
        metadata: &CommandMetadata,
    ) -> Result<ImportJobView, PortError> {
        let folder = spool_dir();
        let path = folder.join(format!("upload-{}", uuid::Uuid::new_v4()));
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let mut file = std::fs::File::create(&target)?;
            std::io::copy(&mut content, &mut file)?;
            file.sync_all()
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let spec = ImportSpec {
            engagement_id: permit.engagement_id(),
            format: request.format,
            platform: request.platform,
            range: request.range,
            encoding: request.encoding,
            file_name: request.file_name,
            conversion: request.conversion,
        };
        let job = self
            .jobs
            .submit(spec, permit.actor(), path, metadata.clone())
            .await?;
        Ok(job_view(job))
    }

    async fn import_jobs(&self, scope: &EngagementScope) -> Result<Vec<ImportJobView>, PortError> {
        Ok(self
            .jobs
            .jobs(scope.engagement_id())
            .await?
            .into_iter()
            .map(job_view)
            .collect())
    }
}
