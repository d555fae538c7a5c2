//! The audit trail (SPEC §10): hash chains over the stored events, their verification,
//! and signed checkpoints of every chain's head. docs/AUDIT.md describes the encoding and
//! how an auditor checks it independently.

pub mod chain;
pub mod checkpoint;
pub mod export;
pub mod log;
pub mod verify;
