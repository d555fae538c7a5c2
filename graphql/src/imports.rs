//! Metric imports (SPEC §5): upload a marketplace export; it is imported as a job whose
//! status and progress can be read from `engagement.imports`.

use crate::access::{change, ports, Change, EngagementScope};
use crate::error::{validation, PortResultExt};
use crate::ports::{ImportJobView, ImportRequest};
use crate::scalars::{Date, Dec};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use kpi_ledger_domain::access::Capability;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_import::{EncodingChoice, Format};
use uuid::Uuid;

/// The export formats of SPEC §5.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ImportFormat {
    /// Long format `date,platform,metric,value[,scope]`.
    GenericCsv,
    /// Seller Central "Detail Page Sales and Traffic": by date, or by ASIN for a stated range.
    AmazonBusinessReport,
    /// Selling Partner API sales-and-traffic report (JSON).
    AmazonSalesTrafficJson,
    /// Sponsored Products reports.
    AmazonAdsSp,
    /// FBA Manage Inventory (tab-separated), for a stated day.
    AmazonFbaInventory,
    /// RMS 店舗データ or 日次_分析用レポート.
    RakutenRms,
    /// Store Creator Pro 全体分析.
    YahooShopping,
}

impl From<ImportFormat> for Format {
    fn from(value: ImportFormat) -> Self {
        match value {
            ImportFormat::GenericCsv => Format::GenericCsv,
            ImportFormat::AmazonBusinessReport => Format::AmazonBusinessReport,
            ImportFormat::AmazonSalesTrafficJson => Format::AmazonSalesTrafficJson,
            ImportFormat::AmazonAdsSp => Format::AmazonAdsSp,
            ImportFormat::AmazonFbaInventory => Format::AmazonFbaInventory,
            ImportFormat::RakutenRms => Format::RakutenRms,
            ImportFormat::YahooShopping => Format::YahooShopping,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum FileEncoding {
    /// UTF-8 (with or without BOM) or CP932, detected.
    #[default]
    Auto,
    #[graphql(name = "UTF8")]
    Utf8,
    /// Shift_JIS as Windows writes it.
    #[graphql(name = "CP932")]
    Cp932,
}

impl From<FileEncoding> for EncodingChoice {
    fn from(value: FileEncoding) -> Self {
        match value {
            FileEncoding::Auto => EncodingChoice::Auto,
            FileEncoding::Utf8 => EncodingChoice::Utf8,
            FileEncoding::Cp932 => EncodingChoice::Cp932,
        }
    }
}

#[derive(InputObject)]
pub struct ImportMetricsInput {
    pub engagement_id: Uuid,
    pub format: ImportFormat,
    /// The platform the file is from; required for every format but GENERIC_CSV.
    pub platform: Option<String>,
    /// The range the report covers, for reports without a date column.
    pub from: Option<Date>,
    pub to: Option<Date>,
    #[graphql(default)]
    pub encoding: FileEncoding,
    /// The exchange rate for a file whose money is in another currency than the
    /// engagement's; without one such a file is refused.
    pub conversion: Option<CurrencyConversionInput>,
}

/// One unit of `from` is `rate` units of the engagement's currency, as `source` published
/// it on `date` (USD→JPY 151.20). The file's amounts without a currency are taken to be
/// in `from`; every amount in `from` is multiplied by the rate exactly.
#[derive(InputObject)]
pub struct CurrencyConversionInput {
    /// ISO 4217 code of the file's currency (USD).
    pub from: String,
    pub rate: Dec,
    pub date: Date,
    /// Where the rate comes from (a bank's TTM rate, say).
    pub source: String,
}

/// The exchange rate an import applied.
#[derive(SimpleObject)]
pub struct CurrencyConversion {
    pub from: String,
    pub to: String,
    pub rate: Dec,
    pub date: Date,
    pub source: String,
}

/// One problem of a refused file.
#[derive(SimpleObject)]
pub struct ImportProblem {
    /// 1-based line (0: the file as a whole).
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// How far an import brought a platform's data.
#[derive(SimpleObject)]
pub struct ImportWatermark {
    pub platform: String,
    pub complete_through: Date,
}

/// An import and its progress or outcome.
pub struct ImportJob(pub ImportJobView);

#[Object]
impl ImportJob {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// QUEUED, READING, CHECKING, RECORDING, then SUCCEEDED or FAILED.
    async fn status(&self) -> String {
        self.0.status.to_uppercase()
    }
    async fn format(&self) -> &str {
        &self.0.format
    }
    async fn platform(&self) -> Option<&str> {
        self.0.platform.as_deref()
    }
    async fn from(&self) -> Option<Date> {
        self.0.range.map(|r| r.start.into())
    }
    async fn to(&self) -> Option<Date> {
        self.0.range.map(|r| r.end.into())
    }
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }
    async fn bytes_total(&self) -> u64 {
        self.0.bytes_total
    }
    async fn bytes_read(&self) -> u64 {
        self.0.bytes_read
    }
    async fn rows_read(&self) -> u64 {
        self.0.rows_read
    }
    async fn rows_invalid(&self) -> u64 {
        self.0.rows_invalid
    }
    /// What happened, in a sentence.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// For a refused file: the first 100 problems (line, column, value, why).
    async fn problems(&self) -> Vec<ImportProblem> {
        self.0
            .problems
            .iter()
            .map(|p| ImportProblem {
                line: p.line,
                column: p.column.clone(),
                value: p.value.clone(),
                reason: p.reason.clone(),
            })
            .collect()
    }
    /// How many problems there are in all.
    async fn total_problems(&self) -> u64 {
        self.0.total_problems
    }
    /// The import that holds the data (the first one, when the same file came again).
    async fn import_id(&self) -> Option<Uuid> {
        self.0.import_id
    }
    /// The same bytes were imported before; nothing changed.
    async fn already_imported(&self) -> bool {
        self.0.already_imported
    }
    async fn observations_recorded(&self) -> u64 {
        self.0.observations_recorded
    }
    /// Observations that replaced earlier values with the same bounds.
    async fn observations_restated(&self) -> u64 {
        self.0.observations_restated
    }
    async fn series(&self) -> u64 {
        self.0.series
    }
    async fn watermarks(&self) -> Vec<ImportWatermark> {
        self.0
            .watermarks
            .iter()
            .map(|(platform, through)| ImportWatermark {
                platform: platform.clone(),
                complete_through: (*through).into(),
            })
            .collect()
    }
    /// The exchange rate the import stated, if any.
    async fn conversion(&self) -> Option<CurrencyConversion> {
        self.0.conversion.as_ref().map(|c| CurrencyConversion {
            from: c.from.clone(),
            to: c.to.clone(),
            rate: c.rate.into(),
            date: c.date.into(),
            source: c.source.clone(),
        })
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The engagement's imports, newest first (consultants, client owners and viewers).
pub async fn list(ctx: &Context<'_>, scope: &EngagementScope) -> Result<Vec<ImportJob>> {
    scope.require(Capability::ReadAuditLog)?;
    Ok(ports(ctx)
        .imports()?
        .import_jobs(scope)
        .await
        .gql()?
        .into_iter()
        .map(ImportJob)
        .collect())
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Uploads a marketplace export (GraphQL multipart request) and imports it as a job:
    /// all rows or none, the same bytes again are a no-op. Poll `engagement.imports` for
    /// progress and outcome. Consultants only.
    async fn import_metrics(
        &self,
        ctx: &Context<'_>,
        input: ImportMetricsInput,
        file: Upload,
    ) -> Result<ImportJob> {
        let Change {
            scope,
            permit,
            metadata,
            ..
        } = change(
            ctx,
            input.engagement_id,
            Capability::RecordObservations,
            None,
        )
        .await?;
        let engagement = ports(ctx).engagements()?.engagement(&scope).await.gql()?;
        let format: Format = input.format.into();
        let platform = input
            .platform
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
        match &platform {
            Some(p) if !engagement.platforms.contains(p) => {
                return Err(validation(format!(
                    "platform: `{p}` is not one of this engagement's platforms ({})",
                    engagement.platforms.join(", ")
                )))
            }
            None if format != Format::GenericCsv => {
                return Err(validation(format!(
                    "platform: {format} files need the platform they come from"
                )))
            }
            _ => {}
        }
        let range = match (input.from, input.to) {
            (Some(from), Some(to)) => Some(
                DateRange::new(from.0, to.0).map_err(|e| validation(format!("from/to: {e}")))?,
            ),
            (None, None) => None,
            _ => return Err(validation("from/to: give both or neither")),
        };
        let conversion = input
            .conversion
            .map(|c| {
                kpi_ledger_domain::import::CurrencyConversion::new(
                    &c.from,
                    &engagement.currency,
                    c.rate.0,
                    c.date.0,
                    &c.source,
                )
                .map_err(validation)
            })
            .transpose()?;
        let upload = file
            .value(ctx)
            .map_err(|e| validation(format!("file: {e}")))?;
        let request = ImportRequest {
            format,
            platform,
            range,
            encoding: input.encoding.into(),
            file_name: Some(upload.filename.clone()).filter(|n| !n.is_empty()),
            conversion,
        };
        let job = ports(ctx)
            .imports()?
            .start_import(&permit, request, upload.content, &metadata)
            .await
            .gql()?;
        Ok(ImportJob(job))
    }
}
