//! Errors as GraphQL reports them: a message a person can act on and a stable
//! `extensions.code` a program can branch on (SPEC §13).

use crate::ports::PortError;
use async_graphql::{Error, ErrorExtensions};

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const VALIDATION: &str = "VALIDATION";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const CONFLICT: &str = "CONFLICT";
pub const INTERNAL: &str = "INTERNAL";
/// The request asks for more work than one request may (size, depth or complexity).
pub const TOO_COMPLEX: &str = "TOO_COMPLEX";

/// An error with a code.
pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, ext| ext.set("code", code))
}

pub fn not_found(what: &str) -> Error {
    coded(NOT_FOUND, format!("{what} not found"))
}

pub fn validation(message: impl Into<String>) -> Error {
    coded(VALIDATION, message)
}

/// Turns a port failure into a GraphQL error. Internal failures are logged with their
/// detail and reported without it.
pub fn from_port(error: PortError) -> Error {
    match error {
        PortError::Domain { kind, message } => coded(kind.code(), message),
        PortError::Conflict(message) => coded(CONFLICT, message),
        PortError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error while serving a request");
            coded(INTERNAL, "internal error; the server log has the details")
        }
    }
}

/// `.gql()` on port results.
pub trait PortResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> PortResultExt<T> for Result<T, PortError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(from_port)
    }
}

/// Gives every error of a response a code: the library's own errors (syntax, unknown
/// fields, values that are not a `Decimal`, `Period`, `Date`, `DateTime` or `UUID`) read
/// as VALIDATION, its limits as TOO_COMPLEX, and an uncoded resolver error as INTERNAL.
pub struct ErrorCodes;

impl async_graphql::extensions::ExtensionFactory for ErrorCodes {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

/// The code for an error raised without one.
fn code_for(error: &async_graphql::ServerError) -> &'static str {
    let message = error.message.as_str();
    if message.contains("nested too deep")
        || message.contains("recursion depth")
        || message.contains("too complex")
        || message.contains("too many")
    {
        TOO_COMPLEX
    } else if error.path.is_empty()
        || message.starts_with("Failed to parse")
        || message.starts_with("Invalid value")
        || message.starts_with("Expected input type")
        || message.contains("(occurred while parsing")
    {
        // Before execution (parsing, validation, variables), or an argument's value.
        VALIDATION
    } else {
        INTERNAL
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for ErrorCodesExtension {
    async fn request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextRequest<'_>,
    ) -> async_graphql::Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            let coded = error
                .extensions
                .as_ref()
                .is_some_and(|e| e.get("code").is_some());
            if !coded {
                let code = code_for(error);
                if code == INTERNAL {
                    tracing::error!(message = %error.message, "an error without a code reached the client");
                }
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", code);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{PathSegment, ServerError};

    fn at_field(message: &str) -> ServerError {
        let mut error = ServerError::new(message, None);
        error.path = vec![PathSegment::Field("changeMemberRole".into())];
        error
    }

    #[test]
    fn an_input_of_the_wrong_shape_is_the_callers_mistake() {
        let wrong = at_field(
            "Expected input type \"UUID\", found {id: \"x\"}. (occurred while parsing \"ChangeMemberRoleInput\")",
        );
        assert_eq!(code_for(&wrong), VALIDATION);
        assert_eq!(
            code_for(&at_field("Invalid value for argument \"id\"")),
            VALIDATION
        );
        assert_eq!(code_for(&at_field("the database went away")), INTERNAL);
    }
}
