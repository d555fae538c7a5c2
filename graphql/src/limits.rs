//! Bounds on the work one request may ask for, checked on the parsed document before the
//! library validates or executes it.
//!
//! A document's size is the number of field selections it has once every fragment is
//! expanded. Fragments are measured once each (memoised), so a chain of fragments that
//! each spread the previous one twice — 2 KB of text expanding to billions of fields — is
//! refused in microseconds instead of being expanded by validation. Depth is counted the
//! same way, except inside introspection (`__schema`, `__type`): the standard
//! introspection query nests `ofType` eight levels deep and must pass, so tools such as
//! GraphiQL's documentation explorer, Apollo and code generators work.
//!
//! The extension parses the document itself: the library's parse step also checks the
//! document's nesting by following every fragment spread, which is the exponential walk
//! this module exists to avoid. The nesting of the text is checked here instead, without
//! following spreads.

use crate::error::TOO_COMPLEX;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Pos, Positioned, Response, ServerError, ServerResult, Variables};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of fields outside introspection.
pub const MAX_DEPTH: usize = 12;
/// Most field selections a document may have with its fragments expanded.
pub const MAX_FIELDS: u64 = 5_000;
/// Deepest nesting of selection sets in the document's text (introspection included).
pub const MAX_NESTING: usize = 32;

/// The size and depth of a selection set with its fragments expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// Field selections, saturating.
    fields: u64,
    /// Nesting of fields, not counting those inside introspection.
    depth: usize,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An input value longer than [`MAX_TEXT`] characters or a list longer than
    /// [`MAX_LIST`]: the argument's path and what is wrong. Refused as VALIDATION.
    InputTooLong(String),
    TooLarge,
    TooDeep,
    TooNested,
    FragmentCycle(String),
    UnknownFragment(String),
}

impl Refusal {
    fn message(&self) -> String {
        match self {
            Refusal::InputTooLong(what) => what.clone(),
            Refusal::TooLarge => format!(
                "the query selects more than {MAX_FIELDS} fields once its fragments are expanded; ask for less in one request"
            ),
            Refusal::TooDeep => {
                format!("the query nests fields more than {MAX_DEPTH} levels deep")
            }
            Refusal::TooNested => {
                format!("the query's text nests selections more than {MAX_NESTING} levels deep")
            }
            Refusal::FragmentCycle(name) => {
                format!("fragment {name} spreads itself (directly or through others)")
            }
            Refusal::UnknownFragment(name) => format!("unknown fragment {name}"),
        }
    }
}

struct Measure<'d> {
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    /// `None` while a fragment is being measured: meeting it again is a cycle.
    memo: HashMap<&'d str, Option<Shape>>,
}

impl<'d> Measure<'d> {
    fn selection_set(
        &mut self,
        set: &'d SelectionSet,
        introspection: bool,
    ) -> Result<Shape, Refusal> {
        let mut shape = Shape {
            fields: 0,
            depth: 0,
        };
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    for (argument, value) in &field.node.arguments {
                        input(&value.node, argument.node.as_str())?;
                    }
                    let name = field.node.name.node.as_str();
                    let inside = introspection || name == "__schema" || name == "__type";
                    let child = self.selection_set(&field.node.selection_set.node, inside)?;
                    Shape {
                        fields: child.fields.saturating_add(1),
                        depth: if inside { 0 } else { child.depth + 1 },
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, introspection)?
                }
                Selection::FragmentSpread(spread) => {
                    let mut spread_shape =
                        self.fragment(spread.node.fragment_name.node.as_str())?;
                    if introspection {
                        spread_shape.depth = 0;
                    }
                    spread_shape
                }
            };
            shape.fields = shape.fields.saturating_add(inner.fields);
            shape.depth = shape.depth.max(inner.depth);
            if shape.fields > MAX_FIELDS {
                return Err(Refusal::TooLarge);
            }
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'d str) -> Result<Shape, Refusal> {
        match self.memo.get(name) {
            Some(Some(shape)) => return Ok(*shape),
            Some(None) => return Err(Refusal::FragmentCycle(name.to_string())),
            None => {}
        }
        let (key, definition) = self
            .fragments
            .get_key_value(name)
            .ok_or_else(|| Refusal::UnknownFragment(name.to_string()))?;
        self.memo.insert(key.as_str(), None);
        // Measured as if spread outside introspection; a spread inside introspection
        // drops the depth (the TypeRef fragment of the introspection query nests deeply).
        let shape = self.selection_set(&definition.node.selection_set.node, false)?;
        self.memo.insert(key.as_str(), Some(shape));
        Ok(shape)
    }
}

/// The longest text any input may carry (reasons, notes, names), in characters.
pub const MAX_TEXT: usize = 4_000;
/// The longest list any input may carry (periods of one `setTarget`, participants, …).
pub const MAX_LIST: usize = 400;

/// Checks an input value written in the document or given as a variable against
/// [`MAX_TEXT`] and [`MAX_LIST`], naming where it is.
fn input(value: &async_graphql_value::Value, path: &str) -> Result<(), Refusal> {
    use async_graphql_value::Value;
    match value {
        Value::String(text) if text.chars().count() > MAX_TEXT => Err(Refusal::InputTooLong(
            format!("{path}: at most {MAX_TEXT} characters"),
        )),
        Value::List(items) if items.len() > MAX_LIST => Err(Refusal::InputTooLong(format!(
            "{path}: at most {MAX_LIST} items"
        ))),
        Value::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| input(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(name, item)| input(item, &format!("{path}.{name}"))),
        _ => Ok(()),
    }
}

/// Checks a request's variables against [`MAX_TEXT`] and [`MAX_LIST`].
pub fn check_variables(variables: &Variables) -> Result<(), Refusal> {
    for (name, value) in variables.iter() {
        let value = value.clone().into_value();
        input(&value, &format!("${name}"))?;
    }
    Ok(())
}

/// The nesting of a selection set as written (spreads not followed).
fn nesting(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => 1 + nesting(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => 1 + nesting(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 1,
        })
        .max()
        .unwrap_or(0)
}

/// Checks a parsed document against [`MAX_NESTING`], [`MAX_FIELDS`] and [`MAX_DEPTH`], in
/// time linear in the document's text.
pub fn check(document: &ExecutableDocument) -> Result<(), Refusal> {
    let written = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        );
    for set in written {
        if nesting(set) > MAX_NESTING {
            return Err(Refusal::TooNested);
        }
    }
    let mut measure = Measure {
        fragments: &document.fragments,
        memo: HashMap::new(),
    };
    let mut total: u64 = 0;
    for (_, operation) in document.operations.iter() {
        let shape = measure.selection_set(&operation.node.selection_set.node, false)?;
        if shape.depth > MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        total = total.saturating_add(shape.fields);
        if total > MAX_FIELDS {
            return Err(Refusal::TooLarge);
        }
    }
    Ok(())
}

/// The schema extension that runs [`check`] on every request's document.
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension)
    }
}

struct QueryLimitsExtension;

/// The longest error message a response carries: errors never echo a client's document
/// or values back at length.
pub const MAX_ERROR_MESSAGE: usize = 300;

/// `message` cut to [`MAX_ERROR_MESSAGE`] characters.
pub fn bounded(message: &str) -> String {
    if message.chars().count() <= MAX_ERROR_MESSAGE {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_ERROR_MESSAGE).collect();
    cut.push('…');
    cut
}

/// A syntax error as one short line — where, and what was expected — without the
/// offending source line the parser quotes.
fn syntax_error(error: async_graphql::parser::Error) -> ServerError {
    use async_graphql::parser::Error;
    match error {
        Error::Syntax { message, start, .. } => {
            let expected = message
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("= "))
                .unwrap_or("unexpected input");
            ServerError::new(
                bounded(&format!(
                    "syntax error at line {}, column {}: {expected}",
                    start.line, start.column
                )),
                Some(start),
            )
        }
        other => {
            let positions: Vec<Pos> = other.positions().collect();
            let mut error = ServerError::new(bounded(&other.to_string()), None);
            error.locations = positions;
            error
        }
    }
}

#[async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            error.message = bounded(&error.message);
        }
        response
    }

    async fn parse_query(
        &self,
        _ctx: &ExtensionContext<'_>,
        query: &str,
        _variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Not `next`: see the module documentation.
        let document = async_graphql::parser::parse_query(query).map_err(syntax_error)?;
        if let Err(refusal) = check_variables(_variables).and_then(|()| check(&document)) {
            let code = match refusal {
                Refusal::InputTooLong(_) => crate::error::VALIDATION,
                _ => TOO_COMPLEX,
            };
            let mut error = ServerError::new(refusal.message(), Some(Pos::default()));
            error.locations.clear();
            let mut extensions = async_graphql::ErrorExtensionValues::default();
            extensions.set("code", code);
            error.extensions = Some(extensions);
            return Err(error);
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<(), Refusal> {
        check(&async_graphql::parser::parse_query(query).unwrap())
    }

    /// `fragment F1 on QueryRoot { ...F0 ...F0 }` … up to `F{levels}`.
    fn doubling_fragments(levels: usize) -> String {
        let mut query = format!("query {{ ...F{levels} }}\n");
        query.push_str("fragment F0 on QueryRoot { metricCatalog { key } }\n");
        for level in 1..=levels {
            query.push_str(&format!(
                "fragment F{level} on QueryRoot {{ ...F{p} ...F{p} }}\n",
                p = level - 1
            ));
        }
        query
    }

    #[test]
    fn doubling_fragment_chains_are_refused_without_expanding_them() {
        // 2^30 × 2 fields: measured once per fragment, refused at once.
        assert_eq!(checked(&doubling_fragments(30)), Err(Refusal::TooLarge));
        assert_eq!(checked(&doubling_fragments(200)), Err(Refusal::TooLarge));
        // A few doublings are an ordinary query.
        assert_eq!(checked(&doubling_fragments(5)), Ok(()));
    }

    #[test]
    fn long_texts_and_lists_are_refused_where_they_are() {
        let long = "x".repeat(MAX_TEXT + 1);
        let query = format!("mutation {{ setTarget(input: {{ reason: \"{long}\" }}) {{ id }} }}");
        assert_eq!(
            checked(&query),
            Err(Refusal::InputTooLong(format!(
                "input.reason: at most {MAX_TEXT} characters"
            )))
        );
        let periods = vec!["\"2026-01\""; MAX_LIST + 1].join(", ");
        let query = format!("mutation {{ setTarget(input: {{ periods: [{periods}] }}) {{ id }} }}");
        assert_eq!(
            checked(&query),
            Err(Refusal::InputTooLong(format!(
                "input.periods: at most {MAX_LIST} items"
            )))
        );
        let ok = "mutation { setTarget(input: { reason: \"budget moved\", periods: [\"2026-07\"] }) { id } }";
        assert_eq!(checked(ok), Ok(()));
        let variables = Variables::from_json(serde_json::json!({ "i": { "notes": [long] } }));
        assert_eq!(
            check_variables(&variables),
            Err(Refusal::InputTooLong(format!(
                "$i.notes[0]: at most {MAX_TEXT} characters"
            )))
        );
    }

    #[test]
    fn the_standard_introspection_query_passes() {
        let query = include_str!("../tests/introspection.graphql");
        assert_eq!(checked(query), Ok(()));
    }

    #[test]
    fn deep_queries_and_fragment_cycles_are_refused() {
        let mut deep = String::from("query { ");
        for _ in 0..13 {
            deep.push_str("a { ");
        }
        deep.push_str("b ");
        for _ in 0..14 {
            deep.push_str("} ");
        }
        assert_eq!(checked(&deep), Err(Refusal::TooDeep));
        assert_eq!(
            checked("query { ...A } fragment A on Q { ...B } fragment B on Q { ...A }"),
            Err(Refusal::FragmentCycle("A".into()))
        );
        assert_eq!(
            checked("query { ...Missing }"),
            Err(Refusal::UnknownFragment("Missing".into()))
        );
    }
}
