//! How a command fails: the exit code and the one line said on stderr.

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub enum Fail {
    /// A bad command line or environment (exit 2): nothing was sent.
    Usage(String),
    /// The operation failed (exit 1): what happened and what to do.
    Failed(String),
}

impl Fail {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Fail::Usage(_) => 2,
            Fail::Failed(_) => 1,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Usage(m) | Fail::Failed(m) => f.write_str(m),
        }
    }
}

/// Shorthand for a failed operation.
pub fn failed(message: impl Into<String>) -> Fail {
    Fail::Failed(message.into())
}

/// Shorthand for a bad command line.
pub fn usage(message: impl Into<String>) -> Fail {
    Fail::Usage(message.into())
}
