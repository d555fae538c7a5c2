//! Sealed free text: the port over [`crate::texts::Texts`].

use crate::texts::{Opened, Texts};
use async_trait::async_trait;
use kpi_ledger_domain::text::Note;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{OpenedText, PortError, TextPort};
use std::collections::HashMap;
use uuid::Uuid;

pub struct TextService {
    texts: Texts,
}

impl TextService {
    pub fn new(texts: Texts) -> Self {
        Self { texts }
    }
}

#[async_trait]
impl TextPort for TextService {
    async fn seal(&self, permit: &CommandPermit, text: &str) -> Result<Note, PortError> {
        Ok(self.texts.seal(permit.engagement_id(), text).await?)
    }

    async fn open(
        &self,
        scope: &EngagementScope,
        notes: &[Note],
    ) -> Result<HashMap<Uuid, OpenedText>, PortError> {
        Ok(opened(self.texts.open(scope.engagement_id(), notes).await?))
    }
}

/// The vault's answer as the port gives it.
pub(crate) fn opened(texts: HashMap<Uuid, Opened>) -> HashMap<Uuid, OpenedText> {
    texts
        .into_iter()
        .map(|(id, text)| {
            let text = match text {
                Opened::Text(text) => OpenedText::Text(text),
                Opened::Erased => OpenedText::Erased,
            };
            (id, text)
        })
        .collect()
}
