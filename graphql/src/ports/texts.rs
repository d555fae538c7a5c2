//! Free text that may name people, sealed in the vault (SPEC §11; `domain::text`).

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use kpi_ledger_domain::text::Note;
use std::collections::HashMap;
use uuid::Uuid;

/// A sealed note's text as the vault holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenedText {
    Text(String),
    /// Erased: its key was destroyed.
    Erased,
}

#[async_trait]
pub trait TextPort: Send + Sync + 'static {
    /// Seals `text` for the permit's engagement and gives the note an event holds.
    /// Blank text comes back as a blank inline note (the domain refuses it where text is
    /// required).
    async fn seal(&self, permit: &CommandPermit, text: &str) -> Result<Note, PortError>;

    /// The texts of the sealed notes among `notes` that belong to the scope's engagement,
    /// by text id.
    async fn open(
        &self,
        scope: &EngagementScope,
        notes: &[Note],
    ) -> Result<HashMap<Uuid, OpenedText>, PortError>;
}
