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
