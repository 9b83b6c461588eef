//! The errors the CLI reports, how they are printed and the exit code each one maps to.
//!
//! Commands return `anyhow::Result`. An [`InputError`] anywhere in it means the operator gave
//! something wrong (an argument, a file, stdin) and can fix it: exit code 2, like clap's usage
//! errors. Anything else is a failure of ours or of the system (e.g. stdout closed): exit code 1.
//! Messages never contain a private key or a password; the code that builds them is written so.

use std::fmt;
use std::process::ExitCode;

/// Exit code for usage and input errors.
pub(crate) const EXIT_INPUT: u8 = 2;

/// Exit code for every other failure.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// Input the operator must fix: what is wrong and, when there is something to say, what to do.
#[derive(Debug)]
pub(crate) struct InputError {
    message: String,
    hint: Option<String>,
}

impl InputError {
    /// An error saying what is wrong. It must not contain a secret.
    pub(crate) fn new(message: impl Into<String>) -> InputError {
        InputError {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the operator can do about it.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> InputError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// Prints `err` on stderr (`error: ...`, then `hint: ...` if there is one) and picks the exit code.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    match err.downcast_ref::<InputError>() {
        Some(input) => {
            eprintln!("error: {}", input.message);
            if let Some(hint) = &input.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(EXIT_INPUT)
        }
        None => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
