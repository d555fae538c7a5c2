//! Free text in and out of the vault: mutations seal what people type before it goes into
//! a command; resolvers open the notes they show, in one batch per list.

use crate::access::{ports, CommandPermit, EngagementScope};
use crate::error::PortResultExt;
use crate::ports::OpenedText;
use async_graphql::{Context, Result};
use kpi_ledger_domain::text::Note;
use std::collections::HashMap;
use uuid::Uuid;

/// `text` sealed for the permit's engagement.
pub async fn seal(ctx: &Context<'_>, permit: &CommandPermit, text: &str) -> Result<Note> {
    ports(ctx).texts()?.seal(permit, text).await.gql()
}

/// [`seal`] for optional text; blank text is no text.
pub async fn seal_optional(
    ctx: &Context<'_>,
    permit: &CommandPermit,
    text: Option<&str>,
) -> Result<Option<Note>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => Ok(Some(seal(ctx, permit, text).await?)),
        None => Ok(None),
    }
}

/// The sealed notes among `notes` opened, for [`shown`].
pub async fn open<'n>(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    notes: impl IntoIterator<Item = &'n Note>,
) -> Result<HashMap<Uuid, OpenedText>> {
    let sealed: Vec<Note> = notes
        .into_iter()
        .filter(|n| n.sealed_id().is_some())
        .cloned()
        .collect();
    if sealed.is_empty() {
        return Ok(HashMap::new());
    }
    ports(ctx).texts()?.open(scope, &sealed).await.gql()
}

/// A note's text: its own, or as opened; `None` once erased.
pub fn shown(opened: &HashMap<Uuid, OpenedText>, note: &Note) -> Option<String> {
    match note {
        Note::Inline(text) => Some(text.clone()),
        Note::Sealed { id, .. } => match opened.get(id) {
            Some(OpenedText::Text(text)) => Some(text.clone()),
            _ => None,
        },
    }
}
