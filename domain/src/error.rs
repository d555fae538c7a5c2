//! The kinds of failure every aggregate's errors fall into. The API maps each kind to a
//! stable error code, so callers can act on the kind without parsing messages.

/// What sort of refusal a domain error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The command's input breaks a rule of its own (empty name, bad date order, …).
    Validation,
    /// The thing the command addresses does not exist.
    NotFound,
    /// The command clashes with the current state (a duplicate, a concurrent change).
    Conflict,
    /// A status change the lifecycle does not allow.
    InvalidTransition,
    /// The target is frozen (a closed engagement, a locked period).
    Locked,
    /// Data the operation needs is missing (an incomplete scorecard, a stale source).
    Incomplete,
}

impl ErrorKind {
    /// The stable code the API reports for this kind.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Validation => "VALIDATION",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::InvalidTransition => "INVALID_TRANSITION",
            ErrorKind::Locked => "LOCKED",
            ErrorKind::Incomplete => "INCOMPLETE",
        }
    }
}

/// Implemented by every aggregate's error type.
pub trait DomainError: std::error::Error {
    fn kind(&self) -> ErrorKind;
}
