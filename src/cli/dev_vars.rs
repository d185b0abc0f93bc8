//! Reading the dev edge's `ROOT_TOKEN` from `.dev.vars` (written by
//! `make dev`). Only `--local` reads it, and `--local` only ever talks to
//! 127.0.0.1: a dev secret never reaches another edge.

use std::path::PathBuf;

/// The file: `$PROVGATE_DEV_VARS`, else `.dev.vars` in the current directory.
pub fn path() -> PathBuf {
    std::env::var_os("PROVGATE_DEV_VARS").filter(|p| !p.is_empty()).map_or_else(|| PathBuf::from(".dev.vars"), PathBuf::from)
}

/// The value of `name` in the dev vars file, or an error saying where it was looked for.
pub fn load(name: &str) -> Result<String, String> {
    let path = path();
    let text = std::fs::read_to_string(&path)
        .map_err(|_| format!("--local reads {name} from {}, which cannot be read: run `make dev` in the repository, run from its directory or set PROVGATE_DEV_VARS", path.display()))?;
    from_dev_vars(&text, name).ok_or_else(|| format!("{} has no {name} line: run `make dev` once to add it", path.display()))
}

/// Reads `NAME=…` (optionally quoted) from a dotenv file.
fn from_dev_vars(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::from_dev_vars;

    #[test]
    fn reads_plain_and_quoted_values() {
        assert_eq!(from_dev_vars("A=1\nROOT_TOKEN=abc\n", "ROOT_TOKEN").as_deref(), Some("abc"));
        assert_eq!(from_dev_vars("ROOT_TOKEN = \"x y\"", "ROOT_TOKEN").as_deref(), Some("x y"));
        assert_eq!(from_dev_vars("ROOT_TOKEN_OLD=old\n", "ROOT_TOKEN"), None);
        assert_eq!(from_dev_vars("ROOT_TOKEN=", "ROOT_TOKEN"), None);
    }
}
