//! How long each command takes: a command is a root field of a mutation (`setTarget`,
//! `recordObservation` …), so the label is bounded by the schema, whatever a client names
//! its operations. The server's metrics implement [`CommandClock`].

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Response, ServerResult, Variables};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Told of every command run.
pub trait CommandClock: Send + Sync + 'static {
    /// `command` took `seconds` (the whole mutation's time, when it runs several), and was
    /// refused or failed if `refused`.
    fn observe(&self, command: &str, seconds: f64, refused: bool);
}

/// The schema extension that times commands for a [`CommandClock`].
pub struct CommandTiming(pub Arc<dyn CommandClock>);

impl ExtensionFactory for CommandTiming {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Timer {
            clock: self.0.clone(),
            operations: Mutex::new(Vec::new()),
        })
    }
}

/// One request's: the document's mutations and their root fields.
struct Timer {
    clock: Arc<dyn CommandClock>,
    operations: Mutex<Vec<(Option<String>, Vec<String>)>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Timer {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutation_fields = ctx
            .schema_env
            .registry
            .mutation_type
            .as_deref()
            .and_then(|name| ctx.schema_env.registry.types.get(name))
            .map(|t| t.fields());
        let mutations = document
            .operations
            .iter()
            .filter(|(_, op)| op.node.ty == OperationType::Mutation)
            .map(|(name, op)| {
                let fields = op
                    .node
                    .selection_set
                    .node
                    .items
                    .iter()
                    .filter_map(|selection| match &selection.node {
                        Selection::Field(field) => Some(field.node.name.node.to_string()),
                        _ => None,
                    })
                    // Only the schema's commands: an unknown name is refused anyway.
                    .filter(|field| {
                        mutation_fields
                            .flatten()
                            .is_some_and(|fields| fields.contains_key(field))
                    })
                    .collect();
                (name.map(|n| n.to_string()), fields)
            })
            .collect();
        *self.operations.lock().unwrap_or_else(|e| e.into_inner()) = mutations;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let operations =
            std::mem::take(&mut *self.operations.lock().unwrap_or_else(|e| e.into_inner()));
        // The operation run: the one named, or the document's only one.
        let run = match operation_name {
            Some(name) => operations
                .into_iter()
                .find(|(n, _)| n.as_deref() == Some(name)),
            None if operations.len() == 1 => operations.into_iter().next(),
            None => None,
        };
        if let Some((_, commands)) = run {
            let seconds = started.elapsed().as_secs_f64();
            let refused = !response.errors.is_empty();
            for command in &commands {
                self.clock.observe(command, seconds, refused);
            }
        }
        response
    }
}
