//! Asking before revoke, rotate and delete: y/N on a terminal; without
//! one (a script, CI) the command needs `--yes`, so nothing irreversible
//! happens because a pipe happened to be attached.

use super::fail::{failed, usage, Fail};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

/// `--yes`.
#[derive(Args, Debug, Clone, Default)]
pub struct Yes {
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl Yes {
    /// Goes on if confirmed; `question` is asked on a terminal.
    pub fn confirm(&self, verb: &str, question: impl FnOnce() -> String) -> Result<(), Fail> {
        if self.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(usage(format!("{verb} needs confirmation and there is no terminal to ask: pass --yes")));
        }
        eprint!("{} [y/N] ", question());
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map_err(|e| failed(e.to_string()))?;
        if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            Ok(())
        } else {
            Err(failed(format!("{verb}: not confirmed; nothing was changed")))
        }
    }
}
