//! The engagement aggregate: settings, lifecycle and membership (SPEC §2).
//!
//! Members' names and emails never reach this aggregate: the API keeps them in the
//! encrypted personal-data store and passes only ids here.

mod aggregate;
mod commands;
mod error;
mod events;
mod settings;
mod status;
#[cfg(test)]
mod tests;

pub use aggregate::{Engagement, MemberState};
pub use commands::{EngagementCommand, NewMember};
pub use error::EngagementError;
pub use events::EngagementEvent;
pub use settings::{validate_position, EngagementSettings, MalformedPosition, PLATFORM_CATALOGUE};
pub use status::EngagementStatus;
