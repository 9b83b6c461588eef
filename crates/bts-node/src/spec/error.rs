//! The one error a node spec is refused with: what is wrong, and what to change.

use thiserror::Error;

/// Why a node spec was refused. `problem` names the setting (as the flag, variable or key it was
/// given by) and what witness_node would do with it; `fix` says what to change. Neither ever
/// contains a private key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{problem}")]
pub struct SpecError {
    /// What is wrong.
    pub problem: String,
    /// What to change.
    pub fix: String,
}

impl SpecError {
    /// An error with its fix.
    pub fn new(problem: impl Into<String>, fix: impl Into<String>) -> SpecError {
        SpecError {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
